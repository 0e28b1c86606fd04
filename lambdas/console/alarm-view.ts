/**
 * The alarms an environment's bake watches, as the console, `lockstep alarm list` and local mode's seeding read
 * them, and their states through the bake's own `AlarmReader`. In local mode the console also sets them (the
 * stand-in's SetAlarmState); on AWS it shows the alarms read-only and without state: reading states there would
 * mean the console function assuming each environment's role (docs/ARCHITECTURE.md, "Local CloudWatch").
 */
import { HttpError } from '../core/errors';
import type { EnvironmentDefinition, Pipeline } from '../core/config/schema';
import { alarmNameOf } from '../core/names';
import type { AlarmReader, AlarmScope, AlarmStateValue } from '../ports/services';

export const ALARM_STATE_VALUES: readonly AlarmStateValue[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/**
 * The alarm names of an environment's bake (`approval.bakeTime.alarms`), ARNs reduced to names, in configured
 * order. A bake time may be a plain duration (no alarms); entries are read defensively (a name, or an object with
 * `name`), so this reads both the configuration of this version and a pipeline file written by another.
 */
export function bakeAlarmsOf(environment: EnvironmentDefinition): string[] {
  const bake: unknown = environment.approval.bakeTime;
  if (bake === null || typeof bake !== 'object' || !('alarms' in bake) || !Array.isArray(bake.alarms)) return [];
  const names = (bake.alarms as unknown[]).map((entry) =>
    typeof entry === 'string'
      ? entry
      : entry !== null && typeof entry === 'object' && 'name' in entry && typeof entry.name === 'string'
        ? entry.name
        : undefined,
  );
  return [...new Set(names.filter((n): n is string => !!n).map(alarmNameOf))];
}

/** Where an environment's alarms live: its own region and, cross-account, its role. */
export function alarmScopeOf(environment: EnvironmentDefinition): AlarmScope {
  return {
    ...(environment.region ? { region: environment.region } : {}),
    ...(environment.roleArn ? { roleArn: environment.roleArn } : {}),
  };
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
