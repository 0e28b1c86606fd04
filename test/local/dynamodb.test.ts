import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { javaAvailable, startLocalDynamoDb, type DynamoDbBackend, type LocalDynamoDb } from '../../local/dynamodb';
import { clientConfig, tempDataDir } from './helpers';

// The same behaviour is asserted on both backends: whichever one a machine gets, the code must see the same.
const backends: DynamoDbBackend[] = javaAvailable() ? ['dynamodb-local', 'dynalite'] : ['dynalite'];

describe.each(backends)('local DynamoDB on %s', (backend) => {
  let db: LocalDynamoDb;
  let doc: DynamoDBDocumentClient;
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let locks: string;
  let revisions: string;

  beforeAll(async () => {
    data = await tempDataDir();
    db = await startLocalDynamoDb({ dataDir: data.dir, javaPreference: backend === 'dynalite' ? 'dynalite' : 'java' });
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, endpoint: db.endpoint }));
    locks = db.tableNames.Locks!;
    revisions = db.tableNames.Revisions!;
  });

  afterAll(async () => {
    doc?.destroy();
    await db?.stop();
    await data?.cleanup();
  });

  it('reports the backend it runs', () => {
    expect(db.backend).toBe(backend);
  });

  it('lets exactly one of two conditional puts on the same key win', async () => {
    const put = (owner: string) =>
      doc.send(
        new PutCommand({
          TableName: locks,
          Item: { pk: 'env#beta', sk: 'lock', owner },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    const results = await Promise.allSettled([put('a'), put('b')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected')!;
    expect(rejected.reason).toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('increments a counter with UpdateItem ADD and returns the new value', async () => {
    const bump = () =>
      doc.send(
        new UpdateCommand({
          TableName: locks,
          Key: { pk: 'env#prod', sk: 'fencing' },
          UpdateExpression: 'ADD fencingToken :one',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
    await bump();
    const second = await bump();
    expect(second.Attributes?.fencingToken).toBe(2);
  });

  it('refuses an update whose condition on an attribute value fails', async () => {
    await doc.send(new PutCommand({ TableName: locks, Item: { pk: 'env#gamma', sk: 'lock', fencingToken: 5 } }));
    await expect(
      doc.send(
        new UpdateCommand({
          TableName: locks,
          Key: { pk: 'env#gamma', sk: 'lock' },
          UpdateExpression: 'SET released = :t',
          ConditionExpression: 'fencingToken = :token',
          ExpressionAttributeValues: { ':t': true, ':token': 4 },
        }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('batch-writes items and queries them back in sort-key order', async () => {
    const items = [3, 1, 2].map((n) => ({
      PutRequest: { Item: { pk: 'app#web', sk: `rev#${String(n).padStart(6, '0')}`, number: n } },
    }));
    await doc.send(new BatchWriteCommand({ RequestItems: { [revisions]: items } }));
    const queried = await doc.send(
      new QueryCommand({
        TableName: revisions,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rev)',
        ExpressionAttributeValues: { ':pk': 'app#web', ':rev': 'rev#' },
        ScanIndexForward: false,
      }),
    );
    expect(queried.Items?.map((i) => i.number)).toEqual([3, 2, 1]);
  });

  it('keeps data and tables across a restart of the same data folder', async () => {
    await doc.send(new PutCommand({ TableName: revisions, Item: { pk: 'app#keep', sk: 'rev#1', kept: true } }));
    await db.stop();
    db = await startLocalDynamoDb({ dataDir: data.dir, javaPreference: backend === 'dynalite' ? 'dynalite' : 'java' });
    doc.destroy();
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, endpoint: db.endpoint }));
    const got = await doc.send(new GetCommand({ TableName: revisions, Key: { pk: 'app#keep', sk: 'rev#1' } }));
    expect(got.Item?.kept).toBe(true);
  });
});
