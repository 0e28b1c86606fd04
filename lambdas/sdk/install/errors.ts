import { SdkError } from '../model';
import type { ResolutionConflict } from '../staging/resolver';

/** Base of `lockstep sdk install` errors. */
export class InstallError extends SdkError {}

/** The consumer manifest is invalid; `problems` lists every problem with its path and the fix. */
export class ConsumerManifestError extends InstallError {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n- ${problems.join('\n- ')}`, {
      details: { source, problems },
    });
  }
}

/** No set of published versions satisfies the manifest; the conflict explains why. */
export class InstallResolutionError extends InstallError {
  constructor(readonly conflict: ResolutionConflict) {
    super(`No published versions satisfy the manifest: ${conflict.explanation}`, {
      details: { involved: conflict.involved },
    });
  }
}

/** The lock file cannot be read, or disagrees with the index about a published version's files. */
export class LockFileError extends InstallError {}

/** A downloaded file is not what the index promised. Nothing is kept. */
export class ChecksumMismatchError extends InstallError {
  /** SHA-256 the index lists. */
  readonly expected: string;
  /** SHA-256 of the bytes received (or what was wrong with their size). */
  readonly actual: string;

  constructor(
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; expected: string; actual: string },
  ) {
    super(message, options);
    this.expected = options.expected;
    this.actual = options.actual;
  }
}
