/**
 * Template assertions for the security defaults of `SdkPublisher` and the cdk-nag check, against one synthesis
 * of two stacks in one app: the defaults (CloudFront's default certificate) and a custom domain with its
 * certificate.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { SDK_TABLES } from '../../lambdas/core/tables';
import { DEFAULT_ARCHIVE_LIMITS } from '../../lambdas/sdk/converter';
import { buildSigningKeyGroup } from '../../lib/sdk-distribution';
import { SdkPublisher } from '../../lib/sdk-publisher';
import { expectSpecificAcknowledgements } from '../support/nag';

const POLICY_FILE = new URL('../../examples/sdk-access-policy.json', import.meta.url).pathname;
const PUBLIC_KEY = readFileSync(new URL('../../examples/sdk-cloudfront-public-key.pem', import.meta.url), 'utf8');

interface Resource {
  Type: string;
  Properties?: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
type Resources = Record<string, Resource>;

let app: App;
let template: Template;
let resources: Resources;
let customDomain: Resources;

function ofType(type: string, from: Resources = resources): [string, Resource][] {
  return Object.entries(from).filter(([, r]) => r.Type === type);
}

/** Logical id of the one resource of `type` whose id starts with the construct path `SdkPublisher<prefix>`. */
function logicalId(type: string, prefix: string, from: Resources = resources): string {
  const matches = ofType(type, from).filter(([id]) => id.startsWith(`SdkPublisher${prefix}`));
  expect({ [`${type} ${prefix}`]: matches.map(([id]) => id) }).toEqual({ [`${type} ${prefix}`]: [expect.any(String)] });
  return matches[0]![0];
}

/** Every Allow statement in the inline policies attached to the role with this logical-id prefix. */
function statementsOf(rolePrefix: string): any[] {
  const role = logicalId('AWS::IAM::Role', rolePrefix);
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties!.Roles as any[]).some((r) => r.Ref === role))
    .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as any[]);
}

/** Roles whose policies allow `action` on a resource mentioning `resourceText`. */
function rolesAllowed(action: string, resourceText: string): string[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) =>
      (p.Properties!.PolicyDocument.Statement as any[]).some(
        (s) =>
          s.Effect === 'Allow' &&
          asArray(s.Action).includes(action) &&
          JSON.stringify(s.Resource).includes(resourceText),
      ),
    )
    .flatMap(([, p]) => (p.Properties!.Roles as any[]).map((r) => r.Ref as string))
    .sort();
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

beforeAll(() => {
  app = new App();
  const stack = new Stack(app, 'Sdk');
  new SdkPublisher(stack, 'SdkPublisher', {
    cloudFrontPublicKey: PUBLIC_KEY,
    signingKeySecret: secretsmanager.Secret.fromSecretNameV2(
      stack,
      'SigningKey',
      'lockstep/sdk/cloudfront-private-key',
    ),
    accessPolicy: POLICY_FILE,
    notificationEmails: ['Maps-Team@example.com', 'analytics@example.com'],
  });
  const domainStack = new Stack(app, 'SdkCustomDomain');
  new SdkPublisher(domainStack, 'SdkPublisher', {
    cloudFrontPublicKey: PUBLIC_KEY,
    signingKeySecret: secretsmanager.Secret.fromSecretNameV2(
      domainStack,
      'SigningKey',
      'lockstep/sdk/cloudfront-private-key',
    ),
    accessPolicy: POLICY_FILE,
    domainName: 'sdk.example.com',
    domainAliases: ['downloads.example.com'],
    certificate: acm.Certificate.fromCertificateArn(
      domainStack,
      'Certificate',
      'arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d',
    ),
    archiveLimits: { maxTotalBytes: 1024 ** 3, maxEntries: 10_000 },
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
  customDomain = Template.fromStack(domainStack).toJSON().Resources as Resources;
});

describe('SDK table', () => {
  it('creates the table of SDK_TABLES with its keys, on demand', () => {
    const [definition] = SDK_TABLES;
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: definition!.partitionKey, KeyType: 'HASH' },
        { AttributeName: definition!.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('keeps point-in-time recovery and deletion protection on, encrypts with the rotating key, and is retained', () => {
    const table = resources[logicalId('AWS::DynamoDB::Table', 'Sdk')]!;
    const key = logicalId('AWS::KMS::Key', 'Key');
    expect(table.Properties!.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties!.DeletionProtectionEnabled).toBe(true);
    expect(table.Properties!.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
    });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(resources[key]!.Properties!.EnableKeyRotation).toBe(true);
  });
});

describe('buckets', () => {
  const dataBuckets = ['SdkHostBucket', 'StagingBucket', 'PackageHostBucket'];

  it('versions, encrypts, blocks public access and retains every data bucket', () => {
    for (const prefix of dataBuckets) {
      const bucket = resources[logicalId('AWS::S3::Bucket', prefix)]!;
      const p = bucket.Properties!;
      expect({ [prefix]: p.VersioningConfiguration }).toEqual({ [prefix]: { Status: 'Enabled' } });
      expect({ [prefix]: p.PublicAccessBlockConfiguration }).toEqual({
        [prefix]: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
      expect({ [prefix]: p.OwnershipControls }).toEqual({
        [prefix]: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
      expect({ [prefix]: p.LoggingConfiguration.DestinationBucketName }).toEqual({
        [prefix]: { Ref: logicalId('AWS::S3::Bucket', 'AccessLogsBucket') },
      });
      expect({ [prefix]: bucket.DeletionPolicy }).toEqual({ [prefix]: 'Retain' });
    }
  });

  it('encrypts uploads and staging with the SDK key, and the package host with S3-managed keys CloudFront can read', () => {
    const algorithm = (prefix: string) =>
      resources[logicalId('AWS::S3::Bucket', prefix)]!.Properties!.BucketEncryption.ServerSideEncryptionConfiguration[0]
        .ServerSideEncryptionByDefault;
    const key = { 'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'Key'), 'Arn'] };
    expect(algorithm('SdkHostBucket')).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key });
    expect(algorithm('StagingBucket')).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key });
    expect(algorithm('PackageHostBucket')).toEqual({ SSEAlgorithm: 'AES256' });
  });

  it('refuses requests without TLS on every bucket', () => {
    for (const prefix of [...dataBuckets, 'AccessLogsBucket']) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId('AWS::S3::Bucket', prefix) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('sends SDK host object events to EventBridge natively, without a notifications custom resource', () => {
    const sdkHost = resources[logicalId('AWS::S3::Bucket', 'SdkHostBucket')]!.Properties!;
    expect(sdkHost.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    expect(ofType('Custom::S3BucketNotifications')).toEqual([]);
  });

  it('lets only this distribution read the package host, and nobody else in without credentials', () => {
    const bucket = logicalId('AWS::S3::Bucket', 'PackageHostBucket');
    const policy = ofType('AWS::S3::BucketPolicy').find(([, p]) => p.Properties!.Bucket.Ref === bucket)![1];
    const allows = (policy.Properties!.PolicyDocument.Statement as any[]).filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(JSON.stringify(allows[0].Condition.StringEquals['AWS:SourceArn'])).toContain(
      `":distribution/",{"Ref":"${logicalId('AWS::CloudFront::Distribution', 'Distribution')}"}`,
    );
    for (const [, p] of ofType('AWS::S3::BucketPolicy')) {
      for (const s of p.Properties!.PolicyDocument.Statement as any[]) {
        if (s.Effect === 'Allow') expect(JSON.stringify(s.Principal)).not.toMatch(/^"\*"$|"AWS":"\*"/);
      }
    }
  });
});

describe('package host distribution', () => {
  let config: any;
  let keyGroup: string;
  beforeAll(() => {
    config = resources[logicalId('AWS::CloudFront::Distribution', 'Distribution')]!.Properties!.DistributionConfig;
    keyGroup = logicalId('AWS::CloudFront::KeyGroup', 'SigningKeyGroup');
  });
  const behavior = (pattern: string) => config.CacheBehaviors.find((b: any) => b.PathPattern === pattern);

  it('reads the package host through origin access control that signs every request', () => {
    expect(config.Origins).toHaveLength(1);
    const [origin] = config.Origins;
    expect(origin.DomainName).toEqual({
      'Fn::GetAtt': [logicalId('AWS::S3::Bucket', 'PackageHostBucket'), 'RegionalDomainName'],
    });
    expect(origin.OriginAccessControlId).toEqual({
      'Fn::GetAtt': [ofType('AWS::CloudFront::OriginAccessControl')[0]![0], 'Id'],
    });
    expect(origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      },
    });
  });

  it('requires URLs signed with the trusted key group for private/* and early-access/*, not for public/*', () => {
    expect(behavior('private/*').TrustedKeyGroups).toEqual([{ Ref: keyGroup }]);
    expect(behavior('early-access/*').TrustedKeyGroups).toEqual([{ Ref: keyGroup }]);
    expect(behavior('public/*').TrustedKeyGroups).toBeUndefined();
  });

  it('serves nothing outside public/ without a signed URL, index.json included', () => {
    expect(config.DefaultCacheBehavior.TrustedKeyGroups).toEqual([{ Ref: keyGroup }]);
  });

  it('puts the given public key in the key group', () => {
    const key = resources[logicalId('AWS::CloudFront::PublicKey', 'SigningPublicKey')]!.Properties!.PublicKeyConfig;
    // With its trailing newline, as `openssl rsa -pubout` writes it.
    expect(key.EncodedKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(key.EncodedKey).not.toContain('EXAMPLE ONLY');
    expect(resources[keyGroup]!.Properties!.KeyGroupConfig.Items).toEqual([
      { Ref: logicalId('AWS::CloudFront::PublicKey', 'SigningPublicKey') },
    ]);
  });

  it('redirects HTTP to HTTPS, allows only GET and HEAD, and adds the security headers on every behaviour', () => {
    for (const b of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
      expect(b.ViewerProtocolPolicy).toBe('redirect-to-https');
      expect(b.AllowedMethods).toEqual(['GET', 'HEAD']);
      // CloudFront's managed SecurityHeadersPolicy (HSTS, nosniff, frame options, referrer policy, XSS protection).
      expect(b.ResponseHeadersPolicyId).toBe('67f7725c-6f97-4210-82d7-5512b31e9d03');
    }
  });

  it('logs requests to the access logs bucket and keeps viewers on IPv4, where signed IP ranges hold', () => {
    expect(config.Logging).toMatchObject({
      Bucket: { 'Fn::GetAtt': [logicalId('AWS::S3::Bucket', 'AccessLogsBucket'), 'RegionalDomainName'] },
      Prefix: 'cloudfront/',
    });
    expect(config.IPV6Enabled).toBe(false);
    expect(config.PriceClass).toBe('PriceClass_100');
  });

  it('names the public key resource after a hash of the key, so a rotated key is a new resource the key group swaps to', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    const keysOf = (pem: string) => {
      const stack = new Stack(new App(), 'Keys');
      buildSigningKeyGroup(stack, pem, pem);
      const template = Template.fromStack(stack).toJSON().Resources as Resources;
      const [[id]] = ofType('AWS::CloudFront::PublicKey', template) as [[string, Resource]];
      const [[, group]] = ofType('AWS::CloudFront::KeyGroup', template) as [[string, Resource]];
      return { id, items: group.Properties!.KeyGroupConfig.Items };
    };
    const examplePem = createPublicKey(PUBLIC_KEY).export({ type: 'spki', format: 'pem' }) as string;
    const example = keysOf(examplePem);
    const rotated = keysOf(other);
    expect(example.id).toMatch(/^SigningPublicKey[0-9A-F]{8}/);
    // Same key, same construct id in the full construct (the logical id's last 8 digits hash the construct path).
    expect(logicalId('AWS::CloudFront::PublicKey', 'SigningPublicKey').slice(0, -8)).toBe(
      `SdkPublisher${example.id.slice(0, -8)}`,
    );
    expect(rotated.id).not.toBe(example.id);
    expect(rotated.items).toEqual([{ Ref: rotated.id }]);
    expect(keysOf(examplePem).id).toBe(example.id);
  });

  it('requires TLS 1.2 from viewers when a custom domain and certificate are given, for the domain and its aliases', () => {
    const custom = ofType('AWS::CloudFront::Distribution', customDomain)[0]![1].Properties!.DistributionConfig;
    expect(custom.Aliases).toEqual(['sdk.example.com', 'downloads.example.com']);
    expect(custom.ViewerCertificate).toEqual({
      AcmCertificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d',
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
  });
});

describe('monitoring', () => {
  it('alarms on every SDK function, the SDK publishing state machine and failed intake events, to the SDK topic', () => {
    const topic = { Ref: logicalId('AWS::SNS::Topic', 'NotificationTopic') };
    const alarms = ofType('AWS::CloudWatch::Alarm');
    const metrics = alarms.map(([, a]) => a.Properties!.MetricName as string);
    expect(metrics.filter((m) => m === 'Errors')).toHaveLength(4);
    expect(metrics.filter((m) => m === 'Throttles')).toHaveLength(4);
    expect(metrics).toEqual(
      expect.arrayContaining(['ExecutionsFailed', 'ExecutionsTimedOut', 'ApproximateNumberOfMessagesVisible']),
    );
    for (const [, alarm] of alarms) expect(alarm.Properties!.AlarmActions).toEqual([topic]);
    const [[, config]] = ofType('AWS::Lambda::EventInvokeConfig') as [[string, Resource]];
    expect(config.Properties!.FunctionName).toEqual({ Ref: logicalId('AWS::Lambda::Function', 'SdkIntake') });
    expect(config.Properties!.DestinationConfig.OnFailure.Destination).toEqual({
      'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'FailedInvocations'), 'Arn'],
    });
  });
});

describe('notifications', () => {
  it('encrypts the topic with the SDK key and refuses publishing without TLS', () => {
    const topic = logicalId('AWS::SNS::Topic', 'NotificationTopic');
    expect(resources[topic]!.Properties!.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'Key'), 'Arn'],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes each owner to the messages addressed to them only', () => {
    const subscriptions = ofType('AWS::SNS::Subscription').map(([, s]) => [
      s.Properties!.Endpoint,
      s.Properties!.FilterPolicy,
    ]);
    expect(subscriptions).toEqual([
      ['analytics@example.com', { recipient: ['analytics@example.com'] }],
      ['maps-team@example.com', { recipient: ['maps-team@example.com'] }],
    ]);
  });
});

describe('tester project', () => {
  let project: Record<string, any>;
  beforeAll(() => {
    project = resources[logicalId('AWS::CodeBuild::Project', 'TesterProject')]!.Properties!;
  });

  it('is named after its stack (<stack>-sdk-tester), encrypted with the SDK key, logging to CloudWatch, not privileged', () => {
    expect(project.Name).toBe('Sdk-sdk-tester');
    expect(project.EncryptionKey).toEqual({ 'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'Key'), 'Arn'] });
    expect(project.LogsConfig.CloudWatchLogs.Status).toBe('ENABLED');
    expect(project.Environment.PrivilegedMode).toBe(false);
  });

  it('runs the bundled tester CLI from an S3 asset', () => {
    expect(project.Source.Type).toBe('S3');
    const location = JSON.stringify(project.Source.Location);
    const key = /([0-9a-f]{64}\.zip)/.exec(location)?.[1];
    expect({ location, key }).toEqual({ location, key: expect.any(String) });
    const assetDir = join(app.outdir, `asset.${key!.replace(/\.zip$/, '')}`);
    expect(existsSync(join(assetDir, 'tester.mjs'))).toBe(true);
  });

  it('may touch no SDK bucket at all: plan, packages and its one results key come as presigned URLs (issue 9, item 20)', () => {
    const statements = statementsOf('TesterProjectRole');
    const all = JSON.stringify(statements);
    for (const bucket of ['SdkHostBucket', 'StagingBucket', 'PackageHostBucket'])
      expect(all).not.toContain(logicalId('AWS::S3::Bucket', bucket));
    // What is left on S3 is the tester's own source asset (CodeBuild downloads it), read-only.
    const s3 = statements.filter((s) => asArray(s.Action).some((a: string) => a.startsWith('s3:')));
    expect([...new Set(s3.flatMap((s) => asArray(s.Action)))].sort()).toEqual([
      's3:GetBucketAcl',
      's3:GetBucketLocation',
      's3:GetObject',
      's3:GetObjectVersion',
    ]);
    expect(all).not.toMatch(/"s3:PutObject|"s3:\*"|"s3:DeleteObject|"s3:List/);
  });

  it('cannot start builds: provider code runs in a build the state machine starts, not one the tester starts', () => {
    const actions = statementsOf('TesterProjectRole').flatMap((s) => asArray(s.Action) as string[]);
    expect(actions.filter((a) => a.startsWith('codebuild:') || a.startsWith('sts:') || a === '*')).toEqual([]);
  });
});

describe('provider-code project (issue 9 item 20)', () => {
  let project: Record<string, any>;
  beforeAll(() => {
    project = resources[logicalId('AWS::CodeBuild::Project', 'ProviderCodeProject')]!.Properties!;
  });

  it('is named after its stack, has no source, artifacts or key, logs to CloudWatch and is not privileged', () => {
    expect(project.Name).toBe('Sdk-sdk-provider-code');
    expect(project.Source.Type).toBe('NO_SOURCE');
    expect(project.Artifacts).toEqual({ Type: 'NO_ARTIFACTS' });
    // CodeBuild's AWS-managed S3 key (nothing is written with it: no artifacts): no key grant in the role.
    expect(project.EncryptionKey).toBe('alias/aws/s3');
    expect(project.VpcConfig).toBeUndefined();
    expect(project.LogsConfig.CloudWatchLogs).toMatchObject({
      Status: 'ENABLED',
      GroupName: { Ref: logicalId('AWS::Logs::LogGroup', 'ProviderCodeLogs') },
    });
    expect(project.Environment.PrivilegedMode).toBe(false);
    // Provider code runs as nobody; the network stays (CodeBuild containers cannot create namespaces).
    expect(project.Environment.EnvironmentVariables).toContainEqual({
      Name: 'LOCKSTEP_SDK_SANDBOX_NETWORK',
      Type: 'PLAINTEXT',
      Value: 'shared',
    });
  });

  it('has a role whose only permissions are writing its own log groups: no S3, KMS, CodeBuild or STS', () => {
    const statements = statementsOf('ProviderCodeProjectRole');
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      for (const action of asArray(statement.Action) as string[])
        expect(action).toMatch(/^logs:(CreateLogGroup|CreateLogStream|PutLogEvents)$/);
      const resourcesText = JSON.stringify(statement.Resource);
      // Its configured log group, or the default group CodeBuild names after the project.
      expect(
        resourcesText.includes(logicalId('AWS::Logs::LogGroup', 'ProviderCodeLogs')) ||
          (resourcesText.includes('log-group:/aws/codebuild/') &&
            resourcesText.includes(logicalId('AWS::CodeBuild::Project', 'ProviderCodeProject'))),
      ).toBe(true);
    }
    // No other policy or managed policy gives the role more.
    const role = resources[logicalId('AWS::IAM::Role', 'ProviderCodeProjectRole')]!.Properties!;
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
  });

  it('gets the runner bundle and its plan only as presigned URLs, and its buildspec never prints them', () => {
    const spec = JSON.stringify(project.Source.BuildSpec);
    expect(spec).toContain('process.env.LOCKSTEP_SDK_PROVIDER_RUNNER');
    expect(spec).toContain('node provider-runner.mjs');
    expect(spec).not.toMatch(/\$\{?LOCKSTEP_SDK_PROVIDER|echo |printenv|set -x/);
    // The steps function presigns the bundle: it may read that one object.
    const steps = resources[logicalId('AWS::Lambda::Function', 'SdkSteps')]!.Properties!;
    const bundle = JSON.stringify(steps.Environment.Variables.LOCKSTEP_SDK_PROVIDER_RUNNER_BUNDLE);
    const key = /([0-9a-f]{64}\.mjs)/.exec(bundle)?.[1];
    expect({ bundle, key }).toEqual({ bundle, key: expect.any(String) });
    expect(existsSync(join(app.outdir, `asset.${key}`))).toBe(true);
    const reads = statementsOf('SdkStepsRole').filter((s) => JSON.stringify(s.Resource).includes(key!));
    expect(reads.map((s) => s.Action)).toEqual(['s3:GetObject']);
    expect(steps.Environment.Variables.LOCKSTEP_SDK_PROVIDER_CODE_PROJECT).toBe('Sdk-sdk-provider-code');
  });
});

describe('Lambda functions', () => {
  const ENV = [
    'LOCKSTEP_SDK_TABLE',
    'LOCKSTEP_SDK_HOST_BUCKET',
    'LOCKSTEP_SDK_STAGING_BUCKET',
    'LOCKSTEP_PACKAGE_HOST_BUCKET',
    'LOCKSTEP_SDK_STATE_MACHINE_ARN',
    'LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN',
    'LOCKSTEP_SDK_TESTER_PROJECT',
    'LOCKSTEP_CDN_BASE_URL',
    'LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID',
    'LOCKSTEP_CLOUDFRONT_PRIVATE_KEY_SECRET_ARN',
    'LOCKSTEP_SDK_ACCESS_POLICY_FILE',
  ];

  it('runs the four SDK handlers on the newest Node.js runtime, ARM64, with active tracing', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([id]) => id.replace(/^SdkPublisher/, '').replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'SdkDownloadApi',
      'SdkIntake',
      'SdkSteps',
      'SdkUploadApi',
    ]);
    for (const [, fn] of functions) {
      expect(fn.Properties!.Runtime).toBe('nodejs24.x');
      expect(fn.Properties!.Architectures).toEqual(['arm64']);
      expect(fn.Properties!.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('gives every function the SDK environment variables of ARCHITECTURE.md', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const variables = fn.Properties!.Environment.Variables;
      expect(Object.keys(variables)).toEqual(expect.arrayContaining(ENV));
      expect(variables.LOCKSTEP_SDK_TESTER_PROJECT).toBe('Sdk-sdk-tester');
      expect(variables.LOCKSTEP_SDK_ACCESS_POLICY_FILE).toBe('/var/task/access-policy.json');
      expect(variables.LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS).toBe('300');
      expect(JSON.stringify(variables.LOCKSTEP_SDK_STATE_MACHINE_ARN)).toContain(':stateMachine:Sdk-sdk-publishing');
      expect(variables.LOCKSTEP_CDN_BASE_URL).toEqual({
        'Fn::Join': [
          '',
          ['https://', { 'Fn::GetAtt': [logicalId('AWS::CloudFront::Distribution', 'Distribution'), 'DomainName'] }],
        ],
      });
      expect(variables.LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID).toEqual({
        Ref: logicalId('AWS::CloudFront::PublicKey', 'SigningPublicKey'),
      });
    }
  });

  it("gives the steps function and the tester the deployment's archive limits, defaults filled in", () => {
    const limitsOf = (r: Resources) => {
      const steps = Object.entries(r).find(
        ([id, res]) =>
          res.Type === 'AWS::Lambda::Function' && id.startsWith(logicalId('AWS::Lambda::Function', 'SdkSteps')),
      )![1];
      const tester = Object.entries(r).find(([id]) => id === logicalId('AWS::CodeBuild::Project', 'TesterProject'))![1];
      const testerVariable = (
        tester.Properties!.Environment.EnvironmentVariables as { Name: string; Value: string }[]
      ).find((v) => v.Name === 'LOCKSTEP_SDK_ARCHIVE_LIMITS');
      return {
        steps: JSON.parse(steps.Properties!.Environment.Variables.LOCKSTEP_SDK_ARCHIVE_LIMITS as string) as unknown,
        tester: JSON.parse(testerVariable!.Value) as unknown,
      };
    };
    expect(limitsOf(resources)).toEqual({ steps: DEFAULT_ARCHIVE_LIMITS, tester: DEFAULT_ARCHIVE_LIMITS });
    const lowered = { ...DEFAULT_ARCHIVE_LIMITS, maxTotalBytes: 1024 ** 3, maxEntries: 10_000 };
    expect(limitsOf(customDomain)).toEqual({ steps: lowered, tester: lowered });
  });

  it("sizes the steps function's /tmp from the archive limits (an entry up to maxTotalBytes is copied there), and leaves the others at 512 MiB", () => {
    const ephemeral = (r: Resources) =>
      Object.fromEntries(
        ofType('AWS::Lambda::Function', r).map(([id, fn]) => [
          id.replace(/^SdkPublisher/, '').replace(/[0-9A-F]{8}$/, ''),
          fn.Properties!.EphemeralStorage?.Size ?? 512,
        ]),
      );
    // Defaults: 2 GiB + 512 MiB headroom; the custom-domain stack lowered maxTotalBytes to 1 GiB.
    expect(ephemeral(resources)).toEqual({ SdkDownloadApi: 512, SdkIntake: 512, SdkSteps: 2560, SdkUploadApi: 512 });
    expect(ephemeral(customDomain).SdkSteps).toBe(1536);
  });

  it('ships the validated access policy as access-policy.json next to each bundle', () => {
    const policy: unknown = JSON.parse(readFileSync(POLICY_FILE, 'utf8'));
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const assetDir = join(app.outdir, `asset.${String(fn.Properties!.Code.S3Key).replace(/\.zip$/, '')}`);
      expect(existsSync(join(assetDir, 'index.mjs'))).toBe(true);
      expect(JSON.parse(readFileSync(join(assetDir, 'access-policy.json'), 'utf8'))).toEqual(policy);
    }
  });

  it('lets only the publishing steps invalidate the package host distribution, which they are told (issue 9, item 16)', () => {
    const distribution = logicalId('AWS::CloudFront::Distribution', 'Distribution');
    expect(rolesAllowed('cloudfront:CreateInvalidation', distribution)).toEqual([
      logicalId('AWS::IAM::Role', 'SdkStepsRole'),
    ]);
    const statement = statementsOf('SdkStepsRole').find((s) =>
      asArray(s.Action).includes('cloudfront:CreateInvalidation'),
    );
    expect(asArray(statement.Action)).toEqual(['cloudfront:CreateInvalidation']);
    expect(JSON.stringify(statement.Resource)).toContain(`":distribution/",{"Ref":"${distribution}"}`);
    const steps = resources[logicalId('AWS::Lambda::Function', 'SdkSteps')]!.Properties!;
    expect(steps.Environment.Variables.LOCKSTEP_CDN_DISTRIBUTION_ID).toEqual({ Ref: distribution });
  });

  it('lets only the download API read the CloudFront private key', () => {
    expect(rolesAllowed('secretsmanager:GetSecretValue', 'lockstep/sdk/cloudfront-private-key')).toEqual([
      logicalId('AWS::IAM::Role', 'SdkDownloadApiRole'),
    ]);
  });

  it('lets only the publishing steps put packages on the package host, and the intake poll only its index', () => {
    const bucket = logicalId('AWS::S3::Bucket', 'PackageHostBucket');
    expect(rolesAllowed('s3:PutObject', bucket)).toEqual(
      [logicalId('AWS::IAM::Role', 'SdkIntakeRole'), logicalId('AWS::IAM::Role', 'SdkStepsRole')].sort(),
    );
    const intakeWrites = statementsOf('SdkIntakeRole').filter((s) => asArray(s.Action).includes('s3:PutObject'));
    expect(intakeWrites.map((s) => JSON.stringify(s.Resource)).sort()).toEqual(
      [expect.stringMatching(/\/index\.json"\]\]\}$/), expect.stringMatching(/\/received\/\*"\]\]\}$/)].sort(),
    );
    expect(rolesAllowed('s3:PutObject', logicalId('AWS::S3::Bucket', 'SdkHostBucket'))).toEqual(
      [logicalId('AWS::IAM::Role', 'SdkIntakeRole'), logicalId('AWS::IAM::Role', 'SdkUploadApiRole')].sort(),
    );
  });

  it('lets intake and the upload API move uploads from incoming/ to received/, and the steps read them there (issue 9, item 15)', () => {
    const host = logicalId('AWS::S3::Bucket', 'SdkHostBucket');
    const movers = [
      logicalId('AWS::IAM::Role', 'SdkIntakeRole'),
      logicalId('AWS::IAM::Role', 'SdkUploadApiRole'),
    ].sort();
    const on = (pattern: string) => (s: any) =>
      JSON.stringify(s.Resource).includes(host) && JSON.stringify(s.Resource).includes(pattern);
    for (const role of ['SdkIntakeRole', 'SdkUploadApiRole']) {
      const statements = statementsOf(role);
      expect(statements.filter(on('/received/*')).flatMap((s) => asArray(s.Action))).toEqual(
        expect.arrayContaining(['s3:PutObject']),
      );
      expect(statements.filter(on('/incoming/*')).flatMap((s) => asArray(s.Action))).toEqual(
        expect.arrayContaining(['s3:GetObject', 's3:DeleteObject']),
      );
      expect(statements.filter(on('/received/*')).flatMap((s) => asArray(s.Action))).not.toContain('s3:DeleteObject');
    }
    expect(rolesAllowed('s3:DeleteObject', host)).toEqual(movers);
    expect(
      statementsOf('SdkStepsRole')
        .filter(on('/received/*'))
        .flatMap((s) => asArray(s.Action)),
    ).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
  });

  it('lets the download API read only the index from the package host, and write nothing', () => {
    const statements = statementsOf('SdkDownloadApiRole');
    const reads = statements.filter((s) => asArray(s.Action).includes('s3:GetObject'));
    expect(reads.map((s) => JSON.stringify(s.Resource))).toEqual([expect.stringContaining('/index.json')]);
    expect(statements.flatMap((s) => asArray(s.Action))).not.toContain('s3:PutObject');
  });

  it('writes function logs to log groups with retention, without the account-wide basic execution policy', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(resources[fn.Properties!.LoggingConfig.LogGroup.Ref]!.Properties!.RetentionInDays).toBe(90);
    }
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
  });
});

describe('SDK publishing state machine', () => {
  let machine: Resource;
  beforeAll(() => {
    machine = resources[logicalId('AWS::StepFunctions::StateMachine', 'StateMachine')]!;
  });

  it('is a STANDARD machine named after its stack (<stack>-sdk-publishing) that logs without execution data and traces', () => {
    expect(machine.Properties!.StateMachineName).toBe('Sdk-sdk-publishing');
    expect(machine.Properties!.StateMachineType).toBe('STANDARD');
    expect(machine.Properties!.LoggingConfiguration).toMatchObject({ IncludeExecutionData: false, Level: 'ALL' });
    expect(machine.Properties!.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('fills ${SdkStepsFunctionArn} with a published version of the steps function, pinned per state machine version', () => {
    // fromFile uploads the ASL as an asset named by its hash: it must be the SDK publishing ASL, byte for byte.
    const key = String((machine.Properties!.DefinitionS3Location as { Key: string }).Key);
    expect(readFileSync(join(app.outdir, `asset.${key}`), 'utf8')).toBe(
      readFileSync(fileURLToPath(new URL('../../statemachines/sdk-publishing.asl.json', import.meta.url)), 'utf8'),
    );
    expect(machine.Properties!.DefinitionSubstitutions).toEqual({
      SdkStepsFunctionArn: { Ref: logicalId('AWS::Lambda::Version', 'SdkStepsCurrentVersion') },
    });
  });

  it('may invoke only the steps function, run only the tester and provider-code projects, and manage the CodeBuild sync rule', () => {
    const statements = statementsOf('StateMachineRole');
    const invoke = statements.filter((s) => asArray(s.Action).includes('lambda:InvokeFunction'));
    expect(invoke.flatMap((s) => asArray(s.Resource))).toEqual([
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'SdkSteps'), 'Arn'] }, ':*']] },
    ]);
    const builds = statements.filter((s) => asArray(s.Action).includes('codebuild:StartBuild'));
    expect(builds).toHaveLength(1);
    expect(asArray(builds[0].Action).sort()).toEqual([
      'codebuild:BatchGetBuilds',
      'codebuild:StartBuild',
      'codebuild:StopBuild',
    ]);
    expect(asArray(builds[0].Resource)).toEqual([
      { 'Fn::GetAtt': [logicalId('AWS::CodeBuild::Project', 'TesterProject'), 'Arn'] },
      { 'Fn::GetAtt': [logicalId('AWS::CodeBuild::Project', 'ProviderCodeProject'), 'Arn'] },
    ]);
    const rule = statements.find((s) => asArray(s.Action).includes('events:PutRule'));
    expect(JSON.stringify(rule.Resource)).toContain('rule/StepFunctionsGetEventsForCodeBuildStartBuildRule');
  });
});

describe('HTTP API and intake triggers', () => {
  it('routes uploads, upload status and downloads', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties!.RouteKey)
      .sort();
    expect(routes).toEqual([
      'GET /sdk/download/{name}/{version}',
      'GET /sdk/index',
      'GET /sdk/status',
      'POST /sdk/uploads',
      'POST /sdk/uploads/{uploadId}/complete',
    ]);
  });

  it('logs access as JSON without query strings or headers, and throttles requests', () => {
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0]![1].Properties!;
    const [logGroupId, attribute] = stage.AccessLogSettings.DestinationArn['Fn::GetAtt'] as [string, string];
    expect(attribute).toBe('Arn');
    expect(resources[logGroupId]!.Type).toBe('AWS::Logs::LogGroup');
    expect(resources[logGroupId]!.Properties!.RetentionInDays).toBeGreaterThan(0);
    expect(stage.AccessLogSettings.Format).not.toMatch(/queryString|header|authorization/i);
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
  });

  it('starts intake when an object arrives under incoming/ in the SDK host', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: logicalId('AWS::S3::Bucket', 'SdkHostBucket') }] },
          object: { key: [{ prefix: 'incoming/' }] },
        },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'SdkIntake'), 'Arn'] } })],
    });
  });

  it('lets only the intake poll describe SDK publishing executions, to fail tests whose execution ended (issue 14, item 12)', () => {
    const describing = rolesAllowed('states:DescribeExecution', ':execution:');
    expect(describing).toEqual([logicalId('AWS::IAM::Role', 'SdkIntakeRole')]);
    const statement = statementsOf('SdkIntakeRole').find((s) => asArray(s.Action).includes('states:DescribeExecution'));
    expect(JSON.stringify(statement.Resource)).toMatch(/:execution:.*-sdk-publishing:\*/);
  });

  it('polls the SDK host every 15 minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'SdkIntake'), 'Arn'] } })],
    });
  });

  it('outputs the upload API URL, the distribution domain and the bucket names', () => {
    const outputs = Object.keys(template.toJSON().Outputs as object).join(' ');
    for (const name of [
      'UploadApiUrl',
      'DistributionDomainName',
      'SdkHostBucketName',
      'StagingBucketName',
      'PackageHostBucketName',
    ]) {
      expect(outputs).toContain(name);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning, with the default certificate or a custom one', () => {
    const result = new AwsSolutionsChecks(app).validateScope(app);
    const findings = result.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it("acknowledges the default certificate's TLS policy only where the default certificate is used", () => {
    const acknowledged = (stackName: string) =>
      app.node
        .findChild(stackName)
        .node.findAll()
        .some((c) =>
          c.node.metadata.some(
            (m) =>
              m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
              Object.keys(m.data as object).some((id) => id.endsWith('AwsSolutions-CFR4')),
          ),
        );
    expect(acknowledged('Sdk')).toBe(true);
    expect(acknowledged('SdkCustomDomain')).toBe(false);
  });

  it('gives every acknowledgement a specific reason on a resource, never on a stack', () => {
    expectSpecificAcknowledgements(app);
  });
});
