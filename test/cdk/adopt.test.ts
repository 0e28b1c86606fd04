/**
 * After `cdk destroy` the retained tables, bucket and key stay; a new deploy adopts them by name through
 * `LockstepStack`'s `adopt` instead of creating empty ones. One synthesis.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { TABLES } from '../../lambdas/core/tables';
import { DeploymentSystemPropsError } from '../../lib/deployment-system';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixturePipeline } from './fixtures';

const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-1111-2222-3333-444455556666';
let resources: Record<string, { Type: string; Properties?: Record<string, any> }>;

beforeAll(() => {
  const stack = new LockstepStack(new App(), 'Lockstep-shop', {
    deploymentSystem: { pipeline: fixturePipeline },
    adopt: {
      encryptionKeyArn: KEY,
      tables: Object.fromEntries(TABLES.map((t) => [t.logicalName, `kept-${t.logicalName.toLowerCase()}`])),
      artifactsBucketName: 'kept-artifacts',
    },
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  resources = Template.fromStack(stack).toJSON().Resources;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('adopting what cdk destroy kept', () => {
  it('creates no table, key or artifacts bucket, and points every function at the kept ones', () => {
    expect(ofType('AWS::DynamoDB::Table')).toEqual([]);
    expect(ofType('AWS::KMS::Key')).toEqual([]);
    expect(
      ofType('AWS::S3::Bucket')
        .map(([id]) => id)
        .filter((id) => id.includes('ArtifactsBucket')),
    ).toEqual([]);
    for (const [, fn] of ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('DeploymentSystem'))) {
      const variables = fn.Properties!.Environment.Variables;
      expect(variables.LOCKSTEP_TABLE_LOCKS).toBe('kept-locks');
      expect(variables.LOCKSTEP_ARTIFACTS_BUCKET).toBe('kept-artifacts');
    }
  });

  it('grants the promotion steps the kept Locks table and key', () => {
    const policies = JSON.stringify(
      ofType('AWS::IAM::Policy').filter(([id]) => id.startsWith('DeploymentSystemPromotionStepsRole')),
    );
    expect(policies).toContain(':table/kept-locks');
    expect(policies).toContain(KEY);
  });

  it('refuses kept tables without the key that encrypts them', () => {
    const create = () =>
      new LockstepStack(new App(), 'Lockstep-shop', {
        deploymentSystem: { pipeline: fixturePipeline },
        adopt: { tables: { Locks: 'kept-locks' } },
      });
    expect(create).toThrow(DeploymentSystemPropsError);
    expect(create).toThrow(/adopt\.tables: give adopt\.encryptionKeyArn too/);
  });
});
