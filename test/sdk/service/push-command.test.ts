/** `lockstep sdk push` of a version that is published already is refused before anything is uploaded. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pushSdks, type ApiOptions } from '../../../bin/commands/sdk';

let server: Server;
let api: ApiOptions;
const requests: string[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (request.url?.startsWith('/sdk/status')) {
      return response.end(
        JSON.stringify({
          versions: [
            {
              name: 'geo',
              version: '1.0.0',
              status: 'PUBLISHED',
              reason: 'published to the public tier',
              history: [],
              intakes: [],
            },
          ],
        }),
      );
    }
    response.statusCode = 500;
    response.end('{"message":"not expected in this test"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'provider' };
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function sdkFolder(extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-push-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'lockstep-sdk.yaml'), `name: geo\nversion: "1.0.0"\n${extra}`);
  writeFileSync(join(dir, 'README.md'), 'geo\n');
  return dir;
}

describe('lockstep sdk push of a published version', () => {
  it('is refused with the reason, and nothing is uploaded', async () => {
    requests.length = 0;
    await expect(pushSdks(api, [sdkFolder()])).rejects.toThrow(
      'geo@1.0.0 is already published (published to the public tier); a published version never changes: give the folder a new version, or set supported: false in its metadata to withdraw this one',
    );
    expect(requests).toEqual(['GET /sdk/status?name=geo&version=1.0.0']);
  });

  it('goes on when the metadata withdraws the version (supported: false)', async () => {
    requests.length = 0;
    await expect(pushSdks(api, [sdkFolder('supported: false\n')])).rejects.toThrow(/POST \/sdk\/uploads answered 500/);
    expect(requests).toEqual(['GET /sdk/status?name=geo&version=1.0.0', 'POST /sdk/uploads']);
  });
});
