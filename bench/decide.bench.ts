/**
 * `npx tsx bench/run.ts decide`: one whole reconcile pass (snapshots + `decide()` for every promotion and
 * application) over a generated pipeline set with 1,000 environments and 100,000 revisions.
 *
 * Each timed pass gets fresh copies of the world's arrays, as a reconcile Lambda reading the stores would, so
 * per-world caches (revision lookups, the started-execution set) are rebuilt inside the timing. The naive baseline
 * runs the same pass but selects by sorting a copy of the candidates and looks started executions up linearly,
 * which is what a first implementation tends to do.
 */
import {
  pipelineSchema,
  promotionId,
  type Pipeline,
  type SelectionStrategy,
  type TimeWindow,
} from '../lambdas/core/config/schema';
import { decide } from '../lambdas/core/decide/decide';
import { firstConflict, testsPassed } from '../lambdas/core/decide/selection';
import { buildSnapshots, reconcile, type World } from '../lambdas/core/decide/snapshots';
import type { PromotionSnapshot } from '../lambdas/core/decide/types';
import { isAnyOpen } from '../lambdas/core/decide/windows';
import type { EnvironmentState, Revision } from '../lambdas/core/model';
import { executionName } from '../lambdas/core/names';

const PIPELINES = 50;
const ENVIRONMENTS_PER_PIPELINE = 20; // 50 x 20 = 1,000 environments
const APPLICATIONS = ['web', 'api'];
const REVISIONS_PER_APPLICATION = 1_000; // 50 x 2 x 1,000 = 100,000 revisions
const PASSES = 15;
const NOW = Date.parse('2024-06-05T15:00:00Z');
const ZONES = ['America/New_York', 'Europe/London', 'Asia/Tokyo', 'Australia/Sydney', 'UTC'];

/** A deterministic PRNG so every run measures the same world. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Generated {
  readonly pipeline: Pipeline;
  readonly world: World;
}

function generate(index: number, rand: () => number): Generated {
  const name = `p${index}`;
  const env = (i: number) => `${name}-e${i}`;
  const strategies: SelectionStrategy[] = ['latest', 'priority', 'most-tests-passed', 'compatible'];
  const environments = Array.from({ length: ENVIRONMENTS_PER_PIPELINE }, (_, i) => {
    const windows: TimeWindow[] =
      i >= 5 && rand() < 0.6
        ? [
            {
              days: ['mon', 'tue', 'wed', 'thu', 'fri'],
              start: '22:00',
              end: '04:00',
              timeZone: ZONES[i % ZONES.length]!,
            },
          ]
        : [];
    return { name: env(i), deploy: { commands: ['./deploy.sh'] }, windows };
  });
  // e0 <- applications; e1 <- e0; e2..e4 <- e1; e5..e19 <- e2 (a fan-out of production environments)
  const promotions = environments.slice(1).map((e, k) => {
    const i = k + 1;
    const source = i === 1 ? env(0) : i <= 4 ? env(1) : env(2);
    return {
      from: { environment: source },
      to: e.name,
      strategy: strategies[i % strategies.length]!,
      approval: i >= 5 && i % 4 === 0 ? ('manual' as const) : ('automatic' as const),
    };
  });
  const pipeline = pipelineSchema.parse({
    pipeline: { name },
    packages: ['web-core', 'api-core', 'shared'].map((p) => ({
      name: p,
      source: { github: { owner: 'o', repo: p } },
      build: { commands: ['make'] },
    })),
    applications: [
      { name: 'web', packages: ['web-core', 'shared'] },
      { name: 'api', packages: ['api-core', 'shared'] },
    ],
    stages: [
      { name: 'Test', environments: environments.slice(0, 2) },
      { name: 'Staging', environments: environments.slice(2, 5) },
      { name: 'Prod', environments: environments.slice(5) },
    ],
    promotions: [{ from: { application: APPLICATIONS }, to: env(0) }, ...promotions],
  });

  const revisions: Record<string, Revision[]> = {};
  for (const app of APPLICATIONS) {
    revisions[app] = Array.from({ length: REVISIONS_PER_APPLICATION }, (_, i) => ({
      application: app,
      number: i + 1,
      // `shared` moves every 50 revisions, so compatible has real conflicts to find.
      versionSet: { [`${app}-core`]: `c${i + 1}`, shared: `s${Math.floor(i / 50)}` },
      commits: [],
      authors: [],
      artifact: '',
      buildId: '',
      createdAt: i,
      priority: rand() < 0.01,
      testResults: { [env(0)]: { passed: Math.floor(rand() * 100), failed: 0 } },
    }));
  }
  // Approved sets shrink along the chain: each environment approved most of what reached it.
  const depthOf = (i: number) => (i === 0 ? 0 : i === 1 ? 1 : i <= 4 ? 2 : 3);
  const environmentsState: Record<string, EnvironmentState> = {};
  const started: string[] = [];
  environments.forEach((e, i) => {
    const top = REVISIONS_PER_APPLICATION - depthOf(i) * 40 - Math.floor(rand() * 30);
    const applications: Record<string, EnvironmentState['applications'][string]> = {};
    for (const app of APPLICATIONS) {
      const approved: number[] = [];
      for (let n = 1; n <= top; n++) if (rand() < 0.9) approved.push(n);
      const current = top - Math.floor(rand() * 3);
      applications[app] = {
        current: {
          application: app,
          number: current,
          versionSet: revisions[app]![current - 1]!.versionSet,
          deployedAt: 0,
        },
        approved,
      };
    }
    const held = rand() < 0.2;
    environmentsState[e.name] = {
      name: e.name,
      applications,
      lock: held
        ? {
            environment: e.name,
            owner: `manual:ops${i}`,
            acquiredAt: NOW - 1,
            leaseExpiresAt: NOW + 3_600_000,
            fencingToken: 3,
          }
        : null,
    };
  });
  for (const p of pipeline.promotions) {
    for (const app of APPLICATIONS)
      for (let n = 1; n <= 5; n++)
        started.push(executionName(promotionId(p), app, REVISIONS_PER_APPLICATION - 200 + n));
  }
  return {
    pipeline,
    world: { revisions, environments: environmentsState, promotionApprovals: [], startedExecutions: started },
  };
}

/** Fresh arrays, same contents: what a new read from the stores looks like to identity-keyed caches. */
function freshCopy(world: World): World {
  const revisions: Record<string, readonly Revision[]> = {};
  for (const [app, list] of Object.entries(world.revisions)) revisions[app] = [...list];
  return { ...world, revisions, startedExecutions: [...world.startedExecutions] };
}

/** The naive pass: sort a copy of the candidates per decision and scan the started list linearly. */
function naiveDecideKind(s: PromotionSnapshot, now: number): string {
  if (!s.pipeline.enabled || !s.promotion.enabled) return 'disabled';
  const score = (r: Revision) =>
    s.promotion.strategy === 'priority'
      ? r.priority
        ? 1
        : 0
      : s.promotion.strategy === 'most-tests-passed'
        ? testsPassed(r)
        : 0;
  const sorted = [...s.candidates].sort((a, b) => score(b) - score(a) || b.number - a.number);
  const deployed = Object.entries(s.destination.applications)
    .filter(([app, slot]) => app !== s.application && slot.current)
    .map(([app, slot]) => ({ application: app, number: slot.current!.number, versionSet: slot.current!.versionSet }));
  const pick = s.promotion.strategy === 'compatible' ? sorted.find((r) => !firstConflict(r, deployed)) : sorted[0];
  if (!pick) return 'no-candidate';
  if (s.destination.applications[s.application]?.current?.number === pick.number) return 'in-sync';
  if (s.startedExecutions.includes(executionName(s.promotion.id, s.application, pick.number))) return 'already-started';
  if (!isAnyOpen(s.destination.windows, now)) return 'wait-window';
  return 'deploy';
}

function stats(samples: number[]): { median: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { median: at(0.5), p95: at(0.95) };
}

export default async function bench(): Promise<void> {
  const rand = random(42);
  const set = Array.from({ length: PIPELINES }, (_, i) => generate(i, rand));
  const environments = set.reduce((n, g) => n + g.pipeline.stages.reduce((m, s) => m + s.environments.length, 0), 0);
  const revisions = set.reduce((n, g) => n + Object.values(g.world.revisions).reduce((m, l) => m + l.length, 0), 0);

  const ours = (worlds: World[]) => {
    let decisions = 0;
    const kinds = new Map<string, number>();
    set.forEach((g, i) => {
      for (const d of reconcile(g.pipeline, worlds[i]!, NOW)) {
        decisions++;
        kinds.set(d.decision.kind, (kinds.get(d.decision.kind) ?? 0) + 1);
      }
    });
    return { decisions, kinds };
  };
  const naive = (worlds: World[]) => {
    let decisions = 0;
    set.forEach((g, i) => {
      for (const s of buildSnapshots(g.pipeline, worlds[i]!)) {
        naiveDecideKind(s, NOW);
        decisions++;
      }
    });
    return { decisions };
  };

  const time = (pass: (worlds: World[]) => unknown, passes: number) => {
    const samples: number[] = [];
    for (let i = 0; i < passes; i++) {
      const worlds = set.map((g) => freshCopy(g.world));
      const t0 = performance.now();
      pass(worlds);
      samples.push(performance.now() - t0);
    }
    return stats(samples);
  };

  const { decisions, kinds } = ours(set.map((g) => g.world));
  time(ours, 3); // warm-up: JIT and the windows' compiled forms (config, cached for a process's lifetime)
  const fast = time(ours, PASSES);
  time(naive, 2);
  const slow = time(naive, 5);

  // Cross-check: the naive pass and decide() agree on what they both model.
  const check = set[0]!;
  for (const s of buildSnapshots(check.pipeline, check.world)) {
    const d = decide(s, NOW).kind;
    const n = naiveDecideKind(s, NOW);
    if (['in-sync', 'already-started', 'no-candidate'].includes(n) && d !== n)
      throw new Error(`baseline disagrees: ${n} vs ${d}`);
  }

  console.log(
    `world: ${PIPELINES} pipelines, ${environments} environments, ${revisions} revisions, ${decisions} decisions per pass`,
  );
  console.log(`decisions: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(
    `reconcile pass (snapshots + decide), ${PASSES} passes: median ${fast.median.toFixed(1)} ms, p95 ${fast.p95.toFixed(1)} ms`,
  );
  console.log(
    `  ${Math.round(decisions / (fast.median / 1000)).toLocaleString('en-US')} decisions/s; target < 200 ms per pass: ${fast.median < 200 ? 'met' : 'MISSED'}`,
  );
  console.log(
    `naive baseline (sort candidates per decision, linear started lookup), 5 passes: median ${slow.median.toFixed(1)} ms, p95 ${slow.p95.toFixed(1)} ms`,
  );
  console.log(`  ours is ${(slow.median / fast.median).toFixed(1)}x faster`);
}
