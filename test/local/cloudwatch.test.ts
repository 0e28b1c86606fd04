// Local mode's CloudWatch through the real @aws-sdk/client-cloudwatch (awsJson1_0, query-compatible errors), and
// the bake's CloudWatchAlarmReader against it: the same code path as on AWS.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  InvalidNextToken,
  InvalidParameterCombinationException,
  InvalidParameterValueException,
  MissingRequiredParameterException,
  PutMetricAlarmCommand,
  ResourceNotFound,
  SetAlarmStateCommand,
  ValidationException,
} from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloudWatchAlarmReader } from '../../lambdas/adapters/cloudwatch-alarm-reader';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { LocalCloudWatch } from '../../local/cloudwatch/cloudwatch';
import { clientConfig, tempDataDir } from './helpers';

let data: Awaited<ReturnType<typeof tempDataDir>>;
let now = Date.parse('2030-01-01T10:00:00Z');
let cloudWatch: LocalCloudWatch;
let server: RunningAwsServer;
let client: CloudWatchClient;

const alarm = (name: string) =>
  new PutMetricAlarmCommand({
    AlarmName: name,
    MetricName: '5XXError',
    Namespace: 'AWS/ApiGateway',
    Statistic: 'Sum',
    Period: 60,
    EvaluationPeriods: 2,
    Threshold: 5,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
const set = (name: string, state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA', reason = `set ${state}`) =>
  client.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: reason }));

beforeAll(async () => {
  data = await tempDataDir('lockstep-cloudwatch-');
  cloudWatch = await LocalCloudWatch.open({ dataDir: data.dir, now: () => now });
  server = await startAwsServer(cloudWatch.definition());
  client = new CloudWatchClient({ ...clientConfig, endpoint: server.endpoint });
});

afterAll(async () => {
  client.destroy();
  await server.close();
  await data.cleanup();
});

describe('local CloudWatch', () => {
  it('creates an alarm in INSUFFICIENT_DATA and describes it as CloudWatch does', async () => {
    await client.send(alarm('api-5xx'));
    const { MetricAlarms, CompositeAlarms } = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['api-5xx'] }));
    expect(CompositeAlarms).toEqual([]);
    expect(MetricAlarms).toHaveLength(1);
    expect(MetricAlarms![0]).toMatchObject({
      AlarmName: 'api-5xx',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:api-5xx',
      MetricName: '5XXError',
      Threshold: 5,
      StateValue: 'INSUFFICIENT_DATA',
      StateReason: 'Unchecked: Initial alarm creation',
      StateUpdatedTimestamp: new Date(now),
    });
  });

  it('flips an alarm with SetAlarmState and filters DescribeAlarms by state', async () => {
    await client.send(alarm('latency'));
    now += 60_000;
    await set('latency', 'ALARM', 'p99 above 800 ms');
    const firing = await client.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
    expect(firing.MetricAlarms!.map((a) => [a.AlarmName, a.StateReason])).toEqual([['latency', 'p99 above 800 ms']]);
    expect(firing.MetricAlarms![0]!.StateTransitionedTimestamp).toEqual(new Date(now));
  });

  it('answers an unknown alarm with ResourceNotFound, as CloudWatch does', async () => {
    const error = await set('no-such-alarm', 'ALARM').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFound);
    expect(error).toMatchObject({ Code: 'ResourceNotFound', message: 'Alarm no-such-alarm not found' });
    expect((error as ResourceNotFound).$metadata.httpStatusCode).toBe(404);
  });

  it("answers bad requests with CloudWatch's error codes", async () => {
    const badState = await client
      .send(new SetAlarmStateCommand({ AlarmName: 'latency', StateValue: 'BROKEN' as 'OK', StateReason: 'x' }))
      .catch((e: unknown) => e);
    expect(badState).toBeInstanceOf(ValidationException);
    expect(badState).toMatchObject({ Code: 'ValidationError' });
    const badData = await client
      .send(
        new SetAlarmStateCommand({ AlarmName: 'latency', StateValue: 'OK', StateReason: 'x', StateReasonData: '{' }),
      )
      .catch((e: unknown) => e);
    expect(badData).toMatchObject({ Code: 'InvalidFormat' });
    const badPeriod = await client
      .send(new PutMetricAlarmCommand({ ...alarm('p').input, Period: 45 }))
      .catch((e: unknown) => e);
    expect(badPeriod).toBeInstanceOf(InvalidParameterValueException);
    expect(badPeriod).toMatchObject({ Code: 'InvalidParameterValue' });
    const noOperator = await client
      .send(new PutMetricAlarmCommand({ ...alarm('p').input, ComparisonOperator: undefined }))
      .catch((e: unknown) => e);
    expect(noOperator).toBeInstanceOf(MissingRequiredParameterException);
    const both = await client
      .send(new DescribeAlarmsCommand({ AlarmNames: ['a'], AlarmNamePrefix: 'a' }))
      .catch((e: unknown) => e);
    expect(both).toBeInstanceOf(InvalidParameterCombinationException);
    const tooMany = await client
      .send(new DescribeAlarmsCommand({ AlarmNames: Array.from({ length: 101 }, (_, i) => `a${i}`) }))
      .catch((e: unknown) => e);
    expect(tooMany).toBeInstanceOf(ValidationException);
    const badToken = await client.send(new DescribeAlarmsCommand({ NextToken: 'nope' })).catch((e: unknown) => e);
    expect(badToken).toBeInstanceOf(InvalidNextToken);
  });

  it('pages DescribeAlarms with NextToken', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await client.send(alarm(n));
    const first = await client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'page-', MaxRecords: 2 }));
    expect(first.MetricAlarms!.map((a) => a.AlarmName)).toEqual(['page-a', 'page-b']);
    const second = await client.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: 'page-', MaxRecords: 2, NextToken: first.NextToken }),
    );
    expect(second.MetricAlarms!.map((a) => a.AlarmName)).toEqual(['page-c']);
    expect(second.NextToken).toBeUndefined();
  });

  it("keeps a history of state changes with CloudWatch's HistoryData, filtered by type, time and pages", async () => {
    await client.send(alarm('history'));
    const from = now;
    now += 1000;
    await set('history', 'OK');
    now += 1000;
    await set('history', 'ALARM', 'too many errors');
    now += 1000;
    await set('history', 'OK');
    const all = await client.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'history', HistoryItemType: 'StateUpdate' }),
    );
    expect(all.AlarmHistoryItems!.map((h) => h.HistorySummary)).toEqual([
      'Alarm updated from ALARM to OK',
      'Alarm updated from OK to ALARM',
      'Alarm updated from INSUFFICIENT_DATA to OK',
    ]);
    expect(JSON.parse(all.AlarmHistoryItems![1]!.HistoryData!)).toEqual({
      version: '1.0',
      oldState: { stateValue: 'OK', stateReason: 'set OK' },
      newState: { stateValue: 'ALARM', stateReason: 'too many errors' },
    });
    const window = await client.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: 'history',
        HistoryItemType: 'StateUpdate',
        StartDate: new Date(from + 1500),
        EndDate: new Date(from + 2500),
      }),
    );
    expect(window.AlarmHistoryItems!.map((h) => h.HistorySummary)).toEqual(['Alarm updated from OK to ALARM']);
    const paged = await client.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'history', MaxRecords: 1, ScanBy: 'TimestampAscending' }),
    );
    expect(paged.AlarmHistoryItems![0]!.HistoryItemType).toBe('ConfigurationUpdate');
    expect(paged.NextToken).toBeDefined();
  });

  it('deletes alarms, and deletes nothing when one name is not an alarm', async () => {
    await client.send(alarm('gone'));
    await expect(client.send(new DeleteAlarmsCommand({ AlarmNames: ['gone', 'never-was'] }))).rejects.toThrow(
      ResourceNotFound,
    );
    await client.send(new DeleteAlarmsCommand({ AlarmNames: ['gone'] }));
    const { MetricAlarms } = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['gone'] }));
    expect(MetricAlarms).toEqual([]);
  });

  it('keeps alarm states across a restart', async () => {
    await set('latency', 'ALARM', 'still bad');
    const reopened = await LocalCloudWatch.open({ dataDir: data.dir, now: () => now });
    const { MetricAlarms } = reopened.describeAlarms({ AlarmNames: ['latency'] });
    expect(MetricAlarms[0]).toMatchObject({ StateValue: 'ALARM', StateReason: 'still bad' });
    expect(JSON.parse(await readFile(join(data.dir, 'cloudwatch-alarms.json'), 'utf8'))).toHaveProperty(
      'alarms.latency',
    );
  });

  it('refuses to start on a damaged alarms file, saying which and how to recover', async () => {
    const other = await tempDataDir('lockstep-cloudwatch-damaged-');
    try {
      await writeFile(join(other.dir, 'cloudwatch-alarms.json'), '{"alarms": {"a": {"state": "RED"}}, "history": []}');
      await expect(LocalCloudWatch.open({ dataDir: other.dir })).rejects.toThrow(
        `Local CloudWatch cannot read ${join(other.dir, 'cloudwatch-alarms.json')} (alarms.a.AlarmName:`,
      );
      await writeFile(join(other.dir, 'cloudwatch-alarms.json'), '{"alarms":');
      await expect(LocalCloudWatch.open({ dataDir: other.dir })).rejects.toThrow(
        "delete it to start with no alarms (local mode creates the bakes' alarms again, in OK)",
      );
    } finally {
      await other.cleanup();
    }
  });

  it('seeds missing alarms in OK and leaves existing ones as they are', async () => {
    const created = await cloudWatch.ensureAlarms(['latency', 'seeded'], 'OK', 'created by lockstep local');
    expect(created).toEqual(['seeded']);
    const { MetricAlarms } = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['latency', 'seeded'] }));
    expect(MetricAlarms!.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
      ['latency', 'ALARM', 'still bad'],
      ['seeded', 'OK', 'created by lockstep local'],
    ]);
  });
});

describe('the bake adapter against local CloudWatch', () => {
  const reader = () =>
    new CloudWatchAlarmReader({
      clientFor: ({ region }) =>
        new CloudWatchClient({ ...clientConfig, region: region ?? 'us-east-1', endpoint: server.endpoint }),
    });

  it('reads states by name or ARN and leaves unknown names out', async () => {
    await client.send(alarm('bake-a'));
    await set('bake-a', 'OK', 'all clear');
    const states = await reader().states({}, [LocalCloudWatch.arnOf('bake-a'), 'latency', 'not-an-alarm']);
    expect(states.map((s) => [s.name, s.state, s.reason])).toEqual([
      ['bake-a', 'OK', 'all clear'],
      ['latency', 'ALARM', 'still bad'],
    ]);
  });

  it('sees a flap between two polls: ALARM then OK since the bake began', async () => {
    const bakeStarted = new Date(now + 1).toISOString();
    now += 1000;
    await set('bake-a', 'ALARM', 'Threshold Crossed: 7 errors');
    now += 1000;
    await set('bake-a', 'OK', 'recovered');
    const states = await reader().states({}, ['bake-a']);
    expect(states[0]!.state).toBe('OK');
    const firings = await reader().firingsSince({}, ['bake-a'], bakeStarted);
    expect(firings).toEqual([
      { name: 'bake-a', at: new Date(now - 1000).toISOString(), reason: 'Threshold Crossed: 7 errors' },
    ]);
  });
});
