import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsCommand,
  ListProjectsCommand,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import { CloudWatchClient, DescribeAlarmHistoryCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { ListBucketsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetExecutionHistoryCommand, SFNClient, StartExecutionCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { ListSubscriptionsByTopicCommand, ListSubscriptionsCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startLocalServices, type LocalServices } from '../../local/runtime';
import { tempDataDir } from './helpers';

// Issue 14, item 3: what the README section "Inspecting local mode with the AWS CLI" tells a user to run, through
// the same AWS API operations the CLI calls (`aws <service> <command>` is one SDK operation each), with credentials
// that are not local mode's own, as a user's AWS profile would be.
const someoneElse = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

describe('local mode through the AWS CLI operations', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: LocalServices;
  const config = () => ({ region: 'us-east-1', credentials: someoneElse });

  beforeAll(async () => {
    data = await tempDataDir();
    services = await startLocalServices({ dataDir: data.dir, log: () => undefined });
    services.stepFunctions.registerFunction('double', async (event: { n: number }) => ({ n: event.n * 2 }));
    services.stepFunctions.registerStateMachine({
      name: 'history-demo',
      definition: {
        StartAt: 'Double',
        States: {
          Double: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:double', Next: 'Big' },
          Big: {
            Type: 'Choice',
            Choices: [{ Variable: '$.n', NumericGreaterThan: 10, Next: 'TooBig' }],
            Default: 'Done',
          },
          TooBig: { Type: 'Fail', Error: 'TooBig', Cause: 'n grew past 10' },
          Done: { Type: 'Pass', End: true },
        },
      },
    });
    services.codeBuild.registerProject({
      name: 'cli-demo',
      buildspec: { version: 0.2, phases: { build: { commands: ['echo hi'] } } },
    });
  });

  afterAll(async () => {
    await services?.stop();
    await data?.cleanup();
  });

  it('aws stepfunctions get-execution-history: Step Functions event types, ids, previousEventId and pages', async () => {
    const sfn = new SFNClient({ ...config(), endpoint: services.endpoints.stepFunctions });
    const machine = services.stepFunctions
      .listStateMachines()
      .stateMachines.find((m) => m.name === 'history-demo')!.stateMachineArn;
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine, name: 'fails', input: '{"n": 6}' }),
    );
    await services.stepFunctions.waitForExecution(executionArn!);

    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 3, ...(nextToken ? { nextToken } : {}) }),
      );
      expect(page.events!.length).toBeLessThanOrEqual(3);
      events.push(...page.events!);
      nextToken = page.nextToken;
    } while (nextToken);
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'FailStateEntered',
      'ExecutionFailed',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.previousEventId)).toEqual(events.map((_, i) => i));
    expect(events[0]!.timestamp).toBeInstanceOf(Date);
    expect(events[1]!.stateEnteredEventDetails).toMatchObject({ name: 'Double', input: '{"n":6}' });
    expect(events[4]!.taskSucceededEventDetails).toMatchObject({ resourceType: 'lambda', output: '{"n":12}' });
    expect(events.at(-1)!.executionFailedEventDetails).toEqual({ error: 'TooBig', cause: 'n grew past 10' });

    const newestFirst = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, includeExecutionData: false, maxResults: 2 }),
    );
    expect(newestFirst.events!.map((e) => e.type)).toEqual(['ExecutionFailed', 'FailStateEntered']);
    expect(newestFirst.events![1]!.stateEnteredEventDetails).toEqual({
      name: 'TooBig',
      inputDetails: { truncated: false },
    });
    sfn.destroy();
  });

  it('aws codebuild list-projects and list-builds', async () => {
    const codebuild = new CodeBuildClient({ ...config(), endpoint: services.endpoints.codeBuild });
    const { build } = await codebuild.send(new StartBuildCommand({ projectName: 'cli-demo' }));
    await services.codeBuild.waitForBuild(build!.id!);
    expect((await codebuild.send(new ListProjectsCommand({}))).projects).toContain('cli-demo');
    const { ids } = await codebuild.send(new ListBuildsCommand({}));
    expect(ids![0]).toBe(build!.id);
    expect((await codebuild.send(new BatchGetBuildsCommand({ ids: [ids![0]!] }))).builds![0]!.buildStatus).toBe(
      'SUCCEEDED',
    );
    codebuild.destroy();
  });

  it('aws sns list-subscriptions and aws secretsmanager list-secrets', async () => {
    const sns = new SNSClient({ ...config(), endpoint: services.endpoints.sns });
    expect((await sns.send(new ListSubscriptionsCommand({}))).Subscriptions ?? []).toEqual([]);
    expect(
      (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: services.env.LOCKSTEP_NOTIFICATION_TOPIC_ARN })))
        .Subscriptions ?? [],
    ).toEqual([]);
    sns.destroy();

    const secrets = new SecretsManagerClient({ ...config(), endpoint: services.endpoints.secretsManager });
    const { SecretList } = await secrets.send(new ListSecretsCommand({}));
    expect(SecretList!.map((s) => s.ARN)).toContain(services.env.LOCKSTEP_WEBHOOK_SECRET_ARN);
    expect(JSON.stringify(SecretList)).not.toContain(
      services.secrets.valueOf(services.env.LOCKSTEP_WEBHOOK_SECRET_ARN!),
    );
    secrets.destroy();
  });

  it('aws cloudwatch set-alarm-state and describe-alarm-history on the served CloudWatch', async () => {
    await services.cloudWatch.ensureAlarms(['web-5xx'], 'OK', 'created by lockstep local');
    const cloudwatch = new CloudWatchClient({ ...config(), endpoint: services.endpoints.cloudWatch });
    expect(services.env.AWS_ENDPOINT_URL_CLOUDWATCH).toBe(services.endpoints.cloudWatch);
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'web-5xx', StateValue: 'ALARM', StateReason: 'test' }));
    const { AlarmHistoryItems } = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'web-5xx', HistoryItemType: 'StateUpdate' }),
    );
    expect(AlarmHistoryItems![0]!.HistorySummary).toBe('Alarm updated from OK to ALARM');
    cloudwatch.destroy();
  });

  it("aws s3 ls with any credentials, not only s3rver's own", async () => {
    const s3 = new S3Client({
      ...config(),
      endpoint: services.endpoints.s3,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const bucket = services.names.artifactsBucket;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cli/probe.txt', Body: 'hello' }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toContain(bucket);
    expect(
      (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'cli/' }))).Contents!.map((o) => o.Key),
    ).toEqual(['cli/probe.txt']);
    s3.destroy();
  });
});
