/**
 * Downloading an install plan: every file streamed through SHA-256 while it is written, kept only when the
 * checksum and size match the index. The transport (download API, then the signed URL) sits behind `Downloader`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumMismatchError } from './errors';
import type { DownloadItem, InstallPlan } from './plan';

/** Port: fetches one file's bytes (the CLI implements it over the download API and the signed URL it returns). */
export interface Downloader {
  download(item: DownloadItem): Promise<AsyncIterable<Uint8Array>>;
}

export interface ExpectedFile {
  /** For messages, e.g. `maps 2.0.0 maps-2.0.0.zip`. */
  readonly label: string;
  readonly sha256: string;
  readonly size: number;
}

/** Hashes and counts the bytes that pass; fails the stream when they are not what the index lists. */
class DownloadVerifier extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  sha256 = '';

  constructor(private readonly expected: ExpectedFile) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.expected.size) {
      const { label, size } = this.expected;
      return callback(
        new ChecksumMismatchError(
          `${label} is larger than the ${size} bytes the index lists; the download was stopped and discarded`,
          {
            details: { label, expectedSize: size },
            expected: this.expected.sha256,
            actual: `more than ${size} bytes`,
          },
        ),
      );
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    const expected = this.expected;
    if (this.size === expected.size && this.sha256 === expected.sha256) return callback();
    callback(
      new ChecksumMismatchError(
        `${expected.label} does not match the index: got ${this.size} bytes with SHA-256 ${this.sha256}, expected ${expected.size} bytes with SHA-256 ${expected.sha256}; ` +
          'the file was discarded; install again, and report it to the SDK owner if it persists',
        {
          details: { label: expected.label, expected: expected.sha256, actual: this.sha256 },
          expected: expected.sha256,
          actual: this.sha256,
        },
      ),
    );
  }
}

/**
 * Hashes `source` while copying it to `sink` (when given) and checks the result. Stops as soon as more bytes
 * arrive than expected, so a hostile or broken server cannot fill the disk. Runs as one `pipeline`, so a failure on
 * either side ends both streams without an unhandled 'error' event.
 *
 * @throws ChecksumMismatchError
 */
export async function verifyDownload(
  source: AsyncIterable<Uint8Array>,
  expected: ExpectedFile,
  sink?: Writable,
): Promise<{ sha256: string; size: number }> {
  const verifier = new DownloadVerifier(expected);
  const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await pipeline(source, verifier, sink ?? discard);
  return { sha256: verifier.sha256, size: verifier.size };
}

export interface InstalledFile {
  readonly item: DownloadItem;
  readonly path: string;
  /** False when a file with the right checksum was already there. */
  readonly downloaded: boolean;
  /** True when a file at `path` had been changed locally and was replaced by the published one. */
  readonly replacedLocalChange: boolean;
}

export interface InstallPackagesOptions {
  readonly downloader: Downloader;
  readonly directory: string;
  /**
   * Told, before the file is replaced, that a file in the install folder differs from the published one (edited
   * or damaged locally). @default ignore
   */
  readonly onLocalChange?: (notice: string) => void;
}

/**
 * Downloads every file of the plan into `directory/<name>/<version>/<file>`, all or nothing: each file is written to
 * a `.partial` name and verified; only when every file verified are they renamed into place. A file already present
 * with the right checksum is not downloaded again; one that was changed locally is reported through
 * `onLocalChange` and replaced.
 *
 * @throws ChecksumMismatchError "checksum mismatch for <file>: expected …, got …; nothing was installed" (no
 *   partial file, no folder this call created, is left behind; files already in place are untouched)
 */
export async function installPackages(plan: InstallPlan, options: InstallPackagesOptions): Promise<InstalledFile[]> {
  const installed: InstalledFile[] = [];
  const staged: { readonly partial: string; readonly path: string }[] = [];
  const createdFolders: string[] = [];
  try {
    for (const item of plan.downloads) {
      const path = join(options.directory, item.name, item.version, item.file.name);
      const expected = {
        label: `${item.name} ${item.version} ${item.file.name}`,
        sha256: item.file.sha256,
        size: item.file.size,
      };
      const present = await fileState(path, expected);
      if (present.state === 'same') {
        installed.push({ item, path, downloaded: false, replacedLocalChange: false });
        continue;
      }
      const created = await mkdir(dirname(path), { recursive: true });
      if (created !== undefined) createdFolders.push(created);
      const partial = `${path}.partial`;
      staged.push({ partial, path });
      try {
        await verifyDownload(await options.downloader.download(item), expected, createWriteStream(partial));
      } catch (error) {
        if (!(error instanceof ChecksumMismatchError)) throw error;
        throw new ChecksumMismatchError(
          `checksum mismatch for ${item.file.name}: expected ${error.expected}, got ${error.actual}; nothing was installed`,
          {
            cause: error,
            details: { name: item.name, version: item.version, file: item.file.name },
            expected: error.expected,
            actual: error.actual,
          },
        );
      }
      if (present.state === 'changed') {
        options.onLocalChange?.(
          `${path} was changed locally (SHA-256 ${present.sha256}, the published file has ${expected.sha256}); replacing it with the published file`,
        );
      }
      installed.push({ item, path, downloaded: true, replacedLocalChange: present.state === 'changed' });
    }
  } catch (error) {
    for (const { partial } of staged) await rm(partial, { force: true });
    // Folders this call created hold nothing but its partial files.
    for (const folder of createdFolders) await rm(folder, { recursive: true, force: true });
    throw error;
  }
  for (const { partial, path } of staged) await rename(partial, path);
  return installed;
}

type FileState = { readonly state: 'absent' | 'same' } | { readonly state: 'changed'; readonly sha256: string };

async function fileState(path: string, expected: ExpectedFile): Promise<FileState> {
  let stats;
  try {
    stats = await stat(path);
  } catch {
    return { state: 'absent' };
  }
  if (!stats.isFile()) return { state: 'changed', sha256: 'none (not a file)' };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  return sha256 === expected.sha256 && stats.size === expected.size ? { state: 'same' } : { state: 'changed', sha256 };
}
