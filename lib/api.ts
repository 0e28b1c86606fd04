/**
 * HTTP API pieces shared by `DeploymentSystem` and `SdkPublisher`.
 */
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type { Construct } from 'constructs';
import { buildLogGroup, type LogGroupDefaults } from './log-groups';

export interface LockstepHttpApiOptions {
  readonly apiName: string;
  readonly description: string;
  readonly throttle: apigwv2.ThrottleSettings;
  readonly logDefaults: LogGroupDefaults;
}

/**
 * The HTTP API `Api` in `scope` with its `$default` stage `ApiStage`: auto-deployed, throttled, JSON access logs
 * to `ApiAccessLogs`.
 */
export function buildHttpApi(scope: Construct, options: LockstepHttpApiOptions): apigwv2.HttpApi {
  const api = new apigwv2.HttpApi(scope, 'Api', {
    apiName: options.apiName,
    description: options.description,
    createDefaultStage: false,
  });
  new apigwv2.HttpStage(scope, 'ApiStage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: options.throttle,
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(buildLogGroup(scope, 'ApiAccessLogs', options.logDefaults)),
      format: apigwv2AccessLogFormat(),
    },
  });
  return api;
}

/**
 * JSON access log lines. Route keys and paths only, never query strings (an approval link carries its signature
 * in the query) nor headers (SDK API bearer tokens travel in `Authorization`).
 */
export function apigwv2AccessLogFormat(): apigateway.AccessLogFormat {
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      time: '$context.requestTime',
      ip: '$context.identity.sourceIp',
      userAgent: '$context.identity.userAgent',
      method: '$context.httpMethod',
      route: '$context.routeKey',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      latencyMs: '$context.responseLatency',
      integrationError: '$context.integrationErrorMessage',
    }),
  );
}

/**
 * Route-level throttles on `stage` by route key (`POST /webhooks/github`), each overriding the stage's default
 * for that route only, so one noisy route cannot use up the others' share.
 */
export function throttleRoutes(
  stage: apigwv2.IHttpStage,
  throttles: Readonly<Record<string, apigwv2.ThrottleSettings>>,
): void {
  const cfn = stage.node.defaultChild as apigwv2.CfnStage;
  for (const [routeKey, throttle] of Object.entries(throttles)) {
    cfn.addPropertyOverride(`RouteSettings.${routeKey}`, {
      ThrottlingRateLimit: throttle.rateLimit,
      ThrottlingBurstLimit: throttle.burstLimit,
    });
  }
}
