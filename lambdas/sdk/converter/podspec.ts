/**
 * The CocoaPods-style spec of a converted package, `<name>.podspec.json` (the pod name is the SDK's `name`, so
 * dependencies between pods use the same ids as the metadata). Paths are relative to the package root folder.
 */
import type { SdkMetadata } from '../model';
import { MetadataError, type MetadataProblem } from '../metadata/errors';
import { toCocoaPodsRequirements } from '../metadata/cocoapods-requirements';
import type { PackageLayout } from './layout';

/**
 * The platforms CocoaPods knows, by metadata name (CocoaPods spells macOS `osx`). Any other platform (`linux`,
 * `android`, `windows`) is left out of the podspec, whose `platforms` then is `{}`, and kept in the package's
 * `manifest.json` and `lockstep-sdk.json`.
 */
const PODSPEC_PLATFORM: Readonly<Record<string, string>> = {
  ios: 'ios',
  macos: 'osx',
  tvos: 'tvos',
  watchos: 'watchos',
  visionos: 'visionos',
};

export interface PodspecOptions {
  /**
   * Absolute URL of the package zip, the podspec's `source.http` (CocoaPods needs an absolute URL). The convert
   * step passes the package host's URL for the version's tier (`convertSdkPackage`'s `publishedBaseUrl`).
   * @default `<name>-<version>.zip` (a bare file name, for callers that do not know the package host)
   */
  readonly packageUrl?: string;
}

export interface Podspec {
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly description: string;
  readonly homepage: string;
  readonly license: { readonly type: string; readonly file?: string };
  readonly authors: readonly string[];
  readonly source: { readonly http: string; readonly type: 'zip' };
  readonly platforms: Readonly<Record<string, string>>;
  readonly dependencies?: Readonly<Record<string, readonly string[]>>;
  readonly vendored_frameworks?: readonly string[];
  readonly vendored_libraries?: readonly string[];
  readonly source_files?: string;
  readonly public_header_files?: string;
  readonly deprecated?: true;
  readonly deprecated_in_favor_of?: string;
}

/**
 * Builds the podspec. Dependencies are converted with `toCocoaPodsRequirements`.
 * @throws MetadataError when a dependency range has no CocoaPods form (intake refuses those already).
 */
export function buildPodspec(metadata: SdkMetadata, layout: PackageLayout, options: PodspecOptions = {}): Podspec {
  const dependencies: Record<string, readonly string[]> = {};
  const problems: MetadataProblem[] = [];
  for (const [name, range] of Object.entries(metadata.dependencies).sort(([a], [b]) => a.localeCompare(b))) {
    const converted = toCocoaPodsRequirements(range);
    if (converted.ok) dependencies[name] = converted.requirements;
    else
      problems.push({
        field: `dependencies.${name}`,
        message: converted.reason,
        fix: 'declare one contiguous range, e.g. ">=6.0.0 <8.0.0"',
      });
  }
  if (problems.length > 0)
    throw new MetadataError(problems, { details: { name: metadata.name, version: metadata.version } });

  const headers = 'include/**/*.{h,hh,hpp,hxx}';
  const podspecPlatform = PODSPEC_PLATFORM[metadata.platform.name];
  return {
    name: metadata.name,
    version: metadata.version,
    summary: metadata.summary,
    description: metadata.description,
    homepage: metadata.homepage,
    license: layout.hasLicense ? { type: metadata.license, file: 'LICENSE' } : { type: metadata.license },
    authors: [...metadata.authors],
    source: { http: options.packageUrl ?? `${layout.root}.zip`, type: 'zip' },
    platforms: podspecPlatform === undefined ? {} : { [podspecPlatform]: metadata.platform.minimumVersion },
    ...(Object.keys(dependencies).length > 0 ? { dependencies } : {}),
    ...(layout.frameworks.length > 0 ? { vendored_frameworks: layout.frameworks } : {}),
    ...(layout.libraries.length > 0 ? { vendored_libraries: layout.libraries } : {}),
    ...(layout.hasHeaders ? { source_files: headers, public_header_files: headers } : {}),
    ...(metadata.deprecated ? { deprecated: true as const } : {}),
    ...(metadata.deprecatedInFavorOf !== undefined ? { deprecated_in_favor_of: metadata.deprecatedInFavorOf } : {}),
  };
}
