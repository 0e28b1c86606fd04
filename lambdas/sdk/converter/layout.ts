/**
 * The standard folder hierarchy of a converted package, and the rule that places each input entry in it.
 *
 * Output zip (everything under one root folder, `<name>-<version>/`, which CocoaPods flattens when it unpacks an
 * http source with a single top-level folder; podspec paths are relative to that root):
 *
 * ```
 * acme-maps-6.2.0/
 *   frameworks/   .framework and .xcframework bundles, kept whole
 *   lib/          libraries: .a .so(.N) .dylib .dll .lib .jar .aar .tbd
 *   include/      headers: .h .hh .hpp .hxx .inl .modulemap
 *   samples/      sample projects
 *   docs/         documentation: .md .markdown .txt .rst .pdf .html .htm
 *   resources/    everything else
 *   LICENSE       from a top-level LICENSE / LICENCE / COPYING (optionally .txt or .md)
 *   CHANGELOG.md  from a top-level CHANGELOG / CHANGES / HISTORY (optionally .txt or .md)
 *   lockstep-sdk.json         the validated metadata
 *   acme-maps.podspec.json    generated CocoaPods-style spec
 *   Maps.xcframework.zip      one per .xcframework bundle, for Swift Package Manager binary targets
 *   manifest.json             SHA-256 and size of every other file
 * ```
 *
 * Mapping of an input path (first rule that matches wins):
 * 1. Skipped: folder entries, `__MACOSX/` and `.DS_Store` (macOS Finder litter), and a top-level
 *    `lockstep-sdk.{json,yaml,yml,xml}` (the validated metadata is written instead).
 * 2. When every file sits under one top-level folder that is neither a bundle nor a category folder below
 *    (`AcmeMaps-6.2.0/...`), that folder is stripped first.
 * 3. Under a top-level `samples|sample|examples|example` folder -> `samples/<rest>`; `docs|doc|documentation` ->
 *    `docs/<rest>` (before rule 4, so a sample app's embedded frameworks stay with the sample).
 * 4. Inside a `*.framework` or `*.xcframework` folder at any depth -> `frameworks/<bundle>/<path inside it>`
 *    (the outermost bundle).
 * 5. Top-level license and change-log files -> `LICENSE`, `CHANGELOG.md`.
 * 6. Under a top-level category folder -> that category with the folder name dropped: `lib|libs|library|libraries`
 *    -> `lib/`, `include|includes|headers|header` -> `include/`, `frameworks|framework` -> `frameworks/`,
 *    `resources|resource|res|assets` -> `resources/`.
 * 7. By extension (table above) -> `<category>/<full input path>`; anything else -> `resources/<full input path>`.
 *
 * Two inputs that land on the same output path (say `LICENSE` and `LICENSE.txt`) are refused with
 * `PackageLayoutError`; case-insensitively, since the package is unpacked on case-insensitive file systems too.
 */
import { PackageLayoutError } from './errors';
import type { CheckedEntry } from './inspect-archive';

export type Category = 'frameworks' | 'lib' | 'include' | 'samples' | 'docs' | 'resources';

export interface PlacedFile {
  readonly entry: CheckedEntry;
  /** Path inside the package root, e.g. `lib/libmaps.a`. */
  readonly target: string;
}

export interface XcframeworkBundle {
  /** Bundle name without extension, e.g. `Maps`; the SPM binary target name. */
  readonly name: string;
  /** Path inside the package root, e.g. `frameworks/Maps.xcframework`. */
  readonly bundlePath: string;
  /** Its files, with their paths inside the separate zip (`Maps.xcframework/...`). */
  readonly files: readonly { readonly entry: CheckedEntry; readonly inner: string }[];
}

export interface PackageLayout {
  /** `<name>-<version>`, the single top-level folder of the output zip. */
  readonly root: string;
  readonly files: readonly PlacedFile[];
  readonly xcframeworks: readonly XcframeworkBundle[];
  /** Bundle paths under `frameworks/` (for `vendored_frameworks`). */
  readonly frameworks: readonly string[];
  /** Static and dynamic libraries under `lib/` that CocoaPods can vendor (`.a`, `.dylib`). */
  readonly libraries: readonly string[];
  readonly hasHeaders: boolean;
  readonly hasLicense: boolean;
  readonly hasChangelog: boolean;
}

const FOLDER_ALIASES: Readonly<Record<string, Category>> = {
  lib: 'lib',
  libs: 'lib',
  library: 'lib',
  libraries: 'lib',
  include: 'include',
  includes: 'include',
  headers: 'include',
  header: 'include',
  frameworks: 'frameworks',
  framework: 'frameworks',
  samples: 'samples',
  sample: 'samples',
  examples: 'samples',
  example: 'samples',
  docs: 'docs',
  doc: 'docs',
  documentation: 'docs',
  resources: 'resources',
  resource: 'resources',
  res: 'resources',
  assets: 'resources',
};
const WHOLE_SUBTREE: ReadonlySet<Category> = new Set(['samples', 'docs']);

const LIBRARY = /\.(a|so(\.\d+)*|dylib|dll|lib|jar|aar|tbd)$/i;
const HEADER = /\.(h|hh|hpp|hxx|inl|modulemap)$/i;
const DOC = /\.(md|markdown|txt|rst|pdf|html?)$/i;
const BUNDLE = /\.(xcframework|framework)$/i;
const LICENSE = /^(license|licence|copying)(\.(txt|md))?$/i;
const CHANGELOG = /^(changelog|changes|history)(\.(txt|md))?$/i;
const METADATA_FILE = /^lockstep-sdk\.(json|ya?ml|xml)$/i;

function isJunk(path: string): boolean {
  const segments = path.split('/');
  return segments[0] === '__MACOSX' || segments[segments.length - 1] === '.DS_Store';
}

/** Where one input path goes, relative to the package root (rules 3-7 above). */
export function placeInputPath(path: string): string {
  const segments = path.split('/');
  const first = segments[0]!;
  const alias = segments.length > 1 ? FOLDER_ALIASES[first.toLowerCase()] : undefined;
  if (alias !== undefined && WHOLE_SUBTREE.has(alias)) return [alias, ...segments.slice(1)].join('/');
  const bundleAt = segments.findIndex((s, i) => i < segments.length - 1 && BUNDLE.test(s));
  if (bundleAt >= 0) return ['frameworks', ...segments.slice(bundleAt)].join('/');
  if (segments.length === 1 && LICENSE.test(first)) return 'LICENSE';
  if (segments.length === 1 && CHANGELOG.test(first)) return 'CHANGELOG.md';
  if (alias !== undefined) return [alias, ...segments.slice(1)].join('/');
  const base = segments[segments.length - 1]!;
  const category: Category = LIBRARY.test(base)
    ? 'lib'
    : HEADER.test(base)
      ? 'include'
      : DOC.test(base)
        ? 'docs'
        : 'resources';
  return `${category}/${path}`;
}

/** Lays out the checked input entries of one SDK version. @throws PackageLayoutError on a target collision. */
export function planLayout(name: string, version: string, entries: readonly CheckedEntry[]): PackageLayout {
  const root = `${name}-${version}`;
  let inputs = entries.filter((e) => !e.isDirectory && !isJunk(e.path));

  const tops = new Set(inputs.map((e) => e.path.split('/')[0]!));
  const [onlyTop] = [...tops];
  if (
    tops.size === 1 &&
    onlyTop !== undefined &&
    inputs.every((e) => e.path.includes('/')) &&
    !BUNDLE.test(onlyTop) &&
    FOLDER_ALIASES[onlyTop.toLowerCase()] === undefined
  ) {
    inputs = inputs.map((e) => ({ ...e, path: e.path.slice(onlyTop.length + 1) }));
  }
  inputs = inputs.filter((e) => !(METADATA_FILE.test(e.path) && !e.path.includes('/')));

  const taken = new Map<string, string>();
  const bundleSources = new Map<string, { from: string; storedName: string }>();
  const files: PlacedFile[] = [];
  const bundles = new Map<
    string,
    { name: string; bundlePath: string; files: { entry: CheckedEntry; inner: string }[] }
  >();
  for (const entry of inputs) {
    const target = placeInputPath(entry.path);
    const folded = target.toLowerCase();
    const earlier = taken.get(folded);
    if (earlier !== undefined) throw new PackageLayoutError(`${root}/${target}`, [earlier, entry.storedName]);
    taken.set(folded, entry.storedName);
    files.push({ entry, target });

    const segments = target.split('/');
    if (segments[0] === 'frameworks' && segments.length > 2 && BUNDLE.test(segments[1]!)) {
      // Two bundles of one name from different folders would merge into one; refuse instead.
      const inputSegments = entry.path.split('/');
      const from = inputSegments.slice(0, inputSegments.length - (segments.length - 2)).join('/');
      const bundleKey = segments[1]!.toLowerCase();
      const first = bundleSources.get(bundleKey);
      if (first === undefined) bundleSources.set(bundleKey, { from, storedName: entry.storedName });
      else if (first.from !== from)
        throw new PackageLayoutError(`${root}/frameworks/${segments[1]}`, [first.storedName, entry.storedName]);
    }
    if (segments[0] === 'frameworks' && segments.length > 2 && /\.xcframework$/i.test(segments[1]!)) {
      const bundlePath = `frameworks/${segments[1]}`;
      const bundle = bundles.get(bundlePath) ?? {
        name: segments[1]!.replace(/\.xcframework$/i, ''),
        bundlePath,
        files: [],
      };
      bundle.files.push({ entry, inner: segments.slice(1).join('/') });
      bundles.set(bundlePath, bundle);
    }
  }

  const frameworks = [
    ...new Set(
      files
        .map((f) => f.target.split('/'))
        .filter((s) => s[0] === 'frameworks' && s.length > 2 && BUNDLE.test(s[1]!))
        .map((s) => `frameworks/${s[1]}`),
    ),
  ].sort();
  return {
    root,
    files,
    xcframeworks: [...bundles.values()].sort((a, b) => a.bundlePath.localeCompare(b.bundlePath)),
    frameworks,
    libraries: files
      .map((f) => f.target)
      .filter((t) => t.startsWith('lib/') && /\.(a|dylib)$/i.test(t))
      .sort(),
    hasHeaders: files.some((f) => f.target.startsWith('include/') && HEADER.test(f.target)),
    hasLicense: taken.has('license'),
    hasChangelog: taken.has('changelog.md'),
  };
}
