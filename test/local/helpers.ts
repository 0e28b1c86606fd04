import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_REGION } from '../../local/constants';
import { LOCAL_CREDENTIALS } from '../../local/credentials';

/** A fresh data folder per test file; `cleanup` removes it. */
export async function tempDataDir(prefix = 'lockstep-local-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }) };
}

/** What every SDK client pointed at a local service needs besides its endpoint. */
export const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS } as const;
