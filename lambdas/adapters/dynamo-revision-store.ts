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
import { isConditionFailed, pad, queryAll, withoutKeys } from './dynamo-util';

/** A build claimed for completion but not finished within this time is taken over by the next caller. */
const STALE_CLAIM_MS = 5 * 60_000;

export class DynamoRevisionStore implements RevisionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(application: string, buildId: string, prepare: (number: number) => Promise<RevisionDraft>): Promise<Revision> {
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
      if (typeof claim.Attributes?.number === 'number') reserved = claim.Attributes.number;
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
      number = Number(counter.Attributes?.last);
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
    const result = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: `APP#${application}`, sk: `REV#${pad(number)}` }, ConsistentRead: true }),
    );
    return result.Item ? (withoutKeys(result.Item) as Revision) : undefined;
  }

  async list(application: string): Promise<Revision[]> {
    const items = await queryAll<Record<string, unknown>>(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rev)',
      ExpressionAttributeValues: { ':pk': `APP#${application}`, ':rev': 'REV#' },
      ConsistentRead: true,
    });
    return items.map((item) => withoutKeys(item) as unknown as Revision);
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
    const marker = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: `APP#${application}`, sk: `BUILD#${buildId}` }, ConsistentRead: true }),
    );
    const number: unknown = marker.Item?.number;
    return marker.Item?.state === 'done' && typeof number === 'number' ? this.get(application, number) : undefined;
  }
}
