/**
 * Started promotion executions in DynamoDB (`LOCKSTEP_TABLE_ENVIRONMENTS`, pk `PROMOTION#<id>`,
 * sk `EXECUTION#<name>`): what the decision core reads as `startedExecutions`.
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExecutionRecord, ExecutionStore } from '../ports/stores';
import { decodeItem, executionItem, itemKey } from './dynamo-items';
import { isConditionFailed, queryAll } from './dynamo-util';

export class DynamoExecutionStore implements ExecutionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async record(execution: ExecutionRecord): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `PROMOTION#${execution.promotion}`, sk: `EXECUTION#${execution.executionName}`, ...execution },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  async names(promotionId: string): Promise<string[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
      ExpressionAttributeValues: { ':pk': `PROMOTION#${promotionId}`, ':e': 'EXECUTION#' },
      ConsistentRead: true,
    });
    return items.map((item) => decodeItem(executionItem, 'execution', item, { table: this.table, key: itemKey(item) }).executionName);
  }
}
