/**
 * Webhook delivery ids in the idempotency table (`LOCKSTEP_TABLE_IDEMPOTENCY`, key `id`, expiry `expiration` in
 * epoch seconds as Powertools writes it). A conditional put, not Powertools' idempotency utility: a duplicate
 * delivery must be answered "already processed" right away rather than replaying a stored response or failing while
 * the first is in progress, and an expired record must count as absent without relying on TTL deletion.
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryStore } from '../ports/stores';
import { isConditionFailed } from './dynamo-util';

export class DynamoDeliveryStore implements DeliveryStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async remember(id: string, now: number, ttlMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { id: `delivery#${id}`, expiration: Math.ceil((now + ttlMs) / 1000), seenAt: now },
          ConditionExpression: 'attribute_not_exists(id) OR expiration <= :now',
          ExpressionAttributeValues: { ':now': Math.floor(now / 1000) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async forget(id: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.table, Key: { id: `delivery#${id}` } }));
  }
}
