/**
 * The audit record and timelines in DynamoDB (`LOCKSTEP_TABLE_EVENTS`). An event is written once per timeline it
 * belongs to, so each timeline is one Query without a secondary index:
 *
 * | pk | sk |
 * |---|---|
 * | `TIMELINE` | `<ISO time>#<random>` |
 * | `ENV#<environment>` | same |
 * | `REV#<application>#<number>` | same |
 * | `APP#<application>` | same |
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventStore, PipelineEvent } from '../ports/stores';
import { queryAll } from './dynamo-util';

const MAX_BATCH_ATTEMPTS = 5;

export class DynamoEventStore implements EventStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async append(event: PipelineEvent): Promise<void> {
    const sk = `${new Date(event.at).toISOString()}#${randomUUID()}`;
    const partitions = ['TIMELINE'];
    if (event.environment) partitions.push(`ENV#${event.environment}`);
    if (event.application) partitions.push(`APP#${event.application}`);
    if (event.application && event.revision !== undefined) partitions.push(`REV#${event.application}#${event.revision}`);
    let requests = partitions.map((pk) => ({ PutRequest: { Item: { pk, sk, ...event } } }));
    for (let attempt = 1; requests.length > 0; attempt++) {
      const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
      requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      if (requests.length > 0 && attempt >= MAX_BATCH_ATTEMPTS) {
        throw new Error(`Could not write ${requests.length} timeline entries after ${attempt} attempts`);
      }
      if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }

  async list(scope: { environment?: string; application?: string; revision?: number }, limit = 100): Promise<PipelineEvent[]> {
    const pk =
      scope.application && scope.revision !== undefined
        ? `REV#${scope.application}#${scope.revision}`
        : scope.environment
          ? `ENV#${scope.environment}`
          : scope.application
            ? `APP#${scope.application}`
            : 'TIMELINE';
    const items = await queryAll<PipelineEvent & { pk: string; sk: string }>(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ScanIndexForward: false,
      Limit: limit,
    });
    return items.slice(0, limit).map(({ pk: _pk, sk: _sk, ...event }) => event);
  }
}
