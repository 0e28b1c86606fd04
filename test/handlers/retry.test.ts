/**
 * `lockstep retry`: a promotion whose execution failed runs again as the next attempt, through the reconcile pass,
 * without a new commit; the request is audited; duplicate requests and concurrent passes start that attempt once.
 * DynamoDB is dynalite; Step Functions, CodeBuild and S3 are aws-sdk-client-mock mocks.
 */
import { BatchGetBuildsCommand, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Runtime } from '../../lambdas/adapters/runtime';
import { createHandler as createCodeCommitPush } from '../../lambdas/handlers/codecommit-push';
import { createHandler as createReconcile } from '../../lambdas/handlers/reconcile';
import { requestRetry, type RetryDependencies } from '../../lambdas/promotion/retry';
import { fakeDateOnly } from '../support/fake-date';
import { mocks, STATE_MACHINE_ARN, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

let env: RuntimeEnv;
let codecommit: (event: unknown) => Promise<unknown>;
let reconcile: (event: unknown) => Promise<{ executionsStarted: string[] }>;
let runtime: Runtime;
const startedNames = new Set<string>();
const statuses = new Map<string, string>();

beforeAll(async () => {
  env = await startRuntimeEnv();
  mocks.codebuild
    .on(StartBuildCommand)
    .callsFake((input: { projectName: string }) => ({ build: { id: `${input.projectName}:1` } }));
  mocks.codebuild.on(BatchGetBuildsCommand).callsFake((input: { ids: string[] }) => ({
    builds: input.ids.map((id) => ({
      id,
      buildStatus: 'SUCCEEDED',
      endTime: new Date(),
      artifacts: { location: 'arn:aws:s3:::artifacts/builds/ops/x/artifact.zip' },
    })),
  }));
  mocks.s3.on(CopyObjectCommand).resolves({});
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  mocks.sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
    if (startedNames.has(input.name)) {
      const error = new Error(`Execution ${input.name} already exists`);
      error.name = 'ExecutionAlreadyExists';
      throw error;
    }
    startedNames.add(input.name);
    statuses.set(`${STATE_MACHINE_ARN}:${input.name}`, 'RUNNING');
    return { executionArn: `${STATE_MACHINE_ARN}:${input.name}`, startDate: new Date() };
  });
  mocks.sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => ({
    executionArn: input.executionArn,
    status: statuses.get(input.executionArn),
  }));
  runtime = env.runtime;
  codecommit = createCodeCommitPush(runtime.agentDependencies()) as never;
  reconcile = createReconcile(runtime.reconcileDependencies()) as never;
});
afterAll(() => {
  jest.useRealTimers();
  return env.close();
});

function retryDeps(): RetryDependencies {
  return runtime.retryDependencies();
}

describe('lockstep retry', () => {
  it('starts the next attempt of a failed promotion once, without a new commit, and audits who asked', async () => {
    fakeDateOnly();
    jest.setSystemTime(new Date('2030-01-07T10:00:00Z'));
    await codecommit({
      version: '0',
      id: 'event-1',
      'detail-type': 'CodeCommit Repository State Change',
      source: 'aws.codecommit',
      detail: {
        event: 'referenceUpdated',
        repositoryName: 'ops',
        referenceType: 'branch',
        referenceName: 'main',
        commitId: 'c0ffee0000000000000000000000000000000001',
        callerUserArn: 'arn:aws:iam::123456789012:user/dev',
      },
    });
    jest.setSystemTime(new Date('2030-01-07T10:00:05Z'));
    await reconcile({});
    jest.setSystemTime(new Date('2030-01-07T10:05:00Z'));
    expect((await reconcile({})).executionsStarted).toEqual(['ops-to-Ops-ops-r1']);

    // Still running: nothing to retry.
    await expect(requestRetry(retryDeps(), { environment: 'Ops', by: 'ann@example.com' })).rejects.toMatchObject({
      name: 'RetryRefusedError',
      message: expect.stringContaining('ops-to-Ops-ops-r1 (ops r1) is RUNNING'),
    });

    // The execution fails (a flaky deploy). Without a retry, the revision stays blocked.
    statuses.set(`${STATE_MACHINE_ARN}:ops-to-Ops-ops-r1`, 'FAILED');
    jest.setSystemTime(new Date('2030-01-07T10:10:00Z'));
    expect((await reconcile({})).executionsStarted).toEqual([]);

    // Two operators ask at once: one request wins, the other is told it exists.
    const asks = await Promise.allSettled([
      requestRetry(retryDeps(), { environment: 'Ops', by: 'ann@example.com', reason: 'flaky deploy' }),
      requestRetry(retryDeps(), { environment: 'Ops', by: 'bob@example.com' }),
    ]);
    const won = asks.filter((a) => a.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(won[0]!.value.request).toMatchObject({ application: 'ops', revision: 1, attempt: 2 });
    expect(asks.find((a) => a.status === 'rejected')).toMatchObject({
      reason: { message: expect.stringContaining('requested already') },
    });

    // Concurrent passes start attempt 2 once.
    const passes = await Promise.all([reconcile({}), reconcile({})]);
    expect(passes.flatMap((p) => p.executionsStarted)).toEqual(['ops-to-Ops-ops-r1-a2']);
    expect(
      mocks.sfn.commandCalls(StartExecutionCommand).filter((c) => c.args[0].input.name === 'ops-to-Ops-ops-r1-a2')
        .length,
    ).toBeGreaterThanOrEqual(1);
    expect((await reconcile({})).executionsStarted).toEqual([]);

    const timeline = await runtime.eventStore().list({ environment: 'Ops' });
    const audit = timeline.find((e) => e.type === 'promotion-retry-requested')!;
    expect(audit).toMatchObject({
      application: 'ops',
      revision: 1,
      execution: 'ops-to-Ops-ops-r1',
      details: { attempt: 2, failedStatus: 'FAILED' },
    });
    expect(['ann@example.com', 'bob@example.com']).toContain(audit.actor);

    // The second attempt fails too: the next retry is attempt 3.
    statuses.set(`${STATE_MACHINE_ARN}:ops-to-Ops-ops-r1-a2`, 'FAILED');
    const third = await requestRetry(retryDeps(), { environment: 'Ops', by: 'ann@example.com' });
    expect(third.request.attempt).toBe(3);
    expect((await reconcile({})).executionsStarted).toEqual(['ops-to-Ops-ops-r1-a3']);
    jest.useRealTimers();
  });

  it('says what is wrong for an unknown environment or one nothing was promoted to', async () => {
    await expect(requestRetry(retryDeps(), { environment: 'Nowhere', by: 'ann@example.com' })).rejects.toThrow(
      /no environment Nowhere.*environments: Beta, Ops/,
    );
    await expect(requestRetry(retryDeps(), { environment: 'Beta', by: 'ann@example.com' })).rejects.toThrow(
      /No promotion to Beta has started yet/,
    );
  });
});
