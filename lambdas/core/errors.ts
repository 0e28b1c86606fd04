/**
 * Base of every Lockstep error. Each domain derives one base from it (`ConfigError`, `LockError`, ...), names end
 * in `Error`, `name` is set so Step Functions Retry/Catch can match on it, and the original stays in `cause`.
 */
export class LockstepError extends Error {
  /** Ids that help an operator find the thing that failed (promotion, revision, environment, request...). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/**
 * An error answered to an HTTP client. Under 500 the message is shown; anything else becomes a plain 500 without
 * internals (`@middy/http-error-handler` reads `statusCode` and `expose`). Shared by every HTTP handler.
 */
export class HttpError extends LockstepError {
  readonly statusCode: number;
  readonly expose: boolean;

  constructor(
    statusCode: number,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options);
    this.statusCode = statusCode;
    this.expose = statusCode < 500;
  }
}

/** Thrown when a required environment variable is missing. Read configuration once, at cold start. */
export class MissingEnvironmentVariableError extends LockstepError {}

/** Reads an environment variable or throws naming it. Call at module scope so a bad deploy fails at cold start. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new MissingEnvironmentVariableError(`Environment variable ${name} is not set`, { details: { name } });
  }
  return value;
}
