import { SdkError } from '../model';

/**
 * What made an archive hostile. Each is checked on the central directory before anything is written; the size rules
 * are checked again while streaming, on the bytes actually decompressed, because header sizes can lie.
 */
export type HostileArchiveRule =
  | 'too-many-entries'
  | 'unsafe-path'
  | 'symbolic-link'
  | 'duplicate-entry'
  | 'encrypted-entry'
  | 'total-size'
  | 'compression-ratio'
  | 'total-compression-ratio'
  | 'size-mismatch'
  | 'crc-mismatch'
  | 'nested-archive'
  | 'overlapping-entries'
  | 'unsupported-compression';

const FIXES: Record<HostileArchiveRule, string> = {
  'too-many-entries':
    'package fewer files (for example zip a folder of resources as one entry), or raise the limit for this SDK',
  'unsafe-path':
    'create the archive from inside the SDK folder with relative paths and forward slashes (e.g. `cd sdk && zip -r ../sdk.zip .`)',
  'symbolic-link':
    'replace symbolic links with the files they point to (`zip -r` without `-y`), or use an .xcframework that holds no links',
  'duplicate-entry':
    'keep one entry per path; paths that differ only in letter case or Unicode form count as the same path',
  'encrypted-entry':
    'upload the archive without a password; access is controlled by the package tier, not by zip encryption',
  'total-size': 'remove what the package does not need (debug symbols, build folders), or raise the limit for this SDK',
  'compression-ratio':
    'entries must not inflate far beyond their stored size; re-create the archive with a standard zip tool',
  'total-compression-ratio':
    "the entries together must not inflate far beyond the archive's size (many small entries of zeros are a zip bomb); remove the filler or ship the data compressed",
  'size-mismatch': 're-create the archive with a standard zip tool; its headers disagree with its data',
  'crc-mismatch':
    'the archive was damaged in transit or on disk; re-create it with a standard zip tool, check it with `unzip -t`, and upload it again',
  'nested-archive':
    'ship the files of the inner archive unpacked, or as a zip (.zip, .jar, .aar), which is inspected under the same limits; other formats (bzip2, xz, 7z, zstd) cannot be checked',
  'overlapping-entries': 're-create the archive with a standard zip tool; entries must not share data',
  'unsupported-compression': 'use deflate or no compression (the default of `zip` and most tools)',
};

/** An archive was refused as hostile; nothing was written. `entry` names the offending entry as stored. */
export class HostileArchiveError extends SdkError {
  readonly entry: string;
  readonly rule: HostileArchiveRule;
  readonly problem: string;
  readonly fix: string;

  constructor(entry: string, rule: HostileArchiveRule, problem: string, options: { cause?: unknown } = {}) {
    super(`Archive refused (${rule}): entry "${entry}" ${problem}. Fix: ${FIXES[rule]}`, {
      ...options,
      details: { entry, rule },
    });
    this.entry = entry;
    this.rule = rule;
    this.problem = problem;
    this.fix = FIXES[rule];
  }

  /** The same refusal, seen from the archive that holds this one: `outer.aar!classes.jar`. */
  within(outerEntry: string): HostileArchiveError {
    return new HostileArchiveError(`${outerEntry}!${this.entry}`, this.rule, this.problem, { cause: this });
  }
}

/** The input is not a readable zip archive (truncated, not a zip, corrupt central directory). */
export class InvalidArchiveError extends SdkError {}

/** Two input entries map to the same place in the package's folder hierarchy. */
export class PackageLayoutError extends SdkError {
  constructor(
    readonly target: string,
    readonly entries: readonly [string, string],
  ) {
    super(
      `Entries "${entries[0]}" and "${entries[1]}" would both become "${target}" in the package. ` +
        'Fix: keep one of them, or move one into a sub-folder (see the folder mapping in the converter docs)',
      { details: { target, entries } },
    );
  }
}

/** The output could not be written or committed (the sink failed); the partial output was discarded. */
export class PackageSinkError extends SdkError {}
