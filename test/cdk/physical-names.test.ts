/**
 * Physical names across pipelines: two pipelines' stacks (each with the SDK publisher) deployed into one account
 * and region must not ask for the same name twice, no retained resource may carry a name that blocks a retry
 * after a rolled-back first create, and a pipeline name CloudFormation would refuse gets Lockstep's own message.
 * One synthesis of two stacks.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { checkPipelineObject, validatePipelineObject } from '../../lambdas/core/config/load';
import { DeploymentSystemPropsError } from '../../lib/deployment-system';
import { LockstepStack, type LockstepSdkPublisherProps } from '../../lib/lockstep-stack';
import { fixtureInput } from './fixtures';

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
  DeletionPolicy?: string;
}

/**
 * Properties that set a resource's physical name, at the top level or inside a `*Config` block. A bare Ref or
 * GetAtt names another resource (a permission's FunctionName), not this one.
 */
const NAME_KEYS = [
  'Name',
  'TableName',
  'BucketName',
  'LogGroupName',
  'StateMachineName',
  'FunctionName',
  'RoleName',
  'TopicName',
  'QueueName',
  'AlarmName',
  'DashboardName',
];

function physicalNames(resource: Resource): string[] {
  const properties = resource.Properties ?? {};
  const blocks = [
    properties,
    ...Object.entries(properties)
      .filter(([key]) => key.endsWith('Config'))
      .map(([, value]) => value as Record<string, any>),
  ];
  const isOwnName = (value: unknown): boolean =>
    typeof value === 'string' || (typeof value === 'object' && value !== null && 'Fn::Join' in value);
  return blocks.flatMap((block) =>
    NAME_KEYS.filter((key) => isOwnName(block[key])).map((key) => JSON.stringify(block[key])),
  );
}

const sdkPublisher: LockstepSdkPublisherProps = {
  cloudFrontPublicKey: readFileSync(new URL('../../examples/sdk-cloudfront-public-key.pem', import.meta.url), 'utf8'),
  signingKeySecret: 'lockstep/sdk/cloudfront-private-key',
  accessPolicy: new URL('../../examples/sdk-access-policy.json', import.meta.url).pathname,
};

let templates: Record<string, Record<string, Resource>>;

beforeAll(() => {
  const app = new App();
  const stacks = ['shop', 'books'].map((name) => {
    const pipeline = validatePipelineObject(
      { ...fixtureInput, pipeline: { name } },
      { source: 'physical-names.test.ts' },
    );
    return [
      name,
      new LockstepStack(app, `Lockstep-${name}`, { deploymentSystem: { pipeline }, sdkPublisher }),
    ] as const;
  });
  templates = Object.fromEntries(
    stacks.map(([name, stack]) => [name, Template.fromStack(stack).toJSON().Resources as Record<string, Resource>]),
  );
});

describe('two pipelines in one account and region', () => {
  it('ask for no physical name twice', () => {
    const owners = new Map<string, string[]>();
    for (const [stack, resources] of Object.entries(templates)) {
      for (const [id, resource] of Object.entries(resources)) {
        for (const name of physicalNames(resource)) owners.set(name, [...(owners.get(name) ?? []), `${stack}/${id}`]);
      }
    }
    const repeated = [...owners]
      .filter(([, where]) => where.length > 1)
      .map(([name, where]) => `${name} in ${where.join(', ')}`);
    expect(owners.size).toBeGreaterThan(10);
    expect(repeated).toEqual([]);
  });

  it('name the SDK state machine and tester after their stack', () => {
    const sdk = (stack: string, type: string) =>
      Object.entries(templates[stack]!).find(([id, r]) => r.Type === type && id.startsWith('SdkPublisher'))![1];
    expect(sdk('books', 'AWS::StepFunctions::StateMachine').Properties!.StateMachineName).toBe(
      'Lockstep-books-sdk-publishing',
    );
    expect(sdk('books', 'AWS::CodeBuild::Project').Properties!.Name).toBe('Lockstep-books-sdk-tester');
  });
});

describe('retained resources', () => {
  it('carry no explicit name that a rolled-back first create (or cdk destroy) would leave behind to block the next create', () => {
    const blocking = Object.entries(templates.shop!)
      .filter(([, r]) => r.DeletionPolicy === 'Retain' && physicalNames(r).length > 0)
      .filter(([, r]) => !physicalNames(r).every((name) => name.includes('AWS::StackId')))
      .map(([id, r]) => `${id}: ${physicalNames(r).join(', ')}`);
    expect(blocking).toEqual([]);
  });

  it('include the state machine log groups, named per stack creation under /aws/vendedlogs/states/', () => {
    const named = Object.values(templates.shop!).filter(
      (r) => r.Type === 'AWS::Logs::LogGroup' && r.Properties!.LogGroupName !== undefined,
    );
    expect(named.map((r) => JSON.stringify(r.Properties!.LogGroupName))).toEqual([
      expect.stringMatching(/\/aws\/vendedlogs\/states\/lockstep-shop-promotion-.*AWS::StackId/),
      expect.stringMatching(/\/aws\/vendedlogs\/states\/Lockstep-shop-sdk-publishing-.*AWS::StackId/),
    ]);
  });
});

describe('pipeline name rule', () => {
  const underscored = { ...fixtureInput, pipeline: { name: 'my_shop' } };

  it('is checked by validate with Lockstep\'s message: the name becomes the stack name, which allows no "_"', () => {
    expect(checkPipelineObject(underscored).problems).toEqual([
      expect.objectContaining({
        path: 'pipeline.name',
        message: '"my_shop" is not valid as a pipeline name',
        fix: expect.stringContaining('allows no "_"'),
      }),
    ]);
  });

  it("is checked by the stack before CloudFormation's own stack name check, with the same message", () => {
    const create = () =>
      new LockstepStack(new App(), 'Lockstep-my_shop', { deploymentSystem: { pipeline: underscored as never } });
    expect(create).toThrow(DeploymentSystemPropsError);
    expect(create).toThrow(/pipeline\.pipeline\.name: "my_shop" is not valid as a pipeline name; .*allows no "_"/);
  });
});
