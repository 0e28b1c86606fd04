/**
 * Errors of the SDK publishing service (the runtime around staging, converter and host). Each `name` is what the
 * SDK publishing state machine's Retry/Catch and the HTTP handlers match on: renaming a class is a contract change
 * (see `statemachines/sdk-publishing.asl.json`).
 */
import { SdkError } from '../model';

/** Base of the service's errors. */
export class SdkServiceError extends SdkError {}

/** A step or API input did not have the expected shape. */
export class SdkInputError extends SdkServiceError {}

/** Something the input names (upload, version, object) does not exist. */
export class SdkNotFoundError extends SdkServiceError {}

/** A conditional write lost to a concurrent writer; retrying reads the new state. */
export class SdkConcurrentUpdateError extends SdkServiceError {}

/** The version is already published (or on its way): a published version never changes, publish a new one. */
export class VersionExistsError extends SdkServiceError {}

/** Another publication is writing the index right now; retry shortly. */
export class IndexBusyError extends SdkServiceError {}
