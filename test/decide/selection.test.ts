import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';
import { SELECTION_STRATEGIES } from '../../lambdas/core/config/schema';
import type { Revision } from '../../lambdas/core/model';
import { firstConflict, selectRevision, type DeployedVersionSet } from '../../lambdas/core/decide/selection';
import { revision } from './fixtures';

const picked = (result: ReturnType<typeof selectRevision>) => (result.kind === 'selected' ? result.revision.number : result.kind);

describe('selectRevision', () => {
  it('reports no candidate for every strategy when nothing is approved', () => {
    for (const strategy of SELECTION_STRATEGIES) expect(selectRevision(strategy, [])).toEqual({ kind: 'no-candidate' });
  });

  it('latest picks the highest number whatever the order', () => {
    expect(picked(selectRevision('latest', [revision('A', 3), revision('A', 7), revision('A', 5)]))).toBe(7);
  });

  it('priority picks the highest flagged revision, over newer unflagged ones', () => {
    const candidates = [revision('A', 2, { priority: true }), revision('A', 4, { priority: true }), revision('A', 9)];
    expect(picked(selectRevision('priority', candidates))).toBe(4);
  });

  it('priority falls back to latest when nothing is flagged', () => {
    expect(picked(selectRevision('priority', [revision('A', 2), revision('A', 3)]))).toBe(3);
  });

  it('most-tests-passed sums passed tests across environments', () => {
    const candidates = [
      revision('A', 1, { testResults: { Alpha: { passed: 10, failed: 0 }, Beta: { passed: 10, failed: 3 } } }),
      revision('A', 2, { testResults: { Alpha: { passed: 15, failed: 0 } } }),
      revision('A', 3),
    ];
    expect(picked(selectRevision('most-tests-passed', candidates))).toBe(1);
  });

  it('most-tests-passed breaks ties towards the higher number', () => {
    const t = { Alpha: { passed: 4, failed: 0 } };
    expect(picked(selectRevision('most-tests-passed', [revision('A', 5, { testResults: t }), revision('A', 3, { testResults: t })]))).toBe(5);
  });

  describe('compatible', () => {
    const a1 = revision('A', 1, { versionSet: { shared: 'v1', 'a-core': 'a1' } });
    const a2 = revision('A', 2, { versionSet: { shared: 'v2', 'a-core': 'a2' } });

    it('promotes A 1, not A 2, when the destination runs B 1 built from the same version set as A 1', () => {
      const b1: DeployedVersionSet = { application: 'B', number: 1, versionSet: { shared: 'v1', 'b-core': 'b1' } };
      expect(picked(selectRevision('compatible', [a1, a2], [b1]))).toBe(1);
    });

    it('treats every candidate as compatible when the destination runs no other application', () => {
      expect(picked(selectRevision('compatible', [a1, a2], []))).toBe(2);
    });

    it('ignores packages that only one side has', () => {
      const c: DeployedVersionSet = { application: 'C', number: 4, versionSet: { other: 'x' } };
      expect(picked(selectRevision('compatible', [a1, a2], [c]))).toBe(2);
    });

    it('names the candidates and the conflicting versions when none is compatible, without picking', () => {
      const b3: DeployedVersionSet = { application: 'B', number: 3, versionSet: { shared: 'v3' } };
      const result = selectRevision('compatible', [a1, a2], [b3]);
      expect(result.kind).toBe('no-compatible');
      if (result.kind !== 'no-compatible') return;
      expect(result.candidates).toEqual([2, 1]);
      expect(result.conflicts[0]).toEqual({
        candidate: 2,
        package: 'shared',
        candidateVersion: 'v2',
        deployedApplication: 'B',
        deployedRevision: 3,
        deployedVersion: 'v3',
      });
    });

    it('must agree with every application on the destination, not just one', () => {
      const b: DeployedVersionSet = { application: 'B', number: 1, versionSet: { shared: 'v1' } };
      const c: DeployedVersionSet = { application: 'C', number: 1, versionSet: { 'a-core': 'a2' } };
      expect(selectRevision('compatible', [a1, a2], [b, c]).kind).toBe('no-compatible');
    });
  });
});

// Revisions with small version sets drawn from a few packages and versions, so conflicts are common.
const revisionsArb = fc
  .uniqueArray(
    fc.record({
      number: fc.integer({ min: 1, max: 60 }),
      priority: fc.boolean(),
      passed: fc.integer({ min: 0, max: 5 }),
      versionSet: fc.dictionary(fc.constantFrom('p1', 'p2', 'p3'), fc.constantFrom('v1', 'v2', 'v3')),
    }),
    { selector: (r) => r.number, maxLength: 12 },
  )
  .map((rs) =>
    rs.map((r) =>
      revision('A', r.number, { priority: r.priority, versionSet: r.versionSet, testResults: { Alpha: { passed: r.passed, failed: 0 } } }),
    ),
  );
const deployedArb = fc.array(
  fc.record({
    application: fc.constantFrom('B', 'C'),
    number: fc.integer({ min: 1, max: 9 }),
    versionSet: fc.dictionary(fc.constantFrom('p1', 'p2', 'p3'), fc.constantFrom('v1', 'v2', 'v3')),
  }),
  { maxLength: 2 },
);

describe('selection properties', () => {
  it('never selects a revision that is not a candidate, nor an incompatible one under compatible', () => {
    fc.assert(
      fc.property(revisionsArb, deployedArb, fc.constantFrom(...SELECTION_STRATEGIES), (candidates, deployedSets, strategy) => {
        const result = selectRevision(strategy, candidates, deployedSets);
        if (candidates.length === 0) return result.kind === 'no-candidate';
        if (result.kind === 'selected') {
          expect(candidates).toContain(result.revision);
          if (strategy === 'compatible') expect(firstConflict(result.revision, deployedSets)).toBeUndefined();
        } else {
          // Only compatible may decline, and only when every candidate conflicts.
          expect(strategy).toBe('compatible');
          expect(candidates.every((c) => firstConflict(c, deployedSets) !== undefined)).toBe(true);
        }
        return true;
      }),
    );
  });

  it('compatible picks the highest compatible candidate', () => {
    fc.assert(
      fc.property(revisionsArb, deployedArb, (candidates, deployedSets) => {
        const compatible = candidates.filter((c) => !firstConflict(c, deployedSets)).map((c) => c.number);
        const result = selectRevision('compatible', candidates, deployedSets);
        expect(result.kind === 'selected' ? result.revision.number : undefined).toBe(
          compatible.length ? Math.max(...compatible) : undefined,
        );
      }),
    );
  });

  it('latest is monotonic: adding a higher candidate never lowers the pick', () => {
    fc.assert(
      fc.property(revisionsArb, fc.integer({ min: 1, max: 100 }), (candidates: Revision[], extra) => {
        const before = selectRevision('latest', candidates);
        const after = selectRevision('latest', [...candidates, revision('A', extra)]);
        if (after.kind !== 'selected') return false;
        if (before.kind === 'selected') expect(after.revision.number).toBeGreaterThanOrEqual(before.revision.number);
        expect(after.revision.number).toBe(Math.max(extra, ...candidates.map((c) => c.number)));
        return true;
      }),
    );
  });
});
