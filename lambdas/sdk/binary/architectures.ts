/**
 * Do a package's binaries hold the CPU architectures its metadata declares (`platform.architectures`)?
 */

/** Other spellings of the same architecture, as toolchains print them. */
const ALIASES: Record<string, string> = {
  aarch64: 'arm64',
  arm64_v8a: 'arm64',
  'arm64-v8a': 'arm64',
  amd64: 'x86_64',
  x64: 'x86_64',
  'x86-64': 'x86_64',
  i386: 'x86',
  i486: 'x86',
  i586: 'x86',
  i686: 'x86',
  ia32: 'x86',
  armeabi: 'arm',
  'armeabi-v7a': 'armv7',
  armhf: 'arm',
  armel: 'arm',
};

/** Lower-case canonical name: `aarch64` -> `arm64`, `i386` -> `x86`, `amd64` -> `x86_64`. */
export function normalizeArchitecture(name: string): string {
  const lower = name.trim().toLowerCase();
  return ALIASES[lower] ?? lower;
}

/** A 32-bit ARM binary reports its variant (Mach-O `armv7`) or just `arm` (ELF); declaring `arm` accepts any. */
function satisfies(declared: string, found: string): boolean {
  return (
    declared === found || (declared === 'arm' && /^armv\d/.test(found)) || (found === 'arm' && /^armv\d/.test(declared))
  );
}

export interface ArchitectureCheck {
  /** True when every declared architecture is present. Extra ones (a simulator slice) do not fail the check. */
  readonly ok: boolean;
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  readonly message: string;
}

/**
 * Compares declared architectures with those found in the binaries.
 *
 * @example
 * checkArchitectures(['arm64', 'armv7'], ['arm64', 'x86_64']);
 * // { ok: false, missing: ['armv7'], extra: ['x86_64'], message: 'The binaries lack armv7 ...' }
 */
export function checkArchitectures(declared: readonly string[], found: readonly string[]): ArchitectureCheck {
  const want = [...new Set(declared.map(normalizeArchitecture))].sort();
  const have = [...new Set(found.map(normalizeArchitecture))].sort();
  const missing = want.filter((d) => !have.some((f) => satisfies(d, f)));
  const extra = have.filter((f) => !want.some((d) => satisfies(d, f)));
  const foundText = have.length > 0 ? have.join(', ') : 'none';
  const parts: string[] = [];
  if (missing.length > 0) {
    parts.push(
      `The binaries lack ${missing.join(', ')}, declared in platform.architectures (found: ${foundText}); ` +
        `rebuild the binaries for ${missing.join(', ')} or remove ${missing.length === 1 ? 'it' : 'them'} from platform.architectures`,
    );
  }
  if (extra.length > 0) {
    parts.push(
      `The binaries also hold ${extra.join(', ')}, not declared; add ${extra.length === 1 ? 'it' : 'them'} to platform.architectures if consumers may use ${extra.length === 1 ? 'it' : 'them'}`,
    );
  }
  if (parts.length === 0)
    parts.push(`The binaries hold every declared architecture (${want.join(', ') || 'none declared'})`);
  return { ok: missing.length === 0, missing, extra, message: parts.join('. ') };
}
