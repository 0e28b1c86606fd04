/**
 * HTTP API `POST /sdk/uploads`, `POST /sdk/uploads/{uploadId}/complete` and `GET /sdk/status`: presigned PUT URLs
 * into the SDK host, the completion signal that starts intake, and the status of pushed versions. Every request
 * carries a provider's bearer token (see `lambdas/sdk/service/credentials.ts`); logic in
 * `lambdas/sdk/service/uploads.ts`. Client errors answer with their message, anything else a plain 500.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorHandler, securityHeaders } from '../adapters/middleware';
import { logger, metrics, observability } from '../adapters/observability';
import { header, json, rawBody } from '../core/http';
import { providerFor } from '../sdk/service/credentials';
import { HttpError } from '../core/errors';
import { serviceDependencies } from '../adapters/sdk-runtime';
import { completeUpload, createUpload, sdkStatus } from '../sdk/service/uploads';

/** Largest request body: an upload request is a few hundred bytes. */
export const MAX_REQUEST_BYTES = 16 * 1024;

const deps = serviceDependencies();

function parseJsonBody(event: APIGatewayProxyEventV2): unknown {
  const body = rawBody(event);
  if (body.length > MAX_REQUEST_BYTES) throw new HttpError(413, `The request body is over ${MAX_REQUEST_BYTES} bytes`);
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'The request body is not JSON');
  }
}

async function handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = (event.requestContext?.http?.method ?? '').toUpperCase();
  const path = event.rawPath ?? '';
  const provider = await providerFor(deps.store, header(event, 'authorization'), new Date(deps.clock()));
  logger.appendKeys({ provider: provider.id });

  if (method === 'POST' && /\/sdk\/uploads\/?$/.test(path)) {
    const grant = await createUpload(deps, provider, parseJsonBody(event));
    metrics.addMetric('SdkUploadsGranted', 'Count', 1);
    // The presigned URLs are credentials: they go to the client only, never to the logs.
    logger.info('Upload granted', { uploadId: grant.uploadId, key: grant.artifacts.key, batchId: grant.batchId });
    return json(201, grant);
  }
  const complete = /\/sdk\/uploads\/([^/]+)\/complete\/?$/.exec(path);
  if (method === 'POST' && complete !== null) {
    const uploadId = event.pathParameters?.uploadId ?? decodeURIComponent(complete[1]!);
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new HttpError(404, `No upload ${uploadId} of yours exists`);
    const done = await completeUpload(deps, provider, uploadId);
    logger.info('Upload completed', { uploadId, execution: done.execution, started: done.started });
    return json(202, done);
  }
  if (method === 'GET' && /\/sdk\/status\/?$/.test(path)) {
    const query = event.queryStringParameters ?? {};
    const versions = await sdkStatus(deps, { ...(query.name ? { name: query.name } : {}), ...(query.version ? { version: query.version } : {}) });
    return json(200, { versions });
  }
  throw new HttpError(404, `No route ${method} ${path}`);
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  // Used first so that their onError run last: client errors keep their message, others a plain 500, then headers.
  .use(securityHeaders())
  .use(errorHandler())
  .use(observability('sdk-upload-api'))
  .handler(handle);
