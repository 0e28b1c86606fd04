import { LockstepError } from '../lambdas/core/errors';

/** Base of every local-mode error: a local service failed to start, or was asked something it cannot do. */
export class LocalModeError extends LockstepError {}

/** A local service could not start (port, Java, data folder...). */
export class LocalServiceStartError extends LocalModeError {}

/** A local service was configured in a way it cannot run (unknown project, unbound Task, bad buildspec). */
export class LocalConfigurationError extends LocalModeError {}
