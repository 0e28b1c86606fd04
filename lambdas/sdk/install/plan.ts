/**
 * Install planning: resolve a consumer manifest against the package index (transitively, with the same resolver
 * staging uses), honour an existing lock file while it still satisfies the manifest, and list the downloads.
 */
import semver from 'semver';
import type { IndexedFile, PackageIndex } from '../host/package-index';
import { indexReleases, lookupVersion } from '../host/package-index';
import { resolveSdks } from '../staging/resolver';
import { InstallResolutionError, LockFileError } from './errors';
import type { ConsumerManifest } from './manifest';
import type { LockedSdk, LockFile } from './lock-file';

export interface DownloadItem {
  readonly name: string;
  readonly version: string;
  readonly file: IndexedFile;
}

export interface InstallPlan {
  /** The lock file to write after the downloads verify. */
  readonly lock: LockFile;
  /** Every file of every locked SDK, in lock order. */
  readonly downloads: readonly DownloadItem[];
  /** True when the existing lock file was kept as it is. */
  readonly reusedLock: boolean;
  /** Deprecation notices for the chosen versions. */
  readonly warnings: readonly string[];
}

export interface PlanInstallInput {
  readonly manifest: ConsumerManifest;
  readonly index: PackageIndex;
  /** The existing lock file, if any. */
  readonly lock?: LockFile;
}

/**
 * Plans an install.
 *
 * The lock is kept as it is when every manifest range is met by its locked version, every locked version is
 * still listed with the same files, every locked dependency range holds, and it locks nothing the manifest no
 * longer needs. Otherwise the manifest is resolved again, keeping locked versions wherever they still fit.
 *
 * @throws InstallResolutionError when no published versions satisfy the manifest (with the explanation).
 * @throws LockFileError when the index lists a locked version with different files (a published version changed).
 * @example
 * const plan = planInstall({ manifest: parseConsumerManifest(text), index, lock: await readLockFile(LOCK_FILE_NAME) });
 */
export function planInstall(input: PlanInstallInput): InstallPlan {
  const { manifest, index, lock } = input;
  if (lock !== undefined) checkLockAgainstIndex(lock, index);
  if (lock !== undefined && lockStillFits(lock, manifest, index)) {
    // Same versions and files; only the recorded ranges follow the manifest.
    const kept: LockFile = { ...lock, requirements: sortRecord(manifest.sdks) };
    return { lock: kept, downloads: downloadsOf(kept), reusedLock: true, warnings: warningsFor(kept, index) };
  }
  const resolution = resolveSdks({
    available: indexReleases(index),
    requirements: manifest.sdks,
    preferred: Object.fromEntries((lock?.sdks ?? []).map((s) => [s.name, s.version])),
  });
  if (!resolution.ok) throw new InstallResolutionError(resolution);
  const sdks: LockedSdk[] = resolution.selected.map(({ name, version }) => {
    const found = lookupVersion(index, name, version);
    if (found.found !== 'listed') throw new Error(`resolver chose ${name} ${version}, which the index does not list`);
    return {
      name,
      version,
      tier: found.version.tier,
      dependencies: { ...found.version.dependencies },
      files: found.version.files.map((f) => ({ ...f })),
    };
  });
  const newLock: LockFile = { lockfileVersion: 1, requirements: sortRecord(manifest.sdks), sdks };
  return { lock: newLock, downloads: downloadsOf(newLock), reusedLock: false, warnings: warningsFor(newLock, index) };
}

/** A published version never changes: if the index disagrees with the lock about its files, stop. */
function checkLockAgainstIndex(lock: LockFile, index: PackageIndex): void {
  for (const locked of lock.sdks) {
    const found = lookupVersion(index, locked.name, locked.version);
    if (found.found !== 'listed') continue; // withdrawn or gone: re-resolution replaces it
    for (const file of locked.files) {
      const current = found.version.files.find((f) => f.name === file.name);
      if (current !== undefined && current.sha256 !== file.sha256) {
        throw new LockFileError(
          `${locked.name} ${locked.version} ${file.name} has SHA-256 ${current.sha256} in the index but ${file.sha256} in the lock file; ` +
            `a published version must never change, so report this to the SDK owner (or remove ${locked.name} from the lock file to accept the new file)`,
          { details: { name: locked.name, version: locked.version, file: file.name } },
        );
      }
    }
  }
}

function lockStillFits(lock: LockFile, manifest: ConsumerManifest, index: PackageIndex): boolean {
  const locked = new Map(lock.sdks.map((s) => [s.name, s]));
  for (const [name, range] of Object.entries(manifest.sdks)) {
    const entry = locked.get(name);
    if (entry === undefined || !semver.satisfies(entry.version, range)) return false;
  }
  for (const entry of lock.sdks) {
    if (lookupVersion(index, entry.name, entry.version).found !== 'listed') return false;
    for (const [dep, range] of Object.entries(entry.dependencies)) {
      const target = locked.get(dep);
      if (target === undefined || !semver.satisfies(target.version, range)) return false;
    }
  }
  // Everything locked must still be needed: reachable from the manifest.
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const dep of Object.keys(locked.get(name)?.dependencies ?? {})) visit(dep);
  };
  for (const name of Object.keys(manifest.sdks)) visit(name);
  return lock.sdks.every((s) => needed.has(s.name));
}

function downloadsOf(lock: LockFile): DownloadItem[] {
  return lock.sdks.flatMap((s) => s.files.map((file) => ({ name: s.name, version: s.version, file })));
}

function warningsFor(lock: LockFile, index: PackageIndex): string[] {
  const warnings: string[] = [];
  for (const s of lock.sdks) {
    const found = lookupVersion(index, s.name, s.version);
    if (found.found !== 'listed') continue;
    const { deprecated, deprecatedInFavorOf } = found.sdk;
    if (deprecatedInFavorOf !== undefined)
      warnings.push(`${s.name} is deprecated in favor of ${deprecatedInFavorOf}; plan to move to it`);
    else if (deprecated) warnings.push(`${s.name} is deprecated and will receive no new versions`);
  }
  return warnings;
}

function sortRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
