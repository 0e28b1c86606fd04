/**
 * A deployment's archive limits (`SdkPublisher` `archiveLimits` -> `LOCKSTEP_SDK_ARCHIVE_LIMITS`) are the ones
 * the convert step applies.
 */
import { describe, expect, it } from '@jest/globals';
import { archiveLimitsFromEnv } from '../../../lambdas/sdk/service/archive-limits';
import { runSdkStep } from '../../../lambdas/sdk/service/steps';
import { sdkMetadata } from '../converter/fixtures';
import { buildZip } from '../converter/zip-helpers';
import { stepHarness } from './step-fakes';

const SDK = { name: 'acme-maps', version: '6.2.0' };
const UPLOAD = {
  artifactsKey: 'incoming/acme-maps/6.2.0/artifacts.zip',
  metadataKey: 'incoming/acme-maps/6.2.0/lockstep-sdk.json',
  etag: 'e1',
};

async function convertWith(env: NodeJS.ProcessEnv): Promise<unknown> {
  const h = stepHarness({ archiveLimits: archiveLimitsFromEnv(env) });
  const entries = ['a', 'b', 'c', 'd'].map((n) => ({ name: `include/${n}.h`, data: Buffer.from(`int ${n}(void);\n`) }));
  await h.objects.put('host', UPLOAD.artifactsKey, buildZip(entries));
  return runSdkStep(h.deps, {
    action: 'convert',
    execution: 'exec-1',
    sdk: SDK,
    upload: UPLOAD,
    metadata: sdkMetadata({ dependencies: {} }),
    batchId: null,
  }).catch((e: unknown) => e);
}

describe('archive limits of a deployment', () => {
  it('refuses an archive under a lowered limit that the defaults accept', async () => {
    expect(await convertWith({})).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const refused = await convertWith({ LOCKSTEP_SDK_ARCHIVE_LIMITS: JSON.stringify({ maxEntries: 3 }) });
    expect(refused).toMatchObject({ name: 'HostileArchiveError' });
    expect((refused as Error).message).toContain('over the limit of 3');
  });

  it('names the variable and what is wrong when it is not a valid limits object', () => {
    expect(() => archiveLimitsFromEnv({ LOCKSTEP_SDK_ARCHIVE_LIMITS: '{maxEntries: 3}' })).toThrow(
      /^LOCKSTEP_SDK_ARCHIVE_LIMITS is not JSON/,
    );
    expect(() => archiveLimitsFromEnv({ LOCKSTEP_SDK_ARCHIVE_LIMITS: '{"maxEntries": 0}' })).toThrow(
      /^LOCKSTEP_SDK_ARCHIVE_LIMITS is not a valid archive limits object: LOCKSTEP_SDK_ARCHIVE_LIMITS\.maxEntries: /,
    );
  });
});
