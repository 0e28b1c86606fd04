/**
 * Where a running local mode's SDK half can be reached, for `lockstep sdk push|status|install`: local mode writes
 * `<dataDir>/sdk-endpoints.json` (readable by its owner only: it holds the local demo tokens) on start, and the CLI
 * reads it when `--api` / `--token` are not given.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '../files';

export const SDK_ENDPOINTS_FILE = 'sdk-endpoints.json';
/** The data folder the CLI looks in when none is given (`npm start`'s default). */
export const DEFAULT_LOCAL_DATA_DIR = '.lockstep';

export interface LocalSdkEndpoints {
  /** Base URL of the HTTP front door: the upload API is `<api>/sdk/uploads`, the download API `<api>/sdk/...`. */
  readonly api: string;
  /** The local edge (CloudFront stand-in) that serves the package host. */
  readonly edge: string;
  /** A provider token that may push every SDK (local demo only). */
  readonly providerToken: string;
  /** A consumer token in the `employees` group (private and early-access tiers, from this machine). */
  readonly consumerToken: string;
  /** A consumer token in the `partners` group (early-access only). */
  readonly partnerToken: string;
}

export async function writeLocalSdkEndpoints(dataDir: string, endpoints: LocalSdkEndpoints): Promise<void> {
  await writeJsonAtomic(join(dataDir, SDK_ENDPOINTS_FILE), endpoints, 0o600);
}

/** The endpoints of the local mode running on `dataDir`, or undefined when it has not started there. */
export function readLocalSdkEndpoints(
  dataDir = process.env.LOCKSTEP_DATA_DIR ?? DEFAULT_LOCAL_DATA_DIR,
): LocalSdkEndpoints | undefined {
  try {
    return JSON.parse(readFileSync(join(resolve(dataDir), SDK_ENDPOINTS_FILE), 'utf8')) as LocalSdkEndpoints;
  } catch {
    return undefined;
  }
}
