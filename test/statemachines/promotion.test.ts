import { describe, expect, it } from '@jest/globals';
import { input, PIPELINE, runPromotion, summary, type Behaviour, type Effect } from '../support/promotion-harness';

const DEPLOY = 'codebuild:Beta/deploy';
const SMOKE = 'codebuild:Beta/test/smoke';
const API = 'codebuild:Beta/test/api';

function variables(effect: Effect): Record<string, string> {
  const list = effect.input.EnvironmentVariablesOverride as Array<{ Name: string; Value: string }>;
  return Object.fromEntries(list.map((v) => [v.Name, v.Value]));
}

function deploys(effects: readonly Effect[]): Effect[] {
  return effects.filter((e) => e.kind === 'codebuild' && e.what === 'Beta/deploy');
}

function releases(effects: readonly Effect[]): Effect[] {
  return effects.filter((e) => e.what === 'release-lock' || e.what === 'approve-and-release');
}

describe('promotion state machine', () => {
  it('promotes a revision: gates, lock, deploy, tests, approval, compliance, bake, approved and released', async () => {
    const run = await runPromotion();
    expect(run.status).toBe('SUCCEEDED');
    const steps = summary(run.effects);
    // The two test builds run in parallel, so their relative order is free. No rollback target is looked up on
    // the success path, and approving and releasing is one Task.
    expect(steps.filter((s) => s !== SMOKE && s !== API)).toEqual([
      'check-gates',
      'acquire-lock',
      DEPLOY,
      'record-deployed',
      'record-test-results',
      'approval',
      'compliance-sign-off',
      'approve-and-release',
    ]);
    expect(run.effects.find((e) => e.what === 'approve-and-release')!.input).toMatchObject({
      promotion: 'web-to-Beta',
      application: 'web',
      environment: 'Beta',
      revision: 2,
      execution: 'web-to-Beta-web-r2',
      fencingToken: 7,
    });
    expect(steps.indexOf(SMOKE)).toBeGreaterThan(steps.indexOf(DEPLOY));
    expect(steps.indexOf(API)).toBeLessThan(steps.indexOf('record-test-results'));
  });

  it('deploys the revision artifact with the fencing token and revision as variables', async () => {
    const run = await runPromotion();
    const [deploy] = deploys(run.effects);
    expect(deploy!.input).toMatchObject({
      ProjectName: input().projects.deploy,
      SourceTypeOverride: 'S3',
      SourceLocationOverride: 'artifacts/revisions/web/2/artifact.zip',
    });
    expect(variables(deploy!)).toEqual({
      LOCKSTEP_APPLICATION: 'web',
      LOCKSTEP_REVISION: '2',
      LOCKSTEP_ENVIRONMENT: 'Beta',
      LOCKSTEP_FENCING_TOKEN: '7',
      LOCKSTEP_ROLLBACK: 'false',
      LOCKSTEP_STEP: 'deploy',
    });
    const tests = run.effects.filter((e) => e.kind === 'codebuild' && e.what.includes('/test/'));
    expect(tests.map((t) => variables(t).LOCKSTEP_FENCING_TOKEN)).toEqual(['7', '7']);
    expect(tests.map((t) => variables(t).LOCKSTEP_STEP).sort()).toEqual(['test/api', 'test/smoke']);
  });

  it('logs every deploy, rollback and test build under a stream prefix naming its environment and step', async () => {
    const run = await runPromotion({ failingBuilds: { 'Beta/test/smoke': 'States.TaskFailed' } });
    const logs = run.effects
      .filter((e) => e.kind === 'codebuild')
      .map((e) => e.input.LogsConfigOverride as { CloudWatchLogs: Record<string, string> });
    expect(logs.map((l) => l.CloudWatchLogs.StreamName).sort()).toEqual([
      'Beta/deploy',
      'Beta/rollback',
      'Beta/test/api',
      'Beta/test/smoke',
    ]);
    for (const l of logs)
      expect(l.CloudWatchLogs).toMatchObject({ Status: 'ENABLED', GroupName: 'lockstep-steps-logs' });
  });

  it('asks the approvers with the environment timeout and passes the approver to compliance', async () => {
    const run = await runPromotion();
    const signOff = run.effects.find((e) => e.what === 'compliance-sign-off')!;
    expect(signOff.input).toMatchObject({ policy: 'standard', approver: 'approver@example.com', fencingToken: 7 });
    const request = run.effects.find((e) => e.kind === 'approval')!;
    // lambda:invoke Tasks hand the binding { FunctionName, Payload }; the request sits beside the token.
    const payload = request.input.Payload as { taskToken: string; request: Record<string, unknown> };
    expect(payload.taskToken).toBe('local-task-token');
    expect(payload.request).toMatchObject({
      approvers: ['approver@example.com'],
      timeoutSeconds: 1,
      revision: 2,
      environment: 'Beta',
    });
  });

  it('rolls back to the previous revision when a test step fails, then notifies and releases the lock', async () => {
    const run = await runPromotion({ failingBuilds: { 'Beta/test/smoke': 'States.TaskFailed' } });
    expect(run.status).toBe('FAILED');
    const results = run.effects.find((e) => e.what === 'record-test-results')!;
    expect(results.input.tests).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'smoke', passed: false }),
        expect.objectContaining({ name: 'api', passed: true }),
      ]),
    );
    const [, rollback] = deploys(run.effects);
    expect(variables(rollback!)).toMatchObject({ LOCKSTEP_REVISION: '1', LOCKSTEP_ROLLBACK: 'true' });
    expect(rollback!.input.SourceLocationOverride).toBe('artifacts/revisions/web/1/artifact.zip');
    const tail = summary(run.effects).slice(-5);
    expect(tail).toEqual(['record-previous', DEPLOY, 'record-rollback', 'notify', 'release-lock']);
    expect(run.effects.find((e) => e.what === 'record-rollback')!.input).toMatchObject({ outcome: 'rolled-back' });
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({ stage: 'approval-workflow' });
    expect(summary(run.effects)).not.toContain('approve-and-release');
    expect(summary(run.effects)).not.toContain('approval');
  });

  it('rolls back when the deploy fails, before any test runs', async () => {
    const run = await runPromotion({ failingBuilds: { 'Beta/deploy': 'States.TaskFailed' } });
    expect(run.status).toBe('FAILED');
    const steps = summary(run.effects);
    expect(steps).not.toContain(SMOKE);
    expect(steps).not.toContain('record-deployed');
    // The failing deploy, then the rollback deploy of revision 1.
    expect(deploys(run.effects).map((d) => variables(d).LOCKSTEP_REVISION)).toEqual(['2', '1']);
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({ stage: 'deploy' });
    expect(releases(run.effects)).toHaveLength(1);
  });

  it('records that there was nothing to roll back to when nothing was deployed before', async () => {
    const run = await runPromotion({
      previous: { exists: false },
      failingBuilds: { 'Beta/deploy': 'States.TaskFailed' },
    });
    expect(run.status).toBe('FAILED');
    expect(deploys(run.effects)).toHaveLength(1);
    expect(run.effects.find((e) => e.what === 'record-rollback')!.input).toMatchObject({ outcome: 'no-previous' });
    expect(releases(run.effects)).toHaveLength(1);
  });

  it('waits while the window is closed, checks again, then proceeds', async () => {
    const run = await runPromotion({
      gates: [{ proceed: false, waitUntil: '2030-01-01T22:00:00Z' }, { proceed: true }],
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(summary(run.effects).slice(0, 3)).toEqual(['check-gates', 'check-gates', 'acquire-lock']);
    expect(deploys(run.effects)).toHaveLength(1);
  });

  it('waits while the lock is held and deploys only once it is acquired', async () => {
    const run = await runPromotion({
      locks: [
        { acquired: false, retryAt: '2030-01-01T00:01:00Z' },
        { acquired: false, retryAt: '2030-01-01T00:02:00Z' },
        { acquired: true, fencingToken: 9 },
      ],
    });
    expect(run.status).toBe('SUCCEEDED');
    const steps = summary(run.effects);
    expect(steps.filter((s) => s === 'acquire-lock')).toHaveLength(3);
    expect(steps.indexOf(DEPLOY)).toBeGreaterThan(steps.lastIndexOf('acquire-lock'));
    expect(variables(deploys(run.effects)[0]!).LOCKSTEP_FENCING_TOKEN).toBe('9');
    expect(releases(run.effects)[0]!.input).toMatchObject({ fencingToken: 9 });
  });

  it('rolls back when the approver rejects', async () => {
    const run = await runPromotion({ approval: 'reject' });
    expect(run.status).toBe('FAILED');
    const steps = summary(run.effects);
    expect(steps).not.toContain('approve-and-release');
    expect(steps.slice(steps.indexOf('approval'))).toEqual([
      'approval',
      'record-previous',
      DEPLOY,
      'record-rollback',
      'notify',
      'release-lock',
    ]);
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({
      stage: 'approval-workflow',
      error: expect.objectContaining({ Error: 'ApprovalRejectedError' }),
    });
  });

  it('rolls back when nobody decides before the approval times out', async () => {
    const run = await runPromotion({ approval: 'never' });
    expect(run.status).toBe('FAILED');
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({
      error: expect.objectContaining({ Error: 'States.Timeout' }),
    });
    expect(deploys(run.effects).map((d) => variables(d).LOCKSTEP_ROLLBACK)).toEqual(['false', 'true']);
    expect(releases(run.effects)).toHaveLength(1);
  });

  it('neither rolls back nor releases when the lock was lost (another holder owns the environment)', async () => {
    const run = await runPromotion({ failingSteps: { 'approve-and-release': 'LockLostError' } });
    expect(run.status).toBe('FAILED');
    expect(deploys(run.effects)).toHaveLength(1);
    // The refused approve-and-release released nothing; no other release follows.
    expect(summary(run.effects)).not.toContain('release-lock');
    expect(summary(run.effects)).not.toContain('emit-event');
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({ stage: 'lock-lost' });
  });

  it('releases the lock in every path that acquired it', async () => {
    const scenarios: Behaviour[] = [
      {},
      { failingBuilds: { 'Beta/test/api': 'States.TaskFailed' } },
      { failingBuilds: { 'Beta/deploy': 'States.TaskFailed' } },
      { approval: 'reject' },
      {
        failingBuilds: { 'Beta/deploy': 'States.TaskFailed' },
        failingSteps: { 'record-previous': 'NotFoundError' },
      },
      { failingSteps: { 'compliance-sign-off': 'ComplianceFailedError' } },
      {
        failingBuilds: { 'Beta/deploy': 'States.TaskFailed' },
        failingSteps: { notify: 'Lambda.ServiceException' },
      },
    ];
    for (const scenario of scenarios) {
      const run = await runPromotion(scenario);
      expect({ scenario, releases: releases(run.effects).length }).toEqual({ scenario, releases: 1 });
      expect(releases(run.effects)[0]!.input).toMatchObject({
        environment: 'Beta',
        execution: 'web-to-Beta-web-r2',
        fencingToken: 7,
      });
    }
  });

  it('skips the steps an environment does not configure', async () => {
    const bare = structuredClone(PIPELINE);
    bare.stages[0]!.environments[0]!.approval = { tests: [] };
    const run = await runPromotion({}, input(bare));
    expect(run.status).toBe('SUCCEEDED');
    expect(summary(run.effects)).toEqual([
      'check-gates',
      'acquire-lock',
      DEPLOY,
      'record-deployed',
      'record-test-results',
      'approve-and-release',
    ]);
  });

  it('still announces the promotion when releasing the lock fails after the approval (the lease ends by itself)', async () => {
    const run = await runPromotion({ failingSteps: { 'approve-and-release': 'AfterApprovalError' } });
    expect(run.status).toBe('SUCCEEDED');
    expect(summary(run.effects).slice(-2)).toEqual(['approve-and-release', 'emit-event']);
    expect(run.effects.at(-1)!.input).toMatchObject({ type: 'promotion-succeeded', revision: 2 });
    expect(deploys(run.effects)).toHaveLength(1);
  });

  it('rolls back when the approval itself could not be recorded', async () => {
    const run = await runPromotion({
      failingSteps: { 'approve-and-release': 'ProvisionedThroughputExceededException' },
    });
    expect(run.status).toBe('FAILED');
    expect(deploys(run.effects).map((d) => variables(d).LOCKSTEP_REVISION)).toEqual(['2', '1']);
    expect(summary(run.effects)).not.toContain('emit-event');
    expect(releases(run.effects).filter((e) => e.what === 'release-lock')).toHaveLength(1);
  });

  it('still reports the failure and releases the lock when the rollback target cannot be found', async () => {
    const run = await runPromotion({
      failingBuilds: { 'Beta/deploy': 'States.TaskFailed' },
      failingSteps: { 'record-previous': 'NotFoundError' },
    });
    expect(run.status).toBe('FAILED');
    expect(deploys(run.effects)).toHaveLength(1);
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({ stage: 'deploy' });
    expect(releases(run.effects)).toHaveLength(1);
  });

  it("runs an operator's rollback as a recovery: the gates see the operator, no approval workflow runs again", async () => {
    const rollback = {
      ...input(),
      execution: 'rollback-Beta-x-y-web-r2',
      recovery: {
        failedRevision: 3,
        reason: 'rollback requested by ann@example.com via the console',
        requestedBy: 'ann@example.com',
      },
      operator: { user: 'ann@example.com', via: 'console' as const, overrideLockAndWindows: true },
    };
    const run = await runPromotion({}, rollback);
    expect(run.status).toBe('SUCCEEDED');
    // The rollback target is looked up only when something fails, so a recovery that succeeds never reads it.
    expect(summary(run.effects)).toEqual([
      'check-gates',
      'acquire-lock',
      DEPLOY,
      'record-deployed',
      'record-recovery',
      'release-lock',
    ]);
    expect(run.effects[0]!.input).toMatchObject({ operator: rollback.operator });
    expect(run.effects.find((e) => e.what === 'record-recovery')!.input).toMatchObject({
      recovery: { failedRevision: 3, requestedBy: 'ann@example.com' },
    });
  });

  it('hands the gates a null operator on a promotion', async () => {
    const run = await runPromotion();
    expect(run.effects[0]!.input).toMatchObject({ action: 'check-gates', operator: null });
  });
});
