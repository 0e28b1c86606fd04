import { BatchGetBuildsCommand, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { fakeDateOnly } from '../support/fake-date';
import type { Runtime } from '../../lambdas/adapters/runtime';
import { createHandler as createCodeCommitPush } from '../../lambdas/handlers/codecommit-push';
import { createHandler as createPromotionSteps } from '../../lambdas/handlers/promotion-steps';
import { createHandler as createReconcile } from '../../lambdas/handlers/reconcile';
import { executionInputSchema } from '../../lambdas/promotion/execution-input';
import { mocks, STATE_MACHINE_ARN, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

let env: RuntimeEnv;
let codecommit: (event: unknown) => Promise<{ status: string; recorded?: number }>;
let reconcile: (
  event: unknown,
) => Promise<{ executionsStarted: string[]; buildsStarted: string[]; revisionsCreated: unknown[] }>;
let runtime: Runtime;
let steps: (event: unknown) => Promise<Record<string, unknown>>;

/** Step Functions' own rule: an execution name starts once. */
const startedNames = new Set<string>();

beforeAll(async () => {
  env = await startRuntimeEnv();
  mocks.codebuild.on(StartBuildCommand).callsFake((input: { projectName: string }) => ({
    build: { id: `${input.projectName}:${mocks.codebuild.commandCalls(StartBuildCommand).length}` },
  }));
  mocks.codebuild.on(BatchGetBuildsCommand).callsFake((input: { ids: string[] }) => ({
    builds: input.ids.map((id) => ({
      id,
      buildStatus: 'SUCCEEDED',
      endTime: new Date(),
      artifacts: { location: `arn:aws:s3:::artifacts/builds/ops/x/artifact.zip` },
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
    return { executionArn: `${STATE_MACHINE_ARN}:${input.name}`, startDate: new Date() };
  });
  runtime = env.runtime;
  codecommit = createCodeCommitPush(runtime.agentDependencies()) as never;
  reconcile = createReconcile(runtime.reconcileDependencies()) as never;
  steps = createPromotionSteps(runtime.stepDependencies()) as never;
});
afterAll(() => {
  jest.useRealTimers();
  return env.close();
});

const referenceUpdated = (commitId: string) => ({
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
    callerUserArn: 'arn:aws:iam::123456789012:user/dev',
  },
});

describe('agents', () => {
  it('turns duplicate push events and concurrent reconcile passes into one build and one promotion', async () => {
    fakeDateOnly();
    jest.setSystemTime(new Date('2030-01-07T10:00:00Z'));
    const event = referenceUpdated('c0ffee0000000000000000000000000000000001');
    const results = await Promise.all([codecommit(event), codecommit(event)]);
    expect(results.map((r) => r.recorded).sort()).toEqual([0, 1]);

    // After the debounce, two passes at once: one build.
    jest.setSystemTime(new Date('2030-01-07T10:00:05Z'));
    await Promise.all([reconcile({}), reconcile({})]);
    const builds = mocks.codebuild.commandCalls(StartBuildCommand);
    expect(builds).toHaveLength(1);
    expect(builds[0]!.args[0].input).toMatchObject({
      projectName: 'lockstep-shop-build-ops',
      sourceVersion: 'c0ffee0000000000000000000000000000000001',
    });

    // The build finished: two passes at once make one revision and start one execution.
    jest.setSystemTime(new Date('2030-01-07T10:05:00Z'));
    const passes = await Promise.all([reconcile({}), reconcile({})]);
    const revisions = await runtime.revisionStore().list('ops');
    expect(revisions.map((r) => r.number)).toEqual([1]);
    expect(revisions[0]).toMatchObject({
      artifact: 's3://artifacts/revisions/ops/1/artifact.zip',
      versionSet: { ops: 'c0ffee0000000000000000000000000000000001' },
    });
    expect(mocks.s3.commandCalls(CopyObjectCommand)[0]!.args[0].input).toMatchObject({
      Bucket: 'artifacts',
      Key: 'revisions/ops/1/artifact.zip',
    });
    expect(passes.flatMap((p) => p.executionsStarted)).toEqual(['ops-to-Ops-ops-r1']);
    const start = mocks.sfn
      .commandCalls(StartExecutionCommand)
      .find((c) => c.args[0].input.name === 'ops-to-Ops-ops-r1')!;
    const input = executionInputSchema.parse(JSON.parse(start.args[0].input.input!));
    expect(input).toMatchObject({
      environment: 'Ops',
      revision: { number: 1, sourceLocation: 'artifacts/revisions/ops/1/artifact.zip' },
      // Ops deploys without a role: its steps run in the pipeline's steps project for the home account.
      projects: { deploy: expect.stringMatching(/^lockstep-shop-steps-home-[0-9a-f]{8}$/) },
    });

    // Later passes start nothing new.
    jest.setSystemTime(new Date('2030-01-07T10:06:00Z'));
    const later = await reconcile({});
    expect(later.executionsStarted).toEqual([]);
    expect(mocks.codebuild.commandCalls(StartBuildCommand)).toHaveLength(1);
    jest.useRealTimers();
  });

  it('ignores a CodeCommit event for an untracked branch, saying why', async () => {
    const event = {
      ...referenceUpdated('c0ffee2'),
      detail: { ...referenceUpdated('c0ffee2').detail, referenceName: 'feature' },
    };
    expect(await codecommit(event)).toMatchObject({ status: 'ignored', reason: expect.stringContaining('feature') });
  });
});

describe('promotion steps against the stores', () => {
  const target = { execution: 'exec-a', promotion: 'ops-to-Ops', application: 'ops', environment: 'Ops', revision: 1 };

  it('grants the lock to one execution, makes the other wait, and fences out a holder whose lease expired', async () => {
    const a = await steps({ action: 'acquire-lock', ...target, lockLeaseMs: 60_000 });
    const b = await steps({ action: 'acquire-lock', ...target, execution: 'exec-b', lockLeaseMs: 60_000 });
    expect(a).toMatchObject({ acquired: true });
    expect(b).toMatchObject({ acquired: false, holder: 'exec-a' });
    const token = a.fencingToken as number;
    await expect(
      steps({ action: 'mark-approved', ...target, fencingToken: token, lockLeaseMs: 60_000 }),
    ).resolves.toMatchObject({ approved: 1 });

    // Lease runs out; exec-b takes over with a larger token, exec-a is refused.
    fakeDateOnly();
    jest.setSystemTime(Date.now() + 120_000);
    const b2 = await steps({ action: 'acquire-lock', ...target, execution: 'exec-b', lockLeaseMs: 60_000 });
    expect(b2.fencingToken).toBe(token + 1);
    await expect(
      steps({ action: 'mark-approved', ...target, fencingToken: token, lockLeaseMs: 60_000 }),
    ).rejects.toMatchObject({ name: 'LockLostError' });
    await expect(
      steps({ action: 'release-lock', environment: 'Ops', execution: 'exec-a', fencingToken: token }),
    ).resolves.toEqual({ released: false });
    await expect(
      steps({ action: 'release-lock', environment: 'Ops', execution: 'exec-b', fencingToken: token + 1 }),
    ).resolves.toEqual({ released: true });
    jest.useRealTimers();
  });

  it('records a deploy only for the lock holder, and a resumed record-deployed reports the same previous revision', async () => {
    const lock = await steps({ action: 'acquire-lock', ...target, execution: 'exec-d', lockLeaseMs: 60_000 });
    const fenced = { action: 'record-deployed', ...target, execution: 'exec-d', lockLeaseMs: 60_000 };
    const before = await runtime.environmentStore().get('Ops');
    await expect(steps({ ...fenced, fencingToken: (lock.fencingToken as number) - 1 })).rejects.toMatchObject({
      name: 'LockLostError',
    });
    expect(await runtime.environmentStore().get('Ops')).toEqual(before);
    const first = await steps({ ...fenced, fencingToken: lock.fencingToken });
    expect(first).toEqual({ deployed: 1, previous: before.ops?.current?.number ?? null });
    expect(await steps({ ...fenced, fencingToken: lock.fencingToken })).toEqual(first);
    expect((await runtime.environmentStore().get('Ops')).ops?.current?.number).toBe(1);
    await steps({ action: 'release-lock', environment: 'Ops', execution: 'exec-d', fencingToken: lock.fencingToken });
  });

  it('fails a test-results step with TestsFailedError after recording the results on the revision', async () => {
    const lock = await steps({ action: 'acquire-lock', ...target, execution: 'exec-t', lockLeaseMs: 60_000 });
    await expect(
      steps({
        action: 'record-test-results',
        ...target,
        execution: 'exec-t',
        fencingToken: lock.fencingToken,
        lockLeaseMs: 60_000,
        tests: [
          { name: 'smoke', passed: false },
          { name: 'api', passed: true },
        ],
      }),
    ).rejects.toMatchObject({ name: 'TestsFailedError' });
    expect((await runtime.revisionStore().get('ops', 1))?.testResults.Ops).toEqual({ passed: 1, failed: 1 });
    await steps({ action: 'release-lock', environment: 'Ops', execution: 'exec-t', fencingToken: lock.fencingToken });
  });

  it('releases the lock and announces the promotion in one step: both timeline entries and the approved notification', async () => {
    const lock = await steps({
      action: 'acquire-lock',
      ...target,
      execution: 'exec-r',
      revision: 7,
      lockLeaseMs: 60_000,
    });
    const published = mocks.sns.commandCalls(PublishCommand).length;
    await expect(
      steps({
        action: 'release-lock',
        environment: 'Ops',
        execution: 'exec-r',
        fencingToken: lock.fencingToken,
        announce: { promotion: 'ops-to-Ops', application: 'ops', revision: 7 },
      }),
    ).resolves.toEqual({ released: true, emitted: 'promotion-succeeded' });
    expect(await runtime.lockStore().get('Ops', Date.now())).toBeNull();
    const timeline = (await runtime.eventStore().list({ environment: 'Ops' }))
      .filter((e) => e.execution === 'exec-r')
      .map((e) => e.type);
    expect(timeline).toEqual(expect.arrayContaining(['lock-released', 'promotion-succeeded']));
    const notes = mocks.sns
      .commandCalls(PublishCommand)
      .slice(published)
      .map((c) => c.args[0].input.MessageAttributes?.event?.StringValue);
    expect(notes).toEqual(['revision-approved']);
  });

  it('approves, releases and announces in one step, and a retry after it finished changes nothing', async () => {
    const run = { ...target, execution: 'exec-ar', revision: 11 };
    const lock = await steps({ action: 'acquire-lock', ...run, lockLeaseMs: 60_000 });
    const published = mocks.sns.commandCalls(PublishCommand).length;
    const step = { action: 'approve-and-release', ...run, fencingToken: lock.fencingToken, lockLeaseMs: 60_000 };
    await expect(steps(step)).resolves.toEqual({ approved: 11, released: true, emitted: 'promotion-succeeded' });
    expect((await runtime.environmentStore().slot('Ops', 'ops'))?.approved).toContain(11);
    expect(await runtime.lockStore().get('Ops', Date.now())).toBeNull();
    const timeline = async () =>
      (await runtime.eventStore().list({ environment: 'Ops' }))
        .filter((e) => e.execution === 'exec-ar')
        .map((e) => e.type);
    expect((await timeline()).sort()).toEqual([
      'lock-acquired',
      'lock-released',
      'promotion-succeeded',
      'revision-approved',
    ]);

    // The answer was lost and Step Functions retries: the approval is recognised, nothing is released twice.
    await expect(steps(step)).resolves.toEqual({ approved: 11, released: false, emitted: 'promotion-succeeded' });
    expect((await timeline()).filter((t) => t.startsWith('lock-'))).toEqual(['lock-released', 'lock-acquired']);
    const notes = mocks.sns
      .commandCalls(PublishCommand)
      .slice(published)
      .map((c) => c.args[0].input.MessageAttributes?.event?.StringValue);
    expect(notes).toEqual(['revision-approved', 'revision-approved']);
  });

  it('approves nothing for a holder whose lease ended and whose lock another execution took', async () => {
    const run = { ...target, execution: 'exec-late', revision: 12 };
    const lock = await steps({ action: 'acquire-lock', ...run, lockLeaseMs: 60_000 });
    fakeDateOnly();
    jest.setSystemTime(Date.now() + 120_000);
    const other = await steps({ action: 'acquire-lock', ...run, execution: 'exec-next', lockLeaseMs: 60_000 });
    await expect(
      steps({ action: 'approve-and-release', ...run, fencingToken: lock.fencingToken, lockLeaseMs: 60_000 }),
    ).rejects.toMatchObject({ name: 'LockLostError' });
    expect((await runtime.environmentStore().slot('Ops', 'ops'))?.approved ?? []).not.toContain(12);
    expect((await runtime.lockStore().get('Ops', Date.now()))?.owner).toBe('exec-next');
    await steps({
      action: 'release-lock',
      environment: 'Ops',
      execution: 'exec-next',
      fencingToken: other.fencingToken,
    });
    jest.useRealTimers();
  });

  it('refuses an unknown action with a typed error', async () => {
    await expect(steps({ action: 'deploy-everything' })).rejects.toMatchObject({ name: 'InvalidInputError' });
  });
});
