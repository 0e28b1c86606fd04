/** One metadata size limit: the CLI (before an upload) and the validate step refuse the same file the same way. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { readSdkFolder } from '../../../bin/commands/sdk';
import { SdkInputError } from '../../../lambdas/sdk/service/errors';
import { runSdkStep } from '../../../lambdas/sdk/service/steps';
import { stepHarness } from './step-fakes';

describe('metadata size limit', () => {
  it('is 64 KiB in the CLI and in the validate step, with the same message', async () => {
    // 2 MiB: the server used to stop at its own 1 MiB read limit with another message (and 64 KiB-1 MiB at the parser's).
    const text = JSON.stringify({ name: 'acme-maps', version: '6.2.0', description: 'x'.repeat(2 * 1024 * 1024) });
    const expected = `the metadata file is ${Buffer.byteLength(text)} bytes, over the limit of 65536 bytes`;

    const dir = mkdtempSync(join(tmpdir(), 'lockstep-metadata-limit-'));
    try {
      writeFileSync(join(dir, 'lockstep-sdk.json'), text);
      expect(() => readSdkFolder(dir)).toThrow(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const h = stepHarness();
    // Enforce getBytes' maxBytes as the S3 adapter does (the temp-folder fake reads everything).
    const read = h.objects.getBytes.bind(h.objects);
    h.objects.getBytes = async (bucket: string, key: string, maxBytes?: number) => {
      const bytes = await read(bucket, key);
      if (bytes !== undefined && maxBytes !== undefined && bytes.length > maxBytes)
        throw new SdkInputError(`s3://${bucket}/${key} is ${bytes.length} bytes, over the limit of ${maxBytes}`);
      return bytes;
    };
    const upload = {
      artifactsKey: 'incoming/acme-maps/6.2.0/artifacts.zip',
      metadataKey: 'incoming/acme-maps/6.2.0/lockstep-sdk.json',
      etag: 'e',
    };
    await h.objects.put('host', upload.metadataKey, text);
    await expect(
      runSdkStep(h.deps, {
        action: 'validate',
        execution: 'exec-1',
        sdk: { name: 'acme-maps', version: '6.2.0' },
        upload,
      }),
    ).rejects.toThrow(expected);
  });
});
