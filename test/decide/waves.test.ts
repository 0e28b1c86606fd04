import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';
import { pipelineSchema, type Pipeline } from '../../lambdas/core/config/schema';
import { validatePipeline } from '../../lambdas/core/config/validate';
import { reconcile, type World } from '../../lambdas/core/decide/snapshots';
import type { ApplicationAtEnvironment, EnvironmentState, LockState } from '../../lambdas/core/model';
import { deployed, revision } from './fixtures';

const deploy = { commands: ['./deploy.sh'] };
const NOW = Date.parse('2026-12-03T12:00:00Z');

/** Beta -> every prod environment, ordered by `waves` (each a list of environment names). */
function wavedPipeline(
  waves: readonly (readonly string[])[],
  extra: { maxConcurrent?: Record<number, number>; bakeAfter?: Record<number, string> } = {},
): Pipeline {
  const prod = waves.flat();
  return pipelineSchema.parse({
    pipeline: { name: 'shop' },
    packages: [{ name: 'web', source: { codecommit: { repository: 'web' } }, build: { commands: ['make'] } }],
    applications: [{ name: 'web', packages: ['web'] }],
    stages: [
      { name: 'Staging', environments: [{ name: 'beta', deploy }] },
      {
        name: 'Prod',
        environments: prod.map((name) => ({ name, deploy })),
        waves: waves.map((environments, i) => ({
          environments,
          ...(extra.maxConcurrent?.[i] !== undefined ? { maxConcurrent: extra.maxConcurrent[i] } : {}),
          ...(extra.bakeAfter?.[i] !== undefined ? { bakeAfter: extra.bakeAfter[i] } : {}),
        })),
      },
    ],
    promotions: [
      { from: { application: 'web' }, to: 'beta' },
      ...prod.map((to) => ({ from: { environment: 'beta' }, to })),
    ],
  });
}

function slot(extra: Partial<ApplicationAtEnvironment> = {}): ApplicationAtEnvironment {
  return { approved: [], ...extra };
}

function env(name: string, web: ApplicationAtEnvironment | undefined, lock: LockState | null = null): EnvironmentState {
  return { name, applications: web ? { web } : {}, lock };
}

/** r1 runs everywhere; beta approved r1 and r2. */
function world(environments: Record<string, EnvironmentState>): World {
  return {
    revisions: { web: [revision('web', 1), revision('web', 2)] },
    environments: {
      beta: env('beta', slot({ current: deployed('web', 2), approved: [1, 2] })),
      ...environments,
    },
    promotionApprovals: [],
    startedExecutions: [],
  };
}

function decisionFor(pipeline: Pipeline, w: World, destination: string, now = NOW) {
  const found = reconcile(pipeline, w, now).find((d) => d.destination === destination);
  if (!found) throw new Error(`no decision for ${destination}`);
  return found.decision;
}

const running = slot({ current: deployed('web', 1), approved: [1] });

describe('waves inside a stage', () => {
  const pipeline = wavedPipeline([['prod-fe'], ['prod-eu'], ['prod-na']]);

  it('starts only the first wave while nothing later has the revision', () => {
    const w = world({ 'prod-fe': env('prod-fe', running), 'prod-eu': env('prod-eu', running) });
    expect(decisionFor(pipeline, w, 'prod-fe').kind).toBe('deploy');
    const eu = decisionFor(pipeline, w, 'prod-eu');
    expect(eu).toMatchObject({ kind: 'wait-wave', revision: 2, wave: 1 });
    expect(eu.reason).toContain('Waiting for wave 1 (prod-fe) to approve r2 of web');
    expect(decisionFor(pipeline, w, 'prod-na')).toMatchObject({ kind: 'wait-wave', wave: 1 });
  });

  it('starts wave 2 once every environment of wave 1 approved the same revision, and wave 3 waits for wave 2', () => {
    const w = world({
      'prod-fe': env('prod-fe', slot({ current: deployed('web', 2), approved: [1, 2] })),
      'prod-eu': env('prod-eu', running),
    });
    expect(decisionFor(pipeline, w, 'prod-eu').kind).toBe('deploy');
    const na = decisionFor(pipeline, w, 'prod-na');
    expect(na).toMatchObject({ kind: 'wait-wave', wave: 2 });
    expect(na.reason).toContain('Waiting for wave 2 (prod-eu) to approve r2');
  });

  it('a revision that is deployed but not yet approved in wave 1 still holds wave 2 back', () => {
    const w = world({ 'prod-fe': env('prod-fe', slot({ current: deployed('web', 2), approved: [1] })) });
    expect(decisionFor(pipeline, w, 'prod-eu')).toMatchObject({ kind: 'wait-wave', wave: 1 });
  });

  it('a failure in wave 1 stops the later waves for that revision and says so', () => {
    const w = world({ 'prod-fe': env('prod-fe', slot({ current: deployed('web', 1), approved: [1], failed: [2] })) });
    const eu = decisionFor(pipeline, w, 'prod-eu');
    expect(eu).toMatchObject({ kind: 'wave-stopped', revision: 2, wave: 1, failedAt: 'prod-fe' });
    expect(eu.reason).toBe(
      'r2 of web failed its approval workflow at prod-fe in wave 1 (prod-fe), so later waves, prod-eu among them, do not get it; a newer revision must pass wave 1 (prod-fe) first.',
    );
    expect(decisionFor(pipeline, w, 'prod-na').kind).toBe('wave-stopped');
  });

  it('with automation off, explains the wave it would wait for', () => {
    const w = { ...world({}), switches: { automation: false } };
    expect(decisionFor(pipeline, w, 'prod-eu').reason).toContain(
      'with it on: waiting for wave 1 (prod-fe) to approve r2',
    );
  });
});

describe('maxConcurrent and bakeAfter', () => {
  it('a wave runs at most maxConcurrent promotions at once', () => {
    const pipeline = wavedPipeline([['prod-fe'], ['prod-eu', 'prod-na', 'prod-ap']], { maxConcurrent: { 1: 2 } });
    const lock = (environment: string, owner: string): LockState => ({
      environment,
      owner,
      acquiredAt: NOW - 1,
      leaseExpiresAt: NOW + 3_600_000,
      fencingToken: 1,
    });
    const approvedEverywhere = slot({ current: deployed('web', 2), approved: [1, 2] });
    const w = world({
      'prod-fe': env('prod-fe', approvedEverywhere),
      'prod-eu': env('prod-eu', running, lock('prod-eu', 'beta-to-prod-eu-web-r2')),
      'prod-na': env('prod-na', running, lock('prod-na', 'beta-to-prod-na-web-r2')),
    });
    const ap = decisionFor(pipeline, w, 'prod-ap');
    expect(ap).toMatchObject({ kind: 'wait-wave', wave: 2 });
    expect(ap.reason).toContain('already runs 2 promotions (prod-eu, prod-na), its maxConcurrent');

    // An operator's manual lock is not a promotion, and an expired lease holds nothing.
    const freed = world({
      'prod-fe': env('prod-fe', approvedEverywhere),
      'prod-eu': env('prod-eu', running, lock('prod-eu', 'manual:alice')),
      'prod-na': env('prod-na', running, { ...lock('prod-na', 'beta-to-prod-na-web-r2'), leaseExpiresAt: NOW - 1 }),
    });
    expect(decisionFor(pipeline, freed, 'prod-ap').kind).toBe('deploy');
  });

  it('the next wave waits bakeAfter from the last approval in the previous wave', () => {
    const pipeline = wavedPipeline([['prod-fe', 'prod-fe2'], ['prod-eu']], { bakeAfter: { 0: '2h' } });
    const approvedAt = (at: number) =>
      slot({ current: deployed('web', 2), approved: [1, 2], lastApproval: { revision: 2, at } });
    const w = world({
      'prod-fe': env('prod-fe', approvedAt(NOW - 3 * 3_600_000)),
      'prod-fe2': env('prod-fe2', approvedAt(NOW - 3_600_000)),
    });
    const eu = decisionFor(pipeline, w, 'prod-eu');
    expect(eu).toMatchObject({ kind: 'wait-wave', wave: 1, until: NOW + 3_600_000 });
    expect(eu.reason).toContain('bakes after wave 1 (prod-fe, prod-fe2) until 2026-12-03T13:00:00Z');
    expect(decisionFor(pipeline, w, 'prod-eu', NOW + 3_600_000).kind).toBe('deploy');
  });
});

describe('validate: waves', () => {
  function problems(waves: unknown, environments = ['prod-fe', 'prod-eu']) {
    const pipeline = pipelineSchema.parse({
      pipeline: { name: 'shop' },
      packages: [{ name: 'web', source: { codecommit: { repository: 'web' } }, build: { commands: ['make'] } }],
      applications: [{ name: 'web', packages: ['web'] }],
      stages: [
        { name: 'Staging', environments: [{ name: 'beta', deploy }] },
        { name: 'Prod', environments: environments.map((name) => ({ name, deploy })), waves },
      ],
      promotions: [
        { from: { application: 'web' }, to: 'beta' },
        ...environments.map((to) => ({ from: { environment: 'beta' }, to })),
      ],
    });
    return validatePipeline(pipeline).filter((p) => p.rule?.startsWith('wave'));
  }

  it('accepts waves that order the stage', () => {
    expect(problems([{ environments: ['prod-fe'] }, { environments: ['prod-eu'], maxConcurrent: 1 }])).toEqual([]);
  });

  it('rejects an unknown environment, with the nearest name', () => {
    expect(problems([{ environments: ['prod-fe'] }, { environments: ['prod-ew'] }])).toEqual([
      expect.objectContaining({
        path: 'stages[1].waves[1].environments[0]',
        message: 'wave 2 of stage "Prod" names "prod-ew", which is not an environment',
        fix: 'did you mean "prod-eu"?',
      }),
      expect.objectContaining({ message: 'stage "Prod" has waves, but "prod-eu" is in none of them' }),
    ]);
  });

  it('rejects an environment of another stage', () => {
    expect(problems([{ environments: ['prod-fe', 'beta'] }, { environments: ['prod-eu'] }])).toEqual([
      expect.objectContaining({
        message: 'wave 1 of stage "Prod" names "beta", an environment of stage "Staging"',
      }),
    ]);
  });

  it('rejects an environment listed twice', () => {
    expect(problems([{ environments: ['prod-fe', 'prod-eu'] }, { environments: ['prod-eu'] }])).toEqual([
      expect.objectContaining({
        path: 'stages[1].waves[1].environments[0]',
        message: '"prod-eu" is in wave 1 and again in wave 2 of stage "Prod"',
      }),
    ]);
  });

  it('rejects a maxConcurrent larger than the wave', () => {
    expect(problems([{ environments: ['prod-fe', 'prod-eu'], maxConcurrent: 3 }])).toEqual([
      expect.objectContaining({ rule: 'wave-concurrency', path: 'stages[1].waves[0].maxConcurrent' }),
    ]);
  });
});

/**
 * The wave invariant under any layout and any order of events: a simulation drives the real `reconcile()` with
 * random approvals and failures, and at every deploy it decides, checks that every environment of every earlier
 * wave has approved that revision.
 */
describe('property: no environment of wave k+1 starts a revision before wave k approved it', () => {
  const layoutArb = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }).map((sizes) => {
    let n = 0;
    return sizes.map((size) => Array.from({ length: size }, () => `p${n++}`));
  });
  const stepArb = fc.record({ pick: fc.nat(), outcome: fc.constantFrom('approve', 'approve', 'fail', 'new-revision') });

  it('holds for every wave layout and order of approvals and failures', () => {
    fc.assert(
      fc.property(layoutArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (layout, steps) => {
        const pipeline = wavedPipeline(layout);
        const waveOf = new Map(layout.flatMap((names, k) => names.map((name) => [name, k] as const)));
        const slots = new Map<string, { current?: number; approved: number[]; failed: number[] }>();
        const running = new Map<string, number>(); // environment -> revision being promoted
        let newest = 1;
        const snapshotWorld = (): World => ({
          revisions: { web: Array.from({ length: newest }, (_, i) => revision('web', i + 1)) },
          environments: {
            beta: env(
              'beta',
              slot({ current: deployed('web', newest), approved: [...Array(newest).keys()].map((i) => i + 1) }),
            ),
            ...Object.fromEntries(
              [...slots].map(([name, s]) => [
                name,
                env(
                  name,
                  slot({
                    ...(s.current ? { current: deployed('web', s.current) } : {}),
                    approved: s.approved,
                    failed: s.failed,
                  }),
                  running.has(name)
                    ? {
                        environment: name,
                        owner: `run-${name}`,
                        acquiredAt: 0,
                        leaseExpiresAt: NOW + 1e9,
                        fencingToken: 1,
                      }
                    : null,
                ),
              ]),
            ),
          },
          promotionApprovals: [],
          startedExecutions: [],
        });
        for (const step of steps) {
          // Start whatever the decision core says may start now, checking the invariant at each start.
          for (const d of reconcile(pipeline, snapshotWorld(), NOW)) {
            if (d.decision.kind !== 'deploy' || running.has(d.destination)) continue;
            const r = d.decision.revision.number;
            const k = waveOf.get(d.destination)!;
            for (const earlier of layout.slice(0, k).flat()) {
              if (!slots.get(earlier)?.approved.includes(r)) return false;
            }
            running.set(d.destination, r);
            const s = slots.get(d.destination) ?? { approved: [], failed: [] };
            slots.set(d.destination, { ...s, current: r });
          }
          // Then one event: a running promotion approves or fails, or Beta approves a newer revision.
          if (step.outcome === 'new-revision') {
            newest += 1;
            continue;
          }
          const inFlight = [...running.keys()];
          if (inFlight.length === 0) continue;
          const target = inFlight[step.pick % inFlight.length]!;
          const r = running.get(target)!;
          running.delete(target);
          const s = slots.get(target)!;
          if (step.outcome === 'approve') slots.set(target, { ...s, approved: [...s.approved, r] });
          else slots.set(target, { ...s, current: s.approved[s.approved.length - 1], failed: [...s.failed, r] });
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
