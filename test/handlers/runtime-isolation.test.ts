import { StartBuildCommand } from '@aws-sdk/client-codebuild';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAwsClients } from '../../lambdas/adapters/aws-clients';
import { MissingEnvironmentVariableError } from '../../lambdas/core/errors';
import {
  createHandler as createCodeCommitPush,
  handler as defaultCodeCommitHandler,
} from '../../lambdas/handlers/codecommit-push';
import { handler as defaultStepsHandler } from '../../lambdas/handlers/promotion-steps';
import { localAwsClients, localAwsEnvironment } from '../../local/runtime';
import { mocks, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

const pushEvent = (commitId: string) => ({
  version: '0',
  id: `event-${commitId}`,
  'detail-type': 'CodeCommit Repository State Change',
  source: 'aws.codecommit',
  detail: {
    event: 'referenceUpdated',
    repositoryName: 'ops',
    referenceType: 'branch',
    referenceName: 'main',
    commitId,
  },
});

describe('handlers built from their own dependencies', () => {
  let first: RuntimeEnv;
  let second: RuntimeEnv;

  beforeAll(async () => {
    // Two systems in one process, each on its own DynamoDB, as two local systems are.
    first = await startRuntimeEnv();
    second = await startRuntimeEnv();
    mocks.codebuild.on(StartBuildCommand).resolves({ build: { id: 'lockstep-shop-build-ops:1' } });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('keeps two sets of handlers in one process apart: each records pushes in its own tables only', async () => {
    const a = createCodeCommitPush(first.runtime.agentDependencies()) as unknown as (
      event: unknown,
    ) => Promise<{ recorded?: number }>;
    const b = createCodeCommitPush(second.runtime.agentDependencies()) as unknown as (
      event: unknown,
    ) => Promise<{ recorded?: number }>;
    const event = pushEvent('c0ffee00000000000000000000000000000000aa');
    expect((await a(event)).recorded).toBe(1);
    // The same event is new to the second system: nothing of the first one's reached its tables.
    expect((await b(event)).recorded).toBe(1);
    expect((await a(event)).recorded).toBe(0);
    const timeline = async (env: RuntimeEnv) => (await env.runtime.eventStore().list({})).map((e) => e.type);
    expect((await timeline(first)).length).toBeGreaterThan(0);
    expect(await timeline(first)).toEqual(await timeline(second));
  });

  it('reads no environment when a handler module is imported: the default handler fails at its first call, naming the variable', async () => {
    // Both modules were imported above, with none of the LOCKSTEP_* variables set.
    const context = { getRemainingTimeInMillis: () => 30_000 } as never;
    await expect(defaultStepsHandler({ action: 'acquire-lock' }, context)).rejects.toThrow(
      MissingEnvironmentVariableError,
    );
    await expect(
      defaultCodeCommitHandler(pushEvent('c0ffee00000000000000000000000000000000bb') as never, context),
    ).rejects.toThrow(/LOCKSTEP_/);
  });
});

describe('S3 checksums', () => {
  it('keeps the SDK default integrity checks on the clients Lambda builds', async () => {
    const saved = process.env.AWS_REQUEST_CHECKSUM_CALCULATION;
    delete process.env.AWS_REQUEST_CHECKSUM_CALCULATION;
    try {
      const { s3 } = createAwsClients({ region: 'us-east-1' });
      expect(await s3.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
      expect(await s3.config.responseChecksumValidation()).toBe('WHEN_SUPPORTED');
    } finally {
      if (saved !== undefined) process.env.AWS_REQUEST_CHECKSUM_CALCULATION = saved;
    }
  });

  it('computes checksums only when required where local mode builds its clients, and tells its builds the same', async () => {
    const endpoints = {
      dynamodb: 'http://127.0.0.1:1',
      s3: 'http://127.0.0.1:2',
      stepFunctions: 'http://127.0.0.1:3',
      codeBuild: 'http://127.0.0.1:4',
      codeCommit: 'http://127.0.0.1:7',
      sns: 'http://127.0.0.1:5',
      secretsManager: 'http://127.0.0.1:6',
      cloudWatch: 'http://127.0.0.1:8',
    };
    const { s3 } = localAwsClients(endpoints);
    expect(await s3.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await s3.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(s3.config.forcePathStyle).toBe(true);
    expect(localAwsEnvironment(endpoints)).toMatchObject({
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      AWS_ENDPOINT_URL_CODECOMMIT: 'http://127.0.0.1:7',
      AWS_ENDPOINT_URL_CLOUDWATCH: 'http://127.0.0.1:8',
    });
  });
});
