/**
 * The CocoaPods-style spec of a converted package, `<name>.podspec.json` (the pod name is the SDK's `name`, so
 * dependencies between pods use the same ids as the metadata). Paths are relative to the package root folder.
 */
import type { SdkMetadata } from '../model';
import { MetadataError, type MetadataProblem } from '../metadata/errors';
import { toCocoaPodsRequirements } from '../metadata/cocoapods-requirements';
import type { PackageLayout } from './layout';

/** CocoaPods spells macOS `osx`; other platform names are kept as the metadata gives them. */
const PODSPEC_PLATFORM: Readonly<Record<string, string>> = { macos: 'osx' };

export interface PodspecOptions {
  /**
   * URL of the package zip, the podspec's `source.http`. The package host knows it only at publish time (it
   * depends on the tier), so by default this is the zip's file name, resolved by the package host against its base.
   * @default `<name>-<version>.zip`
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
    else problems.push({ field: `dependencies.${name}`, message: converted.reason, fix: 'declare one contiguous range, e.g. ">=6.0.0 <8.0.0"' });
  }
  if (problems.length > 0) throw new MetadataError(problems, { details: { name: metadata.name, version: metadata.version } });

  const headers = 'include/**/*.{h,hh,hpp,hxx}';
  return {
    name: metadata.name,
    version: metadata.version,
    summary: metadata.summary,
    description: metadata.description,
    homepage: metadata.homepage,
    license: layout.hasLicense ? { type: metadata.license, file: 'LICENSE' } : { type: metadata.license },
    authors: [...metadata.authors],
    source: { http: options.packageUrl ?? `${layout.root}.zip`, type: 'zip' },
    platforms: { [PODSPEC_PLATFORM[metadata.platform.name] ?? metadata.platform.name]: metadata.platform.minimumVersion },
    ...(Object.keys(dependencies).length > 0 ? { dependencies } : {}),
    ...(layout.frameworks.length > 0 ? { vendored_frameworks: layout.frameworks } : {}),
    ...(layout.libraries.length > 0 ? { vendored_libraries: layout.libraries } : {}),
    ...(layout.hasHeaders ? { source_files: headers, public_header_files: headers } : {}),
    ...(metadata.deprecated ? { deprecated: true as const } : {}),
    ...(metadata.deprecatedInFavorOf !== undefined ? { deprecated_in_favor_of: metadata.deprecatedInFavorOf } : {}),
  };
}
