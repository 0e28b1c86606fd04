/**
 * Environment locks in DynamoDB (`LOCKSTEP_TABLE_LOCKS`), one item per environment: pk `LOCK#<environment>`,
 * sk `LOCK`, holding a `LockRecord` of the decision core.
 *
 * Every transition is the core's own (`acquire`, `renew`, `release` in `lambdas/core/decide/locks.ts`): read the
 * item, compute the next record with the pure function, write it with `lockWriteCondition(before)` (the item still
 * holds exactly what was read). A lost race reads again. The item outlives every grant so the fencing token only
 * grows; an expired lease counts as free without anyone deleting it (DynamoDB Local and dynalite do not run TTL).
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  acquire,
  fenceAllows,
  freeLock,
  heartbeat,
  LockError,
  LockHeldError,
  lockWriteCondition,
  release,
  renew,
  toLockState,
  type LockRecord,
} from '../core/decide/locks';
import type { LockState } from '../core/model';
import type { AcquireResult, FencedRelease, LockStore } from '../ports/stores';
import { decodeItem, lockItem } from './dynamo-items';
import { isConditionFailed } from './dynamo-util';

/** Attempts of read-compute-write before giving up on a lock that keeps changing under us. */
const MAX_ATTEMPTS = 8;

export class DynamoLockStore implements LockStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(environment: string) {
    return { pk: `LOCK#${environment}`, sk: 'LOCK' };
  }

  /** The stored record, or the never-granted record when no item exists. */
  async record(environment: string): Promise<LockRecord> {
    const key = this.key(environment);
    const item = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    if (!item) return freeLock(environment);
    const { owner, ...times } = decodeItem(lockItem, 'lock', item, { table: this.table, key });
    return { environment, owner: owner ?? null, ...times };
  }

  /** Writes `next` if the item still holds `before`; false when someone else moved first. */
  private async write(before: LockRecord, next: LockRecord): Promise<boolean> {
    const condition = lockWriteCondition(before);
    const { owner, ...rest } = next;
    const item = { ...this.key(next.environment), ...rest, ...(owner === null ? {} : { owner }) };
    try {
      if (condition.expected === null) {
        await this.client.send(
          new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
        );
      } else {
        const ownerClause = condition.expected.owner === null ? 'attribute_not_exists(#owner)' : '#owner = :owner';
        await this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: item,
            ConditionExpression: `fencingToken = :token AND leaseExpiresAt = :lease AND ${ownerClause}`,
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':token': condition.expected.fencingToken,
              ':lease': condition.expected.leaseExpiresAt,
              ...(condition.expected.owner === null ? {} : { ':owner': condition.expected.owner }),
            },
          }),
        );
      }
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Read, compute, conditional write; again on a lost race. */
  private async transition(environment: string, compute: (before: LockRecord) => LockRecord): Promise<LockRecord> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.record(environment);
      const next = compute(before);
      if (next === before || (await this.write(before, next))) return next;
      if (attempt >= MAX_ATTEMPTS) {
        throw new LockError(`The lock of ${environment} kept changing; try again`, { details: { environment } });
      }
    }
  }

  /**
   * The common case of `acquire` in one request instead of a read and a write: a conditional UpdateItem that grants
   * the lock only when nobody holds it, the negation of the core's `isHeld` (no owner, or a lease that has ended),
   * with the core's grant (`acquire` of a free lock: owner, acquiredAt, leaseExpiresAt) and the next fencing token
   * added by DynamoDB itself, so two acquirers can never get the same token. Undefined when the lock is held (by
   * another owner, or by this one: a retried step): the read-compute-write path decides those as before.
   */
  private async grantIfFree(
    environment: string,
    owner: string,
    leaseMs: number,
    now: number,
  ): Promise<LockRecord | undefined> {
    const grant = acquire(freeLock(environment), owner, now, leaseMs);
    const key = this.key(environment);
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression:
            'SET #environment = :environment, #owner = :owner, acquiredAt = :acquiredAt, leaseExpiresAt = :leaseExpiresAt ADD fencingToken :one',
          ConditionExpression: 'attribute_not_exists(pk) OR attribute_not_exists(#owner) OR leaseExpiresAt <= :now',
          ExpressionAttributeNames: { '#environment': 'environment', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':environment': environment,
            ':owner': owner,
            ':acquiredAt': grant.acquiredAt,
            ':leaseExpiresAt': grant.leaseExpiresAt,
            ':one': 1,
            ':now': now,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const { owner: stored, ...times } = decodeItem(lockItem, 'lock', result.Attributes, { table: this.table, key });
      return { environment, owner: stored ?? null, ...times };
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  async get(environment: string, now: number): Promise<LockState | null> {
    return toLockState(await this.record(environment), now);
  }

  async acquire(environment: string, owner: string, leaseMs: number, now: number): Promise<AcquireResult> {
    const granted = await this.grantIfFree(environment, owner, leaseMs, now);
    if (granted) return { acquired: true, lock: toLockState(granted, now)! };
    try {
      const granted = await this.transition(environment, (before) => acquire(before, owner, now, leaseMs));
      return { acquired: true, lock: toLockState(granted, now)! };
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      const holder = toLockState(await this.record(environment), now);
      if (!holder) return this.acquire(environment, owner, leaseMs, now); // released meanwhile
      return { acquired: false, holder };
    }
  }

  async renew(
    environment: string,
    owner: string,
    fencingToken: number,
    leaseMs: number,
    now: number,
  ): Promise<boolean> {
    try {
      await this.transition(environment, (before) => renew(before, owner, fencingToken, now, leaseMs));
      return true;
    } catch (error) {
      if (error instanceof LockError) return false;
      throw error;
    }
  }

  async heartbeat(
    environment: string,
    owner: string,
    fencingToken: number,
    leaseMs: number,
    now: number,
  ): Promise<boolean> {
    try {
      // `transition` writes nothing when the core returns the record it read: the consistent read was the check.
      await this.transition(environment, (before) => heartbeat(before, owner, fencingToken, now, leaseMs));
      return true;
    } catch (error) {
      if (error instanceof LockError) return false;
      throw error;
    }
  }

  async release(environment: string, owner: string, fencingToken: number): Promise<boolean> {
    try {
      await this.transition(environment, (before) => release(before, owner, fencingToken));
      return true;
    } catch (error) {
      if (error instanceof LockError) return false;
      throw error;
    }
  }

  async validate(environment: string, fencingToken: number, now: number): Promise<boolean> {
    return fenceAllows(await this.record(environment), fencingToken, now);
  }

  async releaseAfter(
    environment: string,
    owner: string,
    fencingToken: number,
    now: number,
    work: () => Promise<void>,
  ): Promise<FencedRelease> {
    const before = await this.record(environment);
    if (before.owner !== owner || !fenceAllows(before, fencingToken, now)) return { held: false };
    await work();
    // Conditional on the record read above, not on a fresh read: a lock that changed since the fence check is not
    // ours to release, and no second read is spent on the promotion's critical path.
    return { held: true, released: await this.write(before, release(before, owner, fencingToken)) };
  }
}
