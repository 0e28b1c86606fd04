/**
 * Template assertions for the console's sign-in (`lib/console-auth.ts`): the user pool with managed login, the
 * public app client (code + PKCE, no secret), the groups, the JWT authorizer on console routes, the synth-time
 * refusal of a console route without it, and cdk-nag.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { buildHttpApi } from '../../lib/api';
import { buildConsoleAuth, ConsoleAuthPropsError, type ConsoleAuthProps } from '../../lib/console-auth';
import { acknowledge } from '../../lib/nag';
import { expectSpecificAcknowledgements } from '../support/nag';

const ENV = { account: '111122223333', region: 'eu-west-1' };

/** A stack with the HTTP API, the console's sign-in and the routes the console handler would get. */
function consoleStack(
  options: { props?: Partial<ConsoleAuthProps>; existingPool?: boolean; unguardedRoute?: string } = {},
) {
  const app = new App();
  const stack = new Stack(app, 'Console', { env: ENV });
  const httpApi = buildHttpApi(stack, {
    apiName: 'lockstep-shop',
    description: 'test',
    throttle: { rateLimit: 10, burstLimit: 20 },
    logDefaults: { logRetention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY },
  });
  const existingUserPool = options.existingPool
    ? {
        userPool: cognito.UserPool.fromUserPoolId(stack, 'Existing', 'eu-west-1_AbCdEf123'),
        loginBaseUrl: 'https://login.example.com',
        createGroups: false,
      }
    : undefined;
  const auth = buildConsoleAuth(stack, {
    pipelineName: 'shop',
    httpApi,
    ...(existingUserPool ? { existingUserPool } : {}),
    ...options.props,
  });
  const integration = new HttpUrlIntegration('Console', 'https://console.example.com');
  httpApi.addRoutes({
    path: '/console/api/{proxy+}',
    methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
    integration,
    authorizer: auth.authorizer,
  });
  const assets = httpApi.addRoutes({ path: '/console/{proxy+}', methods: [apigwv2.HttpMethod.GET], integration });
  for (const route of assets)
    acknowledge(route, {
      id: 'AwsSolutions-APIG4',
      reason:
        'Static console assets (HTML, CSS, scripts) hold no data; every data and action route has the JWT authorizer',
    });
  if (options.unguardedRoute)
    httpApi.addRoutes({ path: options.unguardedRoute, methods: [apigwv2.HttpMethod.POST], integration });
  return { app, stack, auth };
}

describe('a new user pool', () => {
  let template: Template;
  let resources: Record<string, { Type: string; Properties?: any; DeletionPolicy?: string }>;
  let built: ReturnType<typeof consoleStack>;

  beforeAll(() => {
    built = consoleStack();
    template = Template.fromStack(built.stack);
    resources = template.toJSON().Resources;
  });

  it('has managed login, no self sign-up, required TOTP MFA and a strong password policy, and is retained', () => {
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        UserPoolTier: 'ESSENTIALS',
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        MfaConfiguration: 'ON',
        EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
        DeletionProtection: 'ACTIVE',
        Policies: {
          PasswordPolicy: Match.objectLike({
            MinimumLength: 12,
            RequireLowercase: true,
            RequireUppercase: true,
            RequireNumbers: true,
            RequireSymbols: true,
          }),
        },
      }),
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      ManagedLoginVersion: 2,
      Domain: {
        'Fn::Join': ['-', [Match.stringLikeRegexp('^lockstep-shop-[0-9a-f]{8}$'), { Ref: 'AWS::AccountId' }]],
      },
    });
    template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', { UseCognitoProvidedValues: true });
  });

  it('gives the browser a public client: authorization code only (PKCE), no secret, callbacks on the console', () => {
    const clients = Object.values(resources).filter((r) => r.Type === 'AWS::Cognito::UserPoolClient');
    expect(clients).toHaveLength(1);
    const client = clients[0]!.Properties;
    expect(client.GenerateSecret).toBe(false);
    expect(client.AllowedOAuthFlows).toEqual(['code']);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(client.AllowedOAuthScopes).toEqual(['openid', 'email', 'profile']);
    expect(client.SupportedIdentityProviders).toEqual(['COGNITO']);
    expect(client.PreventUserExistenceErrors).toBe('ENABLED');
    const apiId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api')![0];
    const consoleUrl = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/console']] };
    expect(client.CallbackURLs).toEqual([consoleUrl]);
    expect(client.LogoutURLs).toEqual([consoleUrl]);
  });

  it('creates the three console groups', () => {
    const groups = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Cognito::UserPoolGroup')
      .map((r) => r.Properties.GroupName)
      .sort();
    expect(groups).toEqual(['approvers', 'operators', 'viewers']);
  });

  it('guards the console API with a JWT authorizer of this pool and client, and leaves static assets public', () => {
    const authorizers = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0]!;
    const poolId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Cognito::UserPool')![0];
    const clientId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Cognito::UserPoolClient')![0];
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: clientId }],
        Issuer: {
          'Fn::Join': ['', ['https://cognito-idp.eu-west-1.amazonaws.com/', { Ref: poolId }]],
        },
      },
    });
    const routes = Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType ?? 'NONE', r.Properties.AuthorizerId]);
    expect(routes).toEqual(
      expect.arrayContaining([
        ['GET /console/api/{proxy+}', 'JWT', { Ref: authorizerId }],
        ['POST /console/api/{proxy+}', 'JWT', { Ref: authorizerId }],
        ['GET /console/{proxy+}', 'NONE', undefined],
      ]),
    );
  });

  it('hands the console function what /console/config.json needs', () => {
    const env = built.stack.resolve(built.auth.environment);
    expect(env).toMatchObject({
      LOCKSTEP_CONSOLE_LOGIN: 'cognito',
      LOCKSTEP_CONSOLE_CLIENT_ID: { Ref: expect.stringMatching(/^ConsoleClient/) },
      LOCKSTEP_CONSOLE_COGNITO_DOMAIN: expect.objectContaining({ 'Fn::Join': expect.any(Array) }),
      LOCKSTEP_CONSOLE_REDIRECT_URI: expect.objectContaining({ 'Fn::Join': expect.any(Array) }),
    });
  });

  it('leaves no unacknowledged cdk-nag finding, each acknowledgement specific', () => {
    const result = new AwsSolutionsChecks(built.app).validateScope(built.app);
    expect(
      result.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
    ).toEqual([]);
    expectSpecificAcknowledgements(built.stack);
  });
});

describe('an existing user pool', () => {
  it('adds only the app client, its branding and the authorizer, and uses the pool’s own login domain', () => {
    const { stack, auth } = consoleStack({ existingPool: true });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
    template.resourceCountIs('AWS::Cognito::UserPoolGroup', 0);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      UserPoolId: 'eu-west-1_AbCdEf123',
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123' },
    });
    expect(auth.loginBaseUrl).toBe('https://login.example.com');
    expect(auth.domain).toBeUndefined();
  });
});

describe('refusals at synth', () => {
  it('refuses a console API route without the JWT authorizer, naming the route and the fix', () => {
    const { app } = consoleStack({ unguardedRoute: '/console/api/environments/{environment}/rollback' });
    expect(() => app.synth()).toThrow(
      /POST \/console\/api\/environments\/\{environment\}\/rollback" serves console data or actions without the console's JWT authorizer/,
    );
  });

  it('refuses a $default route without an authorizer, which would answer console API paths', () => {
    const app = new App();
    const stack = new Stack(app, 'Console', { env: ENV });
    const httpApi = new apigwv2.HttpApi(stack, 'Api', {
      defaultIntegration: new HttpUrlIntegration('Default', 'https://console.example.com'),
    });
    buildConsoleAuth(stack, { pipelineName: 'shop', httpApi });
    expect(() => app.synth()).toThrow(/Route "\$default" serves console data/);
  });

  it('reports every bad prop at once, each with its fix', () => {
    const attempt = () =>
      consoleStack({
        props: {
          domainPrefix: 'My_AWS_Console',
          extraCallbackUrls: ['http://console.example.com/console', 'https://console.example.com/app/'],
        },
      });
    expect(attempt).toThrow(ConsoleAuthPropsError);
    expect(attempt).toThrow(/lowercase letters[\s\S]*http:\/\/console[\s\S]*https:\/\/console\.example\.com\/app\//);
  });
});
