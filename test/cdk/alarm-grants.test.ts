/**
 * The IAM of the alarm-watched bake, which nothing here can call AWS to check, pinned on the template: only the
 * promotion-steps function may read alarms, only when some environment has an alarm bake, only those alarms (both
 * actions take CloudWatch's `alarm` resource type: `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`, as
 * the Service Authorization Reference lists them), and for an environment with a role only `sts:AssumeRole` on
 * that role. cdk-nag stays clean with them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { validatePipelineObject } from '../../lambdas/core/config/load';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { DeploymentSystemPropsError } from '../../lib/deployment-system';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixtureInput, fixturePipeline } from './fixtures';

const HOME = { account: '999988887777', region: 'eu-west-1' };
const PROD_ROLE = 'arn:aws:iam::111122223333:role/lockstep-deployer';
type Resources = Record<string, { Type: string; Properties?: any }>;

function synth(pipeline = fixturePipeline): { app: App; resources: Resources } {
  const app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', { env: HOME, deploymentSystem: { pipeline } });
  return { app, resources: Template.fromStack(stack).toJSON().Resources as Resources };
}

/** Allow statements of the inline policies of each function role (`DeploymentSystem<Name>Role`), by role. */
function statementsByRole(resources: Resources): Map<string, { actions: string[]; resources: string[] }[]> {
  const byRole = new Map<string, { actions: string[]; resources: string[] }[]>();
  for (const policy of Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
    for (const role of policy.Properties.Roles as { Ref: string }[]) {
      const statements = (policy.Properties.PolicyDocument.Statement as any[]).map((s) => ({
        actions: ([] as string[]).concat(s.Action),
        resources: ([] as unknown[]).concat(s.Resource).map((r) => (typeof r === 'string' ? r : JSON.stringify(r))),
      }));
      byRole.set(role.Ref, [...(byRole.get(role.Ref) ?? []), ...statements]);
    }
  }
  return byRole;
}

const reads = (s: { actions: string[] }) => s.actions.some((a) => a.startsWith('cloudwatch:Describe'));

describe('a pipeline with alarm bakes', () => {
  let app: App;
  let roles: Map<string, { actions: string[]; resources: string[] }[]>;

  beforeAll(() => {
    const synthesized = synth();
    app = synthesized.app;
    roles = statementsByRole(synthesized.resources);
  });

  const promotionSteps = () => [...roles].find(([role]) => role.startsWith('DeploymentSystemPromotionStepsRole'))![1];

  it("lets the promotion steps read exactly the same-account environment's alarms, by alarm ARN", () => {
    const statements = promotionSteps().filter(reads);
    expect(statements).toHaveLength(1);
    expect([...statements[0]!.actions].sort()).toEqual([
      'cloudwatch:DescribeAlarmHistory',
      'cloudwatch:DescribeAlarms',
    ]);
    const arns = statements[0]!.resources;
    expect(arns).toHaveLength(2);
    expect(arns[0]).toMatch(/:cloudwatch:eu-west-1:999988887777:alarm:shop-beta-5xx"/);
    expect(arns[1]).toMatch(/:cloudwatch:eu-west-1:999988887777:alarm:shop-beta-latency"/);
    expect(arns.join(' ')).not.toContain('*');
    // The cross-account environment's alarm is read through its role, never with the function's own credentials.
    expect(arns.join(' ')).not.toContain('shop-prod-5xx');
  });

  it("lets the promotion steps assume exactly the cross-account environment's role, for its alarms", () => {
    const assume = promotionSteps().filter((s) => s.actions.includes('sts:AssumeRole'));
    expect(assume).toEqual([{ actions: ['sts:AssumeRole'], resources: [PROD_ROLE] }]);
  });

  it('grants no other function an alarm read or that role', () => {
    for (const [role, statements] of roles) {
      if (role.startsWith('DeploymentSystemPromotionStepsRole')) continue;
      expect({ [role]: statements.filter(reads) }).toEqual({ [role]: [] });
      // The steps project that deploys prod assumes the role for the deploy; no function does.
      if (role.startsWith('DeploymentSystem') && !role.startsWith('DeploymentSystemStepsProject')) {
        expect({ [role]: statements.filter((s) => s.resources.includes(PROD_ROLE)) }).toEqual({ [role]: [] });
      }
    }
  });

  it('keeps cdk-nag clean with the alarm grants', () => {
    const result = new AwsSolutionsChecks(app).validateScope(app);
    const findings = result.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });
});

describe('a pipeline without alarm bakes', () => {
  it('grants no alarm read and no role to the promotion steps', () => {
    const withoutAlarms: PipelineInput = {
      ...fixtureInput,
      stages: fixtureInput.stages.map((stage) => ({
        ...stage,
        environments: stage.environments.map(({ approval, ...environment }) => ({
          ...environment,
          ...(approval ? { approval: { ...approval, bakeTime: '30m' } } : {}),
        })),
      })),
    };
    const roles = statementsByRole(synth(validatePipelineObject(withoutAlarms, { source: 'test' })).resources);
    const steps = [...roles].find(([role]) => role.startsWith('DeploymentSystemPromotionStepsRole'))![1];
    expect(steps.filter(reads)).toEqual([]);
    expect(steps.filter((s) => s.actions.includes('sts:AssumeRole'))).toEqual([]);
  });
});

describe("alarm ARNs against the stack's own account and region", () => {
  it("refuses at synth an ARN in another account than Lockstep's, for an environment that names none", () => {
    const pipeline = validatePipelineObject(
      {
        ...fixtureInput,
        stages: [
          {
            name: 'Beta',
            environments: [
              {
                ...fixtureInput.stages[0]!.environments[0]!,
                approval: {
                  bakeTime: {
                    duration: '30m',
                    alarms: ['arn:aws:cloudwatch:eu-west-1:123456789012:alarm:shop-beta-5xx'],
                  },
                },
              },
            ],
          },
          fixtureInput.stages[1]!,
        ],
      },
      { source: 'test' },
    );
    let error: unknown;
    try {
      new LockstepStack(new App(), 'Lockstep-shop', { env: HOME, deploymentSystem: { pipeline } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DeploymentSystemPropsError);
    expect((error as DeploymentSystemPropsError).problems).toEqual([
      'pipeline.stages[0].environments[0].approval.bakeTime.alarms[0]: alarm arn:aws:cloudwatch:eu-west-1:123456789012:alarm:shop-beta-5xx is in account 123456789012, but environment "beta" names no account, so its alarms are read in Lockstep\'s own account (999988887777, Lockstep\'s own account); use an alarm of account 999988887777 (or just its name), or set the environment\'s "account" and "roleArn" to read alarms in account 123456789012',
    ]);
  });
});
