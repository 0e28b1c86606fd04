// The CloudWatch adapter of the alarm-watched bake with aws-sdk-client-mock: which requests it sends (names, types,
// pages of 100), what it makes of the answers (states in the configured order, transitions into ALARM from the
// history), and which client it reads through (region, the environment's role).
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type AlarmHistoryItem,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AlarmAccessDeniedError,
  CloudWatchAlarmReader,
  type CloudWatchClientTarget,
} from '../../lambdas/adapters/cloudwatch-alarm-reader';

const cloudwatch = mockClient(CloudWatchClient);
const targets: CloudWatchClientTarget[] = [];
const reader = () =>
  new CloudWatchAlarmReader({
    clientFor: (target) => {
      targets.push(target);
      return new CloudWatchClient({ region: target.region ?? 'us-east-1' });
    },
    credentialsForRole: (roleArn) => async () => ({ accessKeyId: `key-for-${roleArn}`, secretAccessKey: 's' }),
  });

beforeEach(() => {
  cloudwatch.reset();
  targets.length = 0;
});

const metricAlarm = (name: string, state: MetricAlarm['StateValue'], reason = `${name} is ${state}`): MetricAlarm => ({
  AlarmName: name,
  StateValue: state,
  StateReason: reason,
  StateTransitionedTimestamp: new Date('2030-01-01T10:00:00Z'),
  StateUpdatedTimestamp: new Date('2030-01-01T10:05:00Z'),
});

const transition = (name: string, at: string, from: string, to: string, reason = `went ${to}`): AlarmHistoryItem => ({
  AlarmName: name,
  AlarmType: 'MetricAlarm',
  Timestamp: new Date(at),
  HistoryItemType: 'StateUpdate',
  HistorySummary: `Alarm updated from ${from} to ${to}`,
  HistoryData: JSON.stringify({
    version: '1.0',
    oldState: { stateValue: from, stateReason: 'before' },
    newState: { stateValue: to, stateReason: reason },
  }),
});

describe('states', () => {
  it('asks for metric and composite alarms by name and answers in the order configured', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [metricAlarm('latency', 'OK')],
      CompositeAlarms: [
        {
          AlarmName: 'service-health',
          StateValue: 'ALARM',
          StateReason: 'children in ALARM',
          StateTransitionedTimestamp: new Date('2030-01-01T09:00:00Z'),
        },
      ],
    });
    const states = await reader().states({}, [
      'arn:aws:cloudwatch:us-east-1:123456789012:alarm:service-health',
      'latency',
      'missing-one',
      'arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:name:with:colons',
    ]);
    expect(states).toEqual([
      { name: 'service-health', state: 'ALARM', reason: 'children in ALARM', updatedAt: '2030-01-01T09:00:00.000Z' },
      { name: 'latency', state: 'OK', reason: 'latency is OK', updatedAt: '2030-01-01T10:00:00.000Z' },
    ]);
    const input = cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input;
    expect(input.AlarmNames).toEqual(['service-health', 'latency', 'missing-one', 'name:with:colons']);
    expect(input.AlarmTypes).toEqual(['MetricAlarm', 'CompositeAlarm']);
  });

  it('sends at most 100 names a call and follows every page', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `alarm-${i}`);
    // Recorded at call time: the SDK's paginator reuses one input object for every page.
    const calls: { names: number; token?: string }[] = [];
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[]; NextToken?: string }) => {
      calls.push({ names: input.AlarmNames.length, ...(input.NextToken ? { token: input.NextToken } : {}) });
      // Each call answers its names in two pages, so both the chunking and the NextToken loop are exercised.
      const half = Math.ceil(input.AlarmNames.length / 2);
      const part = input.NextToken ? input.AlarmNames.slice(half) : input.AlarmNames.slice(0, half);
      return {
        MetricAlarms: part.map((n) => metricAlarm(n, n === 'alarm-149' ? 'ALARM' : 'OK')),
        ...(input.NextToken ? {} : { NextToken: 'second-half' }),
      };
    });
    const states = await reader().states({}, names);
    expect(states).toHaveLength(150);
    expect(states.filter((s) => s.state === 'ALARM').map((s) => s.name)).toEqual(['alarm-149']);
    expect(calls).toEqual([
      { names: 100 },
      { names: 100, token: 'second-half' },
      { names: 50 },
      { names: 50, token: 'second-half' },
    ]);
  });

  it("reads through the environment's region and role, one client per pair", async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    const alarms = reader();
    const scope = { region: 'eu-west-1', roleArn: 'arn:aws:iam::222222222222:role/lockstep-deploy' };
    await alarms.states(scope, ['a']);
    await alarms.states(scope, ['b']);
    await alarms.states({ region: 'eu-west-1' }, ['c']);
    expect(targets).toHaveLength(2);
    expect(targets[0]!.region).toBe('eu-west-1');
    expect(await targets[0]!.credentials!()).toMatchObject({ accessKeyId: `key-for-${scope.roleArn}` });
    expect(targets[1]!.credentials).toBeUndefined();
  });

  it('says which grant is missing when CloudWatch refuses', async () => {
    cloudwatch
      .on(DescribeAlarmsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: {} }));
    const reading = reader().states({ region: 'eu-west-1', roleArn: 'arn:aws:iam::2:role/r' }, ['a']);
    await expect(reading).rejects.toThrow(AlarmAccessDeniedError);
    await expect(reading).rejects.toThrow(
      'CloudWatch refused DescribeAlarms for role arn:aws:iam::2:role/r in eu-west-1: grant cloudwatch:DescribeAlarms',
    );
  });
});

describe('firingsSince', () => {
  it('reports an alarm that went into ALARM and back between two polls (a flap)', async () => {
    cloudwatch
      .on(DescribeAlarmHistoryCommand, { AlarmName: 'latency' })
      .resolves({
        AlarmHistoryItems: [
          transition('latency', '2030-01-01T10:01:00Z', 'OK', 'ALARM', 'Threshold Crossed: p99 above 800 ms'),
          transition('latency', '2030-01-01T10:02:00Z', 'ALARM', 'OK'),
        ],
      })
      .on(DescribeAlarmHistoryCommand, { AlarmName: 'errors' })
      .resolves({ AlarmHistoryItems: [transition('errors', '2030-01-01T10:03:00Z', 'OK', 'INSUFFICIENT_DATA')] });
    const firings = await reader().firingsSince({}, ['latency', 'errors'], '2030-01-01T10:00:00.000Z');
    expect(firings).toEqual([
      { name: 'latency', at: '2030-01-01T10:01:00.000Z', reason: 'Threshold Crossed: p99 above 800 ms' },
    ]);
    const input = cloudwatch.commandCalls(DescribeAlarmHistoryCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      AlarmName: 'latency',
      HistoryItemType: 'StateUpdate',
      StartDate: new Date('2030-01-01T10:00:00.000Z'),
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
  });

  it('follows the history pages and answers oldest first across alarms', async () => {
    cloudwatch
      .on(DescribeAlarmHistoryCommand, { AlarmName: 'a', NextToken: undefined })
      .resolves({ AlarmHistoryItems: [transition('a', '2030-01-01T10:05:00Z', 'OK', 'ALARM')], NextToken: 'p2' })
      .on(DescribeAlarmHistoryCommand, { AlarmName: 'a', NextToken: 'p2' })
      .resolves({ AlarmHistoryItems: [transition('a', '2030-01-01T10:09:00Z', 'OK', 'ALARM')] })
      .on(DescribeAlarmHistoryCommand, { AlarmName: 'b' })
      .resolves({ AlarmHistoryItems: [transition('b', '2030-01-01T10:07:00Z', 'INSUFFICIENT_DATA', 'ALARM')] });
    const firings = await reader().firingsSince({}, ['a', 'b'], '2030-01-01T10:00:00Z');
    expect(firings.map((f) => `${f.name}@${f.at.slice(11, 16)}`)).toEqual(['a@10:05', 'b@10:07', 'a@10:09']);
  });

  it('reads the summary when HistoryData is not the JSON CloudWatch writes', async () => {
    cloudwatch.on(DescribeAlarmHistoryCommand).resolves({
      AlarmHistoryItems: [
        {
          AlarmName: 'a',
          Timestamp: new Date('2030-01-01T10:05:00Z'),
          HistorySummary: 'Alarm updated from OK to ALARM',
          HistoryData: 'not json',
        },
      ],
    });
    expect(await reader().firingsSince({}, ['a'], '2030-01-01T10:00:00Z')).toEqual([
      { name: 'a', at: '2030-01-01T10:05:00.000Z', reason: 'Alarm updated from OK to ALARM' },
    ]);
  });

  it('refuses a start time that is not a time', async () => {
    await expect(reader().firingsSince({}, ['a'], 'yesterday')).rejects.toThrow('ISO 8601');
  });
});
