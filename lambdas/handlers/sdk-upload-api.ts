/**
 * HTTP API `POST /sdk/uploads`, `POST /sdk/uploads/{uploadId}/complete` and `GET /sdk/status`: presigned PUT URLs
 * into the SDK host, the completion signal that starts intake, and the status of pushed versions. Every request
 * carries a provider's bearer token (see `lambdas/sdk/service/credentials.ts`); logic in
 * `lambdas/sdk/service/uploads.ts`. Client errors answer with their message, anything else a plain 500.
 */
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  bodyLimit,
  errorHandler,
  httpRouter,
  jsonBodyParser,
  lazyHandler,
  securityHeaders,
} from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { HttpError } from '../core/errors';
import { header, json } from '../core/http';
import { providerFor } from '../sdk/service/credentials';
import type { Credential } from '../sdk/records/records';
import type { SdkServiceDependencies } from '../sdk/service/dependencies';
import { defaultSdkRuntime } from '../adapters/sdk-runtime';
import { completeUpload, createUpload, sdkStatus } from '../sdk/service/uploads';
import { pathParameter } from './sdk-download-api';

/** Largest request body: an upload request is a few hundred bytes. */
export const MAX_REQUEST_BYTES = 16 * 1024;

type Result = APIGatewayProxyStructuredResultV2;
/** The event once the provider is known: where an HTTP API Lambda authorizer would put the caller's identity. */
type Event = APIGatewayProxyEventV2 & { requestContext: { authorizer?: { lambda?: { provider?: Credential } } } };

function providerOf(event: Event): Credential {
  const provider = event.requestContext.authorizer?.lambda?.provider;
  if (provider === undefined) throw new Error('The provider was not authenticated before the route ran');
  return provider;
}

export function createHandler(
  deps: SdkServiceDependencies,
  { logger, metrics, ...o }: Observability = createObservability('sdk-upload-api'),
) {
  /** Every route needs a provider token: checked before any body is parsed or any route chosen. */
  const authenticate: MiddlewareObj<Event, Result> = {
    before: async (request) => {
      const provider = await providerFor(deps.store, header(request.event, 'authorization'), new Date(deps.clock()));
      logger.appendKeys({ provider: provider.id });
      request.event.requestContext.authorizer = { lambda: { provider } };
    },
  };

  const create = async (event: Event): Promise<Result> => {
    // The body was parsed by the JSON body parser (an empty body is an empty request, refused by its schema).
    const grant = await createUpload(deps, providerOf(event), (event as { body?: unknown }).body);
    metrics.addMetric('SdkUploadsGranted', 'Count', 1);
    // The presigned URLs are credentials: they go to the client only, never to the logs.
    logger.info('Upload granted', { uploadId: grant.uploadId, key: grant.artifacts.key, batchId: grant.batchId });
    return json(201, grant);
  };

  const complete = async (event: Event): Promise<Result> => {
    const uploadId = pathParameter(event, 'uploadId');
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new HttpError(404, `No upload ${uploadId} of yours exists`);
    const done = await completeUpload(deps, providerOf(event), uploadId);
    logger.info('Upload completed', { uploadId, execution: done.execution, started: done.started });
    return json(202, done);
  };

  const status = async (event: Event): Promise<Result> => {
    const query = event.queryStringParameters ?? {};
    const versions = await sdkStatus(deps, providerOf(event), {
      ...(query.name ? { name: query.name } : {}),
      ...(query.version ? { version: query.version } : {}),
    });
    return json(200, { versions });
  };

  return (
    middy<Event, Result>()
      // Used first so that their onError run last: client errors keep their message, others a plain 500, then headers.
      .use(securityHeaders())
      .use(errorHandler(logger))
      .use(observability({ logger, metrics, ...o }))
      .use(bodyLimit(MAX_REQUEST_BYTES))
      .use(authenticate)
      .handler(
        httpRouter<Event, Result>([
          {
            method: 'POST',
            path: '/sdk/uploads',
            handler: middy<Event, Result>()
              .use(jsonBodyParser({ emptyBody: {} }))
              .handler(create),
          },
          { method: 'POST', path: '/sdk/uploads/{uploadId}/complete', handler: complete },
          { method: 'GET', path: '/sdk/status', handler: status },
        ]),
      )
  );
}

export const handler = lazyHandler(() => createHandler(defaultSdkRuntime().serviceDependencies()));
