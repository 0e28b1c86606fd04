// `lockstep alarm set|list` as a user runs them: against a running local mode (its endpoints.json pointing at local
// CloudWatch, the same API the bake reads), and against AWS, where `set` refuses and `list` reads the bakes'
// alarms per environment through the bake's adapter (here aws-sdk-client-mock).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import {
  AlarmCommandError,
  configuredAlarms,
  listAlarms,
  setAlarm,
  type AlarmListEntry,
} from '../../bin/commands/alarm';
import { CloudWatchAlarmReader } from '../../lambdas/adapters/cloudwatch-alarm-reader';
import { readPipelineFile } from '../../lambdas/adapters/pipeline-file';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { writeConnection } from '../../local/assembly/connection';
import { LocalCloudWatch } from '../../local/cloudwatch/cloudwatch';
import { seedBakeAlarms } from '../../local/cloudwatch/seed';
import { LOCAL_CREDENTIALS } from '../../local/credentials';
import { tempDataDir } from '../local/helpers';
import { TEST_PIPELINE } from '../support/runtime-env';

/** Beta's bake watches two alarms; Ops (in another account) one, read through its role. */
const PIPELINE: PipelineInput = {
  ...TEST_PIPELINE,
  stages: TEST_PIPELINE.stages.map((stage) => ({
    ...stage,
    environments: stage.environments.map((environment) => ({
      ...environment,
      ...(environment.name === 'Ops'
        ? { region: 'eu-west-1', roleArn: 'arn:aws:iam::222222222222:role/ops-deploy' }
        : {}),
      approval: {
        ...environment.approval,
        bakeTime: {
          duration: '30m',
          alarms: environment.name === 'Beta' ? ['web-5xx', 'shared-health'] : ['shared-health'],
        },
      },
    })),
  })),
};

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('the command was not refused');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(AlarmCommandError);
      return (error as Error).message;
    },
  );

describe('lockstep alarm against local mode', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let server: RunningAwsServer;
  let cloudWatch: LocalCloudWatch;
  const list = async () => JSON.parse(await listAlarms({ json: true, dataDir: data.dir })) as AlarmListEntry[];

  beforeAll(async () => {
    data = await tempDataDir('lockstep-alarm-cli-');
    const pipelineFile = join(data.dir, 'pipeline.json');
    writeFileSync(pipelineFile, JSON.stringify(PIPELINE));
    cloudWatch = await LocalCloudWatch.open({ dataDir: data.dir });
    await seedBakeAlarms(cloudWatch, readPipelineFile(pipelineFile));
    server = await startAwsServer(cloudWatch.definition());
    // What `npm start` writes for the CLI, reduced to what these commands read.
    await writeConnection({
      pid: process.pid,
      startedAt: new Date().toISOString(),
      dataDir: data.dir,
      configFile: join(data.dir, 'lockstep.config.yaml'),
      pipelineName: 'shop',
      pipelineFile,
      http: 'http://127.0.0.1:1',
      webhookUrl: 'http://127.0.0.1:1/webhooks/github',
      outboxFile: join(data.dir, 'outbox.jsonl'),
      repositories: [],
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_CLOUDWATCH: server.endpoint,
        LOCKSTEP_PIPELINE_FILE: pipelineFile,
      },
    });
  });

  afterAll(async () => {
    await server.close();
    await data.cleanup();
  });

  it('lists the seeded alarms in OK with the environments whose bakes watch them', async () => {
    expect(await list()).toEqual([
      expect.objectContaining({ name: 'shared-health', state: 'OK', watchedBy: ['Beta', 'Ops'] }),
      expect.objectContaining({ name: 'web-5xx', state: 'OK', watchedBy: ['Beta'] }),
    ]);
    const text = await listAlarms({ dataDir: data.dir });
    expect(text).toMatch(
      /^shared-health {2}OK +since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {2}bake of Beta, Ops {2}"created/m,
    );
  });

  it('sets an alarm through the CloudWatch API the bake reads, saying what changed', async () => {
    expect(await setAlarm('web-5xx', 'alarm', { dataDir: data.dir, reason: 'checkout errors', as: 'ann' })).toBe(
      'web-5xx: OK -> ALARM (checkout errors)',
    );
    const reader = new CloudWatchAlarmReader({
      clientFor: () =>
        new CloudWatchClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: LOCAL_CREDENTIALS }),
    });
    expect((await reader.states({}, ['web-5xx']))[0]).toMatchObject({ state: 'ALARM', reason: 'checkout errors' });
    const arn = 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-5xx';
    expect(await setAlarm(arn, 'OK', { dataDir: data.dir, as: 'ann' })).toBe(
      'web-5xx: ALARM -> OK (set with lockstep alarm set by ann)',
    );
  });

  it('refuses an unknown alarm, listing the known ones, and a state that is not one', async () => {
    expect(await refusal(setAlarm('web-500', 'ALARM', { dataDir: data.dir }))).toBe(
      'No alarm "web-500" in local CloudWatch. Known alarms: shared-health, web-5xx (local mode creates the alarms of the bakes when it starts)',
    );
    expect(await refusal(setAlarm('web-5xx', 'RED', { dataDir: data.dir }))).toBe(
      '"RED" is not an alarm state: use OK, ALARM, INSUFFICIENT_DATA',
    );
  });
});

describe('lockstep alarm against AWS', () => {
  // Mocked from this block's start only: the block above talks to the real local CloudWatch.
  let cloudwatch: AwsClientStub<CloudWatchClient>;
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  const saved = { ...process.env };

  beforeAll(async () => {
    cloudwatch = mockClient(CloudWatchClient);
    data = await tempDataDir('lockstep-alarm-aws-');
    const pipelineFile = join(data.dir, 'pipeline.json');
    writeFileSync(pipelineFile, JSON.stringify(PIPELINE));
    // No endpoints.json in this data folder, and the Lockstep variables set: the commands target AWS.
    Object.assign(process.env, { LOCKSTEP_PIPELINE_FILE: pipelineFile, LOCKSTEP_TABLE_ENVIRONMENTS: 'environments' });
  });
  beforeEach(() => void cloudwatch.reset());

  afterAll(async () => {
    process.env = saved;
    cloudwatch.restore();
    await data.cleanup();
  });

  it("refuses to set an alarm, pointing at CloudWatch's own command", async () => {
    expect(await refusal(setAlarm('web-5xx', 'ALARM', { dataDir: data.dir }))).toContain(
      "On AWS, set an alarm's state with CloudWatch's own command: aws cloudwatch set-alarm-state --alarm-name <name>",
    );
    expect(cloudwatch.calls()).toHaveLength(0);
  });

  it("lists the bakes' alarms as each environment's bake reads them, a missing one as MISSING", async () => {
    const scopes: { region?: string; roleArn?: string }[] = [];
    const reader = new CloudWatchAlarmReader({
      clientFor: (target) => {
        scopes.push({
          ...(target.region ? { region: target.region } : {}),
          ...(target.credentials ? { roleArn: 'assumed' } : {}),
        });
        return new CloudWatchClient({ region: target.region ?? 'us-east-1' });
      },
      credentialsForRole: () => async () => ({ accessKeyId: 'a', secretAccessKey: 's' }),
    });
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[] }) => ({
      MetricAlarms: input.AlarmNames.filter((n) => n === 'shared-health').map((n) => ({
        AlarmName: n,
        StateValue: 'ALARM',
        StateReason: 'health check failing',
        StateTransitionedTimestamp: new Date('2030-01-01T10:00:00Z'),
      })),
    }));
    const list = await configuredAlarms(readPipelineFile(process.env.LOCKSTEP_PIPELINE_FILE!), reader);
    const alarm = { state: 'ALARM', reason: 'health check failing', since: '2030-01-01T10:00:00.000Z' };
    expect(list).toEqual([
      { name: 'web-5xx', state: 'MISSING', watchedBy: ['Beta'] },
      { name: 'shared-health', ...alarm, watchedBy: ['Beta'] },
      { name: 'shared-health', ...alarm, watchedBy: ['Ops'] },
    ]);
    expect(scopes).toEqual([{}, { region: 'eu-west-1', roleArn: 'assumed' }]);
  });
});
