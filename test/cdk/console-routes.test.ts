/**
 * The console's routes on the whole `DeploymentSystem` (one synthesis): every console data and action route has the
 * Cognito JWT authorizer, the only routes without one are the ones that authenticate otherwise (webhook signature,
 * signed approval links) or hold no data (the static front end), and the console function gets its login variables.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixturePipeline } from './fixtures';

let resources: Record<string, { Type: string; Properties?: any }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

beforeAll(() => {
  const app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', { deploymentSystem: { pipeline: fixturePipeline } });
  resources = Template.fromStack(stack).toJSON().Resources;
});

describe('console routes of the deployment system', () => {
  it('puts the Cognito JWT authorizer of the console client on every console data and action route', () => {
    const authorizers = ofType('AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0]!;
    const [clientId] = ofType('AWS::Cognito::UserPoolClient')[0]!;
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      JwtConfiguration: { Audience: [{ Ref: clientId }] },
    });
    const consoleApi = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties)
      .filter((p) => /\/console\/api/.test(p.RouteKey));
    expect(consoleApi.length).toBeGreaterThan(0);
    for (const route of consoleApi)
      expect({ [route.RouteKey]: [route.AuthorizationType, route.AuthorizerId] }).toEqual({
        [route.RouteKey]: ['JWT', { Ref: authorizerId }],
      });
  });

  it('leaves only the webhook, the approval links and the static front end without an authorizer', () => {
    const open = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties)
      .filter((p) => p.AuthorizationType === undefined || p.AuthorizationType === 'NONE')
      .map((p) => p.RouteKey as string);
    for (const key of open)
      expect(key).toMatch(
        /^(POST \/webhooks\/github|(GET|POST) \/approvals\/\{requestId\}|GET \/console|GET \/console\/(\{asset\})?)$/,
      );
  });

  it('gives the console function the Cognito login variables, and creates the pool with managed login', () => {
    const consoleFunctions = ofType('AWS::Lambda::Function').filter(
      ([, f]) => f.Properties?.Environment?.Variables?.LOCKSTEP_CONSOLE_LOGIN !== undefined,
    );
    expect(consoleFunctions).toHaveLength(1);
    const variables = consoleFunctions[0]![1].Properties.Environment.Variables;
    expect(variables.LOCKSTEP_CONSOLE_LOGIN).toBe('cognito');
    expect(variables.LOCKSTEP_CONSOLE_CLIENT_ID).toEqual({ Ref: ofType('AWS::Cognito::UserPoolClient')[0]![0] });
    expect(ofType('AWS::Cognito::UserPoolDomain')[0]![1].Properties.ManagedLoginVersion).toBe(2);
    expect(ofType('AWS::Cognito::UserPoolClient')[0]![1].Properties.GenerateSecret).toBe(false);
  });
});
