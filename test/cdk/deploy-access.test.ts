/**
 * What deploy and test steps may reach, as the pipeline definition says: GitHub checkouts through a
 * CodeConnections connection, deploy permissions without a role (managed policies, a policy document), and
 * secrets as CodeBuild SECRETS_MANAGER / PARAMETER_STORE variables with exactly those ARNs granted. Plus the
 * warnings `lockstep validate` prints for the same settings. One synthesis.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stepProjectName } from '../../lambdas/core/buildspecs';
import { validatePipelineObject } from '../../lambdas/core/config/load';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { configWarnings } from '../../lambdas/core/config/warnings';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixtureInput } from './fixtures';

const CONNECTION = 'arn:aws:codeconnections:eu-west-1:111122223333:connection/0a1b2c3d-1111-2222-3333-444455556666';
const DB_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:shop/db';
const API_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:shop/api-AbC123';
const PARAMETER = 'arn:aws:ssm:eu-west-1:111122223333:parameter/shop/beta/endpoint';
const MANAGED = 'arn:aws:iam::aws:policy/AWSCloudFormationFullAccess';

const input: PipelineInput = {
  ...fixtureInput,
  packages: [
    {
      name: 'api',
      source: { github: { owner: 'example-org', repo: 'api', branch: 'main', connectionArn: CONNECTION } },
      build: { commands: ['make'] },
    },
    fixtureInput.packages[1]!,
  ],
  stages: [
    {
      name: 'Beta',
      environments: [
        {
          name: 'beta',
          deploy: {
            commands: ['./deploy.sh'],
            secrets: { DB_PASSWORD: `${DB_SECRET}:json-key:password::`, ENDPOINT: PARAMETER },
            permissions: {
              managedPolicyArns: [MANAGED],
              policyDocument: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::shop-site/*' }],
              },
            },
          },
          approval: { tests: [{ name: 'smoke', commands: ['./smoke.sh'], secrets: { API_TOKEN: API_SECRET } }] },
        },
      ],
    },
    fixtureInput.stages[1]!,
  ],
};

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
}
let resources: Record<string, Resource>;
let app: App;

const pipeline = validatePipelineObject(input, { source: 'deploy-access.test.ts' });
// beta's deploy and its smoke test hold different secrets and permissions, so they run in projects of their own.
const DEPLOY_BETA = stepProjectName(pipeline, 'beta', 'deploy');
const SMOKE_BETA = stepProjectName(pipeline, 'beta', { test: 'smoke' });
const DEPLOY_PROD = stepProjectName(pipeline, 'prod', 'deploy');

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const project = (name: string) => ofType('AWS::CodeBuild::Project').find(([, r]) => r.Properties!.Name === name)!;
/** Statements of every inline policy on the role of the project named `name`. */
function statementsOf(name: string): any[] {
  const role = project(name)[1].Properties!.ServiceRole['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties!.Roles as any[]).some((r) => r.Ref === role))
    .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as any[]);
}
const allowing = (name: string, action: string) => statementsOf(name).filter((s) => [s.Action].flat().includes(action));

beforeAll(() => {
  app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', { deploymentSystem: { pipeline } });
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
});

describe('GitHub through a CodeConnections connection', () => {
  it('checks the package out through the connection, which the build project may use', () => {
    const [, build] = project('lockstep-shop-build-backend');
    expect(build.Properties!.Source).toMatchObject({
      Type: 'GITHUB',
      Auth: { Type: 'CODECONNECTIONS', Resource: CONNECTION },
    });
    expect(allowing('lockstep-shop-build-backend', 'codeconnections:UseConnection').map((s) => s.Resource)).toEqual([
      CONNECTION,
    ]);
    expect(allowing(DEPLOY_BETA, 'codeconnections:UseConnection')).toEqual([]);
  });
});

describe('deploy permissions without a role', () => {
  it('keeps a test step out of the project of a deploy with more grants than it has', () => {
    expect(new Set([DEPLOY_BETA, SMOKE_BETA, DEPLOY_PROD]).size).toBe(3);
  });

  it('attaches the managed policies and the policy document of the definition to that deploy project only', () => {
    const roleOf = (name: string) => resources[project(name)[1].Properties!.ServiceRole['Fn::GetAtt'][0]]!;
    expect(roleOf(DEPLOY_BETA).Properties!.ManagedPolicyArns).toEqual([MANAGED]);
    expect(roleOf(DEPLOY_PROD).Properties!.ManagedPolicyArns).toBeUndefined();
    expect(roleOf(SMOKE_BETA).Properties!.ManagedPolicyArns).toBeUndefined();
    expect(allowing(DEPLOY_BETA, 's3:PutObject').map((s) => s.Resource)).toContain('arn:aws:s3:::shop-site/*');
  });
});

describe('secrets', () => {
  it('reach the deploy as SECRETS_MANAGER and PARAMETER_STORE variables, never as plain values', () => {
    const variables = project(DEPLOY_BETA)[1].Properties!.Environment.EnvironmentVariables as any[];
    expect(variables.filter((v) => ['DB_PASSWORD', 'ENDPOINT'].includes(v.Name))).toEqual([
      { Name: 'DB_PASSWORD', Type: 'SECRETS_MANAGER', Value: `${DB_SECRET}:json-key:password::` },
      { Name: 'ENDPOINT', Type: 'PARAMETER_STORE', Value: '/shop/beta/endpoint' },
    ]);
  });

  it('grant each project exactly the secrets and parameters its step names', () => {
    // The secret's ARN and its six-character suffix; nothing else.
    expect(allowing(DEPLOY_BETA, 'secretsmanager:GetSecretValue').map((s) => s.Resource)).toEqual([`${DB_SECRET}*`]);
    expect(allowing(DEPLOY_BETA, 'ssm:GetParameters').flatMap((s) => [s.Resource].flat())).toContain(PARAMETER);
    expect(allowing(SMOKE_BETA, 'secretsmanager:GetSecretValue').map((s) => s.Resource)).toEqual([`${API_SECRET}*`]);
    expect(allowing(SMOKE_BETA, 'ssm:GetParameters')).toEqual([]);
    expect(allowing(DEPLOY_PROD, 'secretsmanager:GetSecretValue')).toEqual([]);
    expect(allowing('lockstep-shop-build-backend', 'secretsmanager:GetSecretValue')).toEqual([]);
  });
});

it('leaves no unacknowledged cdk-nag finding, the managed policy acknowledged on its own', () => {
  const result = new AwsSolutionsChecks(app).validateScope(app);
  expect(
    result.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  ).toEqual([]);
});

describe('lockstep validate warnings', () => {
  const warned = (definition: PipelineInput) =>
    configWarnings(validatePipelineObject(definition, { source: 'test' })).map((w) => `${w.path}: ${w.message}`);

  it('say that a GitHub source needs its connection (or credentials) to exist before cdk deploy', () => {
    expect(warned(input)).toContainEqual(
      expect.stringMatching(
        /^packages\[0\]\.source\.github\.connectionArn: .*must exist and be Available before cdk deploy/,
      ),
    );
    expect(warned(fixtureInput)).toContainEqual(
      expect.stringMatching(/^packages\[0\]\.source\.github: .*GitHub credentials/),
    );
  });

  it('flag a deploy step with neither a role nor permissions, and no other', () => {
    expect(warned(fixtureInput).filter((w) => w.includes('no roleArn'))).toEqual([
      expect.stringMatching(/^stages\[0\]\.environments\[0\]\.deploy: .*"beta"/),
    ]);
    expect(warned(input).filter((w) => w.includes('no roleArn'))).toEqual([]);
  });

  it('flag plain variables whose names look like secrets', () => {
    const leaky: PipelineInput = {
      ...fixtureInput,
      stages: [
        {
          name: 'Beta',
          environments: [
            {
              name: 'beta',
              roleArn: 'arn:aws:iam::111122223333:role/d',
              deploy: {
                commands: ['x'],
                variables: { GITHUB_TOKEN: 't', DB_PASSWORD: 'p', API_KEY: 'k', REGION: 'eu-west-1' },
              },
            },
          ],
        },
      ],
      promotions: [{ from: { application: ['backend', 'storefront'] }, to: 'beta' }],
    };
    expect(
      warned(leaky)
        .filter((w) => w.includes('looks like a secret'))
        .map((w) => w.split(':')[0]),
    ).toEqual([
      'stages[0].environments[0].deploy.variables.GITHUB_TOKEN',
      'stages[0].environments[0].deploy.variables.DB_PASSWORD',
      'stages[0].environments[0].deploy.variables.API_KEY',
    ]);
  });
});
