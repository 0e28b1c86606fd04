/**
 * Test helpers: a tiny zip writer that can produce what yazl refuses to (unsafe names, symlinks, lying sizes,
 * duplicates, encryption flags, overlapping entries), and a reader that returns an archive's files.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';

export interface RawZipEntry {
  readonly name: string;
  readonly data?: Buffer;
  /** 0 stored, 8 deflate, anything else written as is. @default 8 */
  readonly method?: number;
  /** General-purpose bits; bit 11 (UTF-8 names) is always added. @default 0 */
  readonly flags?: number;
  /** @default regular file 0644 (or folder 0755 for names ending in "/"), Unix host */
  readonly unixMode?: number;
  /** Lie about the uncompressed size in both headers. */
  readonly declaredSize?: number;
  /** Extra field bytes (central directory and local header). */
  readonly extra?: Buffer;
  /** Point this entry's central-directory record at an earlier entry's local header (overlap). */
  readonly sameDataAs?: number;
  /** Write this CRC-32 in both headers instead of the data's own (a damaged entry). */
  readonly crc?: number;
}

export function unicodePathExtraField(name: string, storedName: string): Buffer {
  const utf8 = Buffer.from(name, 'utf8');
  const header = Buffer.alloc(9);
  header.writeUInt16LE(0x7075, 0);
  header.writeUInt16LE(5 + utf8.length, 2);
  header.writeUInt8(1, 4);
  header.writeUInt32LE(crc32(Buffer.from(storedName, 'utf8')), 5);
  return Buffer.concat([header, utf8]);
}

/** Builds a zip archive byte by byte (no ZIP64, no data descriptors). */
export function buildZip(entries: readonly RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  entries.forEach((entry, index) => {
    const name = Buffer.from(entry.name, 'utf8');
    const data = entry.data ?? Buffer.alloc(0);
    const method = entry.method ?? 8;
    const payload = method === 8 ? deflateRawSync(data) : data;
    const flags = (entry.flags ?? 0) | 0x800;
    const crc = entry.crc ?? crc32(data);
    const usize = entry.declaredSize ?? data.length;
    const extra = entry.extra ?? Buffer.alloc(0);
    const mode = entry.unixMode ?? (entry.name.endsWith('/') ? 0o40755 : 0o100644);

    let localOffset = offset;
    if (entry.sameDataAs !== undefined) {
      localOffset = offsets[entry.sameDataAs]!;
    } else {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(flags, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt16LE(0, 10);
      local.writeUInt16LE(0x5821, 12); // 2024-01-01
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(payload.length, 18);
      local.writeUInt32LE(usize, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(extra.length, 28);
      const block = Buffer.concat([local, name, extra, payload]);
      locals.push(block);
      offset += block.length;
    }
    offsets[index] = localOffset;

    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE((3 << 8) | 30, 4); // made by Unix, spec 3.0
    record.writeUInt16LE(20, 6);
    record.writeUInt16LE(flags, 8);
    record.writeUInt16LE(method, 10);
    record.writeUInt16LE(0, 12);
    record.writeUInt16LE(0x5821, 14);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(payload.length, 20);
    record.writeUInt32LE(usize, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt16LE(extra.length, 30);
    record.writeUInt16LE(0, 32);
    record.writeUInt16LE(0, 34);
    record.writeUInt16LE(0, 36);
    record.writeUInt32LE((mode << 16) >>> 0, 38);
    record.writeUInt32LE(localOffset, 42);
    central.push(Buffer.concat([record, name, extra]));
  });
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Reads every file of a zip (small test archives only). */
export function readZip(source: string | Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const onOpen = (err: Error | null, zipfile: yauzl.ZipFile) => {
      if (err) return reject(err);
      const files = new Map<string, Buffer>();
      zipfile.on('error', reject);
      zipfile.on('end', () => resolve(files));
      zipfile.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zipfile.readEntry();
        zipfile.openReadStream(entry, (error, stream) => {
          if (error) return reject(error);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zipfile.readEntry();
          });
        });
      });
      zipfile.readEntry();
    };
    if (typeof source === 'string') yauzl.open(source, { lazyEntries: true }, onOpen);
    else yauzl.fromBuffer(source, { lazyEntries: true }, onOpen);
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
