/**
 * Old history in DynamoDB for the history archiver (`lambdas/promotion/history-archiver.ts`): timeline entries in
 * `LOCKSTEP_TABLE_EVENTS` (the layout of `dynamo-event-store.ts`) and revisions in `LOCKSTEP_TABLE_REVISIONS`
 * (`dynamo-revision-store.ts`). Archiving sets the tables' TTL attribute (`HISTORY_EXPIRY_ATTRIBUTE`) and nothing
 * else; an item carrying it is archived, so it is never archived twice.
 *
 * Every entry is in the pipeline timeline (`TIMELINE`), so that one partition, read by time, finds all old entries;
 * the environment and revision copies share its sort key and are expired with it.
 */
import {
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { HISTORY_EXPIRY_ATTRIBUTE } from '../core/tables';
import type { Revision } from '../core/model';
import type { HistoryStore, StoredEvent } from '../ports/history';
import { decodeItem, eventItem, itemKey, revisionItem } from './dynamo-items';
import { isConditionFailed, pad } from './dynamo-util';

/** Parallel UpdateItem calls per batch of expiries (each item is its own conditional-free write). */
const EXPIRY_CONCURRENCY = 16;

const iso = (ms: number) => new Date(ms).toISOString();

export class DynamoHistoryStore implements HistoryStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: { readonly events: string; readonly revisions: string },
  ) {}

  /** Pages `input` until `limit` items passed its filter (a filtered page may hold fewer than it read). */
  private async collect(input: QueryCommandInput, limit: number): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return items.slice(0, limit);
  }

  private decodeEvent(item: Record<string, unknown>): StoredEvent {
    const event = decodeItem(eventItem, 'timeline event', item, { table: this.tables.events, key: itemKey(item) });
    return { id: String(item.sk), event };
  }

  async unarchivedEvents(before: number, limit: number): Promise<StoredEvent[]> {
    const items = await this.collect(
      {
        TableName: this.tables.events,
        KeyConditionExpression: 'pk = :pk AND sk < :before',
        FilterExpression: 'attribute_not_exists(#expires)',
        ExpressionAttributeNames: { '#expires': HISTORY_EXPIRY_ATTRIBUTE },
        ExpressionAttributeValues: { ':pk': 'TIMELINE', ':before': iso(before) },
        ConsistentRead: true,
      },
      limit,
    );
    return items.map((item) => this.decodeEvent(item));
  }

  async eventsBetween(from: number, to: number): Promise<StoredEvent[]> {
    const items = await this.collect(
      {
        TableName: this.tables.events,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        // ISO times sort as strings; `~` sorts after the `#<uuid>` suffix of an entry at exactly `to`, excluded below.
        ExpressionAttributeValues: { ':pk': 'TIMELINE', ':from': iso(from), ':to': `${iso(to)}~` },
      },
      Number.POSITIVE_INFINITY,
    );
    return items.map((item) => this.decodeEvent(item)).filter((e) => e.event.at >= from && e.event.at < to);
  }

  async expireEvents(entries: readonly StoredEvent[], expiresAt: number): Promise<void> {
    const keys = entries.flatMap(({ id, event }) => [
      { pk: 'TIMELINE', sk: id },
      ...(event.environment ? [{ pk: `ENV#${event.environment}`, sk: id }] : []),
      ...(event.application && event.revision !== undefined
        ? [{ pk: `REV#${event.application}#${event.revision}`, sk: id }]
        : []),
    ]);
    await this.expire(this.tables.events, keys, expiresAt);
  }

  async unarchivedRevisions(application: string, before: number, limit: number): Promise<Revision[]> {
    const items = await this.collect(
      {
        TableName: this.tables.revisions,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rev)',
        FilterExpression: 'createdAt < :before AND attribute_not_exists(#expires)',
        ExpressionAttributeNames: { '#expires': HISTORY_EXPIRY_ATTRIBUTE },
        ExpressionAttributeValues: { ':pk': `APP#${application}`, ':rev': 'REV#', ':before': before },
        ConsistentRead: true,
      },
      limit,
    );
    return items.map((item) =>
      decodeItem(revisionItem, 'revision', item, { table: this.tables.revisions, key: itemKey(item) }),
    );
  }

  async expireRevisions(application: string, numbers: readonly number[], expiresAt: number): Promise<void> {
    await this.expire(
      this.tables.revisions,
      numbers.map((n) => ({ pk: `APP#${application}`, sk: `REV#${pad(n)}` })),
      expiresAt,
    );
  }

  /** Sets the TTL attribute (epoch seconds, as DynamoDB TTL reads it) on items that exist; absent keys stay absent. */
  private async expire(table: string, keys: ReadonlyArray<Record<string, string>>, expiresAt: number): Promise<void> {
    const seconds = Math.floor(expiresAt / 1000);
    for (let i = 0; i < keys.length; i += EXPIRY_CONCURRENCY) {
      await Promise.all(
        keys.slice(i, i + EXPIRY_CONCURRENCY).map(async (key) => {
          try {
            await this.client.send(
              new UpdateCommand({
                TableName: table,
                Key: key,
                UpdateExpression: 'SET #expires = :at',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeNames: { '#expires': HISTORY_EXPIRY_ATTRIBUTE },
                ExpressionAttributeValues: { ':at': seconds },
              }),
            );
          } catch (error) {
            // A copy that was never written (or is gone already) has nothing to expire.
            if (!isConditionFailed(error)) throw error;
          }
        }),
      );
    }
  }
}
