/**
 * The SDK publisher inside `LockstepStack` (as the CDK app deploys it): one HTTP API for both halves, the signing
 * key secret imported by name, and cdk-nag clean for the whole stack. One synthesis.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixturePipeline } from './fixtures';

let app: App;
let resources: Record<string, { Type: string; Properties?: Record<string, any> }>;

beforeAll(() => {
  app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', {
    deploymentSystem: { pipeline: fixturePipeline },
    sdkPublisher: {
      cloudFrontPublicKey: readFileSync(
        new URL('../../examples/sdk-cloudfront-public-key.pem', import.meta.url),
        'utf8',
      ),
      signingKeySecret: 'lockstep/sdk/cloudfront-private-key',
      accessPolicy: new URL('../../examples/sdk-access-policy.json', import.meta.url).pathname,
    },
  });
  resources = Template.fromStack(stack).toJSON().Resources;
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('SdkPublisher in LockstepStack', () => {
  it("adds the SDK routes to the deployment system's HTTP API, behind its logged and throttled stage", () => {
    const [[apiId]] = ofType('AWS::ApiGatewayV2::Api') as [[string, unknown]];
    expect(ofType('AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(ofType('AWS::ApiGatewayV2::Stage')).toHaveLength(1);
    const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) =>
      String(r.Properties!.RouteKey).includes(' /sdk/'),
    );
    expect(routes).toHaveLength(5);
    for (const [, route] of routes) expect(route.Properties!.ApiId).toEqual({ Ref: apiId });
  });

  it('gives SDK uploads, downloads and the console their own route throttles on the shared stage, apart from webhooks and approvals', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, any]];
    expect(stage.Properties!.RouteSettings).toMatchObject({
      'POST /webhooks/github': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 50 },
      'POST /sdk/uploads': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'POST /sdk/uploads/{uploadId}/complete': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /sdk/status': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /sdk/index': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'GET /sdk/download/{name}/{version}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'GET /console/api/{proxy+}': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      'POST /console/api/{proxy+}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    const routes = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties!.RouteKey as string)
      .sort();
    expect(Object.keys(stage.Properties!.RouteSettings).sort()).toEqual(routes);
  });

  it('lets the download API read the signing key secret named in the stack props', () => {
    const readers = ofType('AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties!.PolicyDocument).includes(':secret:lockstep/sdk/cloudfront-private-key-??????'),
    );
    expect(readers.flatMap(([, p]) => (p.Properties!.Roles as any[]).map((r) => r.Ref as string))).toEqual([
      expect.stringMatching(/^SdkPublisherSdkDownloadApiRole/),
    ]);
  });

  it('creates the deletion notice after every SDK publisher resource too, so a rolled-back create never sends it', () => {
    const [, notice] = Object.entries(resources).find(
      ([id, r]) => r.Type === 'Custom::AWS' && id.includes('DeletionNotice'),
    )! as [string, any];
    const sdk = Object.keys(resources).filter((id) => id.startsWith('SdkPublisher'));
    expect(sdk.length).toBeGreaterThan(30);
    expect(sdk.filter((id) => !(notice.DependsOn as string[]).includes(id))).toEqual([]);
  });

  it("lets the console's SDKs page read the SDK table, and only read it", () => {
    const sdkTables = ofType('AWS::DynamoDB::Table').filter(([id]) => id.startsWith('SdkPublisher'));
    const consoleFunctions = ofType('AWS::Lambda::Function').filter(([id]) =>
      id.startsWith('DeploymentSystemConsoleApi'),
    );
    expect(sdkTables).toHaveLength(1);
    expect(consoleFunctions).toHaveLength(1);
    const [tableId] = sdkTables[0]!;
    const [consoleId, consoleFunction] = consoleFunctions[0]! as [string, { Properties: Record<string, any> }];
    expect(consoleFunction.Properties.Environment.Variables.LOCKSTEP_SDK_TABLE).toEqual({ Ref: tableId });
    const roleId = consoleFunction.Properties.Role['Fn::GetAtt'][0];
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const onSdkTable = statements.filter((st) => JSON.stringify(st.Resource).includes(tableId));
    expect(onSdkTable.flatMap((st) => ([] as string[]).concat(st.Action)).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
    ]);
    expect(consoleId).toBeDefined();
  });

  it('reports no unacknowledged cdk-nag finding for both halves together', () => {
    const result = new AwsSolutionsChecks(app).validateScope(app);
    expect(
      result.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
    ).toEqual([]);
  });
});
