/**
 * HTTP API pieces shared by `DeploymentSystem` and `SdkPublisher`.
 */
import * as apigateway from 'aws-cdk-lib/aws-apigateway';

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
