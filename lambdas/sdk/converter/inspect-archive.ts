/**
 * Opens an input archive and checks its whole central directory before a single byte of entry data is read.
 *
 * yauzl runs with `decodeStrings: false` so that unsafe names reach these checks (and come back as a
 * `HostileArchiveError` naming the entry) instead of failing inside yauzl with an untyped error, and with
 * `validateEntrySizes: false` because the converter counts decompressed bytes itself, with the entry's name at hand.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { HostileArchiveError, InvalidArchiveError } from './errors';
import type { ArchiveLimits } from './limits';

/** Where an input archive comes from: a local file, or any random-access reader (e.g. `S3RandomAccessReader`). */
export type ArchiveSource =
  { readonly path: string } | { readonly reader: yauzl.RandomAccessReader; readonly size: number };

/** One central-directory entry that passed every check. */
export interface CheckedEntry {
  /** As stored in the archive (for messages). */
  readonly storedName: string;
  /** NFC, `.` and empty segments removed, no trailing slash. */
  readonly path: string;
  readonly isDirectory: boolean;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** CRC-32 of the decompressed data, as the central directory declares it; `openEntryStream` checks it. */
  readonly crc32: number;
  readonly mtime: Date;
  /** Unix file mode for the output: 0o100755 when any execute bit was set, else 0o100644. */
  readonly mode: number;
  /** A slim yauzl entry holding only what `openReadStream` reads, so names, extras and comments are not retained. */
  readonly zipEntry: yauzl.Entry;
}

export interface InspectedArchive {
  readonly zipfile: yauzl.ZipFile;
  readonly entries: readonly CheckedEntry[];
  readonly declaredTotalBytes: number;
  /** Stored (compressed) bytes of every file entry together: what the total ratio rule divides by. */
  readonly compressedTotalBytes: number;
}

/** Fields yauzl sets with `decodeStrings: false` that its type declarations do not list. */
interface RawEntry extends yauzl.Entry {
  fileNameRaw: Buffer;
}

const UNIX_HOSTS = new Set([3, 19]); // "version made by" high byte: 3 = Unix, 19 = OS X
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const UNICODE_PATH_EXTRA_FIELD = 0x7075;

// CP437, the zip default for names without the UTF-8 flag: bytes 0x80-0xFF.
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00A0';

function decodeName(raw: Buffer, utf8: boolean): string {
  if (utf8) return raw.toString('utf8');
  let out = '';
  for (const byte of raw) out += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80]!;
  return out;
}

function openZip(source: ArchiveSource): Promise<yauzl.ZipFile> {
  const options: yauzl.Options = {
    lazyEntries: true,
    autoClose: false,
    decodeStrings: false,
    validateEntrySizes: false,
  };
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, zipfile: yauzl.ZipFile) => {
      if (err)
        reject(
          new InvalidArchiveError(
            `The input is not a readable zip archive: ${err.message}. Fix: upload a .zip file made with a standard zip tool`,
            { cause: err },
          ),
        );
      else resolve(zipfile);
    };
    if ('path' in source) yauzl.open(source.path, options, done);
    else yauzl.fromRandomAccessReader(source.reader, source.size, options, done);
  });
}

function nextEntry(zipfile: yauzl.ZipFile): Promise<RawEntry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zipfile.off('entry', onEntry);
      zipfile.off('end', onEnd);
      zipfile.off('error', onError);
    };
    const onEntry = (entry: RawEntry) => (cleanup(), resolve(entry));
    const onEnd = () => (cleanup(), resolve(null));
    const onError = (err: Error) => (cleanup(), reject(err));
    zipfile.on('entry', onEntry);
    zipfile.on('end', onEnd);
    zipfile.on('error', onError);
    zipfile.readEntry();
  });
}

/** A short, fixed-size key for a folded path, so that 50,000 long paths do not sit in memory twice. */
function keyOf(folded: string): string {
  return createHash('sha256').update(folded).digest('base64').slice(0, 24);
}

/** Refuses the name with a reason, or returns its normalised form. */
function checkPath(name: string, limits: ArchiveLimits): { problem: string } | { path: string } {
  if (Buffer.byteLength(name, 'utf8') > limits.maxPathBytes)
    return { problem: `has a path longer than ${limits.maxPathBytes} bytes` };
  if (name === '' || name === '/') return { problem: 'has an empty path' };
  if (name.includes('\\'))
    return {
      problem: 'contains a backslash, which Windows tools read as a folder separator (a way around the "../" check)',
    };
  if (/[\u0000-\u001f\u007f]/.test(name)) return { problem: 'contains a control character' };
  if (name.includes('\uFFFD')) return { problem: 'is not valid UTF-8' };
  if (name.startsWith('/')) return { problem: 'is an absolute path' };
  if (/^[A-Za-z]:/.test(name)) return { problem: 'starts with a drive letter' };
  if (name.includes(':'))
    return { problem: 'contains ":" (an NTFS alternate data stream or drive reference on Windows)' };
  const segments = name.normalize('NFC').split('/');
  if (segments.includes('..')) return { problem: 'escapes the archive root with ".."' };
  // Windows drops trailing dots and spaces, so "... " or ". ." can resolve to "..".
  if (segments.some((s) => s !== '.' && s !== '' && /^[. ]+$/.test(s)))
    return { problem: 'has a path segment made only of dots and spaces' };
  const kept = segments.filter((s) => s !== '' && s !== '.');
  if (kept.length === 0) return { problem: 'names the archive root itself' };
  return { path: kept.join('/') };
}

/**
 * Opens `source` and checks every central-directory entry: entry count, paths (escaping the root, absolute, drive
 * letters, backslashes), symbolic links, duplicates after normalisation and case-folding, encryption, compression
 * method, declared sizes (stored entries, compression ratio, total) and overlapping data.
 * @throws HostileArchiveError naming the first offending entry and the rule; InvalidArchiveError for a corrupt file.
 */
export async function inspectArchive(source: ArchiveSource, limits: ArchiveLimits): Promise<InspectedArchive> {
  const zipfile = await openZip(source);
  try {
    if (zipfile.entryCount > limits.maxEntries) {
      throw new HostileArchiveError(
        '(central directory)',
        'too-many-entries',
        `declares ${zipfile.entryCount} entries, over the limit of ${limits.maxEntries}`,
      );
    }
    const entries: CheckedEntry[] = [];
    const explicit = new Map<string, { name: string; isDirectory: boolean }>();
    const impliedFolders = new Map<string, string>();
    let total = 0;
    let compressedTotal = 0;
    for (let index = 1; ; index++) {
      let raw: RawEntry | null;
      try {
        raw = await nextEntry(zipfile);
      } catch (error) {
        const message = (error as Error).message;
        if (/strong encryption/i.test(message))
          throw new HostileArchiveError(`#${index}`, 'encrypted-entry', 'is encrypted (strong encryption)', {
            cause: error,
          });
        throw new InvalidArchiveError(
          `The archive's central directory is corrupt at entry #${index}: ${message}. Fix: re-create the archive with a standard zip tool`,
          { cause: error },
        );
      }
      if (raw === null) break;

      const storedName = decodeName(raw.fileNameRaw, (raw.generalPurposeBitFlag & 0x800) !== 0);
      const refuse = (rule: ConstructorParameters<typeof HostileArchiveError>[1], problem: string): never => {
        throw new HostileArchiveError(storedName, rule, problem);
      };

      const checked = checkPath(storedName, limits);
      if ('problem' in checked) refuse('unsafe-path', checked.problem);
      const path = (checked as { path: string }).path;
      // Some extractors prefer the Info-ZIP Unicode Path field over the header name: both must be the same path.
      for (const field of raw.extraFields) {
        if (field.id !== UNICODE_PATH_EXTRA_FIELD || field.data.length < 5) continue;
        const alternate = field.data.subarray(5).toString('utf8');
        if (alternate.normalize('NFC') !== storedName.normalize('NFC'))
          refuse('unsafe-path', `carries a second, different name "${alternate}" in its Unicode Path extra field`);
      }

      const host = raw.versionMadeBy >>> 8;
      const unixMode = raw.externalFileAttributes >>> 16;
      // Checked whatever the "made by" host says: an extractor that honours the mode bits would create a link.
      if ((unixMode & S_IFMT) === S_IFLNK) refuse('symbolic-link', 'is a symbolic link');
      if ((raw.generalPurposeBitFlag & 0x1) !== 0) refuse('encrypted-entry', 'is encrypted');

      const isDirectory = storedName.endsWith('/');
      const folded = path.toLowerCase();
      const key = keyOf(folded);
      const earlier = explicit.get(key);
      if (earlier !== undefined) {
        refuse(
          'duplicate-entry',
          earlier.name === storedName
            ? 'appears twice'
            : `is the same path as "${earlier.name}" after normalising case and Unicode form`,
        );
      }
      if (!isDirectory && impliedFolders.has(key))
        refuse('duplicate-entry', `is a file, but "${impliedFolders.get(key)}" uses the same path as a folder`);
      const parts = folded.split('/');
      for (let depth = 1; depth < parts.length; depth++) {
        const folderKey = keyOf(parts.slice(0, depth).join('/'));
        const asEntry = explicit.get(folderKey);
        if (asEntry !== undefined && !asEntry.isDirectory)
          refuse('duplicate-entry', `is inside "${asEntry.name}", which is a file`);
        if (!impliedFolders.has(folderKey)) impliedFolders.set(folderKey, storedName);
      }
      explicit.set(key, { name: storedName, isDirectory });

      if (!isDirectory) {
        if (raw.compressionMethod !== 0 && raw.compressionMethod !== 8)
          refuse('unsupported-compression', `uses compression method ${raw.compressionMethod}`);
        if (raw.compressionMethod === 0 && raw.compressedSize !== raw.uncompressedSize) {
          refuse(
            'size-mismatch',
            `is stored uncompressed but declares ${raw.compressedSize} stored and ${raw.uncompressedSize} uncompressed bytes`,
          );
        }
        if (
          raw.uncompressedSize > limits.ratioExemptBytes &&
          raw.uncompressedSize > limits.maxCompressionRatio * raw.compressedSize
        ) {
          const ratio =
            raw.compressedSize === 0 ? 'an unbounded' : `a ${Math.round(raw.uncompressedSize / raw.compressedSize)}:1`;
          refuse(
            'compression-ratio',
            `declares ${ratio} compression ratio, over the limit of ${limits.maxCompressionRatio}:1`,
          );
        }
        total += raw.uncompressedSize;
        compressedTotal += raw.compressedSize;
        if (total > limits.maxTotalBytes)
          refuse(
            'total-size',
            `brings the declared uncompressed total to ${total} bytes, over the limit of ${limits.maxTotalBytes}`,
          );
      }

      const perms = UNIX_HOSTS.has(host) ? unixMode & 0o777 : 0o644;
      const zipEntry = Object.assign(new yauzl.Entry(), {
        compressedSize: raw.compressedSize,
        uncompressedSize: raw.uncompressedSize,
        compressionMethod: raw.compressionMethod,
        generalPurposeBitFlag: raw.generalPurposeBitFlag,
        relativeOffsetOfLocalHeader: raw.relativeOffsetOfLocalHeader,
      });
      entries.push({
        storedName,
        path,
        isDirectory,
        compressedSize: raw.compressedSize,
        uncompressedSize: raw.uncompressedSize,
        crc32: raw.crc32,
        mtime: raw.getLastModDate(),
        mode: (perms & 0o111) !== 0 ? 0o100755 : 0o100644,
        zipEntry,
      });
    }
    checkNoOverlap(entries);
    const totalRatio = exceedsTotalRatio(total, compressedTotal, limits);
    if (totalRatio !== undefined) {
      throw new HostileArchiveError(
        ALL_ENTRIES,
        'total-compression-ratio',
        `declare ${total} bytes from ${compressedTotal} stored bytes together (${totalRatio}), over the limit of ${limits.maxCompressionRatio}:1`,
      );
    }
    return { zipfile, entries, declaredTotalBytes: total, compressedTotalBytes: compressedTotal };
  } catch (error) {
    zipfile.close();
    throw error;
  }
}

/** How a refusal names the archive as a whole (the total rules are about every entry together). */
export const ALL_ENTRIES = '(all entries)';

/**
 * The total ratio rule: many entries each under the per-entry exemption (1,000 entries of 1 MiB of zeros) still
 * expand the whole archive far beyond its size. Returns the ratio as text when `expanded` is over the limit.
 */
export function exceedsTotalRatio(expanded: number, compressed: number, limits: ArchiveLimits): string | undefined {
  if (expanded <= limits.ratioExemptBytes || expanded <= limits.maxCompressionRatio * compressed) return undefined;
  return compressed === 0 ? 'an unbounded ratio' : `${Math.round(expanded / compressed)}:1`;
}

/**
 * Refuses entries whose data regions overlap: the "non-recursive zip bomb" points many entries at the same deflate
 * stream so that a small file expands many times over. A local header is at least 30 bytes.
 */
function checkNoOverlap(entries: readonly CheckedEntry[]): void {
  const files = entries
    .filter((e) => !e.isDirectory)
    .sort((a, b) => a.zipEntry.relativeOffsetOfLocalHeader - b.zipEntry.relativeOffsetOfLocalHeader);
  for (let i = 1; i < files.length; i++) {
    const before = files[i - 1]!;
    const here = files[i]!;
    if (
      before.zipEntry.relativeOffsetOfLocalHeader + 30 + before.compressedSize >
      here.zipEntry.relativeOffsetOfLocalHeader
    ) {
      throw new HostileArchiveError(
        here.storedName,
        'overlapping-entries',
        `shares its data with "${before.storedName}"`,
      );
    }
  }
}

/**
 * Checks an entry's decompressed bytes against its central-directory record while they stream: never more bytes
 * than declared (so a lying header cannot inflate without bound), exactly as many at the end, and the same CRC-32,
 * for stored and deflated entries alike. yauzl checks none of this for stored entries, and a stored entry is where
 * a flipped byte would otherwise pass unnoticed and be re-zipped with a fresh, valid CRC.
 */
class EntryVerifier extends Transform {
  private crc = 0;
  private bytes = 0;

  constructor(private readonly entry: CheckedEntry) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.entry.uncompressedSize) {
      return callback(
        new HostileArchiveError(
          this.entry.storedName,
          'size-mismatch',
          `inflates beyond the ${this.entry.uncompressedSize} bytes its header declares`,
        ),
      );
    }
    this.crc = crc32(chunk, this.crc);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.entry.uncompressedSize) {
      return callback(
        new HostileArchiveError(
          this.entry.storedName,
          'size-mismatch',
          `holds ${this.bytes} bytes, not the ${this.entry.uncompressedSize} its header declares`,
        ),
      );
    }
    if (this.crc !== this.entry.crc32) {
      const hex = (n: number) => n.toString(16).padStart(8, '0');
      return callback(
        new HostileArchiveError(
          this.entry.storedName,
          'crc-mismatch',
          `has CRC-32 ${hex(this.crc)}, not the ${hex(this.entry.crc32)} its header declares (the data is damaged)`,
        ),
      );
    }
    callback();
  }
}

/**
 * Opens the decompressed data of a checked entry. The stream fails with a `HostileArchiveError` (`size-mismatch`,
 * `crc-mismatch`) naming the entry when its bytes disagree with its header, before it ends: a consumer that waits
 * for the end before committing anything never commits damaged data.
 */
export function openEntryStream(zipfile: yauzl.ZipFile, entry: CheckedEntry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zipfile.openReadStream(entry.zipEntry, (err, stream) => {
      if (err)
        return reject(
          new InvalidArchiveError(`Cannot read entry "${entry.storedName}": ${err.message}`, {
            cause: err,
            details: { entry: entry.storedName },
          }),
        );
      const verified = new EntryVerifier(entry);
      // pipeline destroys both ends when either fails or the consumer destroys `verified`; the error reaches the
      // consumer through `verified`, so the promise's own rejection is not needed here.
      pipeline(stream, verified).catch(() => undefined);
      resolve(verified);
    });
  });
}
