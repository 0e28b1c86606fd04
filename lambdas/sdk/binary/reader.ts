import { open, type FileHandle } from 'node:fs/promises';
import { BinaryFormatError } from './errors';

/**
 * Random access to a binary's bytes. Inspection reads headers, load commands and symbol tables through this, so a
 * 2 GB static library is never loaded whole: only the parts the headers point at.
 */
export interface RandomAccessReader {
  /** Size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes at `offset`; throws `BinaryFormatError` past the end. */
  read(offset: number, length: number): Promise<Buffer>;
}

function checkBounds(size: number, offset: number, length: number, what: string): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new BinaryFormatError(
      `The binary is truncated or corrupt: ${what} needs bytes ${offset}..${offset + length} but the file has ${size}; re-upload or rebuild it`,
      { details: { offset, length, size } },
    );
  }
}

/** A reader over bytes already in memory. */
export function bufferReader(buffer: Buffer): RandomAccessReader {
  return {
    size: buffer.length,
    read: async (offset, length) => {
      checkBounds(buffer.length, offset, length, 'a read');
      return buffer.subarray(offset, offset + length);
    },
  };
}

/** A window of another reader: a slice of a universal binary or a member of a static archive. */
export function sliceReader(reader: RandomAccessReader, start: number, size: number): RandomAccessReader {
  checkBounds(reader.size, start, size, 'a slice');
  return {
    size,
    read: async (offset, length) => {
      checkBounds(size, offset, length, 'a read inside a slice');
      return reader.read(start + offset, length);
    },
  };
}

/** A reader over a file on disk; close it when done. */
export async function openFileReader(path: string): Promise<RandomAccessReader & { close(): Promise<void> }> {
  const handle: FileHandle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    read: async (offset, length) => {
      checkBounds(size, offset, length, 'a read');
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done < length)
        throw new BinaryFormatError(`${path} shrank while being read; inspect it again`, { details: { path } });
      return buffer;
    },
    close: () => handle.close(),
  };
}

/** Little- or big-endian integer access over a header buffer, with 64-bit values as safe numbers. */
export class Fields {
  constructor(
    private readonly buffer: Buffer,
    private readonly littleEndian: boolean,
  ) {}

  u8(offset: number): number {
    return this.buffer.readUInt8(offset);
  }
  u16(offset: number): number {
    return this.littleEndian ? this.buffer.readUInt16LE(offset) : this.buffer.readUInt16BE(offset);
  }
  u32(offset: number): number {
    return this.littleEndian ? this.buffer.readUInt32LE(offset) : this.buffer.readUInt32BE(offset);
  }
  i32(offset: number): number {
    return this.littleEndian ? this.buffer.readInt32LE(offset) : this.buffer.readInt32BE(offset);
  }
  u64(offset: number): number {
    const value = this.littleEndian ? this.buffer.readBigUInt64LE(offset) : this.buffer.readBigUInt64BE(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new BinaryFormatError(
        `The binary holds an offset or size of ${value} bytes, beyond what can be a real file; it is corrupt`,
      );
    }
    return Number(value);
  }
}

/** The NUL-terminated string at `offset` of a string table (empty when out of range). */
export function cString(table: Buffer, offset: number): string {
  if (offset >= table.length) return '';
  const end = table.indexOf(0, offset);
  return table.toString('utf8', offset, end < 0 ? table.length : end);
}
