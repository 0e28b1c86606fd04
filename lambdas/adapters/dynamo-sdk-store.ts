/**
 * The SDK table (`LOCKSTEP_SDK_TABLE`, pk/sk). Items:
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `VERSION` | `<name>@<version>` | `VersionRecord`: status, reason, metadata, package, batch, tests (one partition: the staging area is read whole) |
 * | `UPLOAD#<id>` | `UPLOAD` | `UploadRecord` |
 * | `BATCH#<id>` | `BATCH` | `BatchRecord` |
 * | `MEMBER#<name>@<version>` | `MEMBER` | `batchId` of the batch the version was declared in |
 * | `TOKEN#<sha256 of token>` | `TOKEN` | `Credential` (the token itself is never stored) |
 * | `INTAKE#<name>@<version>` | `<etag>` | `IntakeRecord` |
 * | `INTAKES#REJECTED` | `<name>@<version>#<etag>` | a copy of each REJECTED `IntakeRecord` |
 * | `INDEX` | `LEASE` | the index writer's lease: `owner`, `until` (epoch ms) |
 * | `INTAKE-CURSOR` | `CURSOR` | `startAfter`: the last `incoming/` key the intake poll looked at |
 *
 * Every record write is conditional (`rev` read = `rev` stored, or no item yet); no transactions (ARCHITECTURE.md).
 */
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed, queryAll } from './dynamo-util';
import type { SdkVersionRef } from '../sdk/model';
import { SdkConcurrentUpdateError } from '../sdk/service/errors';
import { refLabel } from '../sdk/service/keys';
import type { SdkStore } from '../ports/sdk';
import type { BatchRecord, Credential, IntakeRecord, UploadRecord, VersionRecord } from '../sdk/records/records';
import {
  batchItem,
  credentialItem,
  decodeItem,
  intakeItem,
  intakeCursorItem,
  itemKey,
  membershipItem,
  uploadItem,
  versionItem,
} from './dynamo-items';
import type { z } from 'zod';

const REJECTED_INTAKES_PK = 'INTAKES#REJECTED';

export class DynamoSdkStore implements SdkStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async get<S extends z.ZodType>(
    schema: S,
    kind: string,
    pk: string,
    sk: string,
  ): Promise<z.output<S> | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return result.Item === undefined
      ? undefined
      : decodeItem(schema, kind, result.Item, { table: this.table, key: { pk, sk } });
  }

  private async save<T extends { rev: number }>(
    pk: string,
    sk: string,
    record: Omit<T, 'rev'>,
    expectedRev: number | undefined,
    what: string,
  ): Promise<T> {
    const stored = { ...record, rev: (expectedRev ?? 0) + 1 } as T;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk, sk, ...stored },
          ...(expectedRev === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#rev = :rev',
                ExpressionAttributeNames: { '#rev': 'rev' },
                ExpressionAttributeValues: { ':rev': expectedRev },
              }),
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) {
        throw new SdkConcurrentUpdateError(`${what} changed while it was being updated; read it again and retry`, {
          cause: error,
          details: { pk, sk, expectedRev },
        });
      }
      throw error;
    }
    return stored;
  }

  getVersion(ref: SdkVersionRef): Promise<VersionRecord | undefined> {
    return this.get(versionItem, 'SDK version', 'VERSION', refLabel(ref));
  }

  async listVersions(): Promise<VersionRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'VERSION' },
      ConsistentRead: true,
    });
    return items.map((item) => decodeItem(versionItem, 'SDK version', item, { table: this.table, key: itemKey(item) }));
  }

  saveVersion(record: Omit<VersionRecord, 'rev'>, expectedRev: number | undefined): Promise<VersionRecord> {
    return this.save<VersionRecord>(
      'VERSION',
      refLabel(record),
      record,
      expectedRev,
      `${record.name} ${record.version}`,
    );
  }

  getUpload(id: string): Promise<UploadRecord | undefined> {
    return this.get(uploadItem, 'upload', `UPLOAD#${id}`, 'UPLOAD');
  }

  saveUpload(record: Omit<UploadRecord, 'rev'>, expectedRev: number | undefined): Promise<UploadRecord> {
    return this.save<UploadRecord>(`UPLOAD#${record.id}`, 'UPLOAD', record, expectedRev, `Upload ${record.id}`);
  }

  getBatch(id: string): Promise<BatchRecord | undefined> {
    return this.get(batchItem, 'batch', `BATCH#${id}`, 'BATCH');
  }

  saveBatch(record: Omit<BatchRecord, 'rev'>, expectedRev: number | undefined): Promise<BatchRecord> {
    return this.save<BatchRecord>(`BATCH#${record.id}`, 'BATCH', record, expectedRev, `Batch ${record.id}`);
  }

  async putBatchMembership(ref: SdkVersionRef, batchId: string): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: { pk: `MEMBER#${refLabel(ref)}`, sk: 'MEMBER', batchId } }),
    );
  }

  async getBatchMembership(ref: SdkVersionRef): Promise<string | undefined> {
    const item = await this.get(membershipItem, 'batch membership', `MEMBER#${refLabel(ref)}`, 'MEMBER');
    return item?.batchId;
  }

  async deleteBatchMembership(ref: SdkVersionRef): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: `MEMBER#${refLabel(ref)}`, sk: 'MEMBER' } }),
    );
  }

  getCredential(tokenHash: string): Promise<Credential | undefined> {
    return this.get(credentialItem, 'credential', `TOKEN#${tokenHash}`, 'TOKEN');
  }

  async putCredential(tokenHash: string, credential: Credential): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: { pk: `TOKEN#${tokenHash}`, sk: 'TOKEN', ...credential } }),
    );
  }

  async recordIntake(record: IntakeRecord): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: { pk: `INTAKE#${refLabel(record)}`, sk: record.etag, ...record } }),
    );
    // Also under one partition, so a status of every version can list refusals without a scan.
    if (record.state === 'REJECTED') {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: REJECTED_INTAKES_PK, sk: `${refLabel(record)}#${record.etag}`, ...record },
        }),
      );
    }
  }

  async listRejectedIntakes(): Promise<IntakeRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': REJECTED_INTAKES_PK },
      ConsistentRead: true,
    });
    return items
      .map((item) => decodeItem(intakeItem, 'rejected intake', item, { table: this.table, key: itemKey(item) }))
      .sort((a, b) => (a.at < b.at ? -1 : 1));
  }

  async listIntakes(ref: SdkVersionRef): Promise<IntakeRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `INTAKE#${refLabel(ref)}` },
      ConsistentRead: true,
    });
    return items
      .map((item) => decodeItem(intakeItem, 'intake', item, { table: this.table, key: itemKey(item) }))
      .sort((a, b) => (a.at < b.at ? -1 : 1));
  }

  async getIntakeCursor(): Promise<string | undefined> {
    return (await this.get(intakeCursorItem, 'intake cursor', 'INTAKE-CURSOR', 'CURSOR'))?.startAfter;
  }

  async setIntakeCursor(startAfter: string | undefined): Promise<void> {
    // Last writer wins: two polls at once list the same page, and intake is idempotent per upload.
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: 'INTAKE-CURSOR', sk: 'CURSOR', ...(startAfter !== undefined ? { startAfter } : {}) },
      }),
    );
  }

  async acquireIndexLease(owner: string, now: number, leaseMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: 'INDEX', sk: 'LEASE', owner, until: now + leaseMs },
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#until': 'until', '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async releaseIndexLease(owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: 'INDEX', sk: 'LEASE' },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      // Expired and taken over: the new holder's lease is not ours to delete.
      if (!isConditionFailed(error)) throw error;
    }
  }
}
