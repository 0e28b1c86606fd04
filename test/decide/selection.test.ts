import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';
import { SELECTION_STRATEGIES, type SelectionStrategy } from '../../lambdas/core/config/schema';
import type { Revision } from '../../lambdas/core/model';
import { firstConflict, selectRevision, type DeployedVersionSet } from '../../lambdas/core/decide/selection';
import { revision } from './fixtures';

const picked = (result: ReturnType<typeof selectRevision>) =>
  result.kind === 'selected' ? result.revision.number : result.kind;

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
    expect(
      picked(
        selectRevision('most-tests-passed', [
          revision('A', 5, { testResults: t }),
          revision('A', 3, { testResults: t }),
        ]),
      ),
    ).toBe(5);
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

// Revisions with small version sets drawn from a few packages and versions, so conflicts are common; test results
// over up to three environments with small counts, so most-tests-passed meets ties.
const testResultsArb = fc.dictionary(
  fc.constantFrom('Alpha', 'Beta', 'Gamma'),
  fc.record({ passed: fc.integer({ min: 0, max: 5 }), failed: fc.integer({ min: 0, max: 5 }) }),
);
const revisionsArb = fc
  .uniqueArray(
    fc.record({
      number: fc.integer({ min: 1, max: 60 }),
      priority: fc.boolean(),
      testResults: testResultsArb,
      versionSet: fc.dictionary(fc.constantFrom('p1', 'p2', 'p3'), fc.constantFrom('v1', 'v2', 'v3')),
    }),
    { selector: (r) => r.number, maxLength: 12 },
  )
  .map((rs) =>
    rs.map((r) =>
      revision('A', r.number, { priority: r.priority, versionSet: r.versionSet, testResults: r.testResults }),
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

/**
 * The brute-force model the properties check `selectRevision` against. It shares no code with selection.ts and
 * works the other way round: it lists every conflict instead of finding the first, and ranks by sorting a copy
 * instead of scanning once. Whatever a mutation changes in selection.ts, the model does not change with it.
 */
const model = {
  /** Every (package, deployed application) on which the candidate and a deployed set hold different versions. */
  conflicts(candidate: Revision, deployedSets: readonly DeployedVersionSet[]) {
    const all: Array<{
      package: string;
      candidateVersion: string;
      deployed: DeployedVersionSet;
      deployedVersion: string;
    }> = [];
    for (const deployedSet of deployedSets) {
      for (const [pkg, deployedVersion] of Object.entries(deployedSet.versionSet)) {
        const candidateVersion = Object.entries(candidate.versionSet).find(([name]) => name === pkg)?.[1];
        if (candidateVersion !== undefined && candidateVersion !== deployedVersion)
          all.push({ package: pkg, candidateVersion, deployed: deployedSet, deployedVersion });
      }
    }
    return all;
  },
  testsPassed(candidate: Revision): number {
    return Object.values(candidate.testResults).reduce((sum, results) => sum + results.passed, 0);
  },
  /** What the strategy ranks by, highest first; the number breaks every tie. */
  rank(strategy: SelectionStrategy, candidate: Revision): number[] {
    switch (strategy) {
      case 'priority':
        return [candidate.priority ? 1 : 0, candidate.number];
      case 'most-tests-passed':
        return [model.testsPassed(candidate), candidate.number];
      default:
        return [candidate.number];
    }
  },
  /** The number the strategy must select, or undefined when it must select none. */
  pick(
    strategy: SelectionStrategy,
    candidates: readonly Revision[],
    deployedSets: readonly DeployedVersionSet[],
  ): number | undefined {
    const eligible =
      strategy === 'compatible'
        ? candidates.filter((c) => model.conflicts(c, deployedSets).length === 0)
        : [...candidates];
    const byRank = (a: Revision, b: Revision) => {
      const [ra, rb] = [model.rank(strategy, a), model.rank(strategy, b)];
      for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
      return 0;
    };
    return [...eligible].sort(byRank)[0]?.number;
  },
};

describe('selection properties (against a brute-force model)', () => {
  it('selects exactly what the model selects, for every strategy', () => {
    fc.assert(
      fc.property(
        revisionsArb,
        deployedArb,
        fc.constantFrom(...SELECTION_STRATEGIES),
        (candidates, deployedSets, strategy) => {
          const result = selectRevision(strategy, candidates, deployedSets);
          const expected = model.pick(strategy, candidates, deployedSets);
          if (candidates.length === 0) expect(result).toEqual({ kind: 'no-candidate' });
          else if (expected === undefined) expect(result.kind).toBe('no-compatible');
          else expect(result).toEqual({ kind: 'selected', revision: candidates.find((c) => c.number === expected) });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('declines under compatible only with a true conflict for every candidate, highest first', () => {
    fc.assert(
      fc.property(revisionsArb, deployedArb, (candidates, deployedSets) => {
        const result = selectRevision('compatible', candidates, deployedSets);
        if (result.kind !== 'no-compatible') return;
        expect(result.candidates).toEqual(candidates.map((c) => c.number).sort((a, b) => b - a));
        expect(result.conflicts.map((c) => c.candidate)).toEqual(result.candidates);
        for (const conflict of result.conflicts) {
          const candidate = candidates.find((c) => c.number === conflict.candidate)!;
          const truth = model.conflicts(candidate, deployedSets).map((c) => ({
            candidate: candidate.number,
            package: c.package,
            candidateVersion: c.candidateVersion,
            deployedApplication: c.deployed.application,
            deployedRevision: c.deployed.number,
            deployedVersion: c.deployedVersion,
          }));
          expect(truth).toContainEqual(conflict);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reports a conflict exactly when the model finds one, and only a real one', () => {
    fc.assert(
      fc.property(revisionsArb, deployedArb, (candidates, deployedSets) => {
        for (const candidate of candidates) {
          const found = firstConflict(candidate, deployedSets);
          const truth = model.conflicts(candidate, deployedSets);
          expect(found === undefined).toBe(truth.length === 0);
          if (found)
            expect(
              truth.some(
                (t) =>
                  t.package === found.package &&
                  t.deployed.application === found.deployedApplication &&
                  t.deployed.number === found.deployedRevision,
              ),
            ).toBe(true);
        }
      }),
    );
  });

  it("latest is monotonic: adding a candidate never lowers the pick, and picks the model's", () => {
    fc.assert(
      fc.property(revisionsArb, fc.integer({ min: 1, max: 100 }), (candidates: Revision[], extra) => {
        const before = model.pick('latest', candidates, []);
        const after = selectRevision('latest', [...candidates, revision('A', extra)]);
        if (after.kind !== 'selected') throw new Error(`latest selected nothing: ${after.kind}`);
        expect(after.revision.number).toBe(model.pick('latest', [...candidates, revision('A', extra)], []));
        expect(after.revision.number).toBeGreaterThanOrEqual(before ?? 0);
      }),
    );
  });
});
