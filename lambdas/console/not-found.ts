import { HttpError } from '../core/errors';

/**
 * Something a console request names (environment, revision, application, commit, page) does not exist. A 404
 * whose message says what was looked for and where to look instead; never a stack trace.
 */
export class ConsoleNotFoundError extends HttpError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(404, message, { details });
  }
}
