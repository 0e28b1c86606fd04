// completeUpload records the completion with a conditional write. Losing that write to a concurrent completion is
// expected (both started the same execution); any other failure (throttling, the network) must reach the caller,
// whose retry then records it, instead of a success answer for an upload that stays open.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoSdkStore } from '../../../lambdas/adapters/dynamo-sdk-store';
import type { ObjectStore } from '../../../lambdas/ports/sdk';
import type { Credential, UploadRecord } from '../../../lambdas/sdk/records/records';
import type { SdkServiceDependencies } from '../../../lambdas/sdk/service/dependencies';
import { completeUpload } from '../../../lambdas/sdk/service/uploads';
import { startDynamoTables, type DynamoTables } from '../../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

const NOW = Date.parse('2026-01-01T00:00:00Z');
const provider: Credential = {
  id: 'acme',
  groups: [],
  roles: ['provider'],
  sdks: ['*'],
  createdAt: '2025-01-01T00:00:00Z',
};

/** Both objects of maps 1.0.0 are in the SDK host bucket; completing moves them out of `incoming/` (copy, delete). */
const objects = {
  list: async (_bucket: string, prefix: string) => [
    { key: `${prefix}artifacts.zip`, etag: 'a1', size: 10 },
    { key: `${prefix}lockstep-sdk.yaml`, etag: 'm1', size: 5 },
  ],
  copy: async () => undefined,
  head: async (_bucket: string, key: string) => ({
    key,
    etag: key.endsWith('.zip') ? 'a1' : 'm1',
    size: key.endsWith('.zip') ? 10 : 5,
  }),
  delete: async () => undefined,
} as Pick<ObjectStore, 'list' | 'copy' | 'head' | 'delete'> as ObjectStore;

async function openUpload(store: DynamoSdkStore, id: string, version: string): Promise<UploadRecord> {
  return store.saveUpload(
    {
      id,
      name: 'maps',
      version,
      metadataFileName: 'lockstep-sdk.yaml',
      provider: provider.id,
      createdAt: '2025-12-31T23:00:00Z',
      expiresAt: '2026-01-01T01:00:00Z',
    },
    undefined,
  );
}

function deps(store: DynamoSdkStore): SdkServiceDependencies {
  return {
    config: {
      hostBucket: 'host',
      stagingBucket: 'staging',
      packageHostBucket: 'packages',
      testerProject: 'tester',
      providerCodeProject: 'lockstep-sdk-provider-code',
      providerRunner: { bucket: 'staging', key: 'tester/provider-runner.mjs' },
    },
    store,
    objects,
    notifier: { publish: async () => undefined },
    orchestrator: {
      start: async () => ({ started: true }),
      succeed: async () => undefined,
      fail: async () => undefined,
    },
    clock: () => NOW,
  };
}

describe('completeUpload', () => {
  it('answers with an error when recording the completion fails for any reason but a concurrent completion', async () => {
    const store = new DynamoSdkStore(db.client, db.table('Sdk'));
    await openUpload(store, 'u-throttled', '1.0.0');
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
    });
    store.saveUpload = async () => {
      throw throttled;
    };
    await expect(completeUpload(deps(store), provider, 'u-throttled')).rejects.toBe(throttled);
  });

  it('succeeds when a concurrent completion recorded the upload first, and keeps what that one wrote', async () => {
    const store = new DynamoSdkStore(db.client, db.table('Sdk'));
    await openUpload(store, 'u-raced', '2.0.0');
    const save = store.saveUpload.bind(store);
    store.saveUpload = async (record, expectedRev) => {
      // The other completion lands between our read and our write: ours now carries a stale rev.
      const current = (await store.getUpload('u-raced'))!;
      const { rev, ...rest } = current;
      await save({ ...rest, completedAt: '2026-01-01T00:00:00.000Z', execution: 'other-completion' }, rev);
      return save(record, expectedRev);
    };
    const answer = await completeUpload(deps(store), provider, 'u-raced');
    expect(answer).toMatchObject({ uploadId: 'u-raced', started: true });
    expect(await store.getUpload('u-raced')).toMatchObject({ execution: 'other-completion', rev: 2 });
  });
});
