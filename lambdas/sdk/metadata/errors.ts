import { SdkError } from '../model';

/** One thing wrong with an SDK's metadata: where, what, and how to fix it. */
export interface MetadataProblem {
  /** Path of the field, e.g. `platform.minimumVersion`, `dependencies.analytics`, `authors[1]`; `(document)` for the file. */
  readonly field: string;
  readonly message: string;
  readonly fix: string;
}

/**
 * Metadata was refused. `problems` holds every problem found, so a provider fixes them all in one round; the
 * message lists them too, for logs and the CLI.
 */
export class MetadataError extends SdkError {
  readonly problems: readonly MetadataProblem[];

  constructor(
    problems: readonly MetadataProblem[],
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(
      `SDK metadata has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p.field}: ${p.message} (fix: ${p.fix})`).join('\n'),
      options,
    );
    this.problems = Object.freeze([...problems]);
  }
}
