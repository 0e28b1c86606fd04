import { describe, expect, it } from '@jest/globals';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { input, PIPELINE, REVISION, runPromotion, summary, type Effect } from '../support/promotion-harness';
import { executionInput } from '../../lambdas/promotion/execution-input';
import { pipelineSchema } from '../../lambdas/core/config/schema';

// The permission-broadening gate of a deploy.cdk environment in statemachines/promotion.asl.json: a security-diff
// build after the lock, its verdict read back, and a confirmation through the manual approval machinery before the
// deploy when permissions broaden. Nothing is deployed until then, so a refusal releases the lock without a rollback.
const CDK_PIPELINE: PipelineInput = {
  ...PIPELINE,
  stages: [
    {
      name: 'Beta',
      environments: [
        {
          ...PIPELINE.stages[0]!.environments[0]!,
          deploy: { cdk: { stacks: ['ShopStack'], approvers: ['security@example.com'], timeout: '1s' } },
        },
      ],
    },
  ],
};
const cdkInput = () => input(CDK_PIPELINE);
const DIFF = 'codebuild:Beta/security-diff';
const DEPLOY = 'codebuild:Beta/deploy';

const variables = (effect: Effect) =>
  Object.fromEntries(
    (effect.input.EnvironmentVariablesOverride as Array<{ Name: string; Value: string }>).map((v) => [v.Name, v.Value]),
  );
const requests = (effects: readonly Effect[]) =>
  effects
    .filter((e) => e.kind === 'approval')
    .map((e) => (e.input.Payload as { request: Record<string, unknown> }).request);

describe('the permission-broadening gate', () => {
  it('runs the security diff after the lock and before the deploy, and deploys at once when nothing broadens', async () => {
    const run = await runPromotion({}, cdkInput());
    expect(run.status).toBe('SUCCEEDED');
    const steps = summary(run.effects);
    expect(steps.slice(0, 5)).toEqual(['check-gates', 'acquire-lock', DIFF, 'read-security-diff', DEPLOY]);
    // Only the environment's own manual approval is asked for, after the deploy as usual.
    expect(requests(run.effects).map((r) => r.approvers)).toEqual([['approver@example.com']]);
    const diff = run.effects.find((e) => e.what === 'Beta/security-diff')!;
    expect(variables(diff)).toMatchObject({
      LOCKSTEP_STEP: 'security-diff',
      LOCKSTEP_SECURITY_DIFF_URI: 's3://artifacts/revisions/web/2/security-diff/Beta.json',
      LOCKSTEP_FENCING_TOKEN: '7',
    });
    expect(diff.input).toMatchObject({
      ProjectName: cdkInput().projects.deploy, // the deploy's own project and grants
      IdempotencyToken: 'web-to-Beta-web-r2-security-diff',
      LogsConfigOverride: { CloudWatchLogs: { StreamName: 'Beta/security-diff' } },
    });
  });

  it('asks the cdk approvers to confirm a broadening, with the diff excerpt, then deploys', async () => {
    const run = await runPromotion(
      { securityDiff: { broadening: true, stacks: ['ShopStack'], excerpt: '+ iam:*', truncated: false } },
      cdkInput(),
    );
    expect(run.status).toBe('SUCCEEDED');
    const steps = summary(run.effects);
    expect(steps.slice(0, 6)).toEqual(['check-gates', 'acquire-lock', DIFF, 'read-security-diff', 'approval', DEPLOY]);
    const [confirmation, manual] = requests(run.effects);
    expect(confirmation).toMatchObject({
      approvers: ['security@example.com'],
      required: 1,
      timeoutSeconds: 1,
      revision: 2,
      securityDiff: { broadening: true, stacks: ['ShopStack'], excerpt: '+ iam:*' },
    });
    expect(manual).not.toHaveProperty('securityDiff');
  });

  it.each([
    ['rejected', 'reject', 'ApprovalRejectedError'],
    ['not confirmed in time', 'never', 'States.Timeout'],
  ] as const)(
    'deploys nothing when the confirmation is %s: notifies why and releases the lock',
    async (_, how, error) => {
      const run = await runPromotion({ securityDiff: { broadening: true }, permissionsApproval: how }, cdkInput());
      expect(run.status).toBe('FAILED');
      const steps = summary(run.effects);
      expect(steps).not.toContain(DEPLOY);
      expect(steps).not.toContain('record-previous'); // nothing to roll back
      expect(steps.slice(steps.indexOf('approval'))).toEqual(['approval', 'notify', 'release-lock']);
      expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({
        stage: 'permissions-broadening',
        error: expect.objectContaining({ Error: error }),
      });
    },
  );

  it('deploys nothing when the security diff build fails', async () => {
    const run = await runPromotion({ failingBuilds: { 'Beta/security-diff': 'States.TaskFailed' } }, cdkInput());
    expect(run.status).toBe('FAILED');
    expect(summary(run.effects)).toEqual(['check-gates', 'acquire-lock', DIFF, 'notify', 'release-lock']);
    expect(run.effects.find((e) => e.what === 'notify')!.input).toMatchObject({ stage: 'permissions-broadening' });
  });

  it('deploys nothing when the verdict cannot be read', async () => {
    const run = await runPromotion(
      { failingSteps: { 'read-security-diff': 'SecurityDiffUnreadableError' } },
      cdkInput(),
    );
    expect(run.status).toBe('FAILED');
    expect(summary(run.effects)).toEqual([
      'check-gates',
      'acquire-lock',
      DIFF,
      'read-security-diff',
      'notify',
      'release-lock',
    ]);
  });

  it('skips the gate for environments with deploy commands, and for recovery executions', async () => {
    const plain = await runPromotion();
    expect(summary(plain.effects)).not.toContain(DIFF);
    const recovery = executionInput(pipelineSchema.parse(CDK_PIPELINE), {
      promotion: 'web-to-Beta',
      execution: 'web-to-Beta-web-r2-recovery',
      environment: 'Beta',
      revision: REVISION,
      recovery: { failedRevision: 3, reason: 'execution ended while it held the lock' },
    });
    expect(recovery.permissionsGate).toBeNull();
    const run = await runPromotion({}, recovery);
    expect(run.status).toBe('SUCCEEDED');
    expect(summary(run.effects)).not.toContain(DIFF);
  });
});
