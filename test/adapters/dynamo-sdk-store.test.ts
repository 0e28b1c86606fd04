// DynamoSdkStore against dynalite: the SDK table's key layout, the `rev` conditions that make every record write
// lose cleanly to a concurrent one, the index writer's lease, and reads that follow every page.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DynamoSdkStore } from '../../lambdas/adapters/dynamo-sdk-store';
import type { SdkMetadata } from '../../lambdas/sdk/model';
import type {
  BatchRecord,
  Credential,
  IntakeRecord,
  UploadRecord,
  VersionRecord,
} from '../../lambdas/sdk/records/records';
import { SdkConcurrentUpdateError } from '../../lambdas/sdk/service/errors';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

const store = () => new DynamoSdkStore(db.client, db.table('Sdk'));

const metadata = (name: string, version: string): SdkMetadata => ({
  name,
  publicName: name,
  version,
  summary: 's',
  description: 'd',
  homepage: 'https://example.com',
  authors: ['ann'],
  contact: `${name}-owners@example.com`,
  license: 'MIT',
  dependencies: {},
  platform: { name: 'linux', minimumVersion: '5', architectures: ['x86_64'] },
  deprecated: false,
  tier: 'public',
  supported: true,
});

const version = (name: string, v: string): Omit<VersionRecord, 'rev'> => ({
  name,
  version: v,
  status: 'CONVERTED',
  reason: 'converted',
  metadata: metadata(name, v),
  upload: {
    artifactsKey: `incoming/${name}/${v}/artifacts.zip`,
    metadataKey: `incoming/${name}/${v}/lockstep-sdk.yaml`,
    etag: 'e1',
  },
  package: { key: `packages/${name}/${v}/${name}-${v}.zip`, fileName: `${name}-${v}.zip`, sha256: 'ab', size: 10 },
  contentsKey: `contents/${name}/${v}.json`,
  updatedAt: '2026-01-01T00:00:00.000Z',
  history: [{ at: '2026-01-01T00:00:00.000Z', status: 'CONVERTED', reason: 'converted' }],
});

const upload = (id: string): Omit<UploadRecord, 'rev'> => ({
  id,
  name: 'maps',
  version: '1.0.0',
  metadataFileName: 'lockstep-sdk.yaml',
  provider: 'acme',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T01:00:00.000Z',
});

const batch = (id: string): Omit<BatchRecord, 'rev'> => ({
  id,
  members: [{ name: 'maps', version: '1.0.0' }],
  state: 'OPEN',
  reason: 'opened',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

describe('DynamoSdkStore records', () => {
  it('keeps a version under VERSION / <name>@<version> and counts its rev up from 1', async () => {
    const sdk = store();
    const first = await sdk.saveVersion(version('maps', '1.0.0'), undefined);
    expect(first.rev).toBe(1);
    expect(await db.getRaw('Sdk', { pk: 'VERSION', sk: 'maps@1.0.0' })).toMatchObject({
      name: 'maps',
      version: '1.0.0',
      rev: 1,
    });
    const second = await sdk.saveVersion(
      { ...version('maps', '1.0.0'), status: 'WAITING', reason: 'needs geo' },
      first.rev,
    );
    expect(second.rev).toBe(2);
    expect(await sdk.getVersion({ name: 'maps', version: '1.0.0' })).toEqual(second);
  });

  it('refuses a second create and a write on a stale rev, with the typed concurrent-update error', async () => {
    const sdk = store();
    await sdk.saveVersion(version('geo', '1.0.0'), undefined);
    await expect(sdk.saveVersion(version('geo', '1.0.0'), undefined)).rejects.toBeInstanceOf(SdkConcurrentUpdateError);
    await sdk.saveVersion({ ...version('geo', '1.0.0'), reason: 'moved on' }, 1);
    const stale = sdk.saveVersion({ ...version('geo', '1.0.0'), reason: 'from an old read' }, 1);
    await expect(stale).rejects.toBeInstanceOf(SdkConcurrentUpdateError);
    await expect(stale).rejects.toThrow('geo 1.0.0 changed while it was being updated');
    expect((await sdk.getVersion({ name: 'geo', version: '1.0.0' }))!.reason).toBe('moved on');
  });

  it('lets exactly one of several concurrent writers on the same rev win', async () => {
    const sdk = store();
    const created = await sdk.saveUpload(upload('race'), undefined);
    const writes = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((execution) =>
        sdk.saveUpload({ ...upload('race'), completedAt: '2026-01-01T00:10:00.000Z', execution }, created.rev),
      ),
    );
    expect(writes.filter((w) => w.status === 'fulfilled')).toHaveLength(1);
    for (const lost of writes.filter((w) => w.status === 'rejected'))
      expect(lost.reason).toBeInstanceOf(SdkConcurrentUpdateError);
  });

  it('keeps uploads, batches, memberships, tokens and intakes under their own keys', async () => {
    const sdk = store();
    await sdk.saveUpload(upload('u1'), undefined);
    await sdk.saveBatch(batch('b1'), undefined);
    await sdk.putBatchMembership({ name: 'maps', version: '1.0.0' }, 'b1');
    const credential: Credential = {
      id: 'acme',
      groups: ['partners'],
      roles: ['provider'],
      sdks: ['maps'],
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    await sdk.putCredential('sha-of-token', credential);
    const intake: IntakeRecord = {
      name: 'maps',
      version: '1.0.0',
      etag: 'e1',
      execution: 'x',
      state: 'STARTED',
      reason: 'r',
      at: '2026-01-01T00:00:00.000Z',
    };
    await sdk.recordIntake(intake);

    expect(await db.getRaw('Sdk', { pk: 'UPLOAD#u1', sk: 'UPLOAD' })).toMatchObject({ id: 'u1', rev: 1 });
    expect(await db.getRaw('Sdk', { pk: 'BATCH#b1', sk: 'BATCH' })).toMatchObject({ id: 'b1', rev: 1 });
    expect(await db.getRaw('Sdk', { pk: 'MEMBER#maps@1.0.0', sk: 'MEMBER' })).toMatchObject({ batchId: 'b1' });
    // Only the token's hash is a key; the token itself is never stored.
    expect(await db.getRaw('Sdk', { pk: 'TOKEN#sha-of-token', sk: 'TOKEN' })).toMatchObject(credential);
    expect(await db.getRaw('Sdk', { pk: 'INTAKE#maps@1.0.0', sk: 'e1' })).toMatchObject(intake);

    expect(await sdk.getUpload('u1')).toEqual({ ...upload('u1'), rev: 1 });
    expect(await sdk.getBatch('b1')).toEqual({ ...batch('b1'), rev: 1 });
    expect(await sdk.getBatchMembership({ name: 'maps', version: '1.0.0' })).toBe('b1');
    expect(await sdk.getCredential('sha-of-token')).toEqual(credential);
    expect(await sdk.listIntakes({ name: 'maps', version: '1.0.0' })).toEqual([intake]);

    await sdk.deleteBatchMembership({ name: 'maps', version: '1.0.0' });
    expect(await sdk.getBatchMembership({ name: 'maps', version: '1.0.0' })).toBeUndefined();
    expect(await sdk.getUpload('unknown')).toBeUndefined();
    expect(await sdk.getCredential('unknown')).toBeUndefined();
  });

  it('reads every version and every intake past the first page, intakes oldest first', async () => {
    const paged = new DynamoSdkStore(db.pagedClient(2), db.table('Sdk'));
    const before = (await paged.listVersions()).length;
    for (let i = 0; i < 5; i++) await paged.saveVersion(version('paged', `1.0.${i}`), undefined);
    expect((await paged.listVersions()).length).toBe(before + 5);
    const times = [
      '2026-01-01T00:00:05.000Z',
      '2026-01-01T00:00:01.000Z',
      '2026-01-01T00:00:04.000Z',
      '2026-01-01T00:00:02.000Z',
      '2026-01-01T00:00:03.000Z',
    ];
    for (const [i, at] of times.entries()) {
      await paged.recordIntake({
        name: 'paged',
        version: '1.0.0',
        etag: `etag-${i}`,
        execution: `x${i}`,
        state: 'STARTED',
        reason: 'r',
        at,
      });
    }
    expect((await paged.listIntakes({ name: 'paged', version: '1.0.0' })).map((i) => i.at)).toEqual([...times].sort());
  });
});

describe('DynamoSdkStore index lease', () => {
  // One lease item for the whole table: each test starts without it, so they pass alone and in any order.
  beforeEach(() => db.deleteRaw('Sdk', { pk: 'INDEX', sk: 'LEASE' }));

  it('has one holder at a time, lets the holder renew, and passes to another once it expired', async () => {
    const sdk = store();
    expect(await sdk.acquireIndexLease('exec-a', 1_000, 60_000)).toBe(true);
    expect(await db.getRaw('Sdk', { pk: 'INDEX', sk: 'LEASE' })).toMatchObject({ owner: 'exec-a', until: 61_000 });
    expect(await sdk.acquireIndexLease('exec-b', 2_000, 60_000)).toBe(false);
    expect(await sdk.acquireIndexLease('exec-a', 3_000, 60_000)).toBe(true);
    expect(await sdk.acquireIndexLease('exec-b', 63_001, 60_000)).toBe(true);
    // The expired holder's release must not free the new holder's lease.
    await sdk.releaseIndexLease('exec-a');
    expect(await db.getRaw('Sdk', { pk: 'INDEX', sk: 'LEASE' })).toMatchObject({ owner: 'exec-b' });
    await sdk.releaseIndexLease('exec-b');
    expect(await db.getRaw('Sdk', { pk: 'INDEX', sk: 'LEASE' })).toBeUndefined();
  });

  it('grants exactly one of several concurrent acquirers', async () => {
    const sdk = store();
    const granted = await Promise.all(
      ['p', 'q', 'r', 's'].map((owner) => sdk.acquireIndexLease(owner, 200_000, 60_000)),
    );
    expect(granted.filter(Boolean)).toHaveLength(1);
  });
});
