/**
 * ELF (Linux, Android): CPU architecture from `e_machine`, defined symbols from `.symtab` and `.dynsym`.
 * 32- and 64-bit, little- and big-endian. Only the header, the section header table and the symbol and string
 * tables are read.
 */
import { BinaryFormatError } from './errors';
import { cString, Fields, type RandomAccessReader } from './reader';

export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;
const SHN_COMMON = 0xfff2;
const SHN_XINDEX = 0xffff;
const STB_GLOBAL = 1;
const STB_GNU_UNIQUE = 10;
const STT_SECTION = 3;
const STT_FILE = 4;
const STV_DEFAULT = 0;
const STV_PROTECTED = 3;
const ET_REL = 1;

/** `e_machine` -> the architecture names SDK metadata uses. */
const MACHINES: Record<number, string | ((is64: boolean) => string)> = {
  2: 'sparc',
  3: 'x86',
  8: (is64) => (is64 ? 'mips64' : 'mips'),
  20: 'ppc',
  21: 'ppc64',
  22: 's390x',
  40: 'arm',
  43: 'sparcv9',
  62: 'x86_64',
  183: 'arm64',
  243: (is64) => (is64 ? 'riscv64' : 'riscv32'),
  258: 'loongarch64',
};

export interface ElfInfo {
  readonly architecture: string;
  /** Defined, exported (global or unique binding, default or protected visibility), non-weak symbols. */
  readonly symbols: readonly string[];
}

interface Section {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly entsize: number;
}

export async function inspectElf(reader: RandomAccessReader): Promise<ElfInfo> {
  const ident = await reader.read(0, 16);
  const elfClass = ident[4];
  const data = ident[5];
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) {
    throw new BinaryFormatError(
      `The ELF file declares class ${elfClass} and data encoding ${data}; only 32/64-bit little/big-endian ELF exists`,
    );
  }
  const is64 = elfClass === 2;
  const header = new Fields(await reader.read(0, is64 ? 64 : 52), data === 1);
  const type = header.u16(16);
  const machine = header.u16(18);
  const mapped = MACHINES[machine];
  const architecture =
    mapped === undefined ? `elf-machine-${machine}` : typeof mapped === 'string' ? mapped : mapped(is64);

  const shoff = is64 ? header.u64(40) : header.u32(32);
  const shentsize = header.u16(is64 ? 58 : 46);
  let shnum = header.u16(is64 ? 60 : 48);
  if (shoff === 0) return { architecture, symbols: [] };
  if (shentsize < (is64 ? 64 : 40))
    throw new BinaryFormatError(`The ELF section header size ${shentsize} is too small; the file is corrupt`);
  if (shnum === 0) {
    // More than 0xff00 sections: the real count lives in section 0's sh_size.
    const first = new Fields(await reader.read(shoff, shentsize), data === 1);
    shnum = is64 ? first.u64(32) : first.u32(20);
  }
  const table = new Fields(await reader.read(shoff, shnum * shentsize), data === 1);
  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const base = i * shentsize;
    sections.push(
      is64
        ? {
            type: table.u32(base + 4),
            offset: table.u64(base + 24),
            size: table.u64(base + 32),
            link: table.u32(base + 40),
            entsize: table.u64(base + 56),
          }
        : {
            type: table.u32(base + 4),
            offset: table.u32(base + 16),
            size: table.u32(base + 20),
            link: table.u32(base + 24),
            entsize: table.u32(base + 36),
          },
    );
  }

  const symbols = new Set<string>();
  const entrySize = is64 ? 24 : 16;
  for (const section of sections) {
    if (section.type !== SHT_SYMTAB && section.type !== SHT_DYNSYM) continue;
    const strtab = sections[section.link];
    if (strtab === undefined)
      throw new BinaryFormatError(`An ELF symbol table links to section ${section.link}, which does not exist`);
    const names = await reader.read(strtab.offset, strtab.size);
    const step = section.entsize >= entrySize ? section.entsize : entrySize;
    const count = Math.floor(section.size / step);
    const entries = new Fields(await reader.read(section.offset, count * step), data === 1);
    for (let i = 1; i < count; i++) {
      const base = i * step;
      const nameOffset = entries.u32(base);
      const info = entries.u8(base + (is64 ? 4 : 12));
      const other = entries.u8(base + (is64 ? 5 : 13));
      const shndx = entries.u16(base + (is64 ? 6 : 14));
      const bind = info >> 4;
      const symType = info & 0xf;
      const visibility = other & 0x3;
      if (bind !== STB_GLOBAL && bind !== STB_GNU_UNIQUE) continue; // locals and weak definitions never clash
      if (symType === STT_SECTION || symType === STT_FILE) continue;
      if (shndx === SHN_UNDEF || shndx === SHN_COMMON) continue; // references, and tentative definitions the linker merges
      if (shndx >= SHN_LORESERVE && shndx !== SHN_ABS && shndx !== SHN_XINDEX) continue;
      // Hidden symbols of a relocatable object still clash when two archives are linked into one app; in a shared
      // object or executable they are not exported at all.
      if (type !== ET_REL && visibility !== STV_DEFAULT && visibility !== STV_PROTECTED) continue;
      const name = cString(names, nameOffset);
      if (name.length > 0) symbols.add(name);
    }
  }
  return { architecture, symbols: [...symbols].sort() };
}
