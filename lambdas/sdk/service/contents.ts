/**
 * What a converted package holds, for duplicate-library detection and the status view: every file's digest (from
 * the converter's manifest) and the exported symbols and architectures of every binary in it, read from the
 * package zip one entry at a time (a binary is copied to a scratch file and inspected there, so memory stays
 * bounded whatever its size).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { inspectFile } from '../binary/inspect';
import { DEFAULT_ARCHIVE_LIMITS, inspectArchive, type ArchiveSource, type ManifestFile } from '../converter';
import { openEntryStream } from '../converter/inspect-archive';
import type { PackageContents } from '../staging/duplicates';

export interface BinaryContents {
  /** Path inside the package root, e.g. `lib/libmaps.a`. */
  readonly path: string;
  readonly architectures: readonly string[];
}

export interface StoredContents extends PackageContents {
  readonly binaries: readonly BinaryContents[];
}

/** Folders of the common layout that hold binaries. */
const BINARY_FOLDERS = /^(lib|frameworks)\//;

/**
 * Reads the package zip's binaries. `files` is the converter's manifest (already hashed while converting).
 * @example const contents = await readPackageContents(await objects.openArchive(bucket, key), converted.manifest.files);
 */
export async function readPackageContents(
  source: ArchiveSource,
  files: readonly ManifestFile[],
  scratchDir = tmpdir(),
): Promise<StoredContents> {
  const archive = await inspectArchive(source, DEFAULT_ARCHIVE_LIMITS);
  const folder = await mkdtemp(join(scratchDir, 'lockstep-contents-'));
  const symbols = new Set<string>();
  const binaries: BinaryContents[] = [];
  try {
    for (const entry of archive.entries) {
      if (entry.isDirectory) continue;
      const inside = entry.path.split('/').slice(1).join('/');
      if (!BINARY_FOLDERS.test(inside) || entry.uncompressedSize < 4) continue;
      const scratch = join(folder, 'binary');
      await pipeline(await openEntryStream(archive.zipfile, entry), createWriteStream(scratch));
      const info = await inspectFile(scratch);
      await rm(scratch, { force: true });
      if (info === undefined) continue;
      for (const symbol of info.symbols) symbols.add(symbol);
      binaries.push({ path: inside, architectures: info.architectures });
    }
  } finally {
    archive.zipfile.close();
    await rm(folder, { recursive: true, force: true });
  }
  return {
    files: files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
    symbols: [...symbols].sort(),
    binaries,
  };
}
