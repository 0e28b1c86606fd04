/**
 * Archives inside the input archive (`resources/inner.zip`, an Android `.aar` holding `classes.jar`, a `.tar.gz`).
 *
 * Policy: a nested archive is inspected under the same budget as the outer one, not refused, because zip-format
 * libraries (`.jar`, `.aar`) are ordinary SDK content. It is recognised by its first bytes, whatever its name:
 *
 * - zip (`PK\x03\x04`, or `PK\x05\x06` for an empty one): its central directory passes every rule of
 *   `inspectArchive`, then each of its entries is decompressed (and thrown away) through the same checks as an
 *   outer entry: CRC-32, sizes, the per-entry ratio, and the decompressed bytes count against the outer archive's
 *   total size and total ratio. Archives inside it are inspected the same way, up to `MAX_NESTING_DEPTH` levels.
 * - gzip (`\x1f\x8b`): decompressed (and thrown away) under the same budget.
 * - bzip2, xz, 7z, zstd: refused (`nested-archive`); Node has no decoder for them here, so what they expand to
 *   cannot be bounded.
 *
 * The nested archive's bytes are spooled to a scratch file while the outer entry streams (a zip is read from its
 * end), checked when the entry ends, and deleted. Nothing of it is unpacked to disk.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { HostileArchiveError, InvalidArchiveError } from './errors';
import { exceedsTotalRatio, inspectArchive, openEntryStream, ALL_ENTRIES, type CheckedEntry } from './inspect-archive';
import type { ArchiveLimits } from './limits';

/** Levels of archives inside archives that are inspected (an `.aar` inside the SDK, `classes.jar` inside it: 2). */
export const MAX_NESTING_DEPTH = 3;

/** Decompressed bytes of the whole input so far, nested archives included, against the outer archive's size. */
export interface ExpansionBudget {
  used: number;
  /** Stored bytes of the outer archive's file entries (`InspectedArchive.compressedTotalBytes`). */
  readonly compressedTotal: number;
}

export type NestedFormat = 'zip' | 'gzip';

/** The format the first bytes announce: one that is inspected, one that is refused (`unsupported`), or none. */
export function detectNestedArchive(head: Buffer): NestedFormat | { readonly unsupported: string } | undefined {
  const starts = (...bytes: number[]) => head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06)) return 'zip';
  if (starts(0x1f, 0x8b)) return 'gzip';
  // "BZh" + block size digit + the first block's magic (the digits of pi), so a text file starting "BZh" is not one.
  if (
    starts(0x42, 0x5a, 0x68) &&
    head[3]! >= 0x31 &&
    head[3]! <= 0x39 &&
    starts(0x42, 0x5a, 0x68, head[3]!, 0x31, 0x41, 0x59, 0x26)
  )
    return { unsupported: 'bzip2' };
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return { unsupported: 'xz' };
  if (starts(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return { unsupported: '7z' };
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return { unsupported: 'zstd' };
  return undefined;
}

/** Bytes needed to tell the formats apart. */
export const NESTED_HEAD_BYTES = 8;

/**
 * Adds `bytes` decompressed bytes of `entryName` to the budget, refusing when the total size or the total ratio is
 * over its limit.
 */
export function spend(budget: ExpansionBudget, bytes: number, entryName: string, limits: ArchiveLimits): void {
  budget.used += bytes;
  if (budget.used > limits.maxTotalBytes) {
    throw new HostileArchiveError(
      entryName,
      'total-size',
      `brings the decompressed total over the limit of ${limits.maxTotalBytes} bytes`,
    );
  }
  const ratio = exceedsTotalRatio(budget.used, budget.compressedTotal, limits);
  if (ratio !== undefined) {
    throw new HostileArchiveError(
      entryName,
      'total-compression-ratio',
      `brings the archive's decompressed total to ${budget.used} bytes from ${budget.compressedTotal} stored bytes (${ratio}), over the limit of ${limits.maxCompressionRatio}:1`,
    );
  }
}

/**
 * Collects the first bytes of an entry and, when they announce an archive, spools the entry to a scratch file so
 * that `check()` can inspect it once the entry has ended.
 */
export class NestedArchiveSpool {
  private head = Buffer.alloc(0);
  /** Chunks seen before the head was complete (chunks are normally far larger than 8 bytes). */
  private early: Buffer[] = [];
  private format: NestedFormat | undefined;
  private decided = false;
  private folder: string | undefined;
  private file: WriteStream | undefined;

  constructor(
    private readonly entryName: string,
    private readonly depth: number,
    private readonly scratchDir: string,
  ) {}

  /** Feeds the next chunk of the entry's decompressed bytes (in order). @throws HostileArchiveError for a refused format */
  async write(chunk: Buffer): Promise<void> {
    if (!this.decided) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, NESTED_HEAD_BYTES - this.head.length)]);
      this.early.push(chunk);
      if (this.head.length < NESTED_HEAD_BYTES) return;
      this.decide();
      await this.flushEarly();
      return;
    }
    if (this.format !== undefined) await this.append(chunk);
  }

  /** After the last chunk: inspects the spooled archive under the budget. @throws HostileArchiveError */
  async check(budget: ExpansionBudget, limits: ArchiveLimits): Promise<void> {
    try {
      if (!this.decided) {
        this.decide();
        await this.flushEarly();
      }
      if (this.file === undefined || this.format === undefined) return;
      this.file.end();
      await finished(this.file);
      const path = this.file.path as string;
      if (this.format === 'gzip') await expandGzip(path, this.entryName, budget, limits);
      else await inspectNestedZip(path, this.entryName, budget, limits, this.depth + 1, this.scratchDir);
    } finally {
      await this.discard();
    }
  }

  /** Deletes the scratch file (also after a failure). */
  async discard(): Promise<void> {
    this.file?.destroy();
    this.file = undefined;
    if (this.folder !== undefined) await rm(this.folder, { recursive: true, force: true });
    this.folder = undefined;
  }

  private decide(): void {
    this.decided = true;
    const found = detectNestedArchive(this.head);
    if (found === undefined) return;
    if (typeof found === 'object')
      throw new HostileArchiveError(
        this.entryName,
        'nested-archive',
        `is a ${found.unsupported} archive, which cannot be inspected`,
      );
    if (this.depth + 1 > MAX_NESTING_DEPTH)
      throw new HostileArchiveError(
        this.entryName,
        'nested-archive',
        `nests archives more than ${MAX_NESTING_DEPTH} levels deep`,
      );
    this.format = found;
  }

  private async flushEarly(): Promise<void> {
    const early = this.early;
    this.early = [];
    if (this.format === undefined) return;
    for (const chunk of early) await this.append(chunk);
  }

  private async append(chunk: Buffer): Promise<void> {
    if (this.file === undefined) {
      this.folder = await mkdtemp(join(this.scratchDir, 'lockstep-nested-'));
      this.file = createWriteStream(join(this.folder, 'archive'));
    }
    const file = this.file;
    if (!file.write(chunk)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
  }
}

async function expandGzip(
  path: string,
  entryName: string,
  budget: ExpansionBudget,
  limits: ArchiveLimits,
): Promise<void> {
  const counter = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      try {
        spend(budget, chunk.length, entryName, limits);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  try {
    await pipeline(createReadStream(path), createGunzip(), counter);
  } catch (error) {
    if (error instanceof HostileArchiveError) throw error;
    throw new InvalidArchiveError(
      `Entry "${entryName}" is a gzip file that cannot be decompressed: ${(error as Error).message}. Fix: re-create it with gzip`,
      { cause: error, details: { entry: entryName } },
    );
  }
}

async function inspectNestedZip(
  path: string,
  entryName: string,
  budget: ExpansionBudget,
  limits: ArchiveLimits,
  depth: number,
  scratchDir: string,
): Promise<void> {
  let archive;
  try {
    archive = await inspectArchive({ path }, limits);
  } catch (error) {
    if (error instanceof HostileArchiveError) {
      if (error.entry === ALL_ENTRIES || error.entry === '(central directory)')
        throw new HostileArchiveError(entryName, error.rule, `is an archive whose entries ${error.problem}`, {
          cause: error,
        });
      throw error.within(entryName);
    }
    if (error instanceof InvalidArchiveError)
      throw new HostileArchiveError(
        entryName,
        'nested-archive',
        `starts like a zip archive but cannot be read as one (${error.message})`,
        { cause: error },
      );
    throw error;
  }
  try {
    // Refused on what the inner archive declares before anything of it is decompressed.
    if (budget.used + archive.declaredTotalBytes > limits.maxTotalBytes) {
      throw new HostileArchiveError(
        entryName,
        'total-size',
        `is an archive declaring ${archive.declaredTotalBytes} uncompressed bytes, which with the ${budget.used} bytes decompressed so far is over the limit of ${limits.maxTotalBytes} bytes`,
      );
    }
    for (const entry of archive.entries) {
      if (entry.isDirectory) continue;
      await expandEntry(archive.zipfile, entry, budget, limits, depth, scratchDir).catch((error: unknown) => {
        throw error instanceof HostileArchiveError ? error.within(entryName) : error;
      });
    }
  } finally {
    archive.zipfile.close();
  }
}

/** Decompresses one entry of a nested zip through every check, counting it against the budget. */
async function expandEntry(
  zipfile: Parameters<typeof openEntryStream>[0],
  entry: CheckedEntry,
  budget: ExpansionBudget,
  limits: ArchiveLimits,
  depth: number,
  scratchDir: string,
): Promise<void> {
  const spool = new NestedArchiveSpool(entry.storedName, depth, scratchDir);
  let bytes = 0;
  const counter = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      bytes += chunk.length;
      try {
        spend(budget, chunk.length, entry.storedName, limits);
        if (bytes > limits.ratioExemptBytes && bytes > limits.maxCompressionRatio * entry.compressedSize) {
          throw new HostileArchiveError(
            entry.storedName,
            'compression-ratio',
            `inflates beyond ${limits.maxCompressionRatio}:1`,
          );
        }
      } catch (error) {
        return callback(error as Error);
      }
      spool.write(chunk).then(() => callback(), callback);
    },
  });
  try {
    await pipeline(await openEntryStream(zipfile, entry), counter);
    await spool.check(budget, limits);
  } finally {
    await spool.discard();
  }
}
