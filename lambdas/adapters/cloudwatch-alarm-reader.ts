/**
 * The alarm-watched bake's view of CloudWatch (`AlarmReader`): DescribeAlarms for the current states and
 * DescribeAlarmHistory for every transition into ALARM since the bake began, so an alarm that fired and cleared
 * between two polls still fails the bake. One client per (region, role): an environment's alarms live in its own
 * account and region, read through its role (STS AssumeRole) when it names one. Local mode passes a client factory
 * bound to its CloudWatch stand-in, so the same code reads the alarms a user flips with `lockstep alarm set`.
 */
import {
  CloudWatchClient,
  paginateDescribeAlarmHistory,
  paginateDescribeAlarms,
  type AlarmHistoryItem,
} from '@aws-sdk/client-cloudwatch';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { z } from 'zod';
import { LockstepError } from '../core/errors';
import { parseAlarmReference } from '../core/config/schema';
import type { AlarmFiring, AlarmReader, AlarmScope, AlarmState, AlarmStateValue } from '../ports/services';

/** DescribeAlarms takes at most 100 names per call. */
export const MAX_ALARM_NAMES_PER_CALL = 100;

/** The session name CloudTrail shows for Lockstep's alarm reads in an environment's account. */
export const ALARM_READ_SESSION_NAME = 'lockstep-alarm-bake';

/** What a client is built for: a region (omitted: the default one) and credentials (omitted: the default chain). */
export interface CloudWatchClientTarget {
  readonly region?: string;
  readonly credentials?: AwsCredentialIdentityProvider;
}

export interface CloudWatchAlarmReaderOptions {
  /**
   * Builds the client of one (region, credentials) pair; called once per pair.
   * @default `new CloudWatchClient({ region, credentials })` (endpoint from `AWS_ENDPOINT_URL_CLOUDWATCH`, else AWS)
   */
  readonly clientFor?: (target: CloudWatchClientTarget) => CloudWatchClient;
  /**
   * Credentials for a scope's `roleArn`.
   * @default STS AssumeRole through `fromTemporaryCredentials`, session `lockstep-alarm-bake`, refreshed by the SDK
   */
  readonly credentialsForRole?: (roleArn: string, region: string | undefined) => AwsCredentialIdentityProvider;
}

/** CloudWatch refused the read: the function's role, or the environment's role, lacks the grant. */
export class AlarmAccessDeniedError extends LockstepError {
  constructor(scope: AlarmScope, action: string, options: { cause?: unknown } = {}) {
    const who = scope.roleArn ? `role ${scope.roleArn}` : "the function's own role";
    super(
      `CloudWatch refused ${action} for ${who}${scope.region ? ` in ${scope.region}` : ''}: grant cloudwatch:${action} on the bake's alarms to it`,
      { ...options, details: { ...scope, action } },
    );
  }
}

/** The part of a StateUpdate history item's `HistoryData` this reads; CloudWatch writes more. */
const historyData = z.object({
  oldState: z.object({ stateValue: z.string() }).partial().optional(),
  newState: z.object({ stateValue: z.string(), stateReason: z.string().optional() }),
});

const STATE_VALUES: ReadonlySet<string> = new Set<AlarmStateValue>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export class CloudWatchAlarmReader implements AlarmReader {
  private readonly clients = new Map<string, CloudWatchClient>();
  private readonly clientFor: (target: CloudWatchClientTarget) => CloudWatchClient;
  private readonly credentialsForRole: (roleArn: string, region: string | undefined) => AwsCredentialIdentityProvider;

  constructor(options: CloudWatchAlarmReaderOptions = {}) {
    this.clientFor =
      options.clientFor ??
      ((target) =>
        new CloudWatchClient({
          ...(target.region ? { region: target.region } : {}),
          ...(target.credentials ? { credentials: target.credentials } : {}),
        }));
    this.credentialsForRole =
      options.credentialsForRole ??
      ((roleArn, region) =>
        fromTemporaryCredentials({
          params: { RoleArn: roleArn, RoleSessionName: ALARM_READ_SESSION_NAME },
          ...(region ? { clientConfig: { region } } : {}),
        }));
  }

  async states(scope: AlarmScope, names: readonly string[]): Promise<AlarmState[]> {
    const wanted = uniqueNames(names);
    const client = this.client(scope);
    const found = new Map<string, AlarmState>();
    for (let i = 0; i < wanted.length; i += MAX_ALARM_NAMES_PER_CALL) {
      const chunk = wanted.slice(i, i + MAX_ALARM_NAMES_PER_CALL);
      const pages = paginateDescribeAlarms(
        { client },
        { AlarmNames: chunk, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: MAX_ALARM_NAMES_PER_CALL },
      );
      await denied(scope, 'DescribeAlarms', async () => {
        for await (const page of pages) {
          for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
            if (!alarm.AlarmName || !alarm.StateValue || !STATE_VALUES.has(alarm.StateValue)) continue;
            const changed = alarm.StateTransitionedTimestamp ?? alarm.StateUpdatedTimestamp;
            found.set(alarm.AlarmName, {
              name: alarm.AlarmName,
              state: alarm.StateValue,
              reason: alarm.StateReason ?? '',
              updatedAt: (changed ?? new Date(0)).toISOString(),
            });
          }
        }
      });
    }
    // In the order asked for, so a message listing them reads like the configuration.
    return wanted.flatMap((name) => (found.has(name) ? [found.get(name)!] : []));
  }

  async firingsSince(scope: AlarmScope, names: readonly string[], since: string): Promise<AlarmFiring[]> {
    const start = new Date(since);
    if (Number.isNaN(start.getTime())) throw new RangeError(`firingsSince needs an ISO 8601 time, not "${since}"`);
    const client = this.client(scope);
    const firings: AlarmFiring[] = [];
    // One alarm after the other: DescribeAlarmHistory has a low request rate per account, and a bake names a few
    // alarms, so a parallel burst would buy little and risk throttling every environment's poll at once.
    for (const name of uniqueNames(names)) {
      const pages = paginateDescribeAlarmHistory(
        { client },
        {
          AlarmName: name,
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          HistoryItemType: 'StateUpdate',
          StartDate: start,
          ScanBy: 'TimestampAscending',
          MaxRecords: 100,
        },
      );
      await denied(scope, 'DescribeAlarmHistory', async () => {
        for await (const page of pages) {
          for (const item of page.AlarmHistoryItems ?? []) {
            const firing = firingOf(name, item);
            if (firing && item.Timestamp! >= start) firings.push(firing);
          }
        }
      });
    }
    return firings.sort((a, b) => a.at.localeCompare(b.at) || a.name.localeCompare(b.name));
  }

  private client(scope: AlarmScope): CloudWatchClient {
    const key = `${scope.region ?? ''}|${scope.roleArn ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      client = this.clientFor({
        ...(scope.region ? { region: scope.region } : {}),
        ...(scope.roleArn ? { credentials: this.credentialsForRole(scope.roleArn, scope.region) } : {}),
      });
      this.clients.set(key, client);
    }
    return client;
  }
}

function uniqueNames(names: readonly string[]): string[] {
  return [...new Set(names.map((name) => parseAlarmReference(name).name))];
}

/**
 * A history item as a firing when it is a transition into ALARM. `HistoryData` is CloudWatch's JSON with
 * `oldState`/`newState`; should it ever not parse, the summary ("Alarm updated from OK to ALARM") still tells the
 * new state, and a missed firing would let a bad revision through, so the summary is read rather than the item dropped.
 */
function firingOf(name: string, item: AlarmHistoryItem): AlarmFiring | undefined {
  if (!item.Timestamp) return undefined;
  let parsed: z.infer<typeof historyData> | undefined;
  try {
    const result = historyData.safeParse(JSON.parse(item.HistoryData ?? ''));
    if (result.success) parsed = result.data;
  } catch {
    // not JSON: read the summary below
  }
  const intoAlarm = parsed
    ? parsed.newState.stateValue === 'ALARM' && parsed.oldState?.stateValue !== 'ALARM'
    : (item.HistorySummary ?? '').endsWith('to ALARM');
  if (!intoAlarm) return undefined;
  return {
    name: item.AlarmName ?? name,
    at: item.Timestamp.toISOString(),
    reason: parsed?.newState.stateReason ?? item.HistorySummary ?? '',
  };
}

/** Runs a read, turning CloudWatch's access refusal into a message that says which grant is missing. */
async function denied(scope: AlarmScope, action: string, read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'AccessDenied' || name === 'AccessDeniedException')
      throw new AlarmAccessDeniedError(scope, action, { cause: error });
    throw error;
  }
}
