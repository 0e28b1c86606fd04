/** Small helpers shared by the DynamoDB store adapters. */
import type {
  BatchGetCommandOutput,
  BatchWriteCommandInput,
  BatchWriteCommandOutput,
  DynamoDBDocumentClient,
  QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';

/** True for a conditional write that lost (the condition was false), which stores turn into a result, not an error. */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * Runs a query through every page, or until `limit` items were read. The items are untyped: decode each with
 * `decodeItem` (`dynamo-items.ts`).
 */
export async function queryAll(
  client: DynamoDBDocumentClient,
  input: QueryCommandInput,
  limit = Infinity,
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  // A caller's own ExclusiveStartKey (a cursor from an earlier read) is where the first page starts.
  let startKey: Record<string, unknown> | undefined = input.ExclusiveStartKey;
  do {
    const left = limit - items.length;
    const pageLimit = Number.isFinite(left) ? Math.min(left, input.Limit ?? left) : input.Limit;
    const page = await client.send(
      new QueryCommand({
        ...input,
        ...(pageLimit !== undefined ? { Limit: pageLimit } : {}),
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < limit);
  return items;
}

/** Fixed-width number so string sort keys sort numerically. */
export function pad(n: number, width = 12): string {
  return String(n).padStart(width, '0');
}

/** BatchGetItem's limit of keys per call. */
const BATCH_GET_KEYS = 100;

/**
 * Reads items by key in batches of 100, consistently, retrying what DynamoDB leaves unprocessed (throttling or the
 * 16 MB response limit). Missing keys are simply absent from the result; the order is not the order of `keys`.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + BATCH_GET_KEYS);
    for (let round = 0; pending && pending.length > 0; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** round, 1000)));
      const result: BatchGetCommandOutput = await client.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(result.Responses?.[table] ?? []));
      pending = result.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return items;
}

/** BatchWriteItem's limit of requests per call. */
const BATCH_WRITE_ITEMS = 25;

/** Puts items in batches of 25, retrying what DynamoDB leaves unprocessed. Each put overwrites: use it for idempotent copies only. */
export async function batchPutAll(
  client: DynamoDBDocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH_WRITE_ITEMS) {
    let pending: BatchWriteCommandInput['RequestItems'] | undefined = {
      [table]: items.slice(i, i + BATCH_WRITE_ITEMS).map((Item) => ({ PutRequest: { Item } })),
    };
    for (let round = 0; pending && Object.keys(pending).length > 0; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** round, 1000)));
      const result: BatchWriteCommandOutput = await client.send(new BatchWriteCommand({ RequestItems: pending }));
      pending = result.UnprocessedItems;
    }
  }
}
