/**
 * Renamed and removed environments at run time (the decision is in docs/ARCHITECTURE.md, "Renaming and removing
 * environments"). Run by every reconcile pass before it decides anything:
 *
 * - `carryRenamedEnvironments`: an environment with `renamedFrom: <old>` adopts the old name's slots (current and
 *   previous revision, approved revisions) where it has none of its own, and a live lock on the old name is held
 *   for the same owner on the new name until the old lease would have ended. So the rename redeploys nothing,
 *   rollback keeps its target, and nothing else deploys there while the old holder may still be at work.
 * - `endRemovedEnvironments`: an environment that left the definition (removed, or renamed away) has its running
 *   executions stopped (`EnvironmentRemovedError`), the locks they held released (on the old and the new name),
 *   and a timeline entry saying so. Nothing is undeployed; its state stays for the record.
 */
import { z } from 'zod';
import type { Pipeline } from '../core/config/schema';
import type { ExecutionController } from '../ports/services';
import type { EnvironmentStore, EventStore, LockStore } from '../ports/stores';

export interface EnvironmentChangeDependencies {
  readonly pipeline: Pipeline;
  readonly environments: EnvironmentStore;
  readonly locks: LockStore;
  readonly events: EventStore;
  readonly executions: ExecutionController;
  readonly clock: () => number;
}

type CarryDependencies = Omit<EnvironmentChangeDependencies, 'executions'>;

export interface RemovedEnvironmentReport {
  readonly environment: string;
  /** The environment it was renamed to, when it was. */
  readonly renamedTo?: string;
  /** Names of the executions stopped. */
  readonly stopped: readonly string[];
  readonly locksReleased: number;
}

function definedEnvironments(pipeline: Pipeline) {
  return pipeline.stages.flatMap((s) => s.environments);
}

/** Carries each renamed environment's state over from its old name; returns the renames that carried something. */
export async function carryRenamedEnvironments(deps: CarryDependencies): Promise<string[]> {
  const carried: string[] = [];
  for (const env of definedEnvironments(deps.pipeline)) {
    const old = env.renamedFrom;
    if (old === undefined) continue;
    const now = deps.clock();
    const [slots, lock] = await Promise.all([deps.environments.get(old), deps.locks.get(old, now)]);
    const adopted: string[] = [];
    for (const [application, slot] of Object.entries(slots)) {
      if (await deps.environments.adoptSlot(env.name, application, slot)) adopted.push(application);
    }
    // Re-entry by the same owner keeps its token and sets the lease to the same end, so a repeat is harmless.
    const lockCarried =
      lock !== null &&
      lock.leaseExpiresAt > now &&
      (await deps.locks.acquire(env.name, lock.owner, lock.leaseExpiresAt - now, now)).acquired;
    if (adopted.length === 0) continue;
    carried.push(`${old}->${env.name}`);
    await deps.events.append({
      at: now,
      type: 'environment-renamed',
      actor: 'agent:reconcile',
      message:
        `${old} was renamed to ${env.name}: ${adopted.join(', ')} carried over (deployed, previous and approved revisions)` +
        (lockCarried ? `, and the lock held by ${lock.owner}` : '') +
        `; the timeline before the rename stays under ${old}`,
      environment: env.name,
      details: { renamedFrom: old, applications: adopted, lockOwner: lockCarried ? lock.owner : null },
    });
  }
  return carried;
}

const inputEnvironment = z.object({ environment: z.string() }).passthrough();

/** Ends what runs for environments that left the definition since the last pass, and reports it. */
export async function endRemovedEnvironments(deps: EnvironmentChangeDependencies): Promise<RemovedEnvironmentReport[]> {
  const defined = definedEnvironments(deps.pipeline);
  const current = defined.map((e) => e.name);
  const known = await deps.environments.knownEnvironments();
  const gone = (known ?? []).filter((name) => !current.includes(name));
  if (gone.length === 0) {
    if (known?.length !== current.length || known.some((n, i) => n !== current[i]))
      await deps.environments.setKnownEnvironments(current);
    return [];
  }
  const running = await deps.executions.running();
  const reports: RemovedEnvironmentReport[] = [];
  for (const environment of gone) {
    const renamedTo = defined.find((e) => e.renamedFrom === environment)?.name;
    const why = renamedTo
      ? `Environment ${environment} was renamed to ${renamedTo} in pipeline ${deps.pipeline.pipeline.name}; the reconcile pass promotes to ${renamedTo}`
      : `Environment ${environment} was removed from pipeline ${deps.pipeline.pipeline.name}`;
    const stopped: string[] = [];
    for (const execution of running) {
      const parsed = inputEnvironment.safeParse(execution.input);
      if (!parsed.success || parsed.data.environment !== environment) continue;
      await deps.executions.stop(execution.executionArn, 'EnvironmentRemovedError', why);
      stopped.push(execution.name);
    }
    let locksReleased = 0;
    const now = deps.clock();
    for (const name of renamedTo ? [environment, renamedTo] : [environment]) {
      const lock = await deps.locks.get(name, now);
      if (lock && stopped.includes(lock.owner) && (await deps.locks.release(name, lock.owner, lock.fencingToken)))
        locksReleased++;
    }
    reports.push({ environment, ...(renamedTo ? { renamedTo } : {}), stopped, locksReleased });
    await deps.events.append({
      at: now,
      type: 'environment-removed',
      actor: 'agent:reconcile',
      message: `${why}: ${stopped.length === 0 ? 'no execution was running there' : `stopped ${stopped.join(', ')}`}${locksReleased > 0 ? `, released ${locksReleased === 1 ? 'its lock' : 'its locks'}` : ''}. Nothing was undeployed.`,
      environment,
      details: { renamedTo: renamedTo ?? null, stopped, locksReleased },
    });
  }
  await deps.environments.setKnownEnvironments(current);
  return reports;
}
