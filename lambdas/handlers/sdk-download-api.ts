/**
 * HTTP API `GET /sdk/index` and `GET /sdk/download/{name}/{version}` (`?file=` a file other than the package zip,
 * `?redirect=true` for a 302 instead of JSON). A consumer's bearer token names its groups; no token is an
 * anonymous consumer who sees and downloads public packages only. Downloads go through `decideDownload`: 200 with
 * a CloudFront URL (signed for private and early-access, bound to the consumer's IPv4 range when its group has
 * one), or 403 / 404 / 410 with a message that says why. Logic in `lambdas/sdk/service/downloads.ts`.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorHandler, securityHeaders } from '../adapters/middleware';
import { logger, metrics, observability } from '../adapters/observability';
import { decideDownload } from '../sdk/host/download';
import { header, json } from '../core/http';
import { consumerFor } from '../sdk/service/credentials';
import { indexFor } from '../sdk/service/downloads';
import { HttpError } from '../core/errors';
import { readIndex } from '../sdk/service/publish';
import { downloadDependencies } from '../adapters/sdk-runtime';

const deps = downloadDependencies();

async function handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = (event.requestContext?.http?.method ?? '').toUpperCase();
  if (method !== 'GET') throw new HttpError(405, 'Use GET');
  const now = new Date(deps.clock());
  const consumer = await consumerFor(deps.store, header(event, 'authorization'), now);
  const index = await readIndex(deps.objects, deps.config.packageHostBucket, now.getTime());
  const path = event.rawPath ?? '';

  if (/\/sdk\/index\/?$/.test(path)) return json(200, indexFor(index, consumer, deps.access));

  const match = /\/sdk\/download\/([^/]+)\/([^/]+)\/?$/.exec(path);
  if (match === null) throw new HttpError(404, `No route GET ${path}`);
  const name = event.pathParameters?.name ?? decodeURIComponent(match[1]!);
  const version = event.pathParameters?.version ?? decodeURIComponent(match[2]!);
  const query = event.queryStringParameters ?? {};
  const sourceIp = event.requestContext?.http?.sourceIp ?? '';
  const decision = decideDownload(
    { consumer, sourceIp, name, version, ...(query.file ? { file: query.file } : {}) },
    { index, access: deps.access, signer: await deps.signer(), now, ttlSeconds: deps.ttlSeconds },
  );
  if (!decision.ok) {
    metrics.addMetric('SdkDownloadsRefused', 'Count', 1);
    logger.warn('Download refused', { consumer: consumer.id, sdk: `${name}@${version}`, code: decision.refusal.code });
    return json(decision.refusal.status, { code: decision.refusal.code, message: decision.refusal.message });
  }
  metrics.addMetric('SdkDownloadsIssued', 'Count', 1);
  // The URL is a credential: logged without it.
  logger.info('Download issued', { consumer: consumer.id, sdk: `${name}@${version}`, policy: decision.policy, expiresAt: decision.expiresAt });
  const body = { url: decision.url, policy: decision.policy, ...(decision.expiresAt !== undefined ? { expiresAt: decision.expiresAt } : {}), file: decision.file };
  if (query.redirect === 'true') return { ...json(302, body), headers: { ...json(302, body).headers, Location: decision.url } };
  return json(200, body);
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(securityHeaders())
  .use(errorHandler())
  .use(observability('sdk-download-api'))
  .handler(handle);
