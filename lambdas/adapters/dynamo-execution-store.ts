/**
 * Started promotion executions and operators' retry requests in DynamoDB (`LOCKSTEP_TABLE_ENVIRONMENTS`, pk
 * `PROMOTION#<id>`; sk `EXECUTION#<name>` for an execution, what the decision core reads as `startedExecutions`;
 * sk `RETRY#<application>#<revision>#<attempt>` for a retry request, what it reads as `retries`).
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { attemptOf } from '../core/names';
import type { RetryRequest } from '../core/model';
import type { ExecutionRecord, ExecutionStore } from '../ports/stores';
import { decodeItem, executionItem, itemKey, retryItem } from './dynamo-items';
import { batchGetAll, isConditionFailed, queryAll } from './dynamo-util';

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
    return (await this.list(promotionId)).map((record) => record.executionName);
  }

  async started(promotionId: string, names: readonly string[]): Promise<string[]> {
    const keys = [...new Set(names)].map((name) => ({ pk: `PROMOTION#${promotionId}`, sk: `EXECUTION#${name}` }));
    return (await batchGetAll(this.client, this.table, keys)).map(
      (item) => decodeItem(executionItem, 'execution', item, { table: this.table, key: itemKey(item) }).executionName,
    );
  }

  async list(promotionId: string): Promise<ExecutionRecord[]> {
    const records = (await this.query(promotionId, 'EXECUTION#')).map((item) => {
      const record = decodeItem(executionItem, 'execution', item, { table: this.table, key: itemKey(item) });
      return { ...record, attempt: record.attempt ?? attemptOf(record.executionName) };
    });
    return records.sort((a, b) => a.startedAt - b.startedAt);
  }

  async requestRetry(request: RetryRequest): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `PROMOTION#${request.promotion}`,
            sk: `RETRY#${request.application}#${request.revision}#${request.attempt}`,
            ...request,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async retries(promotionId: string): Promise<RetryRequest[]> {
    return (await this.query(promotionId, 'RETRY#')).map((item) => {
      const { reason, ...rest } = decodeItem(retryItem, 'retry request', item, {
        table: this.table,
        key: itemKey(item),
      });
      return { ...rest, ...(reason !== undefined ? { reason } : {}) };
    });
  }

  private query(promotionId: string, prefix: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
      ExpressionAttributeValues: { ':pk': `PROMOTION#${promotionId}`, ':e': prefix },
      ConsistentRead: true,
    });
  }
}
