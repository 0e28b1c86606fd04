/** middy middlewares shared by the HTTP handlers, and the lazy Lambda entry point every handler module exports. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpRouterHandler from '@middy/http-router';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { Context } from 'aws-lambda';
import { HttpError } from '../core/errors';
import { rawBody } from '../core/http';

/**
 * The Lambda entry point of a handler module: `create()` builds the handler with its default dependencies at the
 * first invocation of a cold start and keeps it, so importing the module (tests, local mode) reads no environment.
 */
export function lazyHandler<E, R>(
  create: () => (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  let built: ((event: E, context: Context) => Promise<R>) | undefined;
  // async: a missing variable rejects the invocation (Lambda reports it) instead of throwing out of the call.
  return async (event, context) => (built ??= create())(event, context);
}

/**
 * The security headers of every response, error responses included (its `onError` runs after the error handler's):
 * `@middy/http-security-headers` (HSTS, nosniff, no referrer; for HTML also the CSP and frame options), plus
 * `Cache-Control: no-store`, as answers carry signed links and per-caller data. The HTML policy allows what the
 * approval pages use and nothing else: inline styles, and forms posting back to this origin.
 */
export function securityHeaders(): MiddlewareObj {
  const helmet = httpSecurityHeaders({
    contentSecurityPolicy: {
      'default-src': "'none'",
      'style-src': "'unsafe-inline'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      // Dropped from middy's defaults: a sandbox blocks the approval form, navigate-to is gone from browsers, and
      // local mode serves plain http on loopback, where upgrade-insecure-requests would break the form.
      sandbox: undefined,
      'navigate-to': undefined,
      'report-to': undefined,
      'upgrade-insecure-requests': undefined,
    },
    // No reporting endpoint exists, and the Lambda answer has no server banner to hide.
    reportTo: false,
    reportingEndpoints: false,
    xssProtection: { reportTo: undefined },
    poweredBy: false,
  } as unknown as Parameters<typeof httpSecurityHeaders>[0]);
  const noStore = async (request: { response?: unknown }) => {
    const response = request.response as { headers?: Record<string, unknown> } | undefined;
    if (response?.headers && response.headers['Cache-Control'] === undefined)
      response.headers['Cache-Control'] = 'no-store';
  };
  return {
    after: async (request) => {
      await helmet.after!(request);
      await noStore(request);
    },
    onError: async (request) => {
      await helmet.onError!(request);
      await noStore(request);
    },
  };
}

/**
 * The error handler: client errors (under 500) answered with their message, everything else a plain 500 without
 * internals. Client errors are logged as warnings, server errors with their stack.
 */
export function errorHandler(logger: Logger): MiddlewareObj {
  return httpErrorHandler({
    fallbackMessage: 'Internal error',
    logger: (error: { statusCode?: number; message?: string; name?: string }) => {
      if (typeof error.statusCode === 'number' && error.statusCode < 500)
        logger.warn('Request refused', { status: error.statusCode, reason: error.message });
      else logger.error('Request failed', error);
    },
  });
}

/** Refuses a body over `maxBytes` with 413, before anything reads it. */
export function bodyLimit(maxBytes: number): MiddlewareObj {
  return {
    before: async (request) => {
      if (rawBody(request.event as { body?: string; isBase64Encoded: boolean }).length > maxBytes) {
        throw new HttpError(413, `The request body is over ${maxBytes} bytes`);
      }
    },
  };
}

/**
 * `@middy/http-json-body-parser` (the parsed body replaces `event.body`), answering a body that is not JSON with
 * 400 and what to send instead of middy's 415, which would tell the caller to change a content type that is right.
 */
export function jsonBodyParser(options: { emptyBody?: unknown } = {}): MiddlewareObj {
  // Content types are each handler's policy (the webhook also takes GitHub's form encoding); middy 6 has the
  // option, its type declarations do not.
  const parser = httpJsonBodyParser({ disableContentTypeCheck: true } as Parameters<
    typeof httpJsonBodyParser
  >[0]) as MiddlewareObj;
  return {
    before: async (request) => {
      const event = request.event as { body?: unknown };
      if ((event.body === undefined || event.body === '') && 'emptyBody' in options) {
        event.body = options.emptyBody;
        return;
      }
      try {
        await parser.before!(request);
      } catch (cause) {
        throw new HttpError(400, 'The request body is not valid JSON: send a JSON object', { cause });
      }
    },
  };
}

/** A route of `httpRouter`. */
export interface Route<E, R> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly handler: (event: E, context: Context) => Promise<R>;
}

/**
 * `@middy/http-router` over typed routes: the route's handler by method and path (`{name}` parameters go to
 * `event.pathParameters`), 404 for anything else. Its own declarations type handlers for every event format.
 */
export function httpRouter<E, R>(routes: readonly Route<E, R>[]): (event: E, context: Context) => Promise<R> {
  return httpRouterHandler(routes as unknown as Parameters<typeof httpRouterHandler>[0]) as unknown as (
    event: E,
    context: Context,
  ) => Promise<R>;
}
