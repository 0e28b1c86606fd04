import { SdkError } from '../model';

/** Base of staging errors (resolution input, staging area consistency). */
export class StagingError extends SdkError {}

/**
 * The resolver was given something it cannot reason about: a version that is not semver, or a dependency range
 * that does not parse. Metadata validation normally catches these first; this names the SDK and the bad value.
 */
export class ResolutionInputError extends StagingError {}
