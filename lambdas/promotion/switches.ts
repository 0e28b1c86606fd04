/**
 * Operators' switches: the pipeline enabled flag and the automation flag, flipped at run time (the definition file
 * holds their initial values). Each change is stored, goes to the timeline, and is announced on the notification
 * topic (`pipeline-disabled`, `pipeline-enabled`, `automation-switched`), so whoever subscribed to those events
 * learns who flipped what. Setting a switch to the value it has changes and announces nothing.
 */
import type { Pipeline } from '../core/config/schema';
import type { PipelineSwitches } from '../core/model';
import type { Notifier } from '../ports/services';
import type { EnvironmentStore, EventStore } from '../ports/stores';
import { automationSwitched, pipelineSwitched } from './notifications';

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
export async function setSwitches(deps: SwitchDependencies, change: Partial<PipelineSwitches>, by: string): Promise<SwitchOutcome> {
  const name = deps.pipeline.pipeline.name;
  const before = await deps.environments.switches({ enabled: deps.pipeline.pipeline.enabled, automation: deps.pipeline.pipeline.automation });
  const wanted = Object.fromEntries(Object.entries(change).filter(([key, value]) => value !== undefined && before[key as keyof PipelineSwitches] !== value));
  if (Object.keys(wanted).length === 0) return { before, after: before, notified: [] };
  const after = await deps.environments.setSwitches(wanted, by);
  const notifications = [
    ...(wanted.enabled !== undefined ? [pipelineSwitched({ pipeline: name, change: after.enabled ? 'pipeline-enabled' : 'pipeline-disabled', by })] : []),
    ...(wanted.automation !== undefined ? [automationSwitched({ pipeline: name, automation: after.automation, by })] : []),
  ];
  for (const notification of notifications) {
    await deps.events.append({ at: deps.clock(), type: notification.event, actor: by, message: notification.text });
    await deps.notifier.publish(notification);
  }
  return { before, after, notified: notifications.map((n) => n.event) };
}
