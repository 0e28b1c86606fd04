/**
 * The audit record and timelines in DynamoDB (`LOCKSTEP_TABLE_EVENTS`). An event is written once per timeline it
 * belongs to, so the pipeline's, an environment's and a revision's timeline are each one Query without a secondary
 * index:
 *
 * | pk | sk |
 * |---|---|
 * | `TIMELINE` | `<ISO time>#<random>` |
 * | `ENV#<environment>` | same |
 * | `REV#<application>#<number>` | same |
 *
 * An application's timeline is the pipeline timeline filtered by `application`: nothing reads it on the promotion
 * path, and each copy costs every append a write (`APP#<application>` partitions written before are left unread).
 */
import { randomUUID } from 'node:crypto';
import {
  BatchWriteCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { EventStore, PipelineEvent, TimelineRead, TimelineReader, TimelineScope } from '../ports/stores';
import { decodeItem, eventItem, itemKey } from './dynamo-items';
import { queryAll } from './dynamo-util';

const MAX_BATCH_ATTEMPTS = 5;
/** BatchWriteItem's limit. */
const MAX_BATCH_ITEMS = 25;

export class DynamoEventStore implements EventStore, TimelineReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async append(events: PipelineEvent | readonly PipelineEvent[]): Promise<void> {
    const list: readonly PipelineEvent[] = Array.isArray(events) ? events : [events];
    const requests = list.flatMap((event) => {
      const sk = `${new Date(event.at).toISOString()}#${randomUUID()}`;
      const partitions = ['TIMELINE'];
      if (event.environment) partitions.push(`ENV#${event.environment}`);
      if (event.application && event.revision !== undefined)
        partitions.push(`REV#${event.application}#${event.revision}`);
      return partitions.map((pk) => ({ PutRequest: { Item: { pk, sk, ...event } } }));
    });
    const batches: (typeof requests)[] = [];
    for (let i = 0; i < requests.length; i += MAX_BATCH_ITEMS) batches.push(requests.slice(i, i + MAX_BATCH_ITEMS));
    await Promise.all(batches.map((batch) => this.writeBatch(batch)));
  }

  private async writeBatch(batch: Array<{ PutRequest: { Item: Record<string, unknown> } }>): Promise<void> {
    let requests = batch;
    for (let attempt = 1; requests.length > 0; attempt++) {
      const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
      requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      if (requests.length > 0 && attempt >= MAX_BATCH_ATTEMPTS) {
        throw new Error(`Could not write ${requests.length} timeline entries after ${attempt} attempts`);
      }
      if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }

  async list(
    scope: { environment?: string; application?: string; revision?: number },
    limit = 100,
  ): Promise<PipelineEvent[]> {
    const pk =
      scope.application && scope.revision !== undefined
        ? `REV#${scope.application}#${scope.revision}`
        : scope.environment
          ? `ENV#${scope.environment}`
          : 'TIMELINE';
    const byApplication = pk === 'TIMELINE' && scope.application !== undefined;
    const query: QueryCommandInput = {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk, ...(byApplication ? { ':application': scope.application } : {}) },
      ...(byApplication
        ? {
            FilterExpression: '#application = :application',
            ExpressionAttributeNames: { '#application': 'application' },
          }
        : {}),
      ScanIndexForward: false,
      Limit: limit,
    };
    // Pages until `limit` entries matched (a filtered page may hold fewer than it read).
    const events: PipelineEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...query, ExclusiveStartKey: startKey }));
      for (const item of page.Items ?? [])
        events.push(decodeItem(eventItem, 'timeline event', item, { table: this.table, key: itemKey(item) }));
      startKey = page.LastEvaluatedKey;
    } while (startKey && events.length < limit);
    return events.slice(0, limit);
  }

  async readTimeline(
    scope: TimelineScope,
    options: { readonly limit: number; readonly from?: string; readonly direction: 'older' | 'newer' },
  ): Promise<TimelineRead> {
    const pk = 'environment' in scope ? `ENV#${scope.environment}` : `REV#${scope.application}#${scope.revision}`;
    // One more than asked says whether more remain, without a second (possibly empty) page. The partition has no
    // filter, so a page holds what it read; queryAll still follows a page DynamoDB cut short at 1 MB.
    const items = await queryAll(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: options.direction === 'newer',
        ...(options.from !== undefined ? { ExclusiveStartKey: { pk, sk: options.from } } : {}),
      },
      options.limit + 1,
    );
    const read = items.slice(0, options.limit);
    return {
      events: read.map((item) =>
        decodeItem(eventItem, 'timeline event', item, { table: this.table, key: itemKey(item) }),
      ),
      positions: read.map((item) => String(item.sk)),
      more: items.length > options.limit,
    };
  }
}
