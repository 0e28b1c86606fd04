import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from '@jest/globals';
import { ResolutionInputError } from '../../../lambdas/sdk/staging/errors';
import { resolveSdks, type SdkRelease } from '../../../lambdas/sdk/staging/resolver';

const r = (name: string, version: string, dependencies: Record<string, string> = {}): SdkRelease => ({
  name,
  version,
  dependencies,
});

describe('resolveSdks', () => {
  const published = [
    r('analytics', '6.0.0'),
    r('analytics', '6.1.0'),
    r('analytics', '7.0.2'),
    r('geo', '3.0.0', { analytics: '^6.0.0' }),
    r('geo', '3.1.0', { analytics: '^6.0.0' }),
  ];

  it('explains a conflict by naming every requirement in the chain and the versions that exist', () => {
    const result = resolveSdks({
      available: published,
      staged: [r('maps', '2.0.0', { geo: '^3.0.0' }), r('social', '1.3.0', { analytics: '^7.0.0' })],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.explanation).toBe(
      'maps 2.0.0 (staged) requires geo ^3.0.0; every version of geo requires analytics ^6.0.0; ' +
        'social 1.3.0 (staged) requires analytics ^7.0.0; ' +
        'no version of analytics satisfies both ^6.0.0 and ^7.0.0 (available: 6.0.0, 6.1.0, 7.0.2)',
    );
    expect(result.involved).toEqual(['analytics', 'geo', 'maps', 'social']);
    expect(result.missing).toEqual([]);
    expect(result.derivation.at(-1)).toMatch(/the staged set cannot be resolved\.$/);
  });

  it('picks the newest versions that satisfy every range, transitively', () => {
    const result = resolveSdks({
      available: [...published, r('geo', '4.0.0', { analytics: '^7.0.0' })],
      staged: [r('maps', '2.0.0', { geo: '>=3.0.0' }), r('social', '1.3.0', { analytics: '^6.0.0' })],
    });
    expect(result).toMatchObject({
      ok: true,
      selected: [
        { name: 'analytics', version: '6.1.0' },
        { name: 'geo', version: '3.1.0' },
        { name: 'maps', version: '2.0.0' },
        { name: 'social', version: '1.3.0' },
      ],
    });
  });

  it('lets staged versions satisfy each other', () => {
    const result = resolveSdks({
      available: [],
      staged: [r('maps', '2.0.0', { analytics: '^7.0.0' }), r('analytics', '7.1.0')],
    });
    expect(result.ok && result.selected).toEqual([
      { name: 'analytics', version: '7.1.0' },
      { name: 'maps', version: '2.0.0' },
    ]);
  });

  it('reports a range that nothing satisfies as missing, with who asks and what exists', () => {
    const result = resolveSdks({ available: published, staged: [r('maps', '2.0.0', { analytics: '^8.0.0' })] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.missing).toEqual([
      {
        name: 'analytics',
        range: '^8.0.0',
        requiredBy: ['maps 2.0.0 (staged)'],
        available: ['6.0.0', '6.1.0', '7.0.2'],
      },
    ]);
    expect(result.explanation).toBe(
      'maps 2.0.0 (staged) requires analytics ^8.0.0; no version of analytics satisfies ^8.0.0 (available: 6.0.0, 6.1.0, 7.0.2)',
    );
  });

  it('says when a dependency is neither published nor staged', () => {
    const result = resolveSdks({ available: published, staged: [r('maps', '2.0.0', { crash: '^1.0.0' })] });
    expect(result.ok === false && result.explanation).toBe(
      'maps 2.0.0 (staged) requires crash ^1.0.0; crash is neither published nor staged',
    );
  });

  it('does not let a prerelease satisfy a plain range, but does when the range names one', () => {
    const available = [r('analytics', '7.0.0'), r('analytics', '7.1.0-beta.1')];
    const plain = resolveSdks({ available, requirements: { analytics: '^7.0.0' } });
    const pre = resolveSdks({ available, requirements: { analytics: '^7.1.0-beta.0' } });
    expect(plain.ok && plain.selected).toEqual([{ name: 'analytics', version: '7.0.0' }]);
    expect(pre.ok && pre.selected).toEqual([{ name: 'analytics', version: '7.1.0-beta.1' }]);
  });

  it('keeps a preferred (locked) version while it still satisfies the ranges', () => {
    const result = resolveSdks({
      available: published,
      requirements: { geo: '^3.0.0' },
      preferred: { geo: '3.0.0', analytics: '6.0.0' },
    });
    expect(result.ok && result.selected).toEqual([
      { name: 'analytics', version: '6.0.0' },
      { name: 'geo', version: '3.0.0' },
    ]);
  });

  it('explains a manifest that cannot be met', () => {
    const result = resolveSdks({ available: published, requirements: { geo: '^3.0.0', analytics: '^7.0.0' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.explanation).toContain('the manifest requires analytics ^7.0.0');
    expect(result.explanation).toContain('the manifest requires geo ^3.0.0');
    expect(result.explanation).toContain('no version of analytics satisfies both');
  });

  it('rejects a dependency range that is not semver, naming the SDK', () => {
    expect(() => resolveSdks({ available: [], staged: [r('maps', '2.0.0', { geo: 'three-ish' })] })).toThrow(
      ResolutionInputError,
    );
    expect(() => resolveSdks({ available: [], staged: [r('maps', '2.0.0', { geo: 'three-ish' })] })).toThrow(
      /maps 2\.0\.0 declares the dependency range "three-ish"/,
    );
  });
});

/** Small random universes: up to 4 SDKs with up to 3 versions, dependencies among them. */
const universeArb = fc
  .record({
    counts: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }),
    deps: fc.array(
      fc.tuple(
        fc.nat(3),
        fc.nat(2),
        fc.nat(3),
        fc.constantFrom('^1.0.0', '^2.0.0', '>=1.1.0', '<1.1.0', '*', '^3.0.0'),
      ),
      {
        maxLength: 8,
      },
    ),
    staged: fc.array(fc.tuple(fc.nat(3), fc.nat(2)), { minLength: 1, maxLength: 2 }),
  })
  .map(({ counts, deps, staged }) => {
    const versions = ['1.0.0', '1.1.0', '2.0.0'];
    const releases: { name: string; version: string; dependencies: Record<string, string> }[] = [];
    counts.forEach((count, i) => {
      for (let v = 0; v < count; v++) releases.push({ name: `p${i}`, version: versions[v]!, dependencies: {} });
    });
    for (const [from, fromVersion, to, range] of deps) {
      const release = releases.find(
        (x) => x.name === `p${from % counts.length}` && x.version === versions[fromVersion],
      );
      const target = `p${to % counts.length}`;
      if (release !== undefined && target !== release.name) release.dependencies[target] = range;
    }
    const stagedRefs = staged
      .map(([p, v]) => releases.find((x) => x.name === `p${p % counts.length}` && x.version === versions[v]))
      .filter((x): x is SdkRelease => x !== undefined);
    const uniqueStaged = [...new Map(stagedRefs.map((s) => [s.name, s])).values()];
    return { releases, staged: uniqueStaged };
  })
  .filter((u) => u.staged.length > 0);

function isSolution(
  releases: readonly SdkRelease[],
  staged: readonly SdkRelease[],
  selected: ReadonlyMap<string, string>,
): boolean {
  for (const s of staged) if (selected.get(s.name) !== s.version) return false;
  for (const [name, version] of selected) {
    const release = releases.find((x) => x.name === name && x.version === version);
    if (release === undefined) return false;
    for (const [dep, range] of Object.entries(release.dependencies)) {
      const chosen = selected.get(dep);
      if (chosen === undefined || !semver.satisfies(chosen, range)) return false;
    }
  }
  return true;
}

function bruteForce(releases: readonly SdkRelease[], staged: readonly SdkRelease[]): boolean {
  const names = [...new Set(releases.map((x) => x.name))];
  const options = names.map((n) => [undefined, ...releases.filter((x) => x.name === n).map((x) => x.version)]);
  const search = (i: number, selected: Map<string, string>): boolean => {
    if (i === names.length) return isSolution(releases, staged, selected);
    for (const option of options[i]!) {
      const next = new Map(selected);
      if (option !== undefined) next.set(names[i]!, option);
      if (search(i + 1, next)) return true;
    }
    return false;
  };
  return search(0, new Map());
}

describe('resolveSdks properties', () => {
  it('returns only solutions that satisfy every range, and says conflict only when none exists', () => {
    fc.assert(
      fc.property(universeArb, ({ releases, staged }) => {
        const result = resolveSdks({ available: releases, staged });
        if (result.ok) {
          const selected = new Map(result.selected.map((s) => [s.name, s.version]));
          expect(selected.size).toBe(result.selected.length);
          expect(isSolution(releases, staged, selected)).toBe(true);
        } else {
          expect(bruteForce(releases, staged)).toBe(false);
          expect(result.explanation.length).toBeGreaterThan(0);
          expect(result.involved.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400 },
    );
  });
});
