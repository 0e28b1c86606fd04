/**
 * Powertools logger, metrics and tracer, one set per handler instance, and the middy middlewares every handler
 * starts with. Tracing is on only inside Lambda (Powertools turns it off elsewhere), so local mode runs the same code.
 * A set is built when a handler is created (on Lambda: at the first invocation of a cold start), not when a module
 * loads, so local mode's log level and its metrics switch (`POWERTOOLS_*`) apply to the handlers it creates.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import type { AwsClients } from './aws-clients';

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/** A logger, metrics and tracer for one handler; `handlerName` becomes a metrics dimension. */
export function createObservability(handlerName: string, env: NodeJS.ProcessEnv = process.env): Observability {
  const serviceName = env.POWERTOOLS_SERVICE_NAME ?? 'lockstep';
  const logger = new Logger({ serviceName });
  // Metrics' own warnings (an invocation with no metrics, a dimension set twice) go through the logger, so they are
  // structured on AWS and follow POWERTOOLS_LOG_LEVEL instead of writing to stderr directly.
  const metrics = new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'Lockstep',
    serviceName,
    logger,
    defaultDimensions: { handler: handlerName },
  });
  return { logger, metrics, tracer: new Tracer({ serviceName }) };
}

/** Logger context, tracing and metrics, in that order. */
export function observability({ logger, metrics, tracer }: Observability): MiddlewareObj[] {
  return [
    injectLambdaContext(logger, { resetKeys: true }),
    captureLambdaHandler(tracer, { captureResponse: false }),
    logMetrics(metrics),
  ] as MiddlewareObj[];
}

const traced = new WeakSet<AwsClients>();

/** X-Ray subsegments for every AWS call of these clients (a no-op outside Lambda); a set is instrumented once. */
export function traceAwsClients(clients: AwsClients): AwsClients {
  if (traced.has(clients)) return clients;
  traced.add(clients);
  const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lockstep' });
  for (const client of Object.values(clients)) tracer.captureAWSv3Client(client);
  return clients;
}
