/**
 * HTTP API `GET /sdk/index` and `GET /sdk/download/{name}/{version}` (`?file=` a file other than the package zip,
 * `?redirect=true` for a 302 instead of JSON). A consumer's bearer token names its groups; no token is an
 * anonymous consumer who sees and downloads public packages only. Downloads go through `decideDownload`: 200 with
 * a CloudFront URL (signed for private and early-access, bound to the consumer's IPv4 range when its group has
 * one), or 403 / 404 / 410 with a message that says why. Logic in `lambdas/sdk/service/downloads.ts`.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorHandler, httpRouter, lazyHandler, securityHeaders } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { decideDownload } from '../sdk/host/download';
import { header, json } from '../core/http';
import { consumerFor } from '../sdk/service/credentials';
import { indexFor } from '../sdk/service/downloads';
import { readIndex } from '../sdk/service/publish';
import { defaultSdkRuntime, type DownloadDependencies } from '../adapters/sdk-runtime';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

/**
 * A path parameter, decoded. API Gateway passes them decoded; where none came with the event, `@middy/http-router`
 * fills them from the path as sent (still encoded). A lone `%` stays as it is.
 */
export function pathParameter(event: Event, name: string): string {
  const value = event.pathParameters?.[name] ?? '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function createHandler(
  deps: DownloadDependencies,
  { logger, metrics, ...o }: Observability = createObservability('sdk-download-api'),
) {
  const consumerAndIndex = async (event: Event) => {
    const now = new Date(deps.clock());
    const consumer = await consumerFor(deps.store, header(event, 'authorization'), now);
    const index = await readIndex(deps.objects, deps.config.packageHostBucket, now.getTime());
    return { now, consumer, index };
  };

  const packageIndex = async (event: Event): Promise<Result> => {
    const { consumer, index } = await consumerAndIndex(event);
    return json(200, indexFor(index, consumer, deps.access));
  };

  const download = async (event: Event): Promise<Result> => {
    const { now, consumer, index } = await consumerAndIndex(event);
    const name = pathParameter(event, 'name');
    const version = pathParameter(event, 'version');
    const query = event.queryStringParameters ?? {};
    const sourceIp = event.requestContext?.http?.sourceIp ?? '';
    const decision = decideDownload(
      { consumer, sourceIp, name, version, ...(query.file ? { file: query.file } : {}) },
      { index, access: deps.access, signer: await deps.signer(), now, ttlSeconds: deps.ttlSeconds },
    );
    if (!decision.ok) {
      metrics.addMetric('SdkDownloadsRefused', 'Count', 1);
      logger.warn('Download refused', {
        consumer: consumer.id,
        sdk: `${name}@${version}`,
        code: decision.refusal.code,
      });
      return json(decision.refusal.status, { code: decision.refusal.code, message: decision.refusal.message });
    }
    metrics.addMetric('SdkDownloadsIssued', 'Count', 1);
    // The URL is a credential: logged without it.
    logger.info('Download issued', {
      consumer: consumer.id,
      sdk: `${name}@${version}`,
      policy: decision.policy,
      expiresAt: decision.expiresAt,
    });
    const body = {
      url: decision.url,
      policy: decision.policy,
      ...(decision.expiresAt !== undefined ? { expiresAt: decision.expiresAt } : {}),
      file: decision.file,
    };
    const response = json(query.redirect === 'true' ? 302 : 200, body);
    if (query.redirect === 'true') response.headers = { ...response.headers, Location: decision.url };
    return response;
  };

  return (
    middy<Event, Result>()
      // Used first so that their onError run last: client errors keep their message, others a plain 500, then headers.
      .use(securityHeaders())
      .use(errorHandler(logger))
      .use(observability({ logger, metrics, ...o }))
      .handler(
        httpRouter<Event, Result>([
          { method: 'GET', path: '/sdk/index', handler: packageIndex },
          { method: 'GET', path: '/sdk/download/{name}/{version}', handler: download },
        ]),
      )
  );
}

export const handler = lazyHandler(() => createHandler(defaultSdkRuntime().downloadDependencies()));
