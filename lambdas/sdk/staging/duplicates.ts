/**
 * Duplicate embedded libraries: two SDKs that each compile in the same library (the patent's example: a logging
 * library inside both the Map SDK and the Social SDK) make every app that links both fail with duplicate symbols.
 * Evidence is the same file (same SHA-256 in both packages' manifests) or the same defined, exported symbol in both
 * packages' binaries. Reported like a conflict, with the fix: publish the library as its own package.
 */
import { posix } from 'node:path';
import type { SdkVersionRef } from '../model';

/** One file of a converted package, as listed in its `manifest.json`. */
export interface FileDigest {
  /** Path inside the package, `/`-separated. */
  readonly path: string;
  /** Lower-case hex SHA-256 of the file's content. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** What a package holds, for duplicate detection. */
export interface PackageContents {
  readonly files: readonly FileDigest[];
  /** Defined, exported, non-weak symbols of every binary in the package (see `binary/inspect.ts`). */
  readonly symbols?: readonly string[];
}

export interface PackageEvidence {
  readonly ref: SdkVersionRef;
  readonly contents: PackageContents;
}

export interface DuplicateFile {
  readonly sha256: string;
  readonly size: number;
  /** The file's path in the first and in the second SDK. */
  readonly paths: readonly [string, string];
}

export interface DuplicateLibrary {
  readonly sdks: readonly [SdkVersionRef, SdkVersionRef];
  /** Best guess at the embedded library's name, from the files' or symbols' names. */
  readonly library: string;
  readonly files: readonly DuplicateFile[];
  readonly symbols: readonly string[];
  /** e.g. "maps 2.0.0 and social 1.3.0 both embed crashlog: 2 identical files (...) and 3 identical symbols (...)". */
  readonly explanation: string;
  /** e.g. "publish crashlog as its own SDK package that maps and social both depend on, and remove the embedded copies". */
  readonly suggestion: string;
}

/**
 * Files smaller than this are not evidence: empty files, one-line version stamps, `module.modulemap` stubs and the
 * like match by accident. 64 bytes is below any real object file or header of a library (an ELF header alone is
 * 52-64 bytes), so nothing that could clash at link time is skipped.
 */
export const MIN_EVIDENCE_FILE_SIZE = 64;

/** Boilerplate that SDKs share without embedding each other's code: licences, readmes, change logs. */
const TRIVIAL_FILE =
  /^(licen[cs]e|copying|notice|readme|changelog|changes|history|authors|contributors|patents|code_of_conduct)([._-].*)?$/i;

/** Symbols every linker or C runtime defines in each image; sharing them says nothing about embedded code. */
const LINKER_SYMBOLS = new Set([
  '_mh_execute_header',
  '__mh_execute_header',
  '_mh_dylib_header',
  '__mh_dylib_header',
  '_mh_bundle_header',
  '__mh_bundle_header',
  '_init',
  '_fini',
  '_start',
  '_end',
  '_edata',
  '__bss_start',
  '__end__',
  '__dso_handle',
  '_GLOBAL_OFFSET_TABLE_',
  '_DYNAMIC',
  '__data_start',
  'data_start',
  '_IO_stdin_used',
  '__libc_csu_init',
  '__libc_csu_fini',
  '__TMC_END__',
  'main',
  '_main',
]);

const MAX_EXAMPLES = 3;

export function isEvidenceFile(file: FileDigest): boolean {
  return file.size >= MIN_EVIDENCE_FILE_SIZE && !TRIVIAL_FILE.test(posix.basename(file.path));
}

export function isEvidenceSymbol(symbol: string): boolean {
  return symbol.length > 0 && !LINKER_SYMBOLS.has(symbol);
}

/**
 * Finds every pair of SDKs that embed the same library. Packages of the same SDK (two versions) are never compared.
 * Results are ordered by SDK names; each pair appears once with all its evidence.
 *
 * @example
 * findDuplicateLibraries([
 *   { ref: { name: 'maps', version: '2.0.0' }, contents: { files: mapsManifest, symbols: mapsSymbols } },
 *   { ref: { name: 'social', version: '1.3.0' }, contents: { files: socialManifest, symbols: socialSymbols } },
 * ]); // [{ library: 'crashlog', explanation: 'maps 2.0.0 and social 1.3.0 both embed crashlog: ...', ... }]
 */
export function findDuplicateLibraries(packages: readonly PackageEvidence[]): DuplicateLibrary[] {
  const ordered = [...packages].sort((a, b) => compareRefs(a.ref, b.ref));
  const byHash = new Map<string, { pkg: number; file: FileDigest }[]>();
  const bySymbol = new Map<string, Set<number>>();
  ordered.forEach((p, pkg) => {
    for (const file of p.contents.files) {
      if (!isEvidenceFile(file)) continue;
      const hash = file.sha256.toLowerCase();
      const list = byHash.get(hash) ?? [];
      if (!list.some((e) => e.pkg === pkg)) list.push({ pkg, file });
      byHash.set(hash, list);
    }
    for (const symbol of p.contents.symbols ?? []) {
      if (!isEvidenceSymbol(symbol)) continue;
      const owners = bySymbol.get(symbol) ?? new Set<number>();
      owners.add(pkg);
      bySymbol.set(symbol, owners);
    }
  });

  const pairs = new Map<string, { a: number; b: number; files: DuplicateFile[]; symbols: string[] }>();
  const pairOf = (a: number, b: number) => {
    const key = `${a}:${b}`;
    let pair = pairs.get(key);
    if (pair === undefined) pairs.set(key, (pair = { a, b, files: [], symbols: [] }));
    return pair;
  };
  const sameSdk = (a: number, b: number): boolean => ordered[a]!.ref.name === ordered[b]!.ref.name;

  for (const [sha256, owners] of byHash) {
    for (let i = 0; i < owners.length; i++) {
      for (let j = i + 1; j < owners.length; j++) {
        const [x, y] = owners[i]!.pkg < owners[j]!.pkg ? [owners[i]!, owners[j]!] : [owners[j]!, owners[i]!];
        if (sameSdk(x.pkg, y.pkg)) continue;
        pairOf(x.pkg, y.pkg).files.push({ sha256, size: x.file.size, paths: [x.file.path, y.file.path] });
      }
    }
  }
  for (const [symbol, owners] of bySymbol) {
    const list = [...owners].sort((a, b) => a - b);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        if (!sameSdk(list[i]!, list[j]!)) pairOf(list[i]!, list[j]!).symbols.push(symbol);
      }
    }
  }

  return [...pairs.values()]
    .sort((p, q) => p.a - q.a || p.b - q.b)
    .map(({ a, b, files, symbols }) => {
      const first = ordered[a]!.ref;
      const second = ordered[b]!.ref;
      files.sort((x, y) => y.size - x.size || (x.paths[0] < y.paths[0] ? -1 : 1));
      symbols.sort();
      const library = guessLibraryName(files, symbols);
      const evidence: string[] = [];
      if (files.length > 0) {
        const examples = files
          .slice(0, MAX_EXAMPLES)
          .map((f) => (f.paths[0] === f.paths[1] ? f.paths[0] : `${f.paths[0]} = ${f.paths[1]}`));
        evidence.push(
          `${files.length} identical file${files.length === 1 ? '' : 's'} (${examples.join(', ')}${files.length > MAX_EXAMPLES ? ', …' : ''})`,
        );
      }
      if (symbols.length > 0) {
        const examples = symbols.slice(0, MAX_EXAMPLES).join(', ');
        evidence.push(
          `${symbols.length} symbol${symbols.length === 1 ? '' : 's'} defined in both (${examples}${symbols.length > MAX_EXAMPLES ? ', …' : ''})`,
        );
      }
      const names = `${first.name} ${first.version} and ${second.name} ${second.version}`;
      return {
        sdks: [first, second] as const,
        library,
        files,
        symbols,
        explanation: `${names} both embed ${library}: ${evidence.join(' and ')}; an app that uses both fails to link with duplicate symbols`,
        suggestion: `publish ${library} as its own SDK package that ${first.name} and ${second.name} both depend on, and remove the embedded copies`,
      };
    });
}

function compareRefs(a: SdkVersionRef, b: SdkVersionRef): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

/** `Frameworks/libcrashlog.a` -> `crashlog`; symbols `_crashlog_init`, `_crashlog_send` -> `crashlog`. */
function guessLibraryName(files: readonly DuplicateFile[], symbols: readonly string[]): string {
  const largest = files[0];
  if (largest !== undefined) {
    const base = posix
      .basename(largest.paths[0])
      .replace(/\.(a|so(\.\d+)*|dylib|o|h|hpp|framework|xcframework|jar|aar)$/i, '');
    const name = base.replace(/^lib(?=[a-z0-9])/i, '');
    if (name.length > 0) return name;
  }
  if (symbols.length > 0) {
    const stripped = symbols.map((s) => s.replace(/^_+/, ''));
    let prefix = stripped[0]!;
    for (const s of stripped) while (!s.startsWith(prefix)) prefix = prefix.slice(0, -1);
    const word = prefix.replace(/[_:.$]+[^_:.$]*$/, '') || prefix.replace(/[_:.$]+$/, '');
    if (word.length >= 3) return word;
  }
  return 'a shared library';
}
