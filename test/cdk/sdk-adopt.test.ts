/**
 * After `cdk destroy` the SDK publisher's retained table and buckets stay; a new deploy adopts them by name through
 * `adopt` instead of creating empty ones, as `LockstepStack` does for the deployment system (adopt.test.ts). The
 * kept buckets lost their bucket policies with the old stack, so each adopted one gets its policy again. One
 * synthesis.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { SdkPublisher, SdkPublisherPropsError } from '../../lib/sdk-publisher';

const POLICY_FILE = new URL('../../examples/sdk-access-policy.json', import.meta.url).pathname;
const PUBLIC_KEY = readFileSync(new URL('../../examples/sdk-cloudfront-public-key.pem', import.meta.url), 'utf8');
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-1111-2222-3333-444455556666';
const ADOPT = {
  tableName: 'kept-sdk',
  sdkHostBucketName: 'kept-sdk-host',
  stagingBucketName: 'kept-staging',
  packageHostBucketName: 'kept-package-host',
  accessLogsBucketName: 'kept-access-logs',
};

let resources: Record<string, { Type: string; Properties?: Record<string, any> }>;

function publisher(stack: Stack, adopt: typeof ADOPT | Partial<typeof ADOPT>, withKey: boolean): SdkPublisher {
  return new SdkPublisher(stack, 'SdkPublisher', {
    cloudFrontPublicKey: PUBLIC_KEY,
    signingKeySecret: secretsmanager.Secret.fromSecretNameV2(
      stack,
      'SigningKey',
      'lockstep/sdk/cloudfront-private-key',
    ),
    accessPolicy: POLICY_FILE,
    ...(withKey ? { encryptionKey: kms.Key.fromKeyArn(stack, 'KeptKey', KEY) } : {}),
    adopt,
  });
}

beforeAll(() => {
  const stack = new Stack(new App(), 'Sdk', { env: { account: '111122223333', region: 'eu-west-1' } });
  publisher(stack, ADOPT, true);
  resources = Template.fromStack(stack).toJSON().Resources;
});

const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
/** The statements of the bucket policy made for the kept bucket `name`. */
const policyOf = (name: string): any[] =>
  ofType('AWS::S3::BucketPolicy')
    .filter((p) => p.Properties!.Bucket === name)
    .flatMap((p) => p.Properties!.PolicyDocument.Statement as any[]);

describe('adopting what cdk destroy kept of the SDK publisher', () => {
  it('creates no table, key or bucket, and points every SDK function at the kept ones', () => {
    expect(ofType('AWS::DynamoDB::Table')).toEqual([]);
    expect(ofType('AWS::S3::Bucket')).toEqual([]);
    expect(ofType('AWS::KMS::Key')).toEqual([]);
    const functions = ofType('AWS::Lambda::Function').filter(
      (f) => f.Properties!.Environment?.Variables?.LOCKSTEP_SDK_TABLE,
    );
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const fn of functions) {
      expect(fn.Properties!.Environment.Variables).toMatchObject({
        LOCKSTEP_SDK_TABLE: 'kept-sdk',
        LOCKSTEP_SDK_HOST_BUCKET: 'kept-sdk-host',
        LOCKSTEP_SDK_STAGING_BUCKET: 'kept-staging',
        LOCKSTEP_PACKAGE_HOST_BUCKET: 'kept-package-host',
      });
    }
  });

  it('gives every kept bucket its TLS-only policy again', () => {
    for (const name of Object.values(ADOPT).filter((n) => n !== 'kept-sdk')) {
      expect(policyOf(name)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('lets this distribution, and only it, read the kept package host through origin access control', () => {
    const reads = policyOf('kept-package-host').filter((s) => s.Effect === 'Allow');
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(JSON.stringify(reads[0].Condition)).toContain('distribution/');
    expect(JSON.stringify(reads[0].Condition)).toContain('SdkPublisherDistribution');
  });

  it("lets S3 deliver the kept buckets' access logs to the kept access logs bucket again", () => {
    expect(policyOf('kept-access-logs')).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } },
      }),
    );
  });

  it('grants the SDK functions the kept table and key', () => {
    const policies = JSON.stringify(ofType('AWS::IAM::Policy'));
    expect(policies).toContain(':table/kept-sdk');
    expect(policies).toContain(KEY);
  });

  it('refuses kept encrypted stores without the key that encrypts them', () => {
    const stack = new Stack(new App(), 'SdkWithoutKey');
    expect(() => publisher(stack, { tableName: 'kept-sdk' }, false)).toThrow(SdkPublisherPropsError);
    expect(() => publisher(new Stack(new App(), 'Again'), { stagingBucketName: 'kept-staging' }, false)).toThrow(
      /adopt: give encryptionKey too/,
    );
  });
});
