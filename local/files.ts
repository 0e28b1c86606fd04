import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes JSON through a temporary file and a rename, so a crash mid-write leaves the previous version intact:
 * the local services' records must survive `kill -9` (issue 4, crash safety).
 */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode });
  await rename(tmp, path);
}

/**
 * For `.catch` on a file operation whose path may not exist yet: `fallback` when it does not (ENOENT, or ENOTDIR
 * for a parent that is a file); any other error (permissions, a full disk) is rethrown, not mistaken for "absent".
 *
 * @example
 * const text = await readFile(marker, 'utf8').catch(whenMissing(''));
 */
export function whenMissing<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return fallback;
    throw error;
  };
}

/** Reads a JSON file, or returns `undefined` when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
