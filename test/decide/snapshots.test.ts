import { describe, expect, it } from '@jest/globals';
import { applicationsReaching, buildSnapshots, reconcile, type World } from '../../lambdas/core/decide/snapshots';
import { parseWorld, WorldStateError } from '../../lambdas/core/decide/world-schema';
import { deployed, environment, revision, threeStagePipeline } from './fixtures';

const NOW = Date.parse('2024-01-03T12:00:00Z');

function world(extra: Partial<World> = {}): World {
  return {
    revisions: {
      A: [
        revision('A', 1, { versionSet: { 'a-core': 'a1', shared: 's1' } }),
        revision('A', 2, { versionSet: { 'a-core': 'a2', shared: 's2' } }),
      ],
      B: [revision('B', 1, { versionSet: { 'b-core': 'b1', shared: 's1' } })],
    },
    environments: {
      Alpha: environment('Alpha', {
        applications: {
          A: { current: deployed('A', 2), approved: [1, 2] },
          B: { current: deployed('B', 1), approved: [1] },
        },
      }),
      Beta: environment('Beta', {
        applications: { B: { current: deployed('B', 1, { 'b-core': 'b1', shared: 's1' }), approved: [1] } },
      }),
    },
    promotionApprovals: [],
    startedExecutions: [],
    ...extra,
  };
}

describe('buildSnapshots', () => {
  it('carries every application that reaches an environment source along the graph', () => {
    const reach = applicationsReaching(threeStagePipeline());
    expect(reach.get('Beta')).toEqual(['A', 'B']);
    expect(reach.get('Prod-EU')).toEqual(['A', 'B']);
  });

  it('makes one snapshot per (promotion, application), in config order', () => {
    const keys = buildSnapshots(threeStagePipeline(), world()).map((s) => `${s.promotion.id}/${s.application}`);
    expect(keys).toEqual([
      'A+B-to-Alpha/A',
      'A+B-to-Alpha/B',
      'Alpha-to-Beta/A',
      'Alpha-to-Beta/B',
      'Beta-to-Prod-NA/A',
      'Beta-to-Prod-NA/B',
      'Beta-to-Prod-EU/A',
      'Beta-to-Prod-EU/B',
    ]);
  });

  it('uses every revision for an application source and only approved ones for an environment source', () => {
    const snapshots = buildSnapshots(threeStagePipeline(), world());
    const alphaA = snapshots.find((s) => s.promotion.id === 'A+B-to-Alpha' && s.application === 'A')!;
    const prodB = snapshots.find((s) => s.promotion.id === 'Beta-to-Prod-NA' && s.application === 'B')!;
    const prodA = snapshots.find((s) => s.promotion.id === 'Beta-to-Prod-NA' && s.application === 'A')!;
    expect(alphaA.candidates.map((r) => r.number)).toEqual([1, 2]);
    expect(prodB.candidates.map((r) => r.number)).toEqual([1]);
    expect(prodA.candidates).toEqual([]);
    expect(prodA.destination.windows).toHaveLength(1);
  });

  it('applies operator switches over the config', () => {
    const [first] = buildSnapshots(
      threeStagePipeline(),
      world({ switches: { automation: false }, promotionsEnabled: { 'A+B-to-Alpha': false } }),
    );
    expect(first!.pipeline).toEqual({ enabled: true, automation: false });
    expect(first!.promotion.enabled).toBe(false);
  });

  it('filters to one promotion', () => {
    expect(
      buildSnapshots(threeStagePipeline(), world(), { promotion: 'Alpha-to-Beta' }).map((s) => s.application),
    ).toEqual(['A', 'B']);
  });
});

describe('reconcile', () => {
  it('decides every promotion of the pipeline', () => {
    const decisions = reconcile(threeStagePipeline(), world(), NOW);
    const byKey = Object.fromEntries(decisions.map((d) => [`${d.promotion}/${d.application}`, d.decision.kind]));
    expect(byKey).toEqual({
      'A+B-to-Alpha/A': 'in-sync',
      'A+B-to-Alpha/B': 'in-sync',
      // Beta runs B 1 built with shared@s1: A 1 (shared@s1) is compatible, A 2 (shared@s2) is not.
      'Alpha-to-Beta/A': 'deploy',
      'Alpha-to-Beta/B': 'in-sync',
      'Beta-to-Prod-NA/A': 'no-candidate',
      'Beta-to-Prod-NA/B': 'wait-window',
      'Beta-to-Prod-EU/A': 'no-candidate',
      'Beta-to-Prod-EU/B': 'awaiting-approval',
    });
    const betaA = decisions.find((d) => d.promotion === 'Alpha-to-Beta' && d.application === 'A')!.decision;
    expect(betaA.kind === 'deploy' && betaA.revision.number).toBe(1);
  });
});

describe('parseWorld', () => {
  it('fills missing collections with empty ones', () => {
    expect(parseWorld({})).toEqual({ revisions: {}, environments: {}, promotionApprovals: [], startedExecutions: [] });
  });

  it('reports every problem with its path', () => {
    try {
      parseWorld(
        { revisions: { A: [{ application: 'A', number: 0, versionSet: {} }] }, startedExecutions: 'x' },
        'state.json',
      );
      throw new Error('parseWorld accepted a world with two problems');
    } catch (err) {
      expect(err).toBeInstanceOf(WorldStateError);
      const message = (err as Error).message;
      expect(message).toContain('state.json is not a valid Lockstep state');
      expect(message).toContain('revisions.A.0.number');
      expect(message).toContain('startedExecutions');
    }
  });
});
