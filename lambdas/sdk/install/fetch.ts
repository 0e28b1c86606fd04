/**
 * Downloading an install plan: every file streamed through SHA-256 while it is written, kept only when the
 * checksum and size match the index. The transport (download API, then the signed URL) sits behind `Downloader`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
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

/**
 * Hashes `source` while copying it to `sink` (when given) and checks the result. Stops as soon as more bytes
 * arrive than expected, so a hostile or broken server cannot fill the disk.
 *
 * @throws ChecksumMismatchError
 */
export async function verifyDownload(source: AsyncIterable<Uint8Array>, expected: ExpectedFile, sink?: Writable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > expected.size) {
      throw new ChecksumMismatchError(`${expected.label} is larger than the ${expected.size} bytes the index lists; the download was stopped and discarded`, {
        details: { label: expected.label, expectedSize: expected.size },
      });
    }
    hash.update(chunk);
    if (sink !== undefined && !sink.write(chunk)) await once(sink, 'drain');
  }
  const sha256 = hash.digest('hex');
  if (size !== expected.size || sha256 !== expected.sha256) {
    throw new ChecksumMismatchError(
      `${expected.label} does not match the index: got ${size} bytes with SHA-256 ${sha256}, expected ${expected.size} bytes with SHA-256 ${expected.sha256}; ` +
        'the file was discarded; install again, and report it to the SDK owner if it persists',
      { details: { label: expected.label, expected: expected.sha256, actual: sha256 } },
    );
  }
  return { sha256, size };
}

export interface InstalledFile {
  readonly item: DownloadItem;
  readonly path: string;
  /** False when a file with the right checksum was already there. */
  readonly downloaded: boolean;
}

/**
 * Downloads every file of the plan into `directory/<name>/<version>/<file>`. Each file is written to a `.partial`
 * name and renamed only after it verifies; a file already present with the right checksum is not downloaded again.
 *
 * @throws ChecksumMismatchError (nothing of that file is left behind)
 */
export async function installPackages(plan: InstallPlan, options: { downloader: Downloader; directory: string }): Promise<InstalledFile[]> {
  const installed: InstalledFile[] = [];
  for (const item of plan.downloads) {
    const path = join(options.directory, item.name, item.version, item.file.name);
    const expected = { label: `${item.name} ${item.version} ${item.file.name}`, sha256: item.file.sha256, size: item.file.size };
    if (await alreadyThere(path, expected)) {
      installed.push({ item, path, downloaded: false });
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial`;
    const sink = createWriteStream(partial);
    try {
      await verifyDownload(await options.downloader.download(item), expected, sink);
      sink.end();
      await once(sink, 'finish');
      await rename(partial, path);
    } catch (error) {
      sink.destroy();
      await rm(partial, { force: true });
      throw error;
    }
    installed.push({ item, path, downloaded: true });
  }
  return installed;
}

async function alreadyThere(path: string, expected: ExpectedFile): Promise<boolean> {
  try {
    await verifyDownload(createReadStream(path), expected);
    return true;
  } catch {
    return false;
  }
}
