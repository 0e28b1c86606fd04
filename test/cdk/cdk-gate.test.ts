/**
 * The IAM of the permission-broadening gate (`deploy.cdk`): the security diff writes beside the revision it checked
 * and nowhere else, a deploy without a role goes through the CDK bootstrap roles of its own account only, the
 * promotion steps read the diffs, and a pipeline without deploy.cdk gets none of it. cdk-nag stays clean.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stepProjectName } from '../../lambdas/core/buildspecs';
import { validatePipelineObject } from '../../lambdas/core/config/load';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixtureInput } from './fixtures';

const input: PipelineInput = {
  ...fixtureInput,
  stages: [
    {
      name: 'Beta',
      environments: [
        {
          name: 'beta',
          deploy: { cdk: { stacks: ['ShopStack'] } },
          approval: {
            tests: [{ name: 'smoke', commands: ['./smoke.sh'] }],
            manual: { approvers: ['lead@example.com'] },
          },
        },
      ],
    },
    {
      name: 'Prod',
      environments: [
        {
          name: 'prod',
          account: '111122223333',
          region: 'eu-west-1',
          roleArn: 'arn:aws:iam::111122223333:role/lockstep-deployer',
          deploy: { cdk: { app: 'infra', stacks: ['Shop/*'], approvers: ['security@example.com'] } },
        },
      ],
    },
  ],
};

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
}
const pipeline = validatePipelineObject(input, { source: 'cdk-gate.test.ts' });
const DEPLOY_BETA = stepProjectName(pipeline, 'beta', 'deploy');
const SMOKE_BETA = stepProjectName(pipeline, 'beta', { test: 'smoke' });
const DEPLOY_PROD = stepProjectName(pipeline, 'prod', 'deploy');

let app: App;
let resources: Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const project = (name: string) => ofType('AWS::CodeBuild::Project').find(([, r]) => r.Properties!.Name === name)!;
function statementsOfRole(roleId: string): any[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties!.Roles as any[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as any[]);
}
const projectStatements = (name: string) => statementsOfRole(project(name)[1].Properties!.ServiceRole['Fn::GetAtt'][0]);
const allowing = (statements: any[], action: string) =>
  statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
/** `arn:aws:s3:::bucket/key` written by CDK as Fn::Join over the bucket's ARN: the key part only. */
const keyOf = (resource: any): string =>
  typeof resource === 'string'
    ? resource
    : (resource['Fn::Join'][1] as any[]).filter((p) => typeof p === 'string').join('');
const joined = (resource: any): string =>
  typeof resource === 'string'
    ? resource
    : (resource['Fn::Join'][1] as any[]).map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');

beforeAll(() => {
  app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', {
    deploymentSystem: { pipeline },
    env: { account: '444455556666', region: 'eu-west-1' },
  });
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
});

describe('the steps projects of deploy.cdk environments', () => {
  it('keep a test step out of the project that may write security diffs', () => {
    expect(new Set([DEPLOY_BETA, SMOKE_BETA, DEPLOY_PROD]).size).toBe(3);
    expect(allowing(projectStatements(SMOKE_BETA), 's3:PutObject')).toEqual([]);
  });

  it('let the security diff write beside the revisions of its applications, and nowhere else', () => {
    for (const name of [DEPLOY_BETA, DEPLOY_PROD]) {
      expect(allowing(projectStatements(name), 's3:PutObject').map(keyOf).sort()).toEqual([
        '/revisions/backend/*/security-diff/*',
        '/revisions/storefront/*/security-diff/*',
      ]);
    }
  });

  it('let a deploy without a role assume the CDK bootstrap roles of its own account only', () => {
    const assumed = allowing(projectStatements(DEPLOY_BETA), 'sts:AssumeRole').map(joined).sort();
    expect(assumed).toEqual(
      ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(
        (role) => `arn:{"Ref":"AWS::Partition"}:iam::444455556666:role/cdk-*-${role}-role-444455556666-*`,
      ),
    );
  });

  it('let a deploy with a role assume that role only: the role reaches the bootstrap roles (validate says so)', () => {
    expect(allowing(projectStatements(DEPLOY_PROD), 'sts:AssumeRole')).toEqual([
      'arn:aws:iam::111122223333:role/lockstep-deployer',
    ]);
  });
});

describe('the promotion steps function', () => {
  const stepsRole = () => {
    const [, fn] = ofType('AWS::Lambda::Function').find(([id]) => id.includes('PromotionSteps'))!;
    return fn.Properties!.Role['Fn::GetAtt'][0] as string;
  };

  it('reads the security diffs, and writes no object', () => {
    const statements = statementsOfRole(stepsRole());
    expect(allowing(statements, 's3:GetObject').map(keyOf)).toEqual(['/revisions/*/*/security-diff/*']);
    expect(allowing(statements, 's3:PutObject')).toEqual([]);
  });

  it('reads no artifact when no environment deploys a CDK application', () => {
    const other = new App();
    const stack = new LockstepStack(other, 'Lockstep-shop', {
      deploymentSystem: { pipeline: validatePipelineObject(fixtureInput, { source: 'fixtures' }) },
    });
    const template = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
    const policies = Object.values(template).filter((r) => r.Type === 'AWS::IAM::Policy');
    expect(JSON.stringify(policies)).not.toContain('security-diff');
  });
});

it('leaves no unacknowledged cdk-nag finding', () => {
  const result = new AwsSolutionsChecks(app).validateScope(app);
  expect(
    result.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  ).toEqual([]);
});
