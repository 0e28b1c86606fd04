/**
 * Powertools logger, metrics and tracer, one of each per cold start, and the middy middlewares every handler
 * starts with. Tracing is on only inside Lambda (Powertools turns it off elsewhere), so local mode runs the same code.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { codebuild, dynamodb, s3, secretsManager, sfn, sns } from './aws-clients';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lockstep' });
// Metrics' own warnings (an invocation with no metrics, a dimension set twice) go through the logger, so they are
// structured on AWS and follow POWERTOOLS_LOG_LEVEL instead of writing to stderr directly.
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Lockstep',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lockstep',
  logger,
});
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lockstep' });

for (const client of [dynamodb, s3, codebuild, sfn, sns, secretsManager]) tracer.captureAWSv3Client(client);

/** Logger context, tracing and metrics, in that order; `handlerName` becomes a metrics dimension. */
export function observability(handlerName: string): MiddlewareObj[] {
  metrics.setDefaultDimensions({ handler: handlerName });
  return [
    injectLambdaContext(logger, { resetKeys: true }),
    captureLambdaHandler(tracer, { captureResponse: false }),
    logMetrics(metrics),
  ] as MiddlewareObj[];
}
