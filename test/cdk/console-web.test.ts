/**
 * The web console in `DeploymentSystem`'s template: its function (bundled with the static front end), its routes
 * (front end public, every data and action route behind the Cognito JWT authorizer) and its least-privilege role.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import { LockstepStack } from '../../lib/lockstep-stack';
import { consoleRoutesWithoutAuthorizer } from '../../lib/console-auth';
import { fixturePipeline } from './fixtures';

let app: App;
let stack: LockstepStack;
let resources: Record<string, { Type: string; Properties?: Record<string, any> }>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

beforeAll(() => {
  app = new App();
  stack = new LockstepStack(app, 'Lockstep-shop', { deploymentSystem: { pipeline: fixturePipeline } });
  resources = Template.fromStack(stack).toJSON().Resources;
});

function consoleFunction(): [string, { Type: string; Properties?: Record<string, any> }] {
  const found = ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('DeploymentSystemConsoleApi'));
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('the console function', () => {
  it('signs in through Cognito and ships the static front end beside its code', () => {
    const [, fn] = consoleFunction();
    expect(fn.Properties!.Environment.Variables).toMatchObject({
      LOCKSTEP_CONSOLE_LOGIN: 'cognito',
      LOCKSTEP_CONSOLE_CLIENT_ID: expect.anything(),
      LOCKSTEP_CONSOLE_COGNITO_DOMAIN: expect.anything(),
      LOCKSTEP_CONSOLE_REDIRECT_URI: expect.anything(),
    });
    const assembly = app.synth();
    const key = String(fn.Properties!.Code.S3Key).replace(/\.zip$/, '');
    const bundle = join(assembly.directory, `asset.${key}`);
    for (const file of ['index.mjs', 'console/index.html', 'console/app.js', 'console/style.css'])
      expect({ file, present: existsSync(join(bundle, file)) }).toEqual({ file, present: true });
  });

  it('may read the tables and start a rollback execution, and nothing like builds, secrets or artifacts', () => {
    const [id] = consoleFunction();
    const roleRef = resources[id]!.Properties!.Role['Fn::GetAtt'][0];
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties!.Roles as any[]).some((r) => r.Ref === roleRef))
      .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as any[]);
    const actions = statements.flatMap((s) => asArray(s.Action as string | string[]));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query', 'states:StartExecution', 'sns:Publish']));
    expect(actions.filter((a) => /^(codebuild|secretsmanager|s3):/.test(a))).toEqual([]);
    expect(actions).not.toContain('states:StopExecution');
    expect(actions.filter((a) => a.endsWith('*') && a !== 'xray:*')).toEqual(
      actions.filter((a) => a.startsWith('kms:') && a.endsWith('*')),
    );
  });
});

describe('the console routes', () => {
  it('serves the front end without an authorizer and every data and action route with the JWT authorizer', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!);
    const byKey = Object.fromEntries(routes.map((r) => [r.RouteKey, r]));
    expect(byKey['GET /console']?.AuthorizationType ?? 'NONE').toBe('NONE');
    expect(byKey['GET /console/{asset}']?.AuthorizationType ?? 'NONE').toBe('NONE');
    for (const key of ['GET /console/api/{proxy+}', 'POST /console/api/{proxy+}']) {
      expect({ key, type: byKey[key]?.AuthorizationType }).toEqual({ key, type: 'JWT' });
      expect(byKey[key]!.AuthorizerId).toBeDefined();
    }
    expect(consoleRoutesWithoutAuthorizer(stack, stack.deploymentSystem.httpApi)).toEqual([]);
  });
});
