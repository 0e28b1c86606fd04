/**
 * What a binary holds: its CPU architectures and the symbols it defines. The tester calls this to compare a
 * package's binaries with `platform.architectures`; staging uses the symbols to find duplicate embedded libraries.
 */
import { archiveMembers, ARCHIVE_MAGIC, THIN_ARCHIVE_MAGIC } from './archive';
import { ELF_MAGIC, inspectElf } from './elf';
import { BinaryFormatError } from './errors';
import {
  FAT_MAGIC,
  FAT_MAGIC_64,
  inspectMachO,
  machOArchitecture,
  MH_CIGAM,
  MH_CIGAM_64,
  MH_MAGIC,
  MH_MAGIC_64,
  readFatSlices,
} from './macho';
import { bufferReader, openFileReader, sliceReader, type RandomAccessReader } from './reader';

export type BinaryFormat = 'elf' | 'macho' | 'fat' | 'archive';

export interface BinaryInfo {
  readonly format: BinaryFormat;
  /** Architectures, sorted, without repeats: `arm64`, `x86_64`, `x86`, `arm`, `armv7`, `arm64e`, ... */
  readonly architectures: readonly string[];
  /** Defined, exported, non-weak symbols of every part, sorted, without repeats. */
  readonly symbols: readonly string[];
  /** Slices of a universal binary (named by architecture) or object members of an archive. */
  readonly parts: readonly { readonly name: string; readonly info: BinaryInfo }[];
}

/** Which format the first bytes announce, or undefined for anything else (headers, images, scripts). */
export function detectFormat(head: Buffer): BinaryFormat | undefined {
  if (head.length >= 4 && head.subarray(0, 4).equals(ELF_MAGIC)) return 'elf';
  if (head.length >= 8 && (head.subarray(0, 8).equals(ARCHIVE_MAGIC) || head.subarray(0, 8).equals(THIN_ARCHIVE_MAGIC)))
    return 'archive';
  if (head.length < 4) return undefined;
  const magic = head.readUInt32BE(0);
  if (magic === MH_MAGIC || magic === MH_MAGIC_64 || magic === MH_CIGAM || magic === MH_CIGAM_64) return 'macho';
  if (magic === FAT_MAGIC || magic === FAT_MAGIC_64) return 'fat';
  return undefined;
}

/**
 * Inspects an ELF, Mach-O (thin or universal) or static archive; resolves to undefined when the bytes are none
 * of these (so callers can walk a whole package and skip headers and resources).
 *
 * @throws BinaryFormatError when the file announces a binary format but is truncated or corrupt.
 * @example
 * const info = await inspectBinary(await readFile('Maps.framework/Maps'));
 * info?.architectures; // ['arm64', 'x86_64']
 */
export async function inspectBinary(source: Buffer | RandomAccessReader): Promise<BinaryInfo | undefined> {
  const reader = Buffer.isBuffer(source) ? bufferReader(source) : source;
  if (reader.size < 4) return undefined;
  const head = await reader.read(0, Math.min(8, reader.size));
  switch (detectFormat(head)) {
    case 'elf': {
      const elf = await inspectElf(reader);
      return { format: 'elf', architectures: [elf.architecture], symbols: elf.symbols, parts: [] };
    }
    case 'macho': {
      const macho = await inspectMachO(reader);
      return { format: 'macho', architectures: [macho.architecture], symbols: macho.symbols, parts: [] };
    }
    case 'fat':
      return inspectFat(reader);
    case 'archive':
      return inspectArchive(reader, head);
    default:
      return undefined;
  }
}

const BINARY_NAME = /\.(a|o|so(\.\d+)*|dylib)$/i;
const FRAMEWORK_BINARY = /(?:^|\/)([^/]+)\.framework\/\1$/;

/**
 * Whether a file's name says it is a binary `inspectBinary` reads: a static or shared library, an object file, or
 * the executable of a `.framework` bundle (`Maps.framework/Maps`). When such a file does not parse, the
 * architecture check fails instead of skipping it, so a damaged library is never passed as "no binaries".
 */
export function isNamedAsBinary(path: string): boolean {
  return BINARY_NAME.test(path) || FRAMEWORK_BINARY.test(path);
}

/** `inspectBinary` on a file, reading only the parts the headers point at. */
export async function inspectFile(path: string): Promise<BinaryInfo | undefined> {
  const reader = await openFileReader(path);
  try {
    return await inspectBinary(reader);
  } finally {
    await reader.close();
  }
}

async function inspectFat(reader: RandomAccessReader): Promise<BinaryInfo | undefined> {
  const slices = await readFatSlices(reader);
  if (slices === undefined) return undefined;
  const parts: { name: string; info: BinaryInfo }[] = [];
  for (const slice of slices) {
    const declared = machOArchitecture(slice.cputype, slice.cpusubtype);
    const info = await inspectBinary(sliceReader(reader, slice.offset, slice.size));
    if (info === undefined) {
      throw new BinaryFormatError(
        `The ${declared} slice of the universal binary is neither Mach-O nor a static archive; rebuild it with lipo`,
        {
          details: { architecture: declared },
        },
      );
    }
    // An empty archive slice still says which architecture it is for.
    parts.push({ name: declared, info: info.architectures.length > 0 ? info : { ...info, architectures: [declared] } });
  }
  return combine('fat', parts);
}

async function inspectArchive(reader: RandomAccessReader, head: Buffer): Promise<BinaryInfo> {
  if (head.equals(THIN_ARCHIVE_MAGIC)) {
    throw new BinaryFormatError(
      'The static archive is a thin archive (it only points at object files elsewhere); rebuild it without ar --thin',
    );
  }
  const parts: { name: string; info: BinaryInfo }[] = [];
  let members = 0;
  for await (const member of archiveMembers(reader)) {
    members++;
    const info = await inspectBinary(member.reader);
    if (info !== undefined) parts.push({ name: member.name, info });
    // A member named as an object file that is neither ELF nor Mach-O is damaged (or bitcode only): its
    // architecture cannot be checked, and skipping it would let the check pass on the other members alone.
    else if (/\.o$/i.test(member.name)) {
      throw new BinaryFormatError(
        `Member ${member.name} of the static archive is not an ELF or Mach-O object file; rebuild the library (with machine code, not bitcode only)`,
        {
          details: { member: member.name },
        },
      );
    }
  }
  if (members > 0 && parts.length === 0) {
    throw new BinaryFormatError(
      'The static archive holds no ELF or Mach-O object file, so its architectures cannot be checked; rebuild the library',
    );
  }
  return combine('archive', parts);
}

function combine(format: BinaryFormat, parts: { name: string; info: BinaryInfo }[]): BinaryInfo {
  const architectures = new Set<string>();
  const symbols = new Set<string>();
  for (const part of parts) {
    for (const a of part.info.architectures) architectures.add(a);
    for (const s of part.info.symbols) symbols.add(s);
  }
  return { format, architectures: [...architectures].sort(), symbols: [...symbols].sort(), parts };
}
