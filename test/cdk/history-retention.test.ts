/**
 * Template assertions for `retention:`: the tables' TTL attribute, the artifacts bucket's Object Lock, and the
 * history archiver (schedule and least-privilege grants), with cdk-nag over the same synthesis.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { validatePipelineObject } from '../../lambdas/core/config/load';
import { HISTORY_EXPIRY_ATTRIBUTE } from '../../lambdas/core/tables';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixtureInput } from './fixtures';

let app: App;
let template: Template;
let resources: Record<string, { Type: string; Properties?: Record<string, any> }>;

beforeAll(() => {
  const pipeline = validatePipelineObject({
    ...fixtureInput,
    retention: { archiveAfterDays: 365, objectLock: { mode: 'compliance', days: 2555 } },
  });
  app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', { deploymentSystem: { pipeline } });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('history retention', () => {
  it('expires the revision and timeline items through the TTL attribute the archiver sets', () => {
    const withTtl = ofType('AWS::DynamoDB::Table').filter(
      ([, t]) => t.Properties!.TimeToLiveSpecification?.AttributeName === HISTORY_EXPIRY_ATTRIBUTE,
    );
    // Every table has the one TTL attribute (DynamoDB allows one per table); the archiver needs it on these two.
    expect(withTtl.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(
      expect.arrayContaining(['DeploymentSystemEvents', 'DeploymentSystemRevisions']),
    );
    for (const [, table] of withTtl) expect(table.Properties!.TimeToLiveSpecification.Enabled).toBe(true);
  });

  it('creates the artifacts bucket with Object Lock when archives are locked', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('runs the archiver once a day', () => {
    const archiver = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('DeploymentSystemHistoryArchiver'));
    expect(archiver).toBeDefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [archiver![0], 'Arn'] } })],
    });
  });

  it('lets the archiver write, lock and list only under history/ in the artifacts bucket', () => {
    const role = ofType('AWS::IAM::Role').find(([id]) => id.startsWith('DeploymentSystemHistoryArchiverRole'))![0];
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties!.Roles as any[]).some((r) => r.Ref === role))
      .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as any[]);
    const s3Statements = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
    const objectResources = s3Statements
      .filter((s) => [s.Action].flat().some((a: string) => a !== 's3:ListBucket'))
      .flatMap((s) => [s.Resource].flat());
    for (const resource of objectResources) expect(JSON.stringify(resource)).toMatch(/\/history\/\*"/);
    expect(s3Statements.flatMap((s) => [s.Action].flat())).toEqual(
      expect.arrayContaining(['s3:PutObject', 's3:PutObjectRetention', 's3:ListBucket']),
    );
    const list = s3Statements.find((s) => [s.Action].flat().includes('s3:ListBucket'));
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['history/*'] } });
    // No access to the locks table: the archiver changes history, never a promotion.
    expect(JSON.stringify(statements)).not.toMatch(/DeploymentSystemLocks/);
  });

  it('reports no unacknowledged cdk-nag error or warning', () => {
    const result = new AwsSolutionsChecks(app).validateScope(app);
    const findings = result.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });
});
