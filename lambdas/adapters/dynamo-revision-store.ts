/**
 * Revisions in DynamoDB (`LOCKSTEP_TABLE_REVISIONS`).
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `APP#<application>` | `#COUNTER` | `last`: the last number handed out (atomic `ADD`) |
 * | `APP#<application>` | `REV#<number, 12 digits>` | one immutable revision |
 * | `APP#<application>` | `BUILD#<build id>` | which revision a build became (makes completion idempotent) |
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Revision } from '../core/model';
import { ConcurrentUpdateError } from '../promotion/errors';
import type { RevisionDraft, RevisionStore } from '../ports/stores';
import { decodeItem, itemKey, revisionCounterItem, revisionItem, revisionMarkerItem } from './dynamo-items';
import { batchGetAll, isConditionFailed, pad, queryAll } from './dynamo-util';

/** A build claimed for completion but not finished within this time is taken over by the next caller. */
const STALE_CLAIM_MS = 5 * 60_000;

export class DynamoRevisionStore implements RevisionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(
    application: string,
    buildId: string,
    prepare: (number: number) => Promise<RevisionDraft>,
  ): Promise<Revision> {
    const pk = `APP#${application}`;
    const marker = { pk, sk: `BUILD#${buildId}` };
    const now = this.clock();
    let reserved: number | undefined;
    try {
      // Claim the build first, so two concurrent completions of one build cannot take two numbers.
      const claim = await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...marker, state: 'claimed', claimedAt: now },
          ConditionExpression: 'attribute_not_exists(pk) OR (#state = :claimed AND claimedAt < :stale)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':claimed': 'claimed', ':stale': now - STALE_CLAIM_MS },
          ReturnValues: 'ALL_OLD',
        }),
      );
      // Taking over a crashed claim: reuse the number it reserved.
      if (claim.Attributes)
        reserved = decodeItem(revisionMarkerItem, 'build marker', claim.Attributes, {
          table: this.table,
          key: marker,
        }).number;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const existing = await this.findByBuildId(application, buildId);
      if (existing) return existing;
      throw new ConcurrentUpdateError(`Build ${buildId} is being recorded by another caller`, {
        cause: error,
        details: { application, buildId },
      });
    }
    let number = reserved;
    if (number === undefined) {
      const counter = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: '#COUNTER' },
          UpdateExpression: 'ADD #last :one',
          ExpressionAttributeNames: { '#last': 'last' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      number = decodeItem(revisionCounterItem, 'revision counter', counter.Attributes, {
        table: this.table,
        key: { pk, sk: '#COUNTER' },
      }).last;
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: marker,
          UpdateExpression: 'SET #number = :number',
          ExpressionAttributeNames: { '#number': 'number' },
          ExpressionAttributeValues: { ':number': number },
        }),
      );
    }
    const draft = await prepare(number);
    const revision: Revision = { testResults: {}, ...draft, buildId, application, number };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk, sk: `REV#${pad(number)}`, ...revision },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // written by the claimer we took over from
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: marker,
        UpdateExpression: 'SET #state = :done',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':done': 'done' },
      }),
    );
    return (await this.get(application, number)) ?? revision;
  }

  async get(application: string, number: number): Promise<Revision | undefined> {
    const key = { pk: `APP#${application}`, sk: `REV#${pad(number)}` };
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    return result.Item ? decodeItem(revisionItem, 'revision', result.Item, { table: this.table, key }) : undefined;
  }

  async list(application: string): Promise<Revision[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rev)',
      ExpressionAttributeValues: { ':pk': `APP#${application}`, ':rev': 'REV#' },
      ConsistentRead: true,
    });
    return items.map((item) => decodeItem(revisionItem, 'revision', item, { table: this.table, key: itemKey(item) }));
  }

  async newest(application: string, options: { limit: number; atLeast?: number }): Promise<Revision[]> {
    const pk = `APP#${application}`;
    // REV#<12 digits> sorts numerically, so the newest are read first and a floor is a key condition: the read
    // costs what it returns, however long the history below it.
    const floor = options.atLeast !== undefined && options.atLeast > 0;
    const items = await queryAll(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: floor ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk AND begins_with(sk, :rev)',
        ExpressionAttributeValues: floor
          ? { ':pk': pk, ':from': `REV#${pad(options.atLeast!)}`, ':to': `REV#${'9'.repeat(12)}` }
          : { ':pk': pk, ':rev': 'REV#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      options.limit,
    );
    return items.map((item) => decodeItem(revisionItem, 'revision', item, { table: this.table, key: itemKey(item) }));
  }

  async getMany(application: string, numbers: readonly number[]): Promise<Revision[]> {
    const keys = [...new Set(numbers)].map((n) => ({ pk: `APP#${application}`, sk: `REV#${pad(n)}` }));
    const items = await batchGetAll(this.client, this.table, keys);
    return items
      .map((item) => decodeItem(revisionItem, 'revision', item, { table: this.table, key: itemKey(item) }))
      .sort((a, b) => a.number - b.number);
  }

  async recordTestResults(
    application: string,
    number: number,
    environment: string,
    results: { passed: number; failed: number },
  ): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `APP#${application}`, sk: `REV#${pad(number)}` },
        UpdateExpression: 'SET testResults.#env = :results',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#env': environment },
        ExpressionAttributeValues: { ':results': { passed: results.passed, failed: results.failed } },
      }),
    );
  }

  async findByBuildId(application: string, buildId: string): Promise<Revision | undefined> {
    const key = { pk: `APP#${application}`, sk: `BUILD#${buildId}` };
    const item = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    if (!item) return undefined;
    const marker = decodeItem(revisionMarkerItem, 'build marker', item, { table: this.table, key });
    return marker.state === 'done' && marker.number !== undefined ? this.get(application, marker.number) : undefined;
  }
}
