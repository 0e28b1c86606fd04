/**
 * In-memory stand-ins for the SDK service ports, for step tests that do not need DynamoDB's conditional writes:
 * a version/batch store that still checks `rev`, and an object store kept in a temp folder (the converter reads
 * and writes real files through it).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LocalFileSink } from '../../../lambdas/sdk/converter';
import type { SdkVersionRef } from '../../../lambdas/sdk/model';
import type { SdkServiceDependencies } from '../../../lambdas/sdk/service/dependencies';
import type { ObjectInfo, ObjectStore, SdkNotification, SdkStore } from '../../../lambdas/ports/sdk';
import type { BatchRecord, VersionRecord } from '../../../lambdas/sdk/records/records';

const key = (ref: SdkVersionRef) => `${ref.name}@${ref.version}`;
const unused = (what: string) => () => Promise.reject(new Error(`${what} is not used by these tests`));

export class MemorySdkStore implements SdkStore {
  readonly versions = new Map<string, VersionRecord>();
  readonly batches = new Map<string, BatchRecord>();
  async getVersion(ref: SdkVersionRef) {
    return this.versions.get(key(ref));
  }
  async listVersions() {
    return [...this.versions.values()];
  }
  async saveVersion(record: Omit<VersionRecord, 'rev'>, expectedRev: number | undefined) {
    if (this.versions.get(key(record))?.rev !== expectedRev) throw new Error(`stale rev for ${key(record)}`);
    const saved = { ...record, rev: (expectedRev ?? 0) + 1 } as VersionRecord;
    this.versions.set(key(record), saved);
    return saved;
  }
  async getBatch(id: string) {
    return this.batches.get(id);
  }
  async saveBatch(record: Omit<BatchRecord, 'rev'>, expectedRev: number | undefined) {
    if (this.batches.get(record.id)?.rev !== expectedRev) throw new Error(`stale rev for batch ${record.id}`);
    const saved = { ...record, rev: (expectedRev ?? 0) + 1 } as BatchRecord;
    this.batches.set(record.id, saved);
    return saved;
  }
  getUpload = unused('getUpload');
  saveUpload = unused('saveUpload');
  putBatchMembership = unused('putBatchMembership');
  getBatchMembership = unused('getBatchMembership');
  deleteBatchMembership = unused('deleteBatchMembership');
  getCredential = unused('getCredential');
  putCredential = unused('putCredential');
  getIntakeCursor = unused('getIntakeCursor');
  setIntakeCursor = unused('setIntakeCursor');
  recordIntake = unused('recordIntake');
  listIntakes = unused('listIntakes');
  listRejectedIntakes = unused('listRejectedIntakes');
  private leaseOwner: string | undefined;
  async acquireIndexLease(owner: string) {
    if (this.leaseOwner !== undefined && this.leaseOwner !== owner) return false;
    this.leaseOwner = owner;
    return true;
  }
  async releaseIndexLease(owner: string) {
    if (this.leaseOwner === owner) this.leaseOwner = undefined;
  }
}

/** Objects as files: `<root>/<bucket>/<key>`. */
export class TempFolderObjectStore implements ObjectStore {
  readonly root = mkdtempSync(join(tmpdir(), 'lockstep-sdk-steps-'));
  private path(bucket: string, k: string) {
    return join(this.root, bucket, k);
  }
  async head(bucket: string, k: string): Promise<ObjectInfo | undefined> {
    const bytes = await this.getBytes(bucket, k);
    return bytes === undefined
      ? undefined
      : { key: k, etag: createHash('md5').update(bytes).digest('hex'), size: bytes.length };
  }
  async getBytes(bucket: string, k: string): Promise<Buffer | undefined> {
    return readFile(this.path(bucket, k)).catch(() => undefined);
  }
  async put(bucket: string, k: string, body: string | Buffer): Promise<void> {
    await mkdir(dirname(this.path(bucket, k)), { recursive: true });
    await writeFile(this.path(bucket, k), body);
  }
  async copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void> {
    await mkdir(dirname(this.path(toBucket, toKey)), { recursive: true });
    await copyFile(this.path(fromBucket, fromKey), this.path(toBucket, toKey));
  }
  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (const k of keys) await rm(this.path(bucket, k), { force: true });
  }
  list = unused('list');
  listPage = unused('listPage');
  presignPut = unused('presignPut');
  presignGet = unused('presignGet');
  async download(bucket: string, k: string, path: string): Promise<void> {
    await pipeline(createReadStream(this.path(bucket, k)), createWriteStream(path));
  }
  async openArchive(bucket: string, k: string) {
    return { path: this.path(bucket, k) };
  }
  openSink(bucket: string, k: string) {
    mkdirSync(dirname(this.path(bucket, k)), { recursive: true });
    return new LocalFileSink(this.path(bucket, k));
  }
}

export interface StepHarness {
  readonly deps: SdkServiceDependencies;
  readonly store: MemorySdkStore;
  readonly objects: TempFolderObjectStore;
  readonly notifications: SdkNotification[];
}

export function stepHarness(overrides: Partial<SdkServiceDependencies> = {}): StepHarness {
  const store = new MemorySdkStore();
  const objects = new TempFolderObjectStore();
  const notifications: SdkNotification[] = [];
  const deps: SdkServiceDependencies = {
    config: {
      hostBucket: 'host',
      stagingBucket: 'staging',
      packageHostBucket: 'packages',
      testerProject: 'lockstep-sdk-tester',
      providerCodeProject: 'lockstep-sdk-provider-code',
      providerRunner: { bucket: 'staging', key: 'tester/provider-runner.mjs' },
    },
    store,
    objects,
    notifier: { publish: async (n) => void notifications.push(n) },
    orchestrator: {
      start: async () => ({ started: false }),
      succeed: async () => undefined,
      fail: async () => undefined,
    },
    clock: () => Date.parse('2025-01-01T00:00:00Z'),
    scratchDir: objects.root,
    ...overrides,
  };
  return { deps, store, objects, notifications };
}
