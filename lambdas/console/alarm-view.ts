/**
 * The alarms an environment's bake watches, as the console, `lockstep alarm list` and local mode's seeding read
 * them, and their states through the bake's own `AlarmReader`. In local mode the console also sets them (the
 * stand-in's SetAlarmState); on AWS it shows the alarms read-only and without state: reading states there would
 * mean the console function assuming each environment's role (docs/ARCHITECTURE.md, "Local CloudWatch").
 */
import { HttpError } from '../core/errors';
import { alarmBake, parseAlarmReference, type EnvironmentDefinition, type Pipeline } from '../core/config/schema';
import type { AlarmReader, AlarmStateValue } from '../ports/services';

export const ALARM_STATE_VALUES: readonly AlarmStateValue[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/** The alarm names of an environment's bake (`approval.bakeTime.alarms`), ARNs reduced to names, in configured order. */
export function bakeAlarmsOf(environment: EnvironmentDefinition): string[] {
  return [...new Set((alarmBake(environment.approval)?.alarms ?? []).map((a) => parseAlarmReference(a).name))];
}

/** Every environment whose bake watches alarms, in pipeline order. */
export function environmentsWithAlarms(
  pipeline: Pipeline,
): { readonly environment: EnvironmentDefinition; readonly alarms: string[] }[] {
  return pipeline.stages
    .flatMap((stage) => stage.environments)
    .map((environment) => ({ environment, alarms: bakeAlarmsOf(environment) }))
    .filter((e) => e.alarms.length > 0);
}

/** An alarm on an environment card. */
export interface AlarmView {
  readonly name: string;
  /** Absent where the console does not read states (on AWS). `MISSING`: CloudWatch has no such alarm. */
  readonly state?: AlarmStateValue | 'MISSING';
  readonly reason?: string;
  /** When it last changed state (ISO 8601). */
  readonly since?: string;
}

/** Sets an alarm's state: local mode's CloudWatch (SetAlarmState); no console has one on AWS. */
export interface AlarmStateSetter {
  /** @throws UnknownAlarmError when there is no such alarm */
  set(name: string, state: AlarmStateValue, reason: string): Promise<void>;
  /** Every alarm's name, for a message about one that is not. */
  names(): Promise<string[]>;
}

/** The console's alarms in local mode: states through the bake's reader, and the setter. */
export interface ConsoleAlarms {
  readonly reader: AlarmReader;
  readonly setter: AlarmStateSetter;
}

/** CloudWatch has no alarm of that name. */
export class UnknownAlarmError extends HttpError {
  constructor(name: string, known: readonly string[]) {
    super(
      404,
      `No alarm "${name}" in local CloudWatch. Known alarms: ${known.join(', ') || 'none'} (local mode creates the alarms of the bakes when it starts)`,
      { details: { name } },
    );
  }
}

/**
 * Each environment's alarms with their states, when the console reads them (local mode); names only otherwise.
 * One DescribeAlarms round for the whole pipeline: locally every region is the one stand-in.
 */
export async function alarmViews(
  pipeline: Pipeline,
  alarms: ConsoleAlarms | undefined,
): Promise<ReadonlyMap<string, AlarmView[]>> {
  const configured = environmentsWithAlarms(pipeline);
  const views = new Map<string, AlarmView[]>();
  if (!alarms) {
    for (const { environment, alarms: names } of configured)
      views.set(
        environment.name,
        names.map((name) => ({ name })),
      );
    return views;
  }
  const all = [...new Set(configured.flatMap((c) => c.alarms))];
  const states = new Map((all.length > 0 ? await alarms.reader.states({}, all) : []).map((s) => [s.name, s]));
  for (const { environment, alarms: names } of configured) {
    views.set(
      environment.name,
      names.map((name): AlarmView => {
        const state = states.get(name);
        return state
          ? { name, state: state.state, reason: state.reason, since: state.updatedAt }
          : { name, state: 'MISSING' };
      }),
    );
  }
  return views;
}
