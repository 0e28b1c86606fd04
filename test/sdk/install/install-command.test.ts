/**
 * `lockstep sdk install` (`installSdks`) against a package host that serves a tampered file: a small HTTP server
 * plays the download API (index, then a URL per file) and the host behind it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { installSdks, type ApiOptions } from '../../../bin/commands/sdk';
import { buildIndex } from '../../../lambdas/sdk/host/package-index';
import { LOCK_FILE_NAME, serializeLockFile } from '../../../lambdas/sdk/install/lock-file';
import { planInstall } from '../../../lambdas/sdk/install/plan';
import { published, sha256 } from '../host/fixtures';

const index = buildIndex(
  [published('analytics', '6.1.0'), published('geo', '3.1.0', { dependencies: { analytics: '^6.0.0' } })],
  { generatedAt: '2026-03-01T00:00:00.000Z' },
);
/** What the host serves per file; geo's bytes were altered on the host. */
const served: Record<string, string> = {
  'analytics-6.1.0.zip': 'analytics-6.1.0 archive bytes',
  'geo-3.1.0.zip': 'geo-3.1.0 ARCHIVE bytes',
};

let server: Server;
let api: ApiOptions;
const dirs: string[] = [];
beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/sdk/index') return response.end(JSON.stringify(index));
    const download = /^\/sdk\/download\/[^/]+\/[^/]+$/.exec(url.pathname);
    if (download !== null)
      return response.end(JSON.stringify({ url: `${api.api}/host/${url.searchParams.get('file')}` }));
    const file = /^\/host\/(.+)$/.exec(url.pathname)?.[1];
    if (file !== undefined && served[file] !== undefined) return response.end(served[file]);
    response.statusCode = 404;
    response.end('{"message":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'consumer' };
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('lockstep sdk install on a tampered file', () => {
  it('says "checksum mismatch for <file>: expected …, got …; nothing was installed" and leaves vendor/ and the lock file as they were', async () => {
    const app = mkdtempSync(join(tmpdir(), 'lockstep-install-cmd-'));
    dirs.push(app);
    const manifest = join(app, 'lockstep-sdk.yaml');
    writeFileSync(manifest, 'sdks:\n  geo: "^3.0.0"\n');
    const vendor = join(app, 'vendor');
    // The lock of an earlier install (analytics only); the manifest now asks for geo as well.
    const lockBefore = serializeLockFile(planInstall({ manifest: { sdks: { analytics: '^6.0.0' } }, index }).lock);
    writeFileSync(join(app, LOCK_FILE_NAME), lockBefore);

    const error = await installSdks(api, { manifest, dir: vendor }).catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe(
      `checksum mismatch for geo-3.1.0.zip: expected ${sha256('geo-3.1.0 archive bytes')}, got ${sha256('geo-3.1.0 ARCHIVE bytes')}; nothing was installed`,
    );
    // analytics verified, but nothing was installed: no vendor folder, no partial file, lock files unchanged.
    expect(readdirSync(app).sort()).toEqual([LOCK_FILE_NAME, 'lockstep-sdk.yaml']);
    expect(readFileSync(join(app, LOCK_FILE_NAME), 'utf8')).toBe(lockBefore);
  });
});
