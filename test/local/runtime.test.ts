import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verify } from '@octokit/webhooks-methods';
import { ListBuildsForProjectCommand, CodeBuildClient, ResourceNotFoundException } from '@aws-sdk/client-codebuild';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ManualClock } from '../../local/clock';
import { LOCAL_SECRETS } from '../../local/constants';
import { commitChange, createSampleRepository, pushToWebhook } from '../../local/git';
import { startLocalServices, type LocalServices } from '../../local/runtime';
import { tempDataDir } from './helpers';

describe('startLocalServices', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: LocalServices;
  const log: string[] = [];

  beforeAll(async () => {
    data = await tempDataDir();
    services = await startLocalServices({
      dataDir: data.dir,
      clock: new ManualClock(Date.parse('2030-01-01T00:00:00Z')),
      log: (l) => log.push(l),
    });
    // What the wiring step does before importing handler modules: plain SDK clients then find the local services.
    services.applyEnvironment();
  });

  afterAll(async () => {
    await services?.stop();
    await data?.cleanup();
  });

  it('logs how long startup took', () => {
    expect(log.join('\n')).toMatch(/services ready in \d+ ms \(DynamoDB: (dynamodb-local|dynalite)/);
    expect(services.startupMs).toBeGreaterThan(0);
  });

  it('points unconfigured AWS SDK clients at the local services through the environment alone', async () => {
    const dynamodb = new DynamoDBClient({});
    const { TableNames } = await dynamodb.send(new ListTablesCommand({}));
    expect(TableNames).toEqual(expect.arrayContaining(Object.values(services.names.tables)));
    expect(process.env.LOCKSTEP_TABLE_LOCKS).toBe(services.names.tables.Locks);
    expect(process.env.LOCKSTEP_SDK_TABLE).toBe('lockstep-sdk');

    const s3 = new S3Client({
      forcePathStyle: process.env.LOCKSTEP_S3_FORCE_PATH_STYLE === 'true',
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await s3.send(
      new PutObjectCommand({ Bucket: process.env.LOCKSTEP_ARTIFACTS_BUCKET, Key: 'probe.txt', Body: 'local' }),
    );
    const got = await s3.send(
      new GetObjectCommand({ Bucket: process.env.LOCKSTEP_ARTIFACTS_BUCKET, Key: 'probe.txt' }),
    );
    expect(await got.Body?.transformToString()).toBe('local');

    const sns = new SNSClient({});
    await sns.send(
      new PublishCommand({
        TopicArn: process.env.LOCKSTEP_NOTIFICATION_TOPIC_ARN,
        Subject: 'Rollback done',
        Message: 'beta rolled back to r1',
      }),
    );
    const outbox = (await readFile(services.sns.outboxFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(outbox.at(-1)).toMatchObject({
      topic: 'lockstep-notifications',
      subject: 'Rollback done',
      message: 'beta rolled back to r1',
    });

    const secrets = new SecretsManagerClient({});
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.LOCKSTEP_WEBHOOK_SECRET_ARN }));
    expect(secret.SecretString).toBe(services.secrets.valueOf(LOCAL_SECRETS.webhook));

    const sfn = new SFNClient({});
    expect((await sfn.send(new ListStateMachinesCommand({}))).stateMachines).toEqual([]);

    const codebuild = new CodeBuildClient({});
    await expect(
      codebuild.send(new ListBuildsForProjectCommand({ projectName: 'nothing-here' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);

    for (const client of [dynamodb, s3, sns, secrets, sfn, codebuild]) client.destroy();
  });

  it('sends signed GitHub push events for the sample repository to the webhook route', async () => {
    const received: Array<{ event: APIGatewayProxyEventV2; valid: boolean }> = [];
    const secret = services.secrets.currentKeyOf(LOCAL_SECRETS.webhook);
    services.http.registerRoute('POST', '/webhooks/github', async (event) => {
      const valid = await verify(secret, event.body ?? '', event.headers['x-hub-signature-256'] ?? '');
      received.push({ event, valid });
      return { statusCode: 202, body: JSON.stringify({ accepted: true }) };
    });

    const repo = await createSampleRepository({ dataDir: services.dataDir });
    expect(repo.created).toBe(true);
    const first = await pushToWebhook({
      dir: repo.dir,
      url: services.names.webhookUrl,
      secret,
      repositoryFullName: 'local/sample-app',
    });
    expect(first.status).toBe(202);
    expect(received[0]?.valid).toBe(true);
    expect(received[0]?.event.headers['x-github-event']).toBe('push');
    expect(received[0]?.event.headers['x-github-delivery']).toBe(first.deliveryId);
    const firstPayload = JSON.parse(received[0]!.event.body!);
    expect(firstPayload).toMatchObject({
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      repository: { full_name: 'local/sample-app' },
    });
    expect(firstPayload.head_commit.id).toBe(firstPayload.after);

    const second = await commitChange(repo.dir, {
      message: 'Break the tests on purpose',
      files: { FAIL_TESTS: 'rollback demo\n' },
    });
    await pushToWebhook({
      dir: repo.dir,
      url: services.names.webhookUrl,
      secret,
      repositoryFullName: 'local/sample-app',
    });
    const secondPayload = JSON.parse(received[1]!.event.body!);
    expect(secondPayload.before).toBe(firstPayload.after);
    expect(secondPayload.after).toBe(second);
    expect(secondPayload.commits).toHaveLength(1);
    expect(secondPayload.commits[0]).toMatchObject({
      id: second,
      message: 'Break the tests on purpose',
      added: ['FAIL_TESTS'],
      author: { name: 'Lockstep Local' },
    });
    expect((await createSampleRepository({ dataDir: services.dataDir })).created).toBe(false);
  });

  it('resumes from the data folder after a restart: same secrets, tables, outbox', async () => {
    const secretBefore = services.secrets.valueOf(LOCAL_SECRETS.approvalSigning);
    await services.stop();
    services = await startLocalServices({ dataDir: data.dir, log: (l) => log.push(l) });
    expect(services.secrets.valueOf(LOCAL_SECRETS.approvalSigning)).toBe(secretBefore);
    const dynamodb = new DynamoDBClient({
      endpoint: services.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toEqual(
      expect.arrayContaining(Object.values(services.names.tables)),
    );
    dynamodb.destroy();
    expect(await readFile(join(data.dir, 'outbox.jsonl'), 'utf8')).toContain('beta rolled back to r1');
  });
});
