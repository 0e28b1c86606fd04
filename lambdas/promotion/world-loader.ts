/**
 * Reads the `World` that a reconcile pass decides on, and only what is in flight: for each promotion, the source's
 * candidates that are at least as new as what the destination runs, the executions and go-aheads of those
 * candidates, and each environment's slots, lock and switches. Each read is a key range or a batch of keys, so a
 * pass costs the same at a hundred revisions of history as at ten thousand (bench/reconcile-reads.bench.ts).
 *
 * What `decide()` reads from the world, and why this is enough for it to decide as on the whole history:
 * - `latest` selects the highest approved (or built) number: the newest entry of the approved index (or of the
 *   revisions) is all it needs, whatever the destination runs.
 * - The other strategies (`priority`, `most-tests-passed`, `compatible`) choose among candidates numbered at least
 *   what the destination runs, at most `CANDIDATE_WINDOW` of them, newest first: a promotion moves a destination
 *   forward, never back to a revision older than the one it runs (that is what rollback is for). See
 *   docs/ARCHITECTURE.md, "What a reconcile pass reads".
 * - `already-started` is checked for the selected revision's execution name only: the names of the candidates that
 *   were read are looked up by key, not the promotion's whole execution history.
 * - A destination's own slot keeps the last approvals in order (`APPROVED_TAIL`), which is what recovery and
 *   `unsafeDestination` need: whether the current revision was approved there and the last approved one before it.
 */
import { promotionId, type Pipeline } from '../core/config/schema';
import { applicationsReaching, type World } from '../core/decide/snapshots';
import type { ApplicationAtEnvironment, EnvironmentState, RetryRequest, Revision } from '../core/model';
import { executionName } from '../core/names';
import type { EnvironmentStore, ExecutionStore, LockStore, RevisionStore } from '../ports/stores';

/** How many candidates newer than what a destination runs the strategies other than `latest` choose among. */
export const CANDIDATE_WINDOW = 100;

/** How many entries of old, long `approved` lists one pass moves into the approved index (see `migrateApprovedIndex`). */
export const APPROVED_MIGRATION_BUDGET = 1_000;

export interface WorldSources {
  readonly pipeline: Pipeline;
  readonly revisions: RevisionStore;
  readonly environments: EnvironmentStore;
  readonly locks: LockStore;
  readonly executions: ExecutionStore;
  readonly clock: () => number;
}

/** What one (environment, application) of the approved index is read for. */
interface ApprovedNeed {
  newest: boolean;
  /** Read the range from this number up (0: from the start, newest first, at most `CANDIDATE_WINDOW`). */
  floor?: number;
}

/** What one application's revisions are read for (application sources). */
interface RevisionNeed {
  newest: boolean;
  floor?: number;
}

const minFloor = (a: number | undefined, b: number): number => (a === undefined ? b : Math.min(a, b));

/**
 * Reads the world for `reconcile()`: what is in flight, never the whole history (see the file comment). With
 * `migrateApprovedIndex` (the reconcile pass) it also moves a share of old `approved` lists into the approved index.
 *
 * @example
 * const decisions = reconcile(pipeline, await loadInFlightWorld(deps), Date.now());
 */
export async function loadInFlightWorld(
  deps: WorldSources,
  options: { readonly migrateApprovedIndex?: boolean } = {},
): Promise<World> {
  const now = deps.clock();
  const { pipeline } = deps;
  const environmentNames = pipeline.stages.flatMap((s) => s.environments.map((e) => e.name));
  const promotions = pipeline.promotions.map((p) => ({ definition: p, id: promotionId(p) }));
  const [switches, promotionsEnabled, environmentStates, retryLists] = await Promise.all([
    deps.environments.switches({ enabled: pipeline.pipeline.enabled, automation: pipeline.pipeline.automation }),
    deps.environments.promotionSwitches(),
    Promise.all(
      environmentNames.map(async (name): Promise<[string, EnvironmentState]> => {
        const [applications, lock] = await Promise.all([deps.environments.get(name), deps.locks.get(name, now)]);
        return [name, { name, applications, lock }];
      }),
    ),
    Promise.all(promotions.map((p) => deps.executions.retries(p.id))),
  ]);
  const environments = new Map(environmentStates);
  // The world below is the union of index and lists either way; migrating only makes the next passes cheaper.
  if (options.migrateApprovedIndex)
    await migrateApprovedIndex(deps.environments, Object.fromEntries(environmentStates));
  const retries = retryLists.flat();
  const currentAt = (env: string, application: string) =>
    environments.get(env)?.applications[application]?.current?.number;

  // What each promotion needs read, merged per source so that two destinations of one source read it once.
  const reaching = applicationsReaching(pipeline);
  const approvedNeeds = new Map<string, Map<string, ApprovedNeed>>();
  const revisionNeeds = new Map<string, RevisionNeed>();
  const carried = promotions.map(({ definition, id }) => {
    const from = definition.from;
    const applications =
      'environment' in from ? (reaching.get(from.environment) ?? []) : ([] as string[]).concat(from.application);
    return { definition, id, applications };
  });
  for (const { definition, applications } of carried) {
    const latest = definition.strategy === 'latest';
    for (const application of applications) {
      const floor = latest ? undefined : (currentAt(definition.to, application) ?? 0);
      if ('environment' in definition.from) {
        const perApp = approvedNeeds.get(definition.from.environment) ?? new Map<string, ApprovedNeed>();
        approvedNeeds.set(definition.from.environment, perApp);
        const need = perApp.get(application) ?? { newest: false };
        perApp.set(application, latest ? { ...need, newest: true } : { ...need, floor: minFloor(need.floor, floor!) });
      } else {
        const need = revisionNeeds.get(application) ?? { newest: false };
        revisionNeeds.set(
          application,
          latest ? { ...need, newest: true } : { ...need, floor: minFloor(need.floor, floor!) },
        );
      }
    }
  }

  // The approved index, merged with each slot's list (which, until migrated, may hold approvals the index lacks).
  const approvedReads = [...approvedNeeds].flatMap(([env, perApp]) =>
    [...perApp].map(async ([application, need]) => {
      const [newest, range] = await Promise.all([
        need.newest ? deps.environments.approvedNewest(env, application, { limit: 1 }) : [],
        need.floor !== undefined
          ? deps.environments.approvedNewest(env, application, { limit: CANDIDATE_WINDOW, atLeast: need.floor })
          : [],
      ]);
      return { env, application, indexed: [...newest, ...range] };
    }),
  );
  const revisionReads = [...revisionNeeds].map(async ([application, need]) => {
    const [newest, range] = await Promise.all([
      need.newest ? deps.revisions.newest(application, { limit: 1 }) : [],
      need.floor !== undefined
        ? deps.revisions.newest(application, { limit: CANDIDATE_WINDOW, atLeast: need.floor })
        : [],
    ]);
    return { application, revisions: [...newest, ...range] };
  });
  const [approvedRead, revisionsRead] = await Promise.all([Promise.all(approvedReads), Promise.all(revisionReads)]);
  for (const { env, application, indexed } of approvedRead) {
    const state = environments.get(env) ?? { name: env, applications: {}, lock: null };
    const slot: ApplicationAtEnvironment = state.applications[application] ?? { approved: [] };
    environments.set(env, {
      ...state,
      applications: {
        ...state.applications,
        [application]: { ...slot, approved: mergeApproved(indexed, slot.approved) },
      },
    });
  }

  // The candidate revisions of each environment source, by number (the application sources' were read above).
  const revisionsByApp = new Map<string, Map<number, Revision>>();
  const add = (application: string, revisions: readonly Revision[]) => {
    const known = revisionsByApp.get(application) ?? new Map<number, Revision>();
    revisionsByApp.set(application, known);
    for (const r of revisions) known.set(r.number, r);
  };
  for (const { application, revisions } of revisionsRead) add(application, revisions);
  const wanted = new Map<string, Set<number>>();
  for (const { definition, applications } of carried) {
    if (!('environment' in definition.from)) continue;
    for (const application of applications) {
      const approved = environments.get(definition.from.environment)?.applications[application]?.approved ?? [];
      for (const n of candidateNumbers(definition.strategy, approved, currentAt(definition.to, application))) {
        if (revisionsByApp.get(application)?.has(n)) continue;
        const set = wanted.get(application) ?? new Set<number>();
        wanted.set(application, set);
        set.add(n);
      }
    }
  }
  await Promise.all(
    [...wanted].map(async ([application, numbers]) =>
      add(application, await deps.revisions.getMany(application, [...numbers])),
    ),
  );

  // Executions and go-aheads of the revisions that can be selected: looked up by key.
  const [started, approvals] = await Promise.all([
    Promise.all(
      carried.map(({ id, applications }) => {
        const names = applications.flatMap((application) =>
          [...(revisionsByApp.get(application)?.keys() ?? [])].map((n) =>
            executionName(id, application, n, requestedAttempt(retries, id, application, n)),
          ),
        );
        return names.length > 0 ? deps.executions.started(id, names) : Promise.resolve([]);
      }),
    ),
    Promise.all(
      carried.flatMap(({ definition, id, applications }) =>
        definition.approval !== 'manual'
          ? []
          : applications.map((application) =>
              deps.environments.promotionApprovalsFor(id, application, [
                ...(revisionsByApp.get(application)?.keys() ?? []),
              ]),
            ),
      ),
    ),
  ]);

  return {
    switches,
    promotionsEnabled,
    revisions: Object.fromEntries(
      [...revisionsByApp].map(([application, byNumber]) => [
        application,
        [...byNumber.values()].sort((a, b) => a.number - b.number),
      ]),
    ),
    environments: Object.fromEntries(environments),
    promotionApprovals: approvals.flat(),
    startedExecutions: started.flat(),
    retries,
  };
}

/**
 * Moves the approval history that slots written by an older Lockstep hold in their `approved` list into the
 * approved index, at most `budget` entries per call (a pass does its share and the next goes on). Idempotent: a
 * crashed or concurrent call leaves nothing half-moved (see `EnvironmentStore.compactApproved`). Returns how many
 * entries moved; 0 once every list is down to its tail.
 */
export async function migrateApprovedIndex(
  environments: EnvironmentStore,
  states: Readonly<Record<string, EnvironmentState>>,
  budget = APPROVED_MIGRATION_BUDGET,
): Promise<number> {
  let moved = 0;
  for (const [env, state] of Object.entries(states)) {
    for (const [application, slot] of Object.entries(state.applications)) {
      let approved = slot.approved;
      while (moved < budget) {
        const count = await environments.compactApproved(env, application, approved, budget - moved);
        if (count === 0) break;
        moved += count;
        approved = approved.slice(count);
      }
    }
  }
  return moved;
}

/** The index's numbers that the list lacks, oldest first, then the list in its (approval) order. */
function mergeApproved(indexed: readonly number[], listed: readonly number[]): number[] {
  const inList = new Set(listed);
  const older = [...new Set(indexed.filter((n) => !inList.has(n)))].sort((a, b) => a - b);
  return [...older, ...listed];
}

/** The approved numbers whose revisions a promotion of `strategy` may select (see the file comment). */
function candidateNumbers(strategy: string, approved: readonly number[], current: number | undefined): number[] {
  if (approved.length === 0) return [];
  if (strategy === 'latest') return [approved.reduce((a, b) => Math.max(a, b))];
  const floor = current ?? 0;
  return approved
    .filter((n) => n >= floor)
    .sort((a, b) => b - a)
    .slice(0, CANDIDATE_WINDOW);
}

/** The attempt `decide()` names for a revision: the highest retry requested for it on the edge, else 1. */
function requestedAttempt(retries: readonly RetryRequest[], promotion: string, application: string, revision: number) {
  let attempt = 1;
  for (const r of retries) {
    if (r.promotion === promotion && r.application === application && r.revision === revision)
      attempt = Math.max(attempt, r.attempt);
  }
  return attempt;
}
