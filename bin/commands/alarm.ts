/**
 * `lockstep alarm set <name> ALARM|OK|INSUFFICIENT_DATA [--reason]` and `lockstep alarm list`: the alarms the
 * alarm-watched bake reads. Locally they are real state in local mode's CloudWatch: `set` calls its SetAlarmState
 * and `list` its DescribeAlarms, the same API the bake's step code reads, so an alarm set here fails a running bake.
 * Against AWS, `set` refuses (CloudWatch's own `set-alarm-state` is the tool there) and `list` shows the states of
 * the alarms the pipeline's bakes watch, read as the bake reads them (each environment's region and role).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Command } from 'commander';
import { CloudWatchAlarmReader } from '../../lambdas/adapters/cloudwatch-alarm-reader';
import { CloudWatchAlarmStateSetter } from '../../lambdas/adapters/cloudwatch-alarm-setter';
import { readPipelineFile } from '../../lambdas/adapters/pipeline-file';
import { ALARM_STATE_VALUES, environmentsWithAlarms, UnknownAlarmError } from '../../lambdas/console/alarm-view';
import { parseAlarmReference, type Pipeline } from '../../lambdas/core/config/schema';
import { LockstepError } from '../../lambdas/core/errors';
import { alarmScope } from '../../lambdas/promotion/bake';
import type { AlarmReader, AlarmStateValue } from '../../lambdas/ports/services';
import { LocalSystemNotRunningError, type LocalSystemConnection } from '../../local/assembly/connection';
import { adapters, connect, DATA_DIR_OPTION, operator, type Target } from './connect';

export class AlarmCommandError extends LockstepError {}

export interface AlarmSetOptions {
  /** CloudWatch's StateReason. @default "set with lockstep alarm set by <you>" */
  reason?: string;
  /** Who sets it, for the reason. @default your login */
  as?: string;
  dataDir: string;
}

export interface AlarmListOptions {
  /** Print the alarms as JSON (`AlarmListEntry[]`). */
  json?: boolean;
  dataDir: string;
}

/** One alarm as `lockstep alarm list` shows it. */
export interface AlarmListEntry {
  readonly name: string;
  /** `MISSING`: a bake watches it, but CloudWatch has no such alarm (that bake would be blocked). */
  readonly state: AlarmStateValue | 'MISSING';
  readonly reason?: string;
  readonly since?: string;
  /** The environments whose bakes watch it. */
  readonly watchedBy: readonly string[];
}

/** What `alarm set` needs: the running local mode, else a message that says where to set an alarm instead. */
function localTarget(dataDir: string): LocalSystemConnection {
  let target: Target;
  try {
    target = connect(dataDir);
  } catch (error) {
    if (!(error instanceof LocalSystemNotRunningError)) throw error;
    throw new AlarmCommandError(
      `${localOnly(dataDir)}, and no local Lockstep runs there: start it with \`npm start\``,
      {
        cause: error,
      },
    );
  }
  if (target.kind === 'aws')
    throw new AlarmCommandError(
      `${localOnly(dataDir)}. On AWS, set an alarm's state with CloudWatch's own command: aws cloudwatch set-alarm-state --alarm-name <name> --state-value ALARM --state-reason "..."`,
    );
  return target.connection;
}

function localOnly(dataDir: string): string {
  return `\`lockstep alarm set\` sets alarms in the CloudWatch of local mode (--data-dir ${dataDir})`;
}

/** A client of the running local mode's CloudWatch, from its `endpoints.json`. */
function localCloudWatch(connection: LocalSystemConnection): CloudWatchClient {
  const env = connection.env;
  const endpoint = env.AWS_ENDPOINT_URL_CLOUDWATCH;
  if (!endpoint || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY)
    throw new AlarmCommandError(
      `The local Lockstep on ${connection.dataDir} started before local mode served CloudWatch: stop it and start it again`,
    );
  return new CloudWatchClient({
    endpoint,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
}

function stateOf(text: string): AlarmStateValue {
  const state = text.toUpperCase() as AlarmStateValue;
  if (!ALARM_STATE_VALUES.includes(state))
    throw new AlarmCommandError(`"${text}" is not an alarm state: use ${ALARM_STATE_VALUES.join(', ')}`);
  return state;
}

/**
 * The body of `lockstep alarm set`: sets the alarm in local mode's CloudWatch and returns the line to print.
 *
 * @example
 * console.log(await setAlarm('web-prod-5xx', 'ALARM', { dataDir: '.lockstep' })); // web-prod-5xx: OK -> ALARM (...)
 */
export async function setAlarm(nameOrArn: string, stateText: string, options: AlarmSetOptions): Promise<string> {
  const state = stateOf(stateText);
  // As a bake's `alarms:` may: local CloudWatch is every account and region, so the name is the alarm.
  const name = parseAlarmReference(nameOrArn).name;
  const connection = localTarget(options.dataDir);
  const client = localCloudWatch(connection);
  try {
    const reader = new CloudWatchAlarmReader({ clientFor: () => client });
    const before = (await reader.states({}, [name]))[0];
    const reason = options.reason ?? `set with lockstep alarm set by ${await operator(options.as)}`;
    try {
      await new CloudWatchAlarmStateSetter(client).set(name, state, reason);
    } catch (error) {
      if (error instanceof UnknownAlarmError) throw new AlarmCommandError(error.message, { cause: error });
      throw error;
    }
    return `${name}: ${before ? `${before.state} -> ` : ''}${state} (${reason})`;
  } finally {
    client.destroy();
  }
}

/** Which environments' bakes watch each alarm. */
function watchers(pipeline: Pipeline): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const { environment, alarms } of environmentsWithAlarms(pipeline))
    for (const name of alarms) by.set(name, [...(by.get(name) ?? []), environment.name]);
  return by;
}

/** Local mode: every alarm of its CloudWatch, and the bakes' alarms it lacks as MISSING. */
async function localAlarms(connection: LocalSystemConnection): Promise<AlarmListEntry[]> {
  const pipeline = readPipelineFile(connection.pipelineFile);
  const watched = watchers(pipeline);
  const client = localCloudWatch(connection);
  try {
    const names = await new CloudWatchAlarmStateSetter(client).names();
    const all = [...new Set([...names, ...watched.keys()])].sort();
    const states = await new CloudWatchAlarmReader({ clientFor: () => client }).states({}, all);
    return entries(all, states, watched);
  } finally {
    client.destroy();
  }
}

/**
 * On AWS: the bakes' alarms, read per environment as the bake reads them. One entry per environment and alarm: two
 * environments in different accounts or regions may watch different alarms of one name.
 */
export async function configuredAlarms(pipeline: Pipeline, reader: AlarmReader): Promise<AlarmListEntry[]> {
  const perEnvironment = await Promise.all(
    environmentsWithAlarms(pipeline).map(async ({ environment, alarms }) =>
      entries(
        alarms,
        await reader.states(alarmScope(pipeline, environment.name), alarms),
        new Map(alarms.map((name) => [name, [environment.name]])),
      ),
    ),
  );
  return perEnvironment.flat();
}

function entries(
  names: readonly string[],
  states: Awaited<ReturnType<AlarmReader['states']>>,
  watched: ReadonlyMap<string, string[]>,
): AlarmListEntry[] {
  const byName = new Map(states.map((s) => [s.name, s]));
  return names.map((name) => {
    const state = byName.get(name);
    return {
      name,
      state: state?.state ?? 'MISSING',
      ...(state ? { reason: state.reason, since: state.updatedAt } : {}),
      watchedBy: watched.get(name) ?? [],
    };
  });
}

/** The body of `lockstep alarm list`: the lines (or JSON) to print. */
export async function listAlarms(options: AlarmListOptions): Promise<string> {
  const target = connect(options.dataDir);
  let list: AlarmListEntry[];
  if (target.kind === 'local') {
    list = await localAlarms(target.connection);
  } else {
    const runtime = await adapters();
    const { pipelineFromEnv } = await import('../../lambdas/adapters/pipeline-file');
    list = await configuredAlarms(pipelineFromEnv(), runtime.defaultRuntime().alarmReader());
  }
  if (options.json) return JSON.stringify(list, null, 2);
  if (list.length === 0)
    return target.kind === 'local'
      ? 'No alarms in local CloudWatch: no bake of the pipeline watches one (approval.bakeTime.alarms)'
      : 'No bake of the pipeline watches an alarm (approval.bakeTime.alarms)';
  const width = Math.max(...list.map((a) => a.name.length));
  return list
    .map((a) =>
      [
        a.name.padEnd(width),
        a.state.padEnd(17),
        a.since ? `since ${a.since.replace('T', ' ').slice(0, 19)} UTC` : '',
        a.watchedBy.length > 0 ? `bake of ${a.watchedBy.join(', ')}` : '',
        a.reason ? `"${a.reason}"` : '',
      ]
        .filter((part) => part !== '')
        .join('  '),
    )
    .join('\n');
}

export function register(program: Command): void {
  const alarm = program
    .command('alarm')
    .description("the CloudWatch alarms the bakes watch: local mode's to set, or their states");
  alarm
    .command('set')
    .description("set an alarm's state in local mode's CloudWatch (a running bake watching it sees the change)")
    .argument('<name>', "the alarm's name (or its ARN, as a bake's alarms: may list it)")
    .argument('<state>', ALARM_STATE_VALUES.join(' | '))
    .option('--reason <text>', "CloudWatch's state reason, shown in the timeline when the alarm fails a bake")
    .option('--as <who>', 'who sets it, for the default reason (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (name: string, state: string, options: AlarmSetOptions) =>
      console.log(await setAlarm(name, state, options)),
    );
  alarm
    .command('list')
    .description("list the alarms with their states (local mode's, or on AWS those the pipeline's bakes watch)")
    .option('--json', 'print the alarms as JSON')
    .option(...DATA_DIR_OPTION)
    .action(async (options: AlarmListOptions) => console.log(await listAlarms(options)));
}
