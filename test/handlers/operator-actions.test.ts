/**
 * Operator actions shared by the CLI and the console (`lambdas/promotion/operator-actions.ts`): rollback through the
 * promotion state machine's recovery input, pin and unpin, and the console's approval decision. DynamoDB is
 * dynalite (real conditional writes, so "exactly one rollback wins" is tested, not assumed); Step Functions and SNS
 * are aws-sdk-client-mock mocks.
 */
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Runtime } from '../../lambdas/adapters/runtime';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { reconcile } from '../../lambdas/core/decide/snapshots';
import { loadWorld, recoverEnvironments } from '../../lambdas/promotion/agents';
import { sendApprovalRequest } from '../../lambdas/promotion/approvals';
import type { ExecutionInput } from '../../lambdas/promotion/execution-input';
import {
  decideApprovalAsUser,
  pinEnvironment,
  rollbackEnvironment,
  unpinEnvironment,
  type Actor,
  type OperatorDependencies,
} from '../../lambdas/promotion/operator-actions';
import { runStep } from '../../lambdas/promotion/steps';
import { mocks, STATE_MACHINE_ARN, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

const PIPELINE: PipelineInput = {
  pipeline: { name: 'shop' },
  packages: [
    { name: 'web', source: { github: { owner: 'acme', repo: 'web', branch: 'main' } }, build: { commands: ['make'] } },
  ],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [
    {
      name: 'Test',
      environments: [
        {
          name: 'Alpha',
          deploy: { commands: ['./deploy.sh'] },
          approval: { manual: { approvers: ['ann@example.com'], timeout: '1h' } },
        },
      ],
    },
    {
      name: 'Prod',
      environments: [
        {
          name: 'Prod',
          deploy: { commands: ['./deploy.sh'] },
          windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00', timeZone: 'UTC' }],
        },
      ],
    },
  ],
  promotions: [
    { from: { application: 'web' }, to: 'Alpha' },
    { from: { environment: 'Alpha' }, to: 'Prod' },
  ],
};

/** Monday 10:00 UTC: Prod's window is open. */
const MONDAY = Date.parse('2030-01-07T10:00:00Z');
/** Saturday: every window of Prod is closed. */
const SATURDAY = Date.parse('2030-01-12T10:00:00Z');

let env: RuntimeEnv;
let runtime: Runtime;
let now = MONDAY;
const started = new Map<string, ExecutionInput>();
const statuses = new Map<string, string>();

const ann: Actor = { user: 'ann@example.com', via: 'console', sourceIp: '198.51.100.7' };
const bob: Actor = { user: 'bob@example.com', via: 'cli' };

function deps(): OperatorDependencies {
  return runtime.operatorDependencies();
}

const arnOf = (name: string) => `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

beforeAll(async () => {
  env = await startRuntimeEnv({}, PIPELINE, { clock: () => now });
  runtime = env.runtime;
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  mocks.sfn.on(StartExecutionCommand).callsFake((input: { name: string; input: string }) => {
    if (started.has(input.name)) {
      const error = new Error(`Execution ${input.name} already exists`);
      error.name = 'ExecutionAlreadyExists';
      throw error;
    }
    started.set(input.name, JSON.parse(input.input) as ExecutionInput);
    statuses.set(arnOf(input.name), 'RUNNING');
    return { executionArn: arnOf(input.name), startDate: new Date() };
  });
  mocks.sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    const status = statuses.get(input.executionArn);
    if (!status) {
      const error = new Error('no such execution');
      error.name = 'ExecutionDoesNotExist';
      throw error;
    }
    return { executionArn: input.executionArn, status };
  });
  mocks.sfn.on(SendTaskSuccessCommand).resolves({});
  mocks.sfn.on(ListExecutionsCommand).callsFake(() => ({
    executions: [...statuses]
      .filter(([, s]) => s === 'RUNNING')
      .map(([arn]) => ({ executionArn: arn, name: arn.split(':').pop() })),
  }));
  mocks.sfn.on(StopExecutionCommand).callsFake((input: { executionArn: string }) => {
    statuses.set(input.executionArn, 'ABORTED');
    return { stopDate: new Date() };
  });

  // web r1..r4 built; Prod ran r1, r2 and r3 (each approved there) and runs r3; r4 never reached Prod.
  for (let n = 1; n <= 4; n++) {
    await runtime.revisionStore().create('web', `build-${n}`, async (number) => ({
      versionSet: { web: `c${number}` },
      commits: [],
      authors: [],
      artifact: `s3://artifacts/revisions/web/${number}/artifact.zip`,
      buildId: `build-${n}`,
      createdAt: MONDAY - 10_000,
      priority: false,
    }));
  }
  const environments = runtime.environmentStore();
  for (const n of [1, 2, 3]) {
    for (const name of ['Alpha', 'Prod']) {
      const before = await environments.slot(name, 'web');
      await environments.recordDeployed(
        name,
        { application: 'web', number: n, versionSet: { web: `c${n}` }, deployedAt: MONDAY - 100_000 + n },
        before,
      );
      await environments.markApproved(name, 'web', n, MONDAY - 100_000 + n);
    }
  }
});
afterAll(() => env.close());
beforeEach(() => {
  now += 60_000;
});

async function timeline(type: string) {
  return (await runtime.eventStore().list({ environment: 'Prod' }, 100)).filter((e) => e.type === type);
}

async function release(environment: string) {
  const lock = await runtime.lockStore().get(environment, now);
  if (lock) await runtime.lockStore().release(environment, lock.owner, lock.fencingToken);
}

describe('rollbackEnvironment', () => {
  it('refuses a revision never deployed there, an unknown one, no user or a long reason, saying why', async () => {
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', toRevision: 4, actor: ann }),
    ).rejects.toMatchObject({
      name: 'OperatorActionRefusedError',
      code: 'never-deployed',
      message:
        'web r4 was never deployed to Prod, so it cannot be rolled back to; revisions deployed and approved there: r1, r2',
    });
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', toRevision: 9, actor: ann }),
    ).rejects.toMatchObject({ code: 'unknown-revision', message: 'web has no revision 9' });
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', toRevision: 3, actor: ann }),
    ).rejects.toMatchObject({ code: 'already-current' });
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prud', application: 'web', actor: ann }),
    ).rejects.toMatchObject({
      code: 'unknown-environment',
      message: expect.stringContaining('environments: Alpha, Prod'),
    });
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', actor: { user: ' ', via: 'console' } }),
    ).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining("the actor's user is empty") });
    await expect(
      pinEnvironment(deps(), {
        environment: 'Prod',
        application: 'web',
        revision: 3,
        reason: 'x'.repeat(1001),
        actor: ann,
      }),
    ).rejects.toMatchObject({ code: 'bad-input', message: expect.stringContaining('keep it to 1000') });
    expect(started.size).toBe(0);
  });

  it('refuses while another holds the lock, and with the override releases it and records that', async () => {
    await runtime.lockStore().acquire('Prod', 'alpha-to-prod-web-r4', 3_600_000, now);
    statuses.set(arnOf('alpha-to-prod-web-r4'), 'RUNNING'); // deploying r4 when the operator steps in
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', actor: ann }),
    ).rejects.toMatchObject({
      code: 'locked',
      message: expect.stringContaining('Prod is locked by alpha-to-prod-web-r4 until'),
    });
    expect(started.size).toBe(0);

    const outcome = await rollbackEnvironment(deps(), {
      environment: 'Prod',
      application: 'web',
      overrideLockAndWindows: true,
      reason: 'checkout errors',
      actor: ann,
    });
    expect(outcome).toMatchObject({
      from: 3,
      to: 2,
      overridden: { lockHolder: 'alpha-to-prod-web-r4', stoppedExecution: 'alpha-to-prod-web-r4' },
    });
    // The holder is stopped, so a deploy it had under way cannot land after the rollback's.
    expect(mocks.sfn.commandCalls(StopExecutionCommand)[0]!.args[0].input).toMatchObject({
      executionArn: arnOf('alpha-to-prod-web-r4'),
      error: 'LockOverriddenError',
    });
    expect(await runtime.lockStore().get('Prod', now)).toBeNull();
    const [requested] = await timeline('rollback-requested');
    expect(requested).toMatchObject({
      actor: 'ann@example.com',
      revision: 3,
      execution: outcome.executionName,
      details: {
        via: 'console',
        sourceIp: '198.51.100.7',
        from: 3,
        to: 2,
        override: true,
        lockHolder: 'alpha-to-prod-web-r4',
        reason: 'checkout errors',
      },
    });
    expect(requested!.message).toContain(
      'execution alpha-to-prod-web-r4 stopped; the lock held by alpha-to-prod-web-r4 released',
    );
    expect((await timeline('lock-released-by-operator'))[0]).toMatchObject({ actor: 'ann@example.com' });

    // The same state machine, as a recovery: r2 redeployed over r3, without the approval workflow again.
    const input = started.get(outcome.executionName)!;
    expect(input).toMatchObject({
      promotion: 'Alpha-to-Prod',
      environment: 'Prod',
      revision: { number: 2 },
      recovery: { failedRevision: 3, requestedBy: 'ann@example.com' },
      operator: { user: 'ann@example.com', via: 'console', overrideLockAndWindows: true },
    });
    const notice = mocks.sns
      .commandCalls(PublishCommand)
      .map((c) => c.args[0].input)
      .find((m) => m.Subject === '[Lockstep shop] Rollback: Prod');
    expect(notice?.MessageAttributes?.event?.StringValue).toBe('operator-override');
    statuses.set(arnOf(outcome.executionName), 'FAILED'); // as if it never got through; later tests start anew
  });

  it('refuses while every window is closed, and with the override starts with the windows skipped', async () => {
    const weekday = now;
    now = SATURDAY;
    try {
      await expect(
        rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', toRevision: 1, actor: bob }),
      ).rejects.toMatchObject({
        code: 'window-closed',
        message: expect.stringContaining('every deploy window of Prod is closed; the next opens'),
      });
      const outcome = await rollbackEnvironment(deps(), {
        environment: 'Prod',
        application: 'web',
        toRevision: 1,
        overrideLockAndWindows: true,
        actor: bob,
      });
      expect(outcome.overridden.windowsClosed).toContain('the next opens');
      const input = started.get(outcome.executionName)!;
      // The execution's own gates let it through on a Saturday, and say who overrode them.
      const gates = await runStep(runtime.stepDependencies(), {
        action: 'check-gates',
        execution: input.execution,
        promotion: input.promotion,
        application: 'web',
        environment: 'Prod',
        revision: 1,
        operator: input.operator,
      });
      expect(gates).toEqual({ proceed: true, reason: 'bob@example.com overrode the deploy windows of Prod' });
      const promotionGates = await runStep(runtime.stepDependencies(), {
        action: 'check-gates',
        execution: 'Alpha-to-Prod-web-r4',
        promotion: 'Alpha-to-Prod',
        application: 'web',
        environment: 'Prod',
        revision: 4,
        operator: null,
      });
      expect(promotionGates).toMatchObject({ proceed: false });
      statuses.set(arnOf(outcome.executionName), 'SUCCEEDED');
    } finally {
      now = weekday;
    }
  });

  it('lets exactly one of two concurrent rollbacks start and tells the other who rolls back', async () => {
    await release('Prod');
    const before = started.size;
    const results = await Promise.allSettled([
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', toRevision: 2, actor: ann }),
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', toRevision: 1, actor: bob }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(started.size).toBe(before + 1);
    const winner = won[0]!.value;
    const who = winner.to === 2 ? 'ann@example.com' : 'bob@example.com';
    expect(lost[0]!.reason).toMatchObject({
      name: 'RollbackConflictError',
      message: expect.stringContaining(`${who} is already rolling Prod back from web r3 to r${winner.to} (asked at `),
    });
    expect((lost[0]!.reason as Error).message).toContain(`execution ${winner.executionName}); wait for it to finish`);

    // While that execution runs, a third is refused too; once it has ended, the deployment may be rolled back again.
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', actor: bob }),
    ).rejects.toMatchObject({ name: 'RollbackConflictError' });
    statuses.set(arnOf(winner.executionName), 'FAILED');
    now += 60_000;
    const again = await rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', actor: bob });
    expect(again.executionName).not.toBe(winner.executionName);
    statuses.set(arnOf(again.executionName), 'FAILED');
  });
});

describe('pinEnvironment and unpinEnvironment', () => {
  it('pins what runs, so decide() says who pinned it and when, and unpinning lets automation decide again', async () => {
    await expect(
      pinEnvironment(deps(), { environment: 'Prod', application: 'web', revision: 2, actor: ann }),
    ).rejects.toMatchObject({ code: 'not-current', message: expect.stringContaining('roll back to r2 first') });

    const pinnedAt = now;
    await pinEnvironment(deps(), {
      environment: 'Prod',
      application: 'web',
      revision: 3,
      reason: 'quarter end',
      actor: ann,
    });
    const decisions = reconcile(
      runtime.agentDependencies().pipeline,
      await loadWorld(runtime.agentDependencies()),
      now,
    );
    const prod = decisions.find((d) => d.destination === 'Prod')!;
    expect(prod.decision).toMatchObject({ kind: 'pinned', revision: 3, pinnedBy: 'ann@example.com', pinnedAt });
    expect(prod.decision.reason).toBe(
      `Prod is pinned to web r3 by ann@example.com at ${new Date(pinnedAt).toISOString().replace('.000Z', 'Z')} (quarter end), ` +
        'so nothing is promoted to it; `lockstep unpin Prod` lets automation promote again.',
    );
    expect((await timeline('environment-pinned'))[0]).toMatchObject({
      actor: 'ann@example.com',
      revision: 3,
      details: { via: 'console', sourceIp: '198.51.100.7', reason: 'quarter end' },
    });

    // A promotion execution that reaches its gates now pauses; an operator's rollback is refused until unpinned.
    const gates = await runStep(runtime.stepDependencies(), {
      action: 'check-gates',
      execution: 'Alpha-to-Prod-web-r4',
      promotion: 'Alpha-to-Prod',
      application: 'web',
      environment: 'Prod',
      revision: 4,
    });
    expect(gates).toMatchObject({ proceed: false, reason: expect.stringContaining('Prod is pinned to web r3') });
    await expect(
      rollbackEnvironment(deps(), { environment: 'Prod', application: 'web', actor: bob }),
    ).rejects.toMatchObject({ code: 'pinned', message: expect.stringContaining('unpin it first') });

    await unpinEnvironment(deps(), { environment: 'Prod', application: 'web', actor: bob });
    const after = reconcile(runtime.agentDependencies().pipeline, await loadWorld(runtime.agentDependencies()), now);
    expect(after.find((d) => d.destination === 'Prod')!.decision.kind).not.toBe('pinned');
    expect((await timeline('environment-unpinned'))[0]).toMatchObject({ actor: 'bob@example.com' });
    await expect(
      unpinEnvironment(deps(), { environment: 'Prod', application: 'web', actor: bob }),
    ).rejects.toMatchObject({ code: 'not-pinned' });
  });
  it('keeps the reconcile pass from rolling back a pinned environment that runs an unapproved revision', async () => {
    const environments = runtime.environmentStore();
    const before = await environments.slot('Alpha', 'web');
    await environments.recordDeployed(
      'Alpha',
      { application: 'web', number: 4, versionSet: { web: 'c4' }, deployedAt: now },
      before,
    ); // r4 left unapproved in Alpha
    await pinEnvironment(deps(), { environment: 'Alpha', application: 'web', revision: 4, actor: ann });
    expect((await recoverEnvironments(runtime.agentDependencies())).recoveriesStarted).toEqual([]);

    await unpinEnvironment(deps(), { environment: 'Alpha', application: 'web', actor: ann });
    const { recoveriesStarted } = await recoverEnvironments(runtime.agentDependencies());
    expect(recoveriesStarted).toHaveLength(1);
    expect(started.get(recoveriesStarted[0]!)).toMatchObject({ environment: 'Alpha', revision: { number: 3 } });
    statuses.set(arnOf(recoveriesStarted[0]!), 'SUCCEEDED');
  });
});

describe('decideApprovalAsUser', () => {
  it('lets a named approver decide from the console through the approval code, and refuses anyone else', async () => {
    const { requestId } = await sendApprovalRequest(runtime.approvalDependencies(), {
      kind: 'environment',
      execution: 'web-to-Alpha-web-r4',
      environment: 'Alpha',
      application: 'web',
      revision: 4,
      approvers: ['ann@example.com'],
      timeoutSeconds: 3600,
      taskToken: 'token-console',
    });
    await expect(
      decideApprovalAsUser(runtime.approvalDependencies(), { requestId, decision: 'approve', actor: bob }),
    ).rejects.toMatchObject({ statusCode: 403 });
    await expect(
      decideApprovalAsUser(runtime.approvalDependencies(), { requestId: 'nope', decision: 'approve', actor: ann }),
    ).rejects.toMatchObject({ statusCode: 404 });

    const decided = await decideApprovalAsUser(runtime.approvalDependencies(), {
      requestId,
      decision: 'approve',
      actor: { ...ann, user: 'Ann@Example.com' },
    });
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'ann@example.com', delivery: 'delivered' });
    expect(mocks.sfn.commandCalls(SendTaskSuccessCommand, { taskToken: 'token-console' })).toHaveLength(1);
    const [event] = (await runtime.eventStore().list({ environment: 'Alpha' }, 20)).filter(
      (e) => e.type === 'approval-approved',
    );
    expect(event).toMatchObject({
      actor: 'ann@example.com',
      details: { requestId, via: 'console', sourceIp: '198.51.100.7' },
    });
    // A second decision is told it was decided, like a second click on the link.
    await expect(
      decideApprovalAsUser(runtime.approvalDependencies(), { requestId, decision: 'reject', actor: ann }),
    ).rejects.toMatchObject({ statusCode: 409 });
  });
});
