import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { whenMissing } from '../files';

/**
 * File helpers of the local CodeBuild: artifact globs as CodeBuild reads them, and zip in and out (S3 sources and
 * artifacts) keeping Unix file modes, so a deploy script zipped executable stays executable.
 */

/** CodeBuild artifact globs: `**` any depth, `*` and `?` within one path segment. */
export function globToRegExp(glob: string): RegExp {
  let pattern = '';
  const normalized = glob.replace(/^\.\//, '');
  for (let i = 0; i < normalized.length; i++) {
    const ch = normalized[i]!;
    if (ch === '*') {
      if (normalized[i + 1] === '*') {
        const slash = normalized[i + 2] === '/';
        pattern += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        pattern += '[^/]*';
      }
    } else if (ch === '?') {
      pattern += '[^/]';
    } else {
      pattern += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${pattern}$`);
}

/** Every regular file under `root`, as `/`-separated paths relative to it. */
export async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      // A dangling or looping link is not a file: skipped, as CodeBuild's artifact upload skips it.
      else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isFile())) {
        found.push(relative(root, full).split(sep).join('/'));
      }
    }
  };
  await walk(root);
  return found.sort();
}

/** Files under `root` matching any of `globs`. */
export async function matchFiles(root: string, globs: readonly string[]): Promise<string[]> {
  const patterns = globs.map(globToRegExp);
  return (await listFiles(root)).filter((file) => patterns.some((p) => p.test(file)));
}

/** Zips `files` (relative to `root`) into a buffer; `names` maps each to its path inside the archive. */
export async function zipFiles(
  root: string,
  files: readonly string[],
  names: (file: string) => string = (f) => f,
): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of files) {
    const full = join(root, file);
    const info = await stat(full);
    zip.addBuffer(await readFile(full), names(file), { mode: info.mode, mtime: info.mtime });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Unzips into `target`, refusing entries that would land outside it (zip-slip). */
export async function unzipTo(zipBytes: Buffer, target: string): Promise<number> {
  const root = resolve(target);
  await mkdir(root, { recursive: true });
  const zip = await new Promise<yauzl.ZipFile>((ok, fail) =>
    yauzl.fromBuffer(zipBytes, { lazyEntries: true }, (error, file) => (error ? fail(error) : ok(file))),
  );
  let count = 0;
  await new Promise<void>((ok, fail) => {
    zip.on('error', fail);
    zip.on('end', ok);
    zip.on('entry', (entry: yauzl.Entry) => {
      const destination = resolve(root, entry.fileName);
      if (destination !== root && !destination.startsWith(root + sep)) {
        zip.close();
        return fail(new Error(`zip entry ${entry.fileName} points outside the source folder`));
      }
      if (entry.fileName.endsWith('/')) {
        mkdir(destination, { recursive: true }).then(() => zip.readEntry(), fail);
        return;
      }
      zip.openReadStream(entry, (error, stream) => {
        if (error || !stream) return fail(error ?? new Error(`cannot read ${entry.fileName}`));
        const mode = (entry.externalFileAttributes >>> 16) & 0o777;
        mkdir(dirname(destination), { recursive: true })
          .then(() => pipeline(stream, createWriteStream(destination)))
          .then(() => (mode ? chmod(destination, mode) : undefined))
          .then(() => {
            count++;
            zip.readEntry();
          }, fail);
      });
    });
    zip.readEntry();
  });
  return count;
}

export async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(whenMissing(undefined))) !== undefined;
}
