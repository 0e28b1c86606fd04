/**
 * Template assertions for the security defaults of `DeploymentSystem`, the cdk-nag check and a normalised
 * snapshot, all against one synthesis (synth bundles seven functions: do it once).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, cx_api as cxapi } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { TABLES, TTL_ATTRIBUTE } from '../../lambdas/core/tables';
import { LockstepStack } from '../../lib/lockstep-stack';
import { stepProjectName } from '../../lambdas/core/buildspecs';
import { fixturePipeline } from './fixtures';
import { expectSpecificAcknowledgements } from '../support/nag';

let app: App;
let stack: LockstepStack;
let template: Template;
type Resources = Record<
  string,
  {
    Type: string;
    Properties?: Record<string, any>;
    Metadata?: Record<string, any>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
  }
>;
let resources: Resources;

function ofType(type: string): [string, Resources[string]][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** The seven Lockstep handler functions (not the CDK's own custom-resource function at the stack root). */
function handlerFunctions(): [string, Resources[string]][] {
  return ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('DeploymentSystem'));
}

/** Logical id of the one resource of `type` whose id starts with the construct path `DeploymentSystem<prefix>`. */
function logicalId(type: string, prefix: string): string {
  const matches = ofType(type).filter(([id]) => id.startsWith(`DeploymentSystem${prefix}`));
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

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Logical-id prefix of the role of the steps project that deploys `environment` (`StepsProject<account><hash>Role`). */
function stepsRole(environment: string): string {
  const name = stepProjectName(fixturePipeline, environment, 'deploy');
  return `StepsProject${name.slice(name.indexOf('-steps-') + '-steps-'.length).replace(/-/g, '')}Role`;
}

beforeAll(() => {
  app = new App();
  stack = new LockstepStack(app, 'Lockstep-shop', { deploymentSystem: { pipeline: fixturePipeline } });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
});

describe('DynamoDB tables', () => {
  it('creates every table in tables.ts with its keys, on demand', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(TABLES.length);
    for (const definition of TABLES) {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: definition.partitionKey, KeyType: 'HASH' },
          ...(definition.sortKey ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' }] : []),
        ],
        BillingMode: 'PAY_PER_REQUEST',
      });
    }
  });

  it('keeps point-in-time recovery and deletion protection on, and retains tables on stack deletion', () => {
    for (const [, table] of ofType('AWS::DynamoDB::Table')) {
      expect(table.Properties!.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties!.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('encrypts every table with the customer-managed key, which rotates', () => {
    const key = logicalId('AWS::KMS::Key', 'Key');
    expect(resources[key]!.Properties!.EnableKeyRotation).toBe(true);
    for (const [, table] of ofType('AWS::DynamoDB::Table')) {
      expect(table.Properties!.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
      });
    }
  });

  it('turns TTL on for every table, on the attribute tables.ts names, so items that carry it expire', () => {
    const tables = ofType('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(TABLES.length);
    for (const definition of TABLES) expect(definition.timeToLiveAttribute).toBe(TTL_ATTRIBUTE);
    for (const [id, table] of tables) {
      expect([id, table.Properties!.TimeToLiveSpecification]).toEqual([
        id,
        { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      ]);
    }
  });

  it('expires idempotency records through TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });
});

describe('artifacts bucket', () => {
  let bucket: Resources[string];
  beforeAll(() => {
    bucket = resources[logicalId('AWS::S3::Bucket', 'ArtifactsBucket')]!;
  });

  it('is versioned, KMS-encrypted, blocks public access and is retained', () => {
    const p = bucket.Properties!;
    expect(p.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe(
      'aws:kms',
    );
    expect(p.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('refuses requests without TLS', () => {
    const bucketId = logicalId('AWS::S3::Bucket', 'ArtifactsBucket');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('logs access to a separate bucket and expires old noncurrent versions', () => {
    const p = bucket.Properties!;
    expect(p.LoggingConfiguration.DestinationBucketName).toEqual({
      Ref: logicalId('AWS::S3::Bucket', 'AccessLogsBucket'),
    });
    expect(p.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
      ]),
    );
  });
});

describe('SNS topics', () => {
  it('encrypts both topics with the key and refuses publishing without TLS', () => {
    const key = logicalId('AWS::KMS::Key', 'Key');
    const topics = ofType('AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
    for (const [id, topic] of topics) {
      expect(topic.Properties!.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('subscribes each notification address once, filtered to the events it asked for', () => {
    const topic = logicalId('AWS::SNS::Topic', 'NotificationTopic');
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: { Ref: topic },
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      FilterPolicy: { event: ['deployment-failed', 'revision-approved', 'rollback-done'] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: { Ref: topic },
      Endpoint: 'team@example.com',
      FilterPolicy: { event: ['revision-approved'] },
    });
  });

  it('delivers each approval link only to the approver it was signed for', () => {
    const topic = logicalId('AWS::SNS::Topic', 'ApprovalTopic');
    const subscriptions = ofType('AWS::SNS::Subscription').filter(([, s]) => s.Properties!.TopicArn.Ref === topic);
    expect(subscriptions.map(([, s]) => [s.Properties!.Endpoint, s.Properties!.FilterPolicy])).toEqual([
      ['lead@example.com', { approver: ['lead@example.com'] }],
      ['release@example.com', { approver: ['release@example.com'] }],
    ]);
  });
});

describe('CodeBuild projects', () => {
  it('creates the projects named in names.ts, each encrypted with the key and logging to CloudWatch', () => {
    const key = logicalId('AWS::KMS::Key', 'Key');
    const names = ofType('AWS::CodeBuild::Project')
      .map(([, p]) => p.Properties!.Name)
      .sort();
    // beta's deploy and smoke test share their grants; prod assumes a role of its own.
    expect(names).toEqual(
      [
        'lockstep-shop-build-backend',
        'lockstep-shop-build-storefront',
        stepProjectName(fixturePipeline, 'beta', 'deploy'),
        stepProjectName(fixturePipeline, 'prod', 'deploy'),
      ].sort(),
    );
    expect(stepProjectName(fixturePipeline, 'beta', { test: 'smoke' })).toBe(
      stepProjectName(fixturePipeline, 'beta', 'deploy'),
    );
    for (const [, project] of ofType('AWS::CodeBuild::Project')) {
      expect(project.Properties!.EncryptionKey).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      expect(project.Properties!.LogsConfig.CloudWatchLogs.Status).toBe('ENABLED');
      expect(project.Properties!.Environment.PrivilegedMode).toBe(false);
    }
  });

  it('logs every steps project to one steps log group, whose name the state machine passes with each build', () => {
    const group = logicalId('AWS::Logs::LogGroup', 'StepsLogs');
    for (const prefix of ['StepsProjecthome', 'StepsProject111122223333']) {
      const project = resources[logicalId('AWS::CodeBuild::Project', prefix)]!.Properties!;
      expect(project.LogsConfig.CloudWatchLogs.GroupName).toEqual({ Ref: group });
    }
    const machine = ofType('AWS::StepFunctions::StateMachine')[0]![1].Properties!;
    expect(machine.DefinitionSubstitutions.StepsLogGroupName).toEqual({ Ref: group });
  });

  it('runs the image its props and the README document as the default', () => {
    const images = new Set(ofType('AWS::CodeBuild::Project').map(([, p]) => p.Properties!.Environment.Image as string));
    expect([...images]).toEqual(['aws/codebuild/amazonlinux2-aarch64-standard:3.0']);
    const documented = (file: string) => readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
    for (const file of ['../../lib/deployment-system.ts', '../../lib/sdk-publisher.ts', '../../README.md']) {
      expect({ [file]: documented(file).includes('amazonlinux2-aarch64-standard:3.0') }).toEqual({ [file]: true });
      expect({ [file]: documented(file).includes('standard 5.0') }).toEqual({ [file]: false });
    }
  });

  it('checks out every package of a multi-package application as a source of its build project', () => {
    const project = resources[logicalId('AWS::CodeBuild::Project', 'BuildProjectstorefront')]!.Properties!;
    expect(project.Source).toMatchObject({
      Type: 'GITHUB',
      Location: 'https://github.com/example-org/api.git',
      SourceIdentifier: 'api',
    });
    expect(project.SecondarySources).toEqual([
      expect.objectContaining({ Type: 'CODECOMMIT', SourceIdentifier: 'web' }),
    ]);
    expect(project.SecondarySourceVersions).toEqual([{ SourceIdentifier: 'web', SourceVersion: 'release' }]);
  });

  it("uploads a build project's artifact zipped, under its application's builds", () => {
    const project = resources[logicalId('AWS::CodeBuild::Project', 'BuildProjectbackend')]!.Properties!;
    expect(project.Artifacts).toMatchObject({
      Type: 'S3',
      Packaging: 'ZIP',
      Name: 'artifact.zip',
      Path: 'builds/backend',
      NamespaceType: 'NONE',
    });
  });

  it("lets a build project write only its own application's build artifacts, never revisions", () => {
    const writes = statementsOf('BuildProjectbackendRole').filter((s) => asArray(s.Action).includes('s3:PutObject'));
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(writes[0].Resource)).toContain('/builds/backend/*');
    const all = JSON.stringify(statementsOf('BuildProjectbackendRole'));
    expect(all).not.toContain('builds/storefront');
    expect(all).not.toContain('revisions/');
    expect(all).not.toMatch(/"s3:\*"|"s3:DeleteObject/);
  });

  it('lets steps projects read only the revisions of applications promoted to their environments', () => {
    const reads = statementsOf(stepsRole('prod')).filter((s) => asArray(s.Action).includes('s3:GetObject'));
    const resourcesRead = reads.map((s) => JSON.stringify(s.Resource)).join(' ');
    expect(resourcesRead).toContain('/revisions/backend/*');
    expect(resourcesRead).toContain('/revisions/storefront/*');
    expect(statementsOf(stepsRole('prod')).flatMap((s) => asArray(s.Action))).not.toContain('s3:PutObject');
  });

  it('lets only the steps project of an environment with a role assume that role', () => {
    const assume = (prefix: string) => statementsOf(prefix).filter((s) => asArray(s.Action).includes('sts:AssumeRole'));
    expect(assume(stepsRole('prod'))).toEqual([
      expect.objectContaining({ Resource: 'arn:aws:iam::111122223333:role/lockstep-deployer' }),
    ]);
    expect(assume(stepsRole('beta'))).toEqual([]);
  });
});

describe('Lambda functions', () => {
  it('runs the seven handlers on the newest Node.js runtime, ARM64, with active tracing', () => {
    const functions = handlerFunctions();
    expect(functions).toHaveLength(7);
    for (const [, fn] of functions) {
      expect(fn.Properties!.Runtime).toBe('nodejs24.x');
      expect(fn.Properties!.Architectures).toEqual(['arm64']);
      expect(fn.Properties!.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('gives every function the environment variables of ARCHITECTURE.md', () => {
    const expected = [
      ...TABLES.map((t) => t.envVar),
      'LOCKSTEP_ARTIFACTS_BUCKET',
      'LOCKSTEP_APPROVAL_TOPIC_ARN',
      'LOCKSTEP_NOTIFICATION_TOPIC_ARN',
      'LOCKSTEP_PROMOTION_STATE_MACHINE_ARN',
      'LOCKSTEP_WEBHOOK_SECRET_ARN',
      'LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN',
      'LOCKSTEP_APPROVAL_BASE_URL',
      'LOCKSTEP_PIPELINE_FILE',
      'POWERTOOLS_SERVICE_NAME',
      'POWERTOOLS_METRICS_NAMESPACE',
    ];
    for (const [, fn] of handlerFunctions()) {
      expect(Object.keys(fn.Properties!.Environment.Variables)).toEqual(expect.arrayContaining(expected));
      expect(fn.Properties!.Environment.Variables.LOCKSTEP_PIPELINE_FILE).toBe('/var/task/pipeline.json');
    }
  });

  it('ships the validated pipeline as pipeline.json next to each bundle', () => {
    for (const [, fn] of handlerFunctions()) {
      // The staged bundle folder is named after the asset hash, which is the S3 key the function points at.
      const hash = String(fn.Properties!.Code.S3Key).replace(/\.zip$/, '');
      const assetDir = join(app.outdir, `asset.${hash}`);
      expect(existsSync(join(assetDir, 'index.mjs'))).toBe(true);
      expect(JSON.parse(readFileSync(join(assetDir, 'pipeline.json'), 'utf8'))).toEqual(
        JSON.parse(JSON.stringify(fixturePipeline)),
      );
    }
  });

  it('writes function logs to log groups with a retention period, without the account-wide basic execution policy', () => {
    for (const [, fn] of handlerFunctions()) {
      const group = resources[fn.Properties!.LoggingConfig.LogGroup.Ref]!;
      expect(group.Properties!.RetentionInDays).toBe(90);
    }
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
  });

  it('lets only the reconcile pass turn a build artifact into a revision artifact', () => {
    const writers = ofType('AWS::IAM::Policy')
      .filter(([, p]) =>
        (p.Properties!.PolicyDocument.Statement as any[]).some(
          (s) => asArray(s.Action).includes('s3:PutObject') && JSON.stringify(s.Resource).includes('/revisions/'),
        ),
      )
      .flatMap(([, p]) => (p.Properties!.Roles as any[]).map((r) => r.Ref as string));
    expect(writers).toEqual([logicalId('AWS::IAM::Role', 'ReconcileRole')]);
  });

  it('lets only the approval API (and the reconcile pass, which re-delivers its undelivered decisions) answer task tokens, and only of this state machine', () => {
    const answering = ofType('AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties!.PolicyDocument).includes('states:SendTaskSuccess'),
    );
    expect(answering.flatMap(([, p]) => (p.Properties!.Roles as any[]).map((r) => r.Ref)).sort()).toEqual(
      // The console answers them too: an approver's decision from the console page goes to the waiting workflow.
      [
        logicalId('AWS::IAM::Role', 'ApprovalApiRole'),
        logicalId('AWS::IAM::Role', 'ConsoleApiRole'),
        logicalId('AWS::IAM::Role', 'ReconcileRole'),
      ].sort(),
    );
    for (const [, policy] of answering) {
      const statement = (policy.Properties!.PolicyDocument.Statement as any[]).find((st) =>
        asArray(st.Action).includes('states:SendTaskSuccess'),
      );
      expect(JSON.stringify(statement.Resource)).toContain(':stateMachine:lockstep-shop-promotion');
    }
  });

  describe('table access per function (least privilege)', () => {
    const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
    /** For each table the role reaches: its actions (sorted) and any leading-key condition. */
    function tableAccess(rolePrefix: string): Record<string, { actions: string[]; partitionKeys?: string[] }> {
      const tables = new Map(
        ofType('AWS::DynamoDB::Table').map(([id]) => [
          id,
          id.replace(/^DeploymentSystem/, '').replace(/[0-9A-F]{8}$/, ''),
        ]),
      );
      const access: Record<string, { actions: string[]; partitionKeys?: string[] }> = {};
      for (const statement of statementsOf(rolePrefix)) {
        const actions = asArray(statement.Action as string | string[]).filter((a) => a.startsWith('dynamodb:'));
        if (actions.length === 0) continue;
        for (const resource of asArray(statement.Resource)) {
          const table = tables.get(resource?.['Fn::GetAtt']?.[0]);
          if (!table) continue;
          const keys = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as
            string[] | undefined;
          const entry = (access[table] ??= { actions: [] });
          entry.actions = [...new Set([...entry.actions, ...actions])].sort();
          if (keys) entry.partitionKeys = keys;
        }
      }
      return access;
    }
    const writes = (entry?: { actions: string[] }) => (entry?.actions ?? []).filter((a) => WRITES.includes(a));

    // Reconcile writes locks too: it releases a lock whose holder ended outside its Catch (fenced by that holder's
    // token) and carries a renamed environment's lock across; nothing internet-facing reaches the table.
    it('lets no function reach the Locks table but the promotion steps and the reconcile pass', () => {
      const reach = Object.fromEntries(
        ['GithubWebhook', 'CodecommitPush', 'ApprovalApi', 'ApprovalRequest', 'PromotionSteps', 'Reconcile'].map(
          (fn) => [fn, tableAccess(`${fn}Role`).Locks],
        ),
      );
      expect(
        Object.entries(reach)
          .filter(([, entry]) => entry !== undefined)
          .map(([fn, entry]) => [fn, writes(entry).length > 0]),
      ).toEqual([
        ['PromotionSteps', true],
        ['Reconcile', true],
      ]);
    });

    it('keeps the internet-facing webhook away from revisions: it writes only the push and build partitions of that table', () => {
      const access = tableAccess('GithubWebhookRole');
      expect(Object.keys(access).sort()).toEqual(['Events', 'Idempotency', 'Revisions']);
      expect(access.Revisions!.partitionKeys).toEqual(['PUSHES', 'BUILDS#*']);
      expect(access.Revisions!.actions).not.toContain('dynamodb:Scan');
      expect(access.Events!.actions).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:DescribeTable', 'dynamodb:PutItem']);
      expect(tableAccess('CodecommitPushRole').Revisions!.partitionKeys).toEqual(['PUSHES', 'BUILDS#*']);
      expect(tableAccess('CodecommitPushRole').Idempotency).toBeUndefined();
    });

    it('lets the internet-facing approval API only read revisions, and keeps it out of Locks and Idempotency', () => {
      const access = tableAccess('ApprovalApiRole');
      expect(Object.keys(access).sort()).toEqual(['Environments', 'Events', 'Revisions']);
      expect(writes(access.Revisions)).toEqual([]);
      expect(access.Revisions!.partitionKeys).toBeUndefined();
      expect(writes(access.Environments)).toEqual(WRITES.slice().sort());
    });

    it('gives each function exactly the tables it uses, and appends to the timeline without reading it', () => {
      const reached = (fn: string) => Object.keys(tableAccess(`${fn}Role`)).sort();
      expect({
        approvalRequest: reached('ApprovalRequest'),
        promotionSteps: reached('PromotionSteps'),
        reconcile: reached('Reconcile'),
      }).toEqual({
        approvalRequest: ['Environments', 'Events', 'Revisions'],
        promotionSteps: ['Environments', 'Events', 'Locks', 'Revisions'],
        reconcile: ['Environments', 'Events', 'Locks', 'Revisions'],
      });
      for (const fn of [
        'GithubWebhook',
        'CodecommitPush',
        'ApprovalApi',
        'ApprovalRequest',
        'PromotionSteps',
        'Reconcile',
      ]) {
        expect({ [fn]: tableAccess(`${fn}Role`).Events!.actions }).toEqual({
          [fn]: ['dynamodb:BatchWriteItem', 'dynamodb:DescribeTable', 'dynamodb:PutItem'],
        });
      }
    });
  });

  it('lets only the webhook function read the webhook secret', () => {
    const secret = logicalId('AWS::SecretsManager::Secret', 'WebhookSecret');
    const readers = ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties!.PolicyDocument).includes(`"Ref":"${secret}"`))
      .flatMap(([, p]) => (p.Properties!.Roles as any[]).map((r) => r.Ref as string));
    expect(readers).toEqual([logicalId('AWS::IAM::Role', 'GithubWebhookRole')]);
  });
});

describe('promotion state machine', () => {
  let machine: Resources[string];
  beforeAll(() => {
    machine = ofType('AWS::StepFunctions::StateMachine')[0]![1];
  });

  it('is a STANDARD machine that logs without execution data and traces with X-Ray', () => {
    expect(machine.Properties!.StateMachineType).toBe('STANDARD');
    expect(machine.Properties!.LoggingConfiguration).toMatchObject({ IncludeExecutionData: false, Level: 'ALL' });
    expect(machine.Properties!.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('fills the ASL placeholders with published versions of the two step functions, so a redeploy leaves executions in flight on theirs', () => {
    // fromFile uploads the ASL as an asset; the placeholders are substituted by CloudFormation.
    const location = machine.Properties!.DefinitionS3Location as { Bucket: unknown; Key: string };
    const assembly = app.synth();
    const files = assembly.artifacts
      .filter((a): a is cxapi.AssetManifestArtifact => a instanceof cxapi.AssetManifestArtifact)
      .flatMap((a) =>
        Object.values((JSON.parse(readFileSync(a.file, 'utf8')) as { files: Record<string, any> }).files),
      );
    const asset = files.find((f) =>
      Object.values(f.destinations as Record<string, any>).some((d) => d.objectKey === location.Key),
    );
    expect({ [`asset ${location.Key}`]: asset }).toEqual({ [`asset ${location.Key}`]: expect.anything() });
    expect(readFileSync(join(assembly.directory, asset.source.path as string), 'utf8')).toBe(
      readFileSync(fileURLToPath(new URL('../../statemachines/promotion.asl.json', import.meta.url)), 'utf8'),
    );
    expect(machine.Properties!.DefinitionSubstitutions).toEqual({
      PromotionStepsFunctionArn: { Ref: logicalId('AWS::Lambda::Version', 'PromotionStepsCurrentVersion') },
      ApprovalRequestFunctionArn: { Ref: logicalId('AWS::Lambda::Version', 'ApprovalRequestCurrentVersion') },
      StepsLogGroupName: { Ref: logicalId('AWS::Logs::LogGroup', 'StepsLogs') },
    });
    for (const name of ['PromotionSteps', 'ApprovalRequest']) {
      const version = resources[logicalId('AWS::Lambda::Version', `${name}CurrentVersion`)]!;
      expect(version.Properties!.FunctionName).toEqual({ Ref: logicalId('AWS::Lambda::Function', name) });
      // Replaced versions stay, for the executions that still invoke them; a rolled-back create removes them.
      expect(version.DeletionPolicy).toBe('RetainExceptOnCreate');
    }
  });

  it('may start the steps projects of this pipeline only, and manage the CodeBuild sync rule', () => {
    const statements = statementsOf('PromotionStateMachineRole');
    const start = statements.find((s) => asArray(s.Action).includes('codebuild:StartBuild'));
    const projects = asArray(start.Resource)
      .map((r: any) => r['Fn::GetAtt'][0] as string)
      .sort();
    expect(projects).toEqual(
      ['StepsProjecthome', 'StepsProject111122223333'].map((p) => logicalId('AWS::CodeBuild::Project', p)).sort(),
    );
    const rule = statements.find((s) => asArray(s.Action).includes('events:PutRule'));
    expect(JSON.stringify(rule.Resource)).toContain('rule/StepFunctionsGetEventsForCodeBuildStartBuildRule');
    const invoke = statements.find((s) => asArray(s.Action).includes('lambda:InvokeFunction'));
    expect(asArray(invoke.Resource)).toEqual(
      ['PromotionSteps', 'ApprovalRequest'].map((name) => ({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', name), 'Arn'] }, ':*']],
      })),
    );
  });
});

describe('HTTP API and triggers', () => {
  it('routes the webhook and approval links', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties!.RouteKey)
      .sort();
    expect(routes).toEqual([
      'GET /approvals/{requestId}',
      'GET /console',
      'GET /console/api/{proxy+}',
      'GET /console/{asset}',
      'POST /approvals/{requestId}',
      'POST /console/api/{proxy+}',
      'POST /webhooks/github',
    ]);
  });

  it('throttles webhook deliveries, approval links and the console on their own routes, apart from the stage default', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resources[string]]];
    const consolePages = { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 };
    expect(stage.Properties!.RouteSettings).toEqual({
      'POST /webhooks/github': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 50 },
      'GET /approvals/{requestId}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'POST /approvals/{requestId}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /console': consolePages,
      'GET /console/{asset}': consolePages,
      'GET /console/api/{proxy+}': consolePages,
      'POST /console/api/{proxy+}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    // Every route has its own throttle: none falls back to the stage default that the others share.
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!.RouteKey as string);
    expect(Object.keys(stage.Properties!.RouteSettings).sort()).toEqual([...routes].sort());
  });

  it('logs access and throttles requests on its stage', () => {
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0]![1].Properties!;
    const accessLogs = logicalId('AWS::Logs::LogGroup', 'ApiAccessLogs');
    expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [accessLogs, 'Arn'] });
    expect(resources[accessLogs]!.Properties!.RetentionInDays).toBe(90); // the logRetention default, three months
    expect(stage.AccessLogSettings.Format).not.toContain('queryString');
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
  });

  it('runs the reconcile pass every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'Reconcile'), 'Arn'] } })],
    });
  });

  it('starts a reconcile pass as soon as a promotion execution or an application build ends', () => {
    const reconcile = { Arn: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'Reconcile'), 'Arn'] } };
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.states'],
        detail: Match.objectLike({ status: Match.arrayWith(['SUCCEEDED', 'FAILED']) }),
      }),
      Targets: [Match.objectLike(reconcile)],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.codebuild'],
        detail: Match.objectLike({ 'project-name': Match.arrayWith([Match.stringLikeRegexp('-build-')]) }),
      }),
      Targets: [Match.objectLike(reconcile)],
    });
  });

  it('publishes a pipeline-deleted notification when the stack is deleted', () => {
    const [, notice] = Object.entries(template.findResources('Custom::AWS')).find(([id]) =>
      id.includes('DeletionNotice'),
    )!;
    const onDelete = JSON.stringify(notice.Properties.Delete);
    expect(onDelete).toContain('"action\\":\\"publish\\"');
    expect(onDelete).toContain('pipeline-deleted');
    expect(onDelete).toContain(logicalId('AWS::SNS::Topic', 'Notification'));
  });

  it("keeps the deletion notice's custom resource answers small and out of its logs (CloudFormation takes at most 4 KB)", () => {
    const [, notice] = Object.entries(template.findResources('Custom::AWS')).find(([id]) =>
      id.includes('DeletionNotice'),
    )!;
    for (const call of [notice.Properties.Create, notice.Properties.Delete]) {
      const text = JSON.stringify(call);
      expect(text).toMatch(/\\"outputPaths\\":\[\\"(Attributes\.TopicArn|MessageId)\\"\]/);
      expect(text).toContain('\\"logApiResponseData\\":false');
    }
    expect(JSON.stringify(notice.Properties.Create)).not.toContain('listSubscriptionsByTopic');
  });

  it('creates the deletion notice last, so a first create that rolls back never announces a deletion', () => {
    const [noticeId, notice] = Object.entries(resources).find(
      ([id, r]) => r.Type === 'Custom::AWS' && id.includes('DeletionNotice'),
    )!;
    const dependsOn = new Set((notice as any).DependsOn as string[]);
    const others = Object.keys(resources).filter(
      (id) => id.startsWith('DeploymentSystem') && !id.startsWith('DeploymentSystemDeletionNotice'),
    );
    expect(others.length).toBeGreaterThan(50);
    expect(others.filter((id) => !dependsOn.has(id))).toEqual([]);
    expect(noticeId).toMatch(/^DeploymentSystemDeletionNotice/);
  });

  it("sends pushes to the pipeline's CodeCommit branches to the codecommit-push function", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.codecommit'],
        resources: [Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':shop-web'])]) })],
        detail: { event: Match.arrayWith(['referenceUpdated']), referenceType: ['branch'], referenceName: ['release'] },
      },
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'CodecommitPush'), 'Arn'] } }),
      ],
    });
  });

  it('outputs the webhook URL, the approval base URL and every table name', () => {
    const outputs = Object.keys(template.toJSON().Outputs as object).join(' ');
    for (const name of ['WebhookUrl', 'ApprovalBaseUrl', ...TABLES.map((t) => `${t.logicalName}TableName`)]) {
      expect(outputs).toContain(name);
    }
  });
});

describe('monitoring', () => {
  const topic = () => ({ Ref: logicalId('AWS::SNS::Topic', 'NotificationTopic') });
  const alarms = () => ofType('AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('DeploymentSystem'));
  const alarmOn = (metric: string, dimension: string) =>
    alarms().filter(
      ([, a]) => a.Properties!.MetricName === metric && JSON.stringify(a.Properties!.Dimensions).includes(dimension),
    );

  it("alarms on each function's errors and throttles, to the notification topic", () => {
    for (const [id] of handlerFunctions()) {
      for (const metric of ['Errors', 'Throttles']) {
        const found = alarmOn(metric, `"Ref":"${id}"`);
        expect({ [`${metric} ${id}`]: found.map(([, a]) => a.Properties!.AlarmActions) }).toEqual({
          [`${metric} ${id}`]: [[topic()]],
        });
      }
    }
  });

  it('alarms on failed and timed-out promotion executions, to the notification topic', () => {
    const machine = logicalId('AWS::StepFunctions::StateMachine', 'PromotionStateMachine');
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      expect(alarmOn(metric, `"Ref":"${machine}"`).map(([, a]) => a.Properties!.AlarmActions)).toEqual([[topic()]]);
    }
  });

  it('keeps the events of failed asynchronous invocations (reconcile, CodeCommit pushes) in an encrypted queue, and alarms on it', () => {
    const queue = logicalId('AWS::SQS::Queue', 'FailedInvocations');
    expect(resources[queue]!.Properties!.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'Key'), 'Arn'],
    });
    const configs = ofType('AWS::Lambda::EventInvokeConfig').map(([, c]) => [
      c.Properties!.FunctionName.Ref,
      c.Properties!.DestinationConfig.OnFailure.Destination,
    ]);
    expect(configs.sort()).toEqual(
      [logicalId('AWS::Lambda::Function', 'CodecommitPush'), logicalId('AWS::Lambda::Function', 'Reconcile')]
        .sort()
        .map((fn) => [fn, { 'Fn::GetAtt': [queue, 'Arn'] }]),
    );
    expect(alarmOn('ApproximateNumberOfMessagesVisible', queue)).toHaveLength(1);
  });

  it('draws a dashboard of errors, throttles, executions and alarms', () => {
    expect(ofType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const result = new AwsSolutionsChecks(app).validateScope(app);
    const findings = result.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a specific reason on a resource, never on a stack', () => {
    expectSpecificAcknowledgements(app);
  });
});

describe('snapshot', () => {
  it('matches the stored template, with asset hashes and other volatile values replaced', () => {
    const normalised = JSON.parse(
      JSON.stringify(template.toJSON())
        .replace(/[0-9a-f]{64}/g, '<hash>')
        // A published version's logical id ends in a hash of the function's code, which changes with every handler edit.
        .replace(/(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g, '$1<code hash>')
        .replace(/"S3Bucket":\{"Fn::Sub":"cdk-[^"]+"\}/g, '"S3Bucket":"<assets>"'),
    );
    delete normalised.Resources?.CDKMetadata;

    expect(normalised).toMatchSnapshot();
  });
});
