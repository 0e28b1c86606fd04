/**
 * The index published with the packages: every SDK, its listed versions (checksums, deprecations, tier, object
 * keys) and its withdrawn versions. `lockstep sdk install` resolves against it; the download API looks files up in it.
 */
import semver from 'semver';
import type { AccessTier, SdkMetadata } from '../model';
import type { SdkRelease } from '../staging/resolver';
import { HostError } from './errors';
import { packageKey } from './keys';

/** One file of a published version, as stored. */
export interface PublishedFile {
  /** File name, e.g. `maps-2.0.0.zip`; no `/`. */
  readonly name: string;
  /** Lower-case hex SHA-256. */
  readonly sha256: string;
  readonly size: number;
}

/** A version that went through publication (supported or not). */
export interface PublishedPackage {
  readonly metadata: SdkMetadata;
  readonly files: readonly PublishedFile[];
}

export interface IndexedFile extends PublishedFile {
  /** Object key in the package host bucket. */
  readonly key: string;
}

export interface IndexedVersion {
  readonly version: string;
  readonly tier: AccessTier;
  readonly deprecated: boolean;
  readonly deprecatedInFavorOf?: string;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly platform: SdkMetadata['platform'];
  readonly files: readonly IndexedFile[];
}

export interface WithdrawnVersion {
  readonly version: string;
  /** Keys to delete from the bucket (the version is no longer supported). */
  readonly keys: readonly string[];
}

export interface IndexedSdk {
  readonly name: string;
  readonly publicName: string;
  readonly summary: string;
  readonly homepage: string;
  /** Newest listed stable version (newest prerelease when there is no stable one); undefined if none is listed. */
  readonly latest?: string;
  /** The SDK's deprecation, as its newest supported version declares it. */
  readonly deprecated: boolean;
  readonly deprecatedInFavorOf?: string;
  /** Listed versions, newest first. */
  readonly versions: readonly IndexedVersion[];
  /** Unsupported versions: absent from `versions`, their files removed from the host. */
  readonly withdrawn: readonly WithdrawnVersion[];
}

export interface PackageIndex {
  readonly formatVersion: 1;
  readonly generatedAt: string;
  /** Sorted by name. */
  readonly sdks: readonly IndexedSdk[];
}

const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Builds the index from every version that went through publication. Deterministic: the same input gives the same
 * JSON, whatever its order.
 *
 * @throws HostError on a duplicate version, a file name that cannot be an object key, or a malformed checksum.
 * @example
 * const index = buildIndex(published, { generatedAt: new Date().toISOString() });
 * await s3.putObject({ Key: INDEX_KEY, Body: JSON.stringify(index) });
 */
export function buildIndex(published: readonly PublishedPackage[], options: { generatedAt: string }): PackageIndex {
  const byName = new Map<string, PublishedPackage[]>();
  for (const pkg of published) {
    const { name, version } = pkg.metadata;
    const list = byName.get(name) ?? [];
    if (list.some((p) => p.metadata.version === version)) {
      throw new HostError(`${name} ${version} is listed twice among published packages; publish each version once`, {
        details: { name, version },
      });
    }
    for (const file of pkg.files) {
      if (!SAFE_FILE_NAME.test(file.name)) {
        throw new HostError(
          `${name} ${version} has a file named "${file.name}", which cannot be an object key; use letters, digits, ".", "_", "+" and "-"`,
          {
            details: { name, version, file: file.name },
          },
        );
      }
      if (!SHA256.test(file.sha256)) {
        throw new HostError(
          `${name} ${version} file ${file.name} has checksum "${file.sha256}"; expected 64 lower-case hex digits of SHA-256`,
          {
            details: { name, version, file: file.name },
          },
        );
      }
    }
    list.push(pkg);
    byName.set(name, list);
  }

  const sdks: IndexedSdk[] = [...byName.keys()].sort().map((name) => {
    const versions = byName.get(name)!.sort((a, b) => semver.rcompare(a.metadata.version, b.metadata.version));
    const listed = versions.filter((p) => p.metadata.supported);
    const newest = listed[0]?.metadata ?? versions[0]!.metadata;
    const stable = listed.find((p) => semver.prerelease(p.metadata.version) === null);
    return {
      name,
      publicName: newest.publicName,
      summary: newest.summary,
      homepage: newest.homepage,
      ...((stable ?? listed[0]) !== undefined ? { latest: (stable ?? listed[0])!.metadata.version } : {}),
      deprecated: newest.deprecated || newest.deprecatedInFavorOf !== undefined,
      ...(newest.deprecatedInFavorOf !== undefined ? { deprecatedInFavorOf: newest.deprecatedInFavorOf } : {}),
      versions: listed.map(({ metadata: m, files }) => ({
        version: m.version,
        tier: m.tier,
        deprecated: m.deprecated || m.deprecatedInFavorOf !== undefined,
        ...(m.deprecatedInFavorOf !== undefined ? { deprecatedInFavorOf: m.deprecatedInFavorOf } : {}),
        dependencies: sortedRecord(m.dependencies),
        platform: m.platform,
        files: [...files]
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((f) => ({
            name: f.name,
            key: packageKey(m.tier, m.name, m.version, f.name),
            sha256: f.sha256,
            size: f.size,
          })),
      })),
      withdrawn: versions
        .filter((p) => !p.metadata.supported)
        .map(({ metadata: m, files }) => ({
          version: m.version,
          keys: files.map((f) => packageKey(m.tier, m.name, m.version, f.name)).sort(),
        })),
    };
  });
  return { formatVersion: 1, generatedAt: options.generatedAt, sdks };
}

export type IndexLookup =
  | { readonly found: 'listed'; readonly sdk: IndexedSdk; readonly version: IndexedVersion }
  | { readonly found: 'withdrawn'; readonly sdk: IndexedSdk }
  | { readonly found: 'none' };

/** Finds one version in the index. */
export function lookupVersion(index: PackageIndex, name: string, version: string): IndexLookup {
  const sdk = index.sdks.find((s) => s.name === name);
  if (sdk === undefined) return { found: 'none' };
  const normalised = semver.valid(version) ?? version;
  const listed = sdk.versions.find((v) => v.version === normalised);
  if (listed !== undefined) return { found: 'listed', sdk, version: listed };
  if (sdk.withdrawn.some((w) => w.version === normalised)) return { found: 'withdrawn', sdk };
  return { found: 'none' };
}

/** Every listed version as a release the resolver can pick. */
export function indexReleases(index: PackageIndex): SdkRelease[] {
  return index.sdks.flatMap((sdk) =>
    sdk.versions.map((v) => ({ name: sdk.name, version: v.version, dependencies: v.dependencies })),
  );
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
