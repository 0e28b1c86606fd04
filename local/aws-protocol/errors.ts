import { LocalModeError } from '../errors';

/**
 * An error a local AWS API answers with. `code` becomes `__type` (JSON protocols) or `<Code>` (query protocol), which
 * is what the AWS SDK v3 maps to its exception classes (`ExecutionAlreadyExists`, `ResourceNotFoundException`...).
 */
export class AwsApiError extends LocalModeError {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause, details: { code } });
    this.code = code;
    this.statusCode = options.statusCode ?? 400;
  }
}

/** The SDK's generic client-side validation error, for a request missing a required member. */
export function validationError(message: string): AwsApiError {
  return new AwsApiError('ValidationException', message);
}

/** Reads a required string member of a request, or answers with the error AWS gives for it. */
export function requireString(input: Record<string, unknown>, member: string): string {
  const value = input[member];
  if (typeof value !== 'string' || value === '')
    throw validationError(
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}
