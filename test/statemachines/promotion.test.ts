import { describe, expect, it } from '@jest/globals';
import { input, PIPELINE, runPromotion, summary, type Behaviour, type Effect } from '../support/promotion-harness';

const DEPLOY = 'codebuild:lockstep-shop-deploy-Beta';
const SMOKE = 'codebuild:lockstep-shop-test-Beta-smoke';
const API = 'codebuild:lockstep-shop-test-Beta-api';

function variables(effect: Effect): Record<string, string> {
  const list = effect.input.EnvironmentVariablesOverride as Array<{ Name: string; Value: string }>;
  return Object.fromEntries(list.map((v) => [v.Name, v.Value]));
}

function deploys(effects: readonly Effect[]): Effect[] {
  return effects.filter((e) => e.kind === 'codebuild' && e.what === 'lockstep-shop-deploy-Beta');
}

function releases(effects: readonly Effect[]): Effect[] {
  return effects.filter((e) => e.what === 'release-lock');
}

describe('promotion state machine', () => {
  it('promotes a revision: gates, lock, deploy, tests, approval, compliance, bake, approved, released', async () => {
    const run = await runPromotion();
    expect(run.status).toBe('SUCCEEDED');
    const steps = summary(run.effects);
    // The two test builds run in parallel, so their relative order is free.
    expect(steps.filter((s) => s !== SMOKE && s !== API)).toEqual([
      'check-gates',
      'acquire-lock',
      'record-previous',
      DEPLOY,
      'record-deployed',
      'record-test-results',
      'approval',
      'compliance-sign-off',
      'mark-approved',
      'release-lock',
    ]);
    expect(run.effects.find((e) => e.what === 'release-lock')!.input).toMatchObject({
      announce: { promotion: 'web-to-Beta', application: 'web', revision: 2 },
    });
    expect(steps.indexOf(SMOKE)).toBeGreaterThan(steps.indexOf(DEPLOY));
    expect(steps.indexOf(API)).toBeLessThan(steps.indexOf('record-test-results'));
  });

  it('deploys the revision artifact with the fencing token and revision as variables', async () => {
    const run = await runPromotion();
    const [deploy] = deploys(run.effects);
    expect(deploy!.input).toMatchObject({
      ProjectName: 'lockstep-shop-deploy-Beta',
      SourceTypeOverride: 'S3',
      SourceLocationOverride: 'artifacts/revisions/web/2/artifact.zip',
    });
    expect(variables(deploy!)).toEqual({
      LOCKSTEP_APPLICATION: 'web',
      LOCKSTEP_REVISION: '2',
      LOCKSTEP_ENVIRONMENT: 'Beta',
      LOCKSTEP_FENCING_TOKEN: '7',
      LOCKSTEP_ROLLBACK: 'false',
    });
    const tests = run.effects.filter((e) => e.kind === 'codebuild' && e.what.includes('-test-'));
    expect(tests.map((t) => variables(t).LOCKSTEP_FENCING_TOKEN)).toEqual(['7', '7']);
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
    const run = await runPromotion({ failingProjects: { 'lockstep-shop-test-Beta-smoke': 'States.TaskFailed' } });
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
    const tail = summary(run.effects).slice(-4);
    expect(tail).toEqual([DEPLOY, 'record-rollback', 'notify', 'release-lock']);
    expect(run.effects.find((e) => e.what === 'record-rollback')!.input).toMatchObject({ outcome: 'rolled-back' });
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({ stage: 'approval-workflow' });
    expect(summary(run.effects)).not.toContain('mark-approved');
    expect(summary(run.effects)).not.toContain('approval');
  });

  it('rolls back when the deploy fails, before any test runs', async () => {
    const run = await runPromotion({ failingProjects: { 'lockstep-shop-deploy-Beta': 'States.TaskFailed' } });
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
      failingProjects: { 'lockstep-shop-deploy-Beta': 'States.TaskFailed' },
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
    expect(steps).not.toContain('mark-approved');
    expect(steps.slice(steps.indexOf('approval'))).toEqual([
      'approval',
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
    const run = await runPromotion({ failingSteps: { 'mark-approved': 'LockLostError' } });
    expect(run.status).toBe('FAILED');
    expect(deploys(run.effects)).toHaveLength(1);
    expect(releases(run.effects)).toHaveLength(0);
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({ stage: 'lock-lost' });
  });

  it('releases the lock in every path that acquired it', async () => {
    const scenarios: Behaviour[] = [
      {},
      { failingProjects: { 'lockstep-shop-test-Beta-api': 'States.TaskFailed' } },
      { failingProjects: { 'lockstep-shop-deploy-Beta': 'States.TaskFailed' } },
      { approval: 'reject' },
      { failingSteps: { 'record-previous': 'NotFoundError' } },
      { failingSteps: { 'compliance-sign-off': 'ComplianceFailedError' } },
      {
        failingProjects: { 'lockstep-shop-deploy-Beta': 'States.TaskFailed' },
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
      'record-previous',
      DEPLOY,
      'record-deployed',
      'record-test-results',
      'mark-approved',
      'release-lock',
    ]);
  });

  it('still announces the promotion when releasing the lock fails (the lease ends by itself)', async () => {
    const run = await runPromotion({ failingSteps: { 'release-lock': 'States.TaskFailed' } });
    expect(run.status).toBe('SUCCEEDED');
    expect(summary(run.effects).slice(-3)).toEqual(['mark-approved', 'release-lock', 'emit-event']);
    expect(run.effects.at(-1)!.input).toMatchObject({ type: 'promotion-succeeded', revision: 2 });
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
    expect(summary(run.effects)).toEqual([
      'check-gates',
      'acquire-lock',
      'record-previous',
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
