/** `1.2.3+build.5` is valid semver: the upload API takes it, and refuses a second build of the same precedence. */
import { describe, expect, it } from '@jest/globals';
import type { Credential, VersionRecord } from '../../../lambdas/sdk/records/records';
import { createUpload } from '../../../lambdas/sdk/service/uploads';
import { sdkMetadata } from '../converter/fixtures';
import { stepHarness } from './step-fakes';

const provider: Credential = {
  id: 'maps-team',
  groups: [],
  roles: ['provider'],
  sdks: ['*'],
  createdAt: '2025-01-01T00:00:00.000Z',
};

describe('build metadata in versions', () => {
  it('accepts 1.2.3+build.5 at the upload API and refuses 1.2.3+build.6 next to it, saying why', async () => {
    const h = stepHarness();
    Object.assign(h.objects, {
      presignPut: async (_bucket: string, key: string) => `https://upload.example/${encodeURIComponent(key)}`,
    });
    Object.assign(h.store, { deleteBatchMembership: async () => undefined, saveUpload: async () => undefined });
    const grant = await createUpload(h.deps, provider, {
      name: 'acme-maps',
      version: '1.2.3+build.5',
      metadataFile: 'lockstep-sdk.json',
    });
    expect(grant).toMatchObject({ uploadId: expect.any(String) });

    const record: Omit<VersionRecord, 'rev'> = {
      name: 'acme-maps',
      version: '1.2.3+build.5',
      status: 'PUBLISHED',
      reason: 'published',
      metadata: sdkMetadata({ version: '1.2.3+build.5' }),
      upload: { artifactsKey: 'a', metadataKey: 'm', etag: 'e' },
      package: { key: 'k', fileName: 'acme-maps-1.2.3+build.5.zip', sha256: '0'.repeat(64), size: 1 },
      contentsKey: 'c',
      updatedAt: '2025-01-01T00:00:00.000Z',
      history: [],
    };
    await h.store.saveVersion(record, undefined);
    await expect(
      createUpload(h.deps, provider, {
        name: 'acme-maps',
        version: '1.2.3+build.6',
        metadataFile: 'lockstep-sdk.json',
      }),
    ).rejects.toMatchObject({
      statusCode: 409,
      message:
        'acme-maps 1.2.3+build.6 differs from 1.2.3+build.5 (published) only by build metadata, which semver ignores; push a new version number',
    });
  });
});
