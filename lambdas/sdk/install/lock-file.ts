/**
 * `lockstep-sdk.lock.json`: the exact versions an install resolved, with checksums and object keys, so the next
 * install gets the same bytes. Deterministic: SDKs by name, keys sorted, two-space JSON, one trailing newline.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ACCESS_TIERS } from '../model';
import { LockFileError } from './errors';

export const LOCK_FILE_NAME = 'lockstep-sdk.lock.json';

const fileSchema = z.strictObject({
  name: z.string().min(1),
  key: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});

const lockSchema = z.strictObject({
  lockfileVersion: z.literal(1),
  /** The manifest ranges this lock was resolved for. */
  requirements: z.record(z.string(), z.string()),
  sdks: z.array(
    z.strictObject({
      name: z.string().min(1),
      version: z.string().min(1),
      tier: z.enum(ACCESS_TIERS),
      dependencies: z.record(z.string(), z.string()),
      files: z.array(fileSchema),
    }),
  ),
});

export type LockFile = z.output<typeof lockSchema>;
export type LockedSdk = LockFile['sdks'][number];

/** The lock file's text. Same lock, same bytes. */
export function serializeLockFile(lock: LockFile): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

/** @throws LockFileError when the text is not a lock file this version understands. */
export function parseLockFile(text: string, source = LOCK_FILE_NAME): LockFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new LockFileError(
      `${source} is not JSON (${(cause as Error).message}); delete it and install again to recreate it`,
      { cause },
    );
  }
  const result = lockSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LockFileError(
      `${source} is not a valid lock file (${problems.join('; ')}); delete it and install again to recreate it`,
      {
        details: { problems },
      },
    );
  }
  return result.data;
}

/** Writes the lock file atomically (a temporary file renamed over the old one). */
export async function writeLockFile(path: string, lock: LockFile): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, serializeLockFile(lock), 'utf8');
  await rename(temporary, path);
}

/** Reads the lock file, or undefined when there is none yet. */
export async function readLockFile(path: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseLockFile(text, path);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
