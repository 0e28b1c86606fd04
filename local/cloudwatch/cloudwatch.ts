import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../constants';
import { LocalServiceStartError } from '../errors';
import { whenMissing, writeJsonAtomic } from '../files';
import { AwsApiError } from '../aws-protocol/errors';
import type { AwsServiceDefinition } from '../aws-protocol/server';

/**
 * CloudWatch alarms for local mode, over awsJson1_0 with CloudWatch's query-compatible errors, so the unchanged
 * `@aws-sdk/client-cloudwatch` (the bake's `CloudWatchAlarmReader`, `lockstep alarm`, the console) talks to it
 * through `AWS_ENDPOINT_URL_CLOUDWATCH`. Operations: PutMetricAlarm, DescribeAlarms, DescribeAlarmHistory,
 * SetAlarmState, DeleteAlarms.
 *
 * No metrics are evaluated here: an alarm changes state only through SetAlarmState (`lockstep alarm set`, the
 * console), which is what makes a local bake something a user can steer. Alarms and their history are kept in
 * `<dataDir>/cloudwatch-alarms.json` (written atomically on every change), so a restart keeps each alarm's state;
 * history older than CloudWatch's 30 days is dropped, as CloudWatch does.
 */
export interface LocalCloudWatchOptions {
  readonly dataDir: string;
  /** Current time, for state and history timestamps. @default Date.now */
  readonly now?: () => number;
}

export type LocalAlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** A metric alarm as stored: what PutMetricAlarm was given, and its state. */
const storedAlarm = z.object({
  AlarmName: z.string(),
  AlarmArn: z.string(),
  /** PutMetricAlarm's members other than the name (metric, threshold, actions...), echoed by DescribeAlarms. */
  configuration: z.record(z.string(), z.unknown()),
  configurationUpdatedAt: z.number(),
  state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z.string(),
  reasonData: z.string().optional(),
  stateUpdatedAt: z.number(),
  stateTransitionedAt: z.number(),
});
type StoredAlarm = z.infer<typeof storedAlarm>;

const storedHistoryItem = z.object({
  AlarmName: z.string(),
  at: z.number(),
  HistoryItemType: z.enum(['ConfigurationUpdate', 'StateUpdate']),
  HistorySummary: z.string(),
  HistoryData: z.string(),
});
type HistoryItemType = z.infer<typeof storedHistoryItem>['HistoryItemType'];

/** `<dataDir>/cloudwatch-alarms.json`, decoded where it is read so a damaged file is a clear error at start. */
const storedFile = z.object({
  alarms: z.record(z.string(), storedAlarm),
  history: z.array(storedHistoryItem),
});
type StoredFile = z.infer<typeof storedFile>;

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801';

/** How long CloudWatch keeps alarm history. */
export const ALARM_HISTORY_RETENTION_MS = 30 * 24 * 3600 * 1000;

const STATES: readonly LocalAlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];
const COMPARISONS = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
  'LessThanLowerOrGreaterThanUpperThreshold',
  'LessThanLowerThreshold',
  'GreaterThanUpperThreshold',
];
const HISTORY_TYPES = [
  'ConfigurationUpdate',
  'StateUpdate',
  'Action',
  'AlarmContributorStateUpdate',
  'AlarmContributorAction',
];
const ALARM_TYPES = ['MetricAlarm', 'CompositeAlarm'];
/** PutMetricAlarm members kept as the alarm's configuration (Tags are not part of DescribeAlarms' answer). */
const CONFIGURATION_MEMBERS = [
  'AlarmDescription',
  'ActionsEnabled',
  'OKActions',
  'AlarmActions',
  'InsufficientDataActions',
  'MetricName',
  'Namespace',
  'Statistic',
  'ExtendedStatistic',
  'Dimensions',
  'Period',
  'Unit',
  'EvaluationPeriods',
  'DatapointsToAlarm',
  'Threshold',
  'ComparisonOperator',
  'TreatMissingData',
  'EvaluateLowSampleCountPercentile',
  'Metrics',
  'ThresholdMetricId',
];

/** The Smithy error shapes of CloudWatch's query codes whose shape is named differently. */
const SHAPE_OF_CODE: Readonly<Record<string, string>> = {
  InvalidParameterValue: 'InvalidParameterValueException',
  InvalidParameterCombination: 'InvalidParameterCombinationException',
  MissingParameter: 'MissingRequiredParameterException',
  ValidationError: 'ValidationException',
  InvalidFormat: 'InvalidFormatFault',
  LimitExceeded: 'LimitExceededFault',
  InternalServiceError: 'InternalServiceFault',
};

export class LocalCloudWatch {
  private constructor(
    private readonly file: string,
    private readonly data: StoredFile,
    private readonly now: () => number,
  ) {}

  static async open(options: LocalCloudWatchOptions): Promise<LocalCloudWatch> {
    const file = join(options.dataDir, 'cloudwatch-alarms.json');
    const text = await readFile(file, 'utf8').catch(whenMissing(undefined));
    return new LocalCloudWatch(
      file,
      text === undefined ? { alarms: {}, history: [] } : decode(file, text),
      options.now ?? Date.now,
    );
  }

  /** The ARN an alarm has locally. */
  static arnOf(name: string): string {
    return `arn:aws:cloudwatch:${LOCAL_REGION}:${LOCAL_ACCOUNT}:alarm:${name}`;
  }

  /** Every alarm's name, sorted. */
  alarmNames(): string[] {
    return Object.keys(this.data.alarms).sort();
  }

  /**
   * Creates each named alarm that does not exist yet, in `state` with `reason` (local mode seeds the alarms of the
   * pipeline's bakes in OK, so a bake does not block on an alarm nobody created). Existing alarms keep their state.
   * Returns the names it created.
   */
  async ensureAlarms(names: readonly string[], state: LocalAlarmState, reason: string): Promise<string[]> {
    const created: string[] = [];
    for (const name of new Set(names)) {
      if (this.data.alarms[name]) continue;
      checkAlarmName(name);
      this.create(name, { MetricName: 'lockstep-local', Namespace: 'Lockstep/Local', ...SEEDED_METRIC });
      this.transition(this.data.alarms[name]!, state, reason, undefined);
      created.push(name);
    }
    if (created.length > 0) await this.save();
    return created;
  }

  putMetricAlarm = async (input: Record<string, unknown>): Promise<Record<string, never>> => {
    const name = requiredString(input, 'AlarmName');
    checkAlarmName(name);
    const configuration = Object.fromEntries(
      CONFIGURATION_MEMBERS.filter((m) => input[m] !== undefined).map((m) => [m, input[m]]),
    );
    checkMetricAlarm(configuration);
    const existing = this.data.alarms[name];
    if (existing) {
      // As on AWS, an update overwrites the whole configuration and leaves the state as it is.
      existing.configuration = configuration;
      existing.configurationUpdatedAt = this.now();
      this.record(name, 'ConfigurationUpdate', `Alarm "${name}" updated`, { type: 'Update', version: '1.0' });
    } else {
      this.create(name, configuration);
    }
    await this.save();
    return {};
  };

  describeAlarms = (input: Record<string, unknown>) => {
    const names = optionalStringList(input, 'AlarmNames', 100);
    const prefix = optionalString(input, 'AlarmNamePrefix');
    if (names && prefix !== undefined)
      throw queryError(
        'InvalidParameterCombination',
        'AlarmNamePrefix and AlarmNames cannot be specified at the same time.',
      );
    const state = optionalEnum(input, 'StateValue', STATES);
    const types = optionalStringList(input, 'AlarmTypes', 2) ?? ['MetricAlarm'];
    for (const type of types) checkEnum('AlarmTypes', type, ALARM_TYPES);
    const max = optionalInteger(input, 'MaxRecords', 1, 100) ?? 50;
    const alarms = types.includes('MetricAlarm')
      ? this.alarmNames()
          .map((name) => this.data.alarms[name]!)
          .filter(
            (a) =>
              (!names || names.includes(a.AlarmName)) &&
              (prefix === undefined || a.AlarmName.startsWith(prefix)) &&
              (!state || a.state === state),
          )
      : [];
    const { page, next } = paginate(alarms, input.NextToken, max);
    return {
      MetricAlarms: page.map((a) => this.describe(a)),
      CompositeAlarms: [],
      ...(next !== undefined ? { NextToken: next } : {}),
    };
  };

  describeAlarmHistory = (input: Record<string, unknown>) => {
    const name = optionalString(input, 'AlarmName');
    const type = optionalEnum(input, 'HistoryItemType', HISTORY_TYPES);
    const types = optionalStringList(input, 'AlarmTypes', 2) ?? ['MetricAlarm'];
    for (const t of types) checkEnum('AlarmTypes', t, ALARM_TYPES);
    const start = optionalTime(input, 'StartDate');
    const end = optionalTime(input, 'EndDate');
    const max = optionalInteger(input, 'MaxRecords', 1, 100) ?? 100;
    const scanBy = optionalEnum(input, 'ScanBy', ['TimestampDescending', 'TimestampAscending']);
    const items = this.data.history.filter(
      (h) =>
        types.includes('MetricAlarm') &&
        (name === undefined || h.AlarmName === name) &&
        (type === undefined || h.HistoryItemType === type) &&
        (start === undefined || h.at >= start) &&
        (end === undefined || h.at <= end),
    );
    // Stored oldest first; CloudWatch answers newest first unless asked otherwise.
    const ordered = scanBy === 'TimestampAscending' ? items : [...items].reverse();
    const { page, next } = paginate(ordered, input.NextToken, max);
    return {
      AlarmHistoryItems: page.map((h) => ({
        AlarmName: h.AlarmName,
        AlarmType: 'MetricAlarm',
        Timestamp: new Date(h.at),
        HistoryItemType: h.HistoryItemType,
        HistorySummary: h.HistorySummary,
        HistoryData: h.HistoryData,
      })),
      ...(next !== undefined ? { NextToken: next } : {}),
    };
  };

  setAlarmState = async (input: Record<string, unknown>): Promise<Record<string, never>> => {
    const name = requiredString(input, 'AlarmName');
    const state = optionalEnum(input, 'StateValue', STATES);
    if (state === undefined) throw missing('StateValue');
    const reason = requiredString(input, 'StateReason');
    if (reason.length > 1023)
      throw validation('stateReason', 'Member must have length less than or equal to 1023', reason);
    const reasonData = optionalString(input, 'StateReasonData');
    if (reasonData !== undefined) {
      try {
        JSON.parse(reasonData);
      } catch {
        throw queryError('InvalidFormat', 'StateReasonData must be a JSON document.');
      }
    }
    const alarm = this.data.alarms[name];
    if (!alarm) throw queryError('ResourceNotFound', `Alarm ${name} not found`, 404);
    this.transition(alarm, state, reason, reasonData);
    await this.save();
    return {};
  };

  deleteAlarms = async (input: Record<string, unknown>): Promise<Record<string, never>> => {
    const names = optionalStringList(input, 'AlarmNames', 100);
    if (!names) throw missing('AlarmNames');
    // As on AWS, a name that is not an alarm deletes nothing.
    const unknown = names.filter((n) => !this.data.alarms[n]);
    if (unknown.length > 0) throw queryError('ResourceNotFound', `Alarms not found: ${unknown.join(', ')}`, 404);
    for (const name of names) {
      delete this.data.alarms[name];
      this.record(name, 'ConfigurationUpdate', `Alarm "${name}" deleted`, { type: 'Delete', version: '1.0' });
    }
    await this.save();
    return {};
  };

  /** Wire definition for `startAwsServer`. */
  definition(): AwsServiceDefinition {
    return {
      serviceName: 'CloudWatch',
      protocol: 'awsJson1_0',
      targetPrefix: CLOUDWATCH_TARGET_PREFIX,
      awsQueryCompatible: { namespace: 'com.amazonaws.cloudwatch', shapeOfCode: SHAPE_OF_CODE },
      operations: {
        PutMetricAlarm: this.putMetricAlarm,
        DescribeAlarms: this.describeAlarms,
        DescribeAlarmHistory: this.describeAlarmHistory,
        SetAlarmState: this.setAlarmState,
        DeleteAlarms: this.deleteAlarms,
      },
    };
  }

  private create(name: string, configuration: Record<string, unknown>): void {
    const at = this.now();
    this.data.alarms[name] = {
      AlarmName: name,
      AlarmArn: LocalCloudWatch.arnOf(name),
      configuration,
      configurationUpdatedAt: at,
      // CloudWatch's own first state and reason for a new alarm.
      state: 'INSUFFICIENT_DATA',
      reason: 'Unchecked: Initial alarm creation',
      stateUpdatedAt: at,
      stateTransitionedAt: at,
    };
    this.record(name, 'ConfigurationUpdate', `Alarm "${name}" created`, { type: 'Create', version: '1.0' });
  }

  /** Sets the state; a change of state value is a StateUpdate in the history, shaped like CloudWatch's. */
  private transition(alarm: StoredAlarm, state: LocalAlarmState, reason: string, reasonData: string | undefined) {
    const at = this.now();
    const old = { stateValue: alarm.state, stateReason: alarm.reason };
    alarm.reason = reason;
    alarm.reasonData = reasonData;
    alarm.stateUpdatedAt = at;
    if (alarm.state === state) return;
    alarm.state = state;
    alarm.stateTransitionedAt = at;
    this.record(alarm.AlarmName, 'StateUpdate', `Alarm updated from ${old.stateValue} to ${state}`, {
      version: '1.0',
      oldState: old,
      newState: {
        stateValue: state,
        stateReason: reason,
        ...(reasonData !== undefined ? { stateReasonData: JSON.parse(reasonData) as unknown } : {}),
      },
    });
  }

  private record(name: string, type: HistoryItemType, summary: string, data: unknown): void {
    const at = this.now();
    this.data.history = this.data.history.filter((h) => h.at >= at - ALARM_HISTORY_RETENTION_MS);
    this.data.history.push({
      AlarmName: name,
      at,
      HistoryItemType: type,
      HistorySummary: summary,
      HistoryData: JSON.stringify(data),
    });
  }

  private describe(alarm: StoredAlarm) {
    return {
      AlarmName: alarm.AlarmName,
      AlarmArn: alarm.AlarmArn,
      ActionsEnabled: true,
      OKActions: [],
      AlarmActions: [],
      InsufficientDataActions: [],
      ...alarm.configuration,
      AlarmConfigurationUpdatedTimestamp: new Date(alarm.configurationUpdatedAt),
      StateValue: alarm.state,
      StateReason: alarm.reason,
      ...(alarm.reasonData !== undefined ? { StateReasonData: alarm.reasonData } : {}),
      StateUpdatedTimestamp: new Date(alarm.stateUpdatedAt),
      StateTransitionedTimestamp: new Date(alarm.stateTransitionedAt),
    };
  }

  /** One write at a time, in order: two quick flips must leave the file with the second. */
  private saving: Promise<void> = Promise.resolve();
  private save(): Promise<void> {
    this.saving = this.saving.then(() => writeJsonAtomic(this.file, this.data));
    return this.saving;
  }
}

/** The metric a seeded alarm watches; nothing evaluates it locally, but DescribeAlarms shows a complete alarm. */
const SEEDED_METRIC = {
  Statistic: 'Sum',
  Period: 60,
  EvaluationPeriods: 1,
  Threshold: 1,
  ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  AlarmDescription: 'Created by lockstep local for a bake; flip it with `lockstep alarm set`',
};

function decode(file: string, text: string): StoredFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw damaged(file, (error as Error).message, error);
  }
  const parsed = storedFile.safeParse(json);
  if (!parsed.success)
    throw damaged(file, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), parsed.error);
  return parsed.data;
}

function damaged(file: string, problem: string, cause: unknown): LocalServiceStartError {
  return new LocalServiceStartError(
    `Local CloudWatch cannot read ${file} (${problem}): fix it, or delete it to start with no alarms (local mode creates the bakes' alarms again, in OK)`,
    { cause, details: { file } },
  );
}

function queryError(code: string, message: string, statusCode = 400): AwsApiError {
  return new AwsApiError(code, message, { statusCode });
}

function missing(member: string): AwsApiError {
  return queryError('MissingParameter', `The parameter ${member} is required.`);
}

/** CloudWatch's wording for a member that breaks its constraint. */
function validation(member: string, constraint: string, value: unknown): AwsApiError {
  return queryError(
    'ValidationError',
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

function camel(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

function requiredString(input: Record<string, unknown>, member: string): string {
  const value = input[member];
  if (value === undefined || value === null || value === '') throw missing(member);
  if (typeof value !== 'string') throw queryError('InvalidParameterValue', `${member} must be a string.`);
  return value;
}

function optionalString(input: Record<string, unknown>, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw queryError('InvalidParameterValue', `${member} must be a string.`);
  return value;
}

function optionalStringList(input: Record<string, unknown>, member: string, max: number): string[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw queryError('InvalidParameterValue', `${member} must be a list of strings.`);
  if (value.length > max)
    throw validation(camel(member), `Member must have length less than or equal to ${max}`, value.join(','));
  return value as string[];
}

function checkEnum(member: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value))
    throw validation(camel(member), `Member must satisfy enum value set: [${allowed.join(', ')}]`, value);
}

function optionalEnum<T extends string>(
  input: Record<string, unknown>,
  member: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(input, member);
  if (value === undefined) return undefined;
  checkEnum(member, value, allowed);
  return value as T;
}

function optionalInteger(input: Record<string, unknown>, member: string, min: number, max: number) {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw validation(camel(member), `Member must have value between ${min} and ${max}`, value);
  return value;
}

/** Timestamps arrive as epoch seconds (awsJson1_0); an ISO string is taken too, for hand-written requests. */
function optionalTime(input: Record<string, unknown>, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw queryError('InvalidParameterValue', `${member} is not a valid timestamp.`);
  return ms;
}

function checkAlarmName(name: string): void {
  if (name.length > 255)
    throw validation('alarmName', 'Member must have length less than or equal to 255', name.slice(0, 40) + '...');
  // CloudWatch takes any printable characters but control characters.
  if (/[\u0000-\u001f\u007f]/.test(name))
    throw queryError('InvalidParameterValue', 'The alarm name must not contain control characters.');
}

/** What CloudWatch refuses in a metric alarm's definition. */
function checkMetricAlarm(configuration: Record<string, unknown>): void {
  const evaluationPeriods = configuration.EvaluationPeriods;
  if (evaluationPeriods === undefined) throw missing('EvaluationPeriods');
  if (typeof evaluationPeriods !== 'number' || !Number.isInteger(evaluationPeriods) || evaluationPeriods < 1)
    throw queryError('InvalidParameterValue', 'EvaluationPeriods must be a positive integer.');
  if (configuration.ComparisonOperator === undefined) throw missing('ComparisonOperator');
  const comparison = configuration.ComparisonOperator;
  if (typeof comparison !== 'string') throw queryError('InvalidParameterValue', 'ComparisonOperator must be a string.');
  checkEnum('ComparisonOperator', comparison, COMPARISONS);
  const metric = configuration.MetricName !== undefined || configuration.Namespace !== undefined;
  if (metric && configuration.Metrics !== undefined)
    throw queryError(
      'InvalidParameterCombination',
      'MetricName and Metrics cannot be specified at the same time: define the alarm on one metric or on a math expression.',
    );
  if (!metric && configuration.Metrics === undefined)
    throw queryError('InvalidParameterCombination', 'Either MetricName and Namespace, or Metrics, must be specified.');
  if (metric && (configuration.MetricName === undefined || configuration.Namespace === undefined))
    throw missing(configuration.MetricName === undefined ? 'MetricName' : 'Namespace');
  if (metric && configuration.Statistic === undefined && configuration.ExtendedStatistic === undefined)
    throw queryError('MissingParameter', 'Either Statistic or ExtendedStatistic must be specified.');
  const period = configuration.Period;
  if (metric && period === undefined) throw missing('Period');
  if (
    period !== undefined &&
    (typeof period !== 'number' || !([10, 20, 30].includes(period) || (period >= 60 && period % 60 === 0)))
  )
    throw queryError('InvalidParameterValue', 'The parameter Period must be 10, 20, 30 or a multiple of 60.');
  if (configuration.Threshold === undefined && configuration.ThresholdMetricId === undefined)
    throw queryError('InvalidParameterCombination', 'Either Threshold or ThresholdMetricId must be specified.');
}

function paginate<T>(items: readonly T[], token: unknown, max: number): { page: T[]; next?: string } {
  let offset = 0;
  if (token !== undefined && token !== null) {
    offset = typeof token === 'string' && /^\d+$/.test(token) ? Number(token) : -1;
    if (offset < 0 || offset > items.length) throw queryError('InvalidNextToken', 'The NextToken is not valid.');
  }
  const page = items.slice(offset, offset + max);
  return offset + max < items.length ? { page, next: String(offset + max) } : { page };
}
