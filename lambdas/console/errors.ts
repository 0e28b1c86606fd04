/**
 * Errors of the web console. Both are `HttpError`s so `@middy/http-error-handler` answers them with their status
 * and message; the message says what is wrong and what to do, never who else may do what.
 */
import { HttpError } from '../core/errors';

/** The request carries no verified identity (no authorizer claims): the browser should send the user to login. */
export class UnauthenticatedError extends HttpError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(401, message, options);
  }
}

/** The identity is known but its groups do not allow the action; `details` carries user, action and groups. */
export class ForbiddenError extends HttpError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(403, message, options);
  }
}
