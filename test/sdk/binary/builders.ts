/**
 * Tiny ELF, Mach-O, universal and archive files written byte by byte, so tests do not depend on a toolchain.
 */

class Writer {
  private readonly chunks: Buffer[] = [];
  length = 0;
  constructor(private readonly le: boolean) {}
  bytes(b: Buffer): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }
  u8(v: number): this {
    return this.bytes(Buffer.from([v]));
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return this.bytes(b);
  }
  u64(v: number): this {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigUInt64LE(BigInt(v));
    else b.writeBigUInt64BE(BigInt(v));
    return this.bytes(b);
  }
  word(is64: boolean, v: number): this {
    return is64 ? this.u64(v) : this.u32(v);
  }
  pad(to: number): this {
    return this.length < to ? this.bytes(Buffer.alloc(to - this.length)) : this;
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function stringTable(names: readonly string[]): { table: Buffer; offsets: number[] } {
  const parts: Buffer[] = [Buffer.from([0])];
  const offsets: number[] = [];
  let at = 1;
  for (const name of names) {
    offsets.push(at);
    const b = Buffer.from(`${name}\0`, 'utf8');
    parts.push(b);
    at += b.length;
  }
  return { table: Buffer.concat(parts), offsets };
}

export interface ElfSymbol {
  name: string;
  /** 0 local, 1 global, 2 weak. */
  bind: number;
  /** 0 notype, 1 object, 2 func, 3 section, 4 file. */
  type?: number;
  /** Section index; 0 = undefined. */
  shndx: number;
  /** 0 default, 2 hidden. */
  visibility?: number;
}

export function buildElf(options: {
  is64: boolean;
  le: boolean;
  machine: number;
  type?: number;
  symbols: ElfSymbol[];
  dynamic?: boolean;
}): Buffer {
  const { is64, le, machine } = options;
  const headerSize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const symSize = is64 ? 24 : 16;
  const shstr = stringTable(['.text', '.shstrtab', '.strtab', options.dynamic ? '.dynsym' : '.symtab']);
  const str = stringTable(options.symbols.map((s) => s.name));
  const symbols = new Writer(le);
  symbols.bytes(Buffer.alloc(symSize)); // index 0: the null symbol
  options.symbols.forEach((s, i) => {
    const info = (s.bind << 4) | (s.type ?? 2);
    const other = s.visibility ?? 0;
    if (is64)
      symbols
        .u32(str.offsets[i]!)
        .u8(info)
        .u8(other)
        .u16(s.shndx)
        .u64(0x1000 + i * 16)
        .u64(16);
    else
      symbols
        .u32(str.offsets[i]!)
        .u32(0x1000 + i * 16)
        .u32(16)
        .u8(info)
        .u8(other)
        .u16(s.shndx);
  });
  const symtab = symbols.done();
  const shstrOffset = headerSize;
  const strOffset = shstrOffset + shstr.table.length;
  const symOffset = strOffset + str.table.length;
  const shoff = symOffset + symtab.length;

  const w = new Writer(le);
  w.bytes(Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0])).pad(16);
  w.u16(options.type ?? 1)
    .u16(machine)
    .u32(1)
    .word(is64, 0)
    .word(is64, 0)
    .word(is64, shoff);
  w.u32(0).u16(headerSize).u16(0).u16(0).u16(shentsize).u16(5).u16(2);
  w.bytes(shstr.table).bytes(str.table).bytes(symtab);
  const section = (name: number, type: number, offset: number, size: number, link: number, entsize: number): void => {
    if (is64) w.u32(name).u32(type).u64(0).u64(0).u64(offset).u64(size).u32(link).u32(0).u64(1).u64(entsize);
    else w.u32(name).u32(type).u32(0).u32(0).u32(offset).u32(size).u32(link).u32(0).u32(1).u32(entsize);
  };
  section(0, 0, 0, 0, 0, 0);
  section(shstr.offsets[0]!, 1, 0, 0, 0, 0); // .text (section 1: where defined symbols live)
  section(shstr.offsets[1]!, 3, shstrOffset, shstr.table.length, 0, 0);
  section(shstr.offsets[2]!, 3, strOffset, str.table.length, 0, 0);
  section(shstr.offsets[3]!, options.dynamic ? 11 : 2, symOffset, symtab.length, 3, symSize);
  return w.done();
}

export interface MachOSymbol {
  name: string;
  /** n_type: 0x0f = N_SECT|N_EXT (defined external), 0x01 = undefined external, 0x0e = local, 0x24 = stab. */
  type: number;
  desc?: number;
}

export const CPU = { x86: 7, x86_64: 0x01000007, arm: 12, arm64: 0x0100000c } as const;

export function buildMachO(options: {
  is64: boolean;
  le: boolean;
  cputype: number;
  cpusubtype?: number;
  symbols: MachOSymbol[];
}): Buffer {
  const { is64, le } = options;
  const headerSize = is64 ? 32 : 28;
  const nlistSize = is64 ? 16 : 12;
  const str = stringTable(options.symbols.map((s) => s.name));
  const symoff = headerSize + 24;
  const stroff = symoff + options.symbols.length * nlistSize;
  const w = new Writer(le);
  w.u32(is64 ? 0xfeedfacf : 0xfeedface)
    .u32(options.cputype)
    .u32(options.cpusubtype ?? 0)
    .u32(1)
    .u32(1)
    .u32(24)
    .u32(0);
  if (is64) w.u32(0);
  w.u32(2).u32(24).u32(symoff).u32(options.symbols.length).u32(stroff).u32(str.table.length);
  options.symbols.forEach((s, i) => {
    w.u32(str.offsets[i]!)
      .u8(s.type)
      .u8((s.type & 0x0e) === 0x0e ? 1 : 0)
      .u16(s.desc ?? 0);
    w.word(is64, 0x100 + i * 8);
  });
  w.bytes(str.table);
  return w.done();
}

export function buildFat(slices: { cputype: number; cpusubtype?: number; data: Buffer }[], is64 = false): Buffer {
  const entrySize = is64 ? 32 : 20;
  let offset = 8 + slices.length * entrySize;
  const placed = slices.map((s) => {
    offset = Math.ceil(offset / 16) * 16;
    const at = offset;
    offset += s.data.length;
    return { ...s, at };
  });
  const w = new Writer(false);
  w.u32(is64 ? 0xcafebabf : 0xcafebabe).u32(slices.length);
  for (const s of placed) {
    w.u32(s.cputype).u32(s.cpusubtype ?? 0);
    if (is64) w.u64(s.at).u64(s.data.length).u32(4).u32(0);
    else w.u32(s.at).u32(s.data.length).u32(4);
  }
  for (const s of placed) w.pad(s.at).bytes(s.data);
  return w.done();
}

function arHeader(name: string, size: number): Buffer {
  const field = (v: string, n: number) => v.padEnd(n, ' ').slice(0, n);
  return Buffer.from(
    field(name, 16) +
      field('0', 12) +
      field('0', 6) +
      field('0', 6) +
      field('644', 8) +
      field(String(size), 10) +
      '`\n',
    'latin1',
  );
}

/** GNU ar layout: a `/` symbol index, a `//` long-name table, `name/` members. */
export function buildGnuArchive(members: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  const add = (header: Buffer, data: Buffer) => {
    parts.push(header, data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  };
  add(arHeader('/', 4), Buffer.alloc(4));
  const long = members.filter((m) => m.name.length > 15);
  let longTable = '';
  const longOffsets = new Map<string, number>();
  for (const m of long) {
    longOffsets.set(m.name, longTable.length);
    longTable += `${m.name}/\n`;
  }
  if (long.length > 0) add(arHeader('//', longTable.length), Buffer.from(longTable, 'latin1'));
  for (const m of members)
    add(arHeader(longOffsets.has(m.name) ? `/${longOffsets.get(m.name)}` : `${m.name}/`, m.data.length), m.data);
  return Buffer.concat(parts);
}

/** BSD/Apple ar layout: `#1/<len>` names stored before the data, a `__.SYMDEF SORTED` index. */
export function buildBsdArchive(members: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  const add = (name: string, data: Buffer) => {
    const nameBytes = Buffer.from(name.padEnd(Math.ceil((name.length + 1) / 8) * 8, '\0'), 'utf8');
    const body = Buffer.concat([nameBytes, data]);
    parts.push(arHeader(`#1/${nameBytes.length}`, body.length), body);
    if (body.length % 2 === 1) parts.push(Buffer.from('\n'));
  };
  add('__.SYMDEF SORTED', Buffer.alloc(8));
  for (const m of members) add(m.name, m.data);
  return Buffer.concat(parts);
}
