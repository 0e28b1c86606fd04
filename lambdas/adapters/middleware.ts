/** middy middlewares shared by the HTTP handlers. */
import type { MiddlewareObj } from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import { SECURITY_HEADERS } from '../promotion/http';
import { logger } from './observability';

/** Adds the security headers to every response, error responses included (its `onError` runs after the error handler's). */
export function securityHeaders(): MiddlewareObj {
  const apply = async (request: { response?: unknown }) => {
    const response = request.response as { headers?: Record<string, string> } | undefined;
    if (response && typeof response === 'object') response.headers = { ...SECURITY_HEADERS, ...(response.headers ?? {}) };
  };
  return { after: apply, onError: apply };
}

/**
 * The error handler: client errors (under 500) answered with their message, everything else a plain 500 without
 * internals. Client errors are logged as warnings, server errors with their stack.
 */
export function errorHandler(): MiddlewareObj {
  return httpErrorHandler({
    fallbackMessage: 'Internal error',
    logger: (error: { statusCode?: number; message?: string; name?: string }) => {
      if (typeof error.statusCode === 'number' && error.statusCode < 500) logger.warn('Request refused', { status: error.statusCode, reason: error.message });
      else logger.error('Request failed', error);
    },
  });
}
