import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NotFoundException, PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { LocalSecretsManager } from '../../local/secrets/secrets-manager';
import { LocalSns, type OutboxMessage } from '../../local/sns/sns';
import { ProgressConsole } from '../../local/console/progress';
import { threeStagePipeline } from '../decide/fixtures';
import { clientConfig, tempDataDir } from './helpers';

describe('local SNS and Secrets Manager', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let sns: LocalSns;
  let secrets: LocalSecretsManager;
  let servers: RunningAwsServer[];
  let snsClient: SNSClient;
  let secretsClient: SecretsManagerClient;
  let topicArn: string;
  const delivered: OutboxMessage[] = [];
  const subscriberErrors: unknown[] = [];

  beforeAll(async () => {
    data = await tempDataDir();
    sns = await LocalSns.open({ dataDir: data.dir, onSubscriberError: (error) => void subscriberErrors.push(error) });
    topicArn = await sns.createTopic('lockstep-approvals');
    sns.subscribe((m) => void delivered.push(m));
    sns.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    secrets = await LocalSecretsManager.open({ dataDir: data.dir, generate: ['lockstep/webhook'] });
    servers = [await startAwsServer(sns.definition()), await startAwsServer(secrets.definition())];
    snsClient = new SNSClient({ ...clientConfig, endpoint: servers[0]!.endpoint });
    secretsClient = new SecretsManagerClient({ ...clientConfig, endpoint: servers[1]!.endpoint });
  });

  afterAll(async () => {
    snsClient.destroy();
    secretsClient.destroy();
    await Promise.all(servers.map((s) => s.close()));
    await data.cleanup();
  });

  it('appends a published message to the outbox and hands it to subscribers, a failing one notwithstanding', async () => {
    const { MessageId } = await snsClient.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'Approval needed: web r3 at beta',
        Message: 'Open http://127.0.0.1:1/approvals/abc & decide <soon>',
        MessageAttributes: { event: { DataType: 'String', StringValue: 'approval-requested' } },
      }),
    );
    const lines = (await readFile(sns.outboxFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as OutboxMessage);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      messageId: MessageId,
      topic: 'lockstep-approvals',
      subject: 'Approval needed: web r3 at beta',
      message: 'Open http://127.0.0.1:1/approvals/abc & decide <soon>',
      attributes: { event: 'approval-requested' },
    });
    expect(delivered.map((m) => m.messageId)).toEqual([MessageId]);
    expect(subscriberErrors).toHaveLength(1);
  });

  it('publishes a batch and rejects an unknown topic with NotFound', async () => {
    const result = await snsClient.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: [
          { Id: 'a', Message: 'one' },
          { Id: 'b', Message: 'two' },
        ],
      }),
    );
    expect(result.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    await expect(
      snsClient.send(new PublishCommand({ TopicArn: topicArn.replace('approvals', 'missing'), Message: 'x' })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('prints a notification on the console with every secret value masked', () => {
    const secret = secrets.valueOf('lockstep/webhook');
    const lines: string[] = [];
    const progress = new ProgressConsole(
      threeStagePipeline(),
      (line) => lines.push(line),
      () => 0,
      () => secrets.allValues(),
    );
    progress.notification({
      ...delivered[0]!,
      subject: `[Lockstep shop] deploy failed with ${secret}`,
      message: `Error: leaked ${secret}`,
      attributes: { event: 'deployment-failed' },
    });
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines).toEqual(['00:00:00  notification: deploy failed with ********', '    Error: leaked ********']);
  });

  it('serves a generated secret by name and by ARN, from a file only its owner can read, and keeps it across a reopen', async () => {
    const byName = await secretsClient.send(new GetSecretValueCommand({ SecretId: 'lockstep/webhook' }));
    const byArn = await secretsClient.send(new GetSecretValueCommand({ SecretId: secrets.arnOf('lockstep/webhook') }));
    expect(byName.SecretString).toMatch(/^[0-9a-f]{64}$/);
    expect(byArn.SecretString).toBe(byName.SecretString);
    expect(byArn.ARN).toBe(secrets.arnOf('lockstep/webhook'));
    expect((await stat(join(data.dir, 'secrets.json'))).mode & 0o777).toBe(0o600);
    const reopened = await LocalSecretsManager.open({ dataDir: data.dir, generate: ['lockstep/webhook'] });
    expect(reopened.valueOf('lockstep/webhook')).toBe(byName.SecretString);
    await expect(secretsClient.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});
