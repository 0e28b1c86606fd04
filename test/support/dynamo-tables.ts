/**
 * Every Lockstep table on an in-process dynalite, for the adapter tests: real key schemas, conditional writes and
 * query paging, nothing mocked. `pagedClient(n)` returns a client whose queries ask for `n` items a page, so an
 * adapter that reads only the first page fails its test with a handful of items instead of a megabyte.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { SDK_TABLES, TABLES } from '../../lambdas/core/tables';
import { ensureTables } from '../../local/dynamodb';

export interface DynamoTables {
  readonly client: DynamoDBDocumentClient;
  /** logical name (`Revisions`, `Sdk`, ...) -> physical name. */
  readonly names: Readonly<Record<string, string>>;
  /** The physical name of a table, or an error naming the logical name that is missing. */
  table(logicalName: string): string;
  /** A client that pages every Query at `pageSize` items (the adapters must follow `LastEvaluatedKey`). */
  pagedClient(pageSize: number): DynamoDBDocumentClient;
  /** Writes an item as it is, bypassing every adapter: an old-format or corrupt item. */
  putRaw(logicalName: string, item: Record<string, unknown>): Promise<void>;
  /** Reads an item as it is stored. */
  getRaw(logicalName: string, key: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
  /** The items of one partition as stored, in sort key order. */
  partition(logicalName: string, pk: string): Promise<Array<Record<string, unknown>>>;
  deleteRaw(logicalName: string, key: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export async function startDynamoTables(): Promise<DynamoTables> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const names = await ensureTables(endpoint, [...TABLES, ...SDK_TABLES]);
  const clients: DynamoDBDocumentClient[] = [];
  const makeClient = () => {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS }),
      {
        marshallOptions: { removeUndefinedValues: true },
      },
    );
    clients.push(client);
    return client;
  };
  const client = makeClient();
  const table = (logicalName: string) => {
    const name = names[logicalName];
    if (name === undefined) throw new Error(`No table ${logicalName}; the tables are ${Object.keys(names).join(', ')}`);
    return name;
  };
  return {
    client,
    names,
    table,
    pagedClient(pageSize) {
      const paged = makeClient();
      paged.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'QueryCommand') {
            const input = args.input as { Limit?: number };
            input.Limit = Math.min(input.Limit ?? pageSize, pageSize);
          }
          return next(args);
        },
        { step: 'initialize', name: 'pageEveryQuery' },
      );
      return paged;
    },
    async putRaw(logicalName, item) {
      await client.send(new PutCommand({ TableName: table(logicalName), Item: item }));
    },
    async getRaw(logicalName, key) {
      return (await client.send(new GetCommand({ TableName: table(logicalName), Key: key, ConsistentRead: true })))
        .Item;
    },
    async partition(logicalName, pk) {
      const result = await client.send(
        new QueryCommand({
          TableName: table(logicalName),
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
        }),
      );
      return result.Items ?? [];
    },
    async deleteRaw(logicalName, key) {
      await client.send(new DeleteCommand({ TableName: table(logicalName), Key: key }));
    },
    async stop() {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
