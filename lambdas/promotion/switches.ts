/**
 * Operators' switches: the pipeline enabled flag and the automation flag, flipped at run time (the definition file
 * holds their initial values). Each change is stored, goes to the timeline, and is announced on the notification
 * topic (`pipeline-disabled`, `pipeline-enabled`, `automation-switched`), so whoever subscribed to those events
 * learns who flipped what. Setting a switch to the value it has changes and announces nothing.
 */
import type { Pipeline } from '../core/config/schema';
import type { PipelineSwitches } from '../core/model';
import type { Notifier } from '../ports/services';
import { LockstepError } from '../core/errors';
import type { EnvironmentStore, EventStore, LockStore } from '../ports/stores';
import { automationSwitched, operatorAction, pipelineSwitched } from './notifications';

export interface SwitchDependencies {
  readonly pipeline: Pipeline;
  readonly environments: EnvironmentStore;
  readonly events: EventStore;
  readonly notifier: Notifier;
  readonly clock: () => number;
}

export interface SwitchOutcome {
  readonly before: PipelineSwitches;
  readonly after: PipelineSwitches;
  /** Notification events sent (empty when nothing changed). */
  readonly notified: readonly string[];
}

/** Sets the pipeline's switches as `by` (a person's email or a CLI user) and announces what changed. */
export async function setSwitches(
  deps: SwitchDependencies,
  change: Partial<PipelineSwitches>,
  by: string,
): Promise<SwitchOutcome> {
  const name = deps.pipeline.pipeline.name;
  const before = await deps.environments.switches({
    enabled: deps.pipeline.pipeline.enabled,
    automation: deps.pipeline.pipeline.automation,
  });
  const wanted = Object.fromEntries(
    Object.entries(change).filter(
      ([key, value]) => value !== undefined && before[key as keyof PipelineSwitches] !== value,
    ),
  );
  if (Object.keys(wanted).length === 0) return { before, after: before, notified: [] };
  const after = await deps.environments.setSwitches(wanted, by);
  const notifications = [
    ...(wanted.enabled !== undefined
      ? [pipelineSwitched({ pipeline: name, change: after.enabled ? 'pipeline-enabled' : 'pipeline-disabled', by })]
      : []),
    ...(wanted.automation !== undefined
      ? [automationSwitched({ pipeline: name, automation: after.automation, by })]
      : []),
  ];
  for (const notification of notifications) {
    await deps.events.append({ at: deps.clock(), type: notification.event, actor: by, message: notification.text });
    await deps.notifier.publish(notification);
  }
  return { before, after, notified: notifications.map((n) => n.event) };
}

export interface UnlockDependencies extends SwitchDependencies {
  readonly locks: LockStore;
}

export interface UnlockOutcome {
  /** The holder whose lock was released (undefined when the environment was not locked). */
  readonly holder?: string;
  readonly fencingToken?: number;
  /** Applications whose unapproved current revision the operator allowed deploys over (`--allow-deploy`). */
  readonly cleared: readonly { application: string; revision: number }[];
}

/** An operator's unlock that names no reason, or an environment the pipeline does not have. */
export class UnlockRefusedError extends LockstepError {}

/**
 * `lockstep unlock <environment>`: an operator releases the environment's lock, fenced by the holder's current
 * token (the holder's later fenced steps then fail with LockLostError and roll back), and, with `allowDeploy`,
 * allows automated deploys over a current revision that was never approved there (the environment has no safe
 * revision otherwise). Audited in the timeline with the holder and the reason, and announced.
 */
export async function unlockEnvironment(
  deps: UnlockDependencies,
  request: { environment: string; reason: string; by: string; allowDeploy?: boolean },
): Promise<UnlockOutcome> {
  const { environment, reason, by } = request;
  const known = deps.pipeline.stages.flatMap((s) => s.environments.map((e) => e.name));
  if (!known.includes(environment)) {
    throw new UnlockRefusedError(
      `Environment ${environment} is not in pipeline ${deps.pipeline.pipeline.name}; use one of: ${known.join(', ')}`,
    );
  }
  if (reason.trim() === '')
    throw new UnlockRefusedError('Say why you unlock it with --reason "...": the reason goes into the audit record');
  const now = deps.clock();
  const lock = await deps.locks.get(environment, now);
  let released: { holder: string; fencingToken: number } | undefined;
  if (lock && (await deps.locks.release(environment, lock.owner, lock.fencingToken))) {
    released = { holder: lock.owner, fencingToken: lock.fencingToken };
    const message = `${by} released the lock of ${environment} held by ${lock.owner} (token ${lock.fencingToken}): ${reason}`;
    await deps.events.append({
      at: now,
      type: 'lock-released-by-operator',
      actor: by,
      message,
      environment,
      details: { holder: lock.owner, fencingToken: lock.fencingToken, reason },
    });
    await deps.notifier.publish(
      operatorAction({
        pipeline: deps.pipeline.pipeline.name,
        environment,
        subject: `Unlocked: ${environment}`,
        text: message,
      }),
    );
  }
  const cleared: { application: string; revision: number }[] = [];
  if (request.allowDeploy) {
    for (const [application, slot] of Object.entries(await deps.environments.get(environment))) {
      const current = slot.current;
      if (!current || slot.approved.includes(current.number) || slot.cleared === current.number) continue;
      await deps.environments.clearUnsafe(environment, application, current.number);
      cleared.push({ application, revision: current.number });
      const message = `${by} allowed deploys over ${application} r${current.number} in ${environment}, which was never approved there: ${reason}`;
      await deps.events.append({
        at: now,
        type: 'unsafe-revision-cleared',
        actor: by,
        message,
        environment,
        application,
        revision: current.number,
        details: { reason },
      });
      await deps.notifier.publish(
        operatorAction({
          pipeline: deps.pipeline.pipeline.name,
          environment,
          subject: `Deploys allowed: ${environment}`,
          text: message,
        }),
      );
    }
  }
  return { ...(released ?? {}), cleared };
}
