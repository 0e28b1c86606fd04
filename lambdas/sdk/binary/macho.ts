/**
 * Mach-O (iOS, macOS): CPU architecture from `cputype`/`cpusubtype`, external defined symbols from `LC_SYMTAB`.
 * Thin 32/64-bit files in either byte order, and universal ("fat") files with 32- or 64-bit slice tables, whose
 * slices may themselves be Mach-O files or static archives.
 */
import { BinaryFormatError } from './errors';
import { cString, Fields, type RandomAccessReader } from './reader';

export const MH_MAGIC = 0xfeedface;
export const MH_MAGIC_64 = 0xfeedfacf;
export const MH_CIGAM = 0xcefaedfe;
export const MH_CIGAM_64 = 0xcffaedfe;
export const FAT_MAGIC = 0xcafebabe;
export const FAT_MAGIC_64 = 0xcafebabf;

const CPU_ARCH_ABI64 = 0x01000000;
const CPU_ARCH_ABI64_32 = 0x02000000;
const CPU_TYPE_X86 = 7;
const CPU_TYPE_ARM = 12;
const CPU_TYPE_PPC = 18;
const CPU_SUBTYPE_MASK = 0xff000000;
const LC_SYMTAB = 0x2;
const N_STAB = 0xe0;
const N_TYPE = 0x0e;
const N_EXT = 0x01;
const N_UNDF = 0x0;
const N_PBUD = 0xc;
const N_WEAK_DEF = 0x0080;

const ARM_SUBTYPES: Record<number, string> = {
  5: 'armv4t',
  6: 'armv6',
  7: 'armv5',
  9: 'armv7',
  11: 'armv7s',
  12: 'armv7k',
  13: 'armv8',
  14: 'armv6m',
  15: 'armv7m',
  16: 'armv7em',
};

/** `cputype`/`cpusubtype` -> the names SDK metadata uses (`x86` is what Apple calls `i386`). */
export function machOArchitecture(cputype: number, cpusubtype: number): string {
  const subtype = (cpusubtype & ~CPU_SUBTYPE_MASK) >>> 0;
  switch (cputype) {
    case CPU_TYPE_X86:
      return 'x86';
    case CPU_TYPE_X86 | CPU_ARCH_ABI64:
      return subtype === 8 ? 'x86_64h' : 'x86_64';
    case CPU_TYPE_ARM:
      return ARM_SUBTYPES[subtype] ?? 'arm';
    case CPU_TYPE_ARM | CPU_ARCH_ABI64:
      return subtype === 2 ? 'arm64e' : 'arm64';
    case CPU_TYPE_ARM | CPU_ARCH_ABI64_32:
      return 'arm64_32';
    case CPU_TYPE_PPC:
      return 'ppc';
    case CPU_TYPE_PPC | CPU_ARCH_ABI64:
      return 'ppc64';
    default:
      return `macho-cputype-${cputype}`;
  }
}

export interface MachOInfo {
  readonly architecture: string;
  /** External, defined, non-weak symbols (debugging entries skipped). */
  readonly symbols: readonly string[];
}

export async function inspectMachO(reader: RandomAccessReader): Promise<MachOInfo> {
  const magic = (await reader.read(0, 4)).readUInt32BE(0);
  const is64 = magic === MH_MAGIC_64 || magic === MH_CIGAM_64;
  const littleEndian = magic === MH_CIGAM || magic === MH_CIGAM_64;
  if (!is64 && magic !== MH_MAGIC && magic !== MH_CIGAM)
    throw new BinaryFormatError(`0x${magic.toString(16)} is not a Mach-O magic number`);
  const headerSize = is64 ? 32 : 28;
  const header = new Fields(await reader.read(0, headerSize), littleEndian);
  const architecture = machOArchitecture(header.i32(4), header.i32(8));
  const ncmds = header.u32(16);
  const sizeofcmds = header.u32(20);
  const commands = new Fields(await reader.read(headerSize, sizeofcmds), littleEndian);

  const symbols = new Set<string>();
  let offset = 0;
  for (let i = 0; i < ncmds; i++) {
    if (offset + 8 > sizeofcmds)
      throw new BinaryFormatError(
        `Mach-O load command ${i} lies past the ${sizeofcmds} bytes of commands; the file is corrupt`,
      );
    const cmd = commands.u32(offset);
    const cmdsize = commands.u32(offset + 4);
    if (cmdsize < 8) throw new BinaryFormatError(`Mach-O load command ${i} has size ${cmdsize}; the file is corrupt`);
    if (cmd === LC_SYMTAB) {
      const symoff = commands.u32(offset + 8);
      const nsyms = commands.u32(offset + 12);
      const stroff = commands.u32(offset + 16);
      const strsize = commands.u32(offset + 20);
      const entrySize = is64 ? 16 : 12;
      const entries = new Fields(await reader.read(symoff, nsyms * entrySize), littleEndian);
      const names = await reader.read(stroff, strsize);
      for (let s = 0; s < nsyms; s++) {
        const base = s * entrySize;
        const type = entries.u8(base + 4);
        const desc = entries.u16(base + 6);
        if ((type & N_STAB) !== 0 || (type & N_EXT) === 0) continue;
        const kind = type & N_TYPE;
        if (kind === N_UNDF || kind === N_PBUD) continue;
        if ((desc & N_WEAK_DEF) !== 0) continue;
        const name = cString(names, entries.u32(base));
        if (name.length > 0) symbols.add(name);
      }
    }
    offset += cmdsize;
  }
  return { architecture, symbols: [...symbols].sort() };
}

export interface FatSlice {
  readonly cputype: number;
  readonly cpusubtype: number;
  readonly offset: number;
  readonly size: number;
}

/**
 * The slice table of a universal binary, or undefined when `0xcafebabe` starts a Java class file instead (which
 * shares the magic: its next word, the class version, is at least 45, while no universal binary has 30 slices).
 */
export async function readFatSlices(reader: RandomAccessReader): Promise<FatSlice[] | undefined> {
  const head = await reader.read(0, 8);
  const magic = head.readUInt32BE(0);
  const count = head.readUInt32BE(4);
  if (magic === FAT_MAGIC && count >= 30) return undefined;
  const is64 = magic === FAT_MAGIC_64;
  const entrySize = is64 ? 32 : 20;
  const table = new Fields(await reader.read(8, count * entrySize), false);
  const slices: FatSlice[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * entrySize;
    slices.push({
      cputype: table.i32(base),
      cpusubtype: table.i32(base + 4),
      offset: is64 ? table.u64(base + 8) : table.u32(base + 8),
      size: is64 ? table.u64(base + 16) : table.u32(base + 12),
    });
  }
  return slices;
}
