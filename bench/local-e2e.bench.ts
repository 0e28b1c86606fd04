/**
 * `npm run bench local-e2e`: the local system's own overhead. Pushes to production through the three-stage shape
 * with no-op commands (bench/support/three-stage-run.ts) and prints, per promotion hop, the execution's time minus
 * the time its builds ran (the engine: Step Functions interpreter, Lambda handlers, DynamoDB, S3, process spawns
 * outside the commands), and push -> Prod minus the commands on the critical path. Also where that time goes: each
 * promotion step's handler with its DynamoDB requests and how many of them ran one after another, each DynamoDB
 * operation's latency, and the rest (interpreter, build runner, event loop). Runs on DynamoDB Local (the target's
 * store) and on dynalite, unless `LOCKSTEP_BENCH_DYNAMODB=java|dynalite` picks one, and prints the load average:
 * on a shared machine the figures move with it. Then spawns `npm start` on a fresh data folder and on the same
 * folder again, and reads the time to its ready line.
 * Targets: overhead under 100 ms per hop on DynamoDB Local; ready in under 10 s.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { javaAvailable } from '../local/dynamodb';
import { ENVIRONMENTS, threeStageRun, type Hop, type RunResult } from './support/three-stage-run';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const median = (values: readonly number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (n: number) => `${n.toFixed(0).padStart(5)} ms`;

/** Spawns `npm start` and resolves with the ms until "Lockstep is ready" (and the figure it printed itself). */
async function timeToReady(dataDir: string): Promise<{ wallMs: number; reportedMs: number }> {
  const started = Date.now();
  const child = spawn('npm', ['start', '--silent', '--', '--data-dir', dataDir], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let output = '';
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const ready = await new Promise<{ wallMs: number; reportedMs: number }>((ok, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Lockstep is ready in (\d+) ms/.exec(output);
      if (match) ok({ wallMs: Date.now() - started, reportedMs: Number(match[1]) });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => fail(new Error(`npm start exited (${code}) before ready:\n${output}`)));
  });
  process.kill(-child.pid!, 'SIGINT');
  await exited;
  return ready;
}

/**
 * Where a hop's engine time goes, so the next person sees what to speed up: each promotion step's handler (median
 * over the measured hops) with its DynamoDB requests, the longest chain of them one after another (what the step
 * waits for) and the time DynamoDB was busy; then each DynamoDB operation's mean latency; the rest of the overhead is
 * the Step Functions interpreter, the CodeBuild runner around the commands, and waiting for the event loop.
 */
function printBreakdown(hops: readonly Hop[]): void {
  console.log('per step (median over all measured hops)  handler  DynamoDB: requests  in a row  busy');
  const actions = [...new Set(hops.flatMap((h) => h.steps.map((s) => s.action)))];
  for (const action of actions) {
    const steps = hops.flatMap((h) => h.steps.filter((s) => s.action === action));
    console.log(
      `  ${action.padEnd(38)} ${ms(median(steps.map((s) => s.ms)))}  ${String(median(steps.map((s) => s.dynamoRequests))).padStart(17)}  ${String(median(steps.map((s) => s.dynamoRoundTrips))).padStart(8)}  ${ms(median(steps.map((s) => s.dynamoMs)))}`,
    );
  }
  const lambdaMs = median(hops.map((h) => h.lambdaMs));
  const overhead = median(hops.map((h) => h.durationMs - h.commandMs));
  console.log(
    `  interpreter, build runner and event loop (overhead minus handlers) ${ms(Math.max(0, overhead - lambdaMs))}`,
  );
  const operations = new Map<string, { count: number; ms: number }>();
  for (const hop of hops)
    for (const [name, op] of hop.dynamoOperations) {
      const sum = operations.get(name) ?? { count: 0, ms: 0 };
      operations.set(name, { count: sum.count + op.count, ms: sum.ms + op.ms });
    }
  console.log(
    `DynamoDB per hop (mean): ${[...operations]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([name, op]) => `${name} ${(op.count / hops.length).toFixed(1)} x ${(op.ms / op.count).toFixed(1)} ms`)
      .join(', ')}`,
  );
}

const TARGET_MS = 100;

/** The per-hop table, the breakdown and the push -> Prod figure of one run; returns the per-hop median. */
function report(run: RunResult): number {
  const { rounds, backend } = run;
  console.log(
    `three-stage shape, no-op commands, DynamoDB: ${backend}; ${rounds.length} pushes to production (the first warms up)`,
  );
  console.log(
    'hop           execution  commands  engine overhead  (of which Lambda handlers)        DynamoDB requests  vs target',
  );
  const measured = rounds.slice(1);
  for (const env of ENVIRONMENTS) {
    const hops = measured.map((r) => r.hops.find((h) => h.environment === env)!);
    const d = median(hops.map((h) => h.durationMs));
    const c = median(hops.map((h) => h.commandMs));
    const l = median(hops.map((h) => h.lambdaMs));
    const overhead = median(hops.map((h) => h.durationMs - h.commandMs));
    console.log(
      `${env.padEnd(12)}  ${ms(d)}  ${ms(c)}  ${ms(overhead)}        ${ms(l)} in ${hops[0]!.lambdaInvocations} calls  ${String(median(hops.map((h) => h.dynamoRequests))).padStart(17)}  ${(overhead / TARGET_MS).toFixed(2)}x`,
    );
  }
  const overheads = measured.flatMap((r) => r.hops.map((h) => h.durationMs - h.commandMs));
  const perHop = median(overheads);
  console.log(
    `per hop on ${backend}: ${perHop.toFixed(0)} ms, ${(perHop / TARGET_MS).toFixed(2)}x the ${TARGET_MS} ms target (${perHop < TARGET_MS ? 'met' : 'NOT met'}); max ${Math.max(...overheads).toFixed(0)} ms; ${measured[0]!.hops[0]!.lambdaInvocations} promotion-step Tasks per hop`,
  );
  printBreakdown(measured.flatMap((r) => r.hops));
  const delay = run.eventLoopDelay;
  console.log(
    `event loop late by p50 ${delay.p50.toFixed(1)} ms, p99 ${delay.p99.toFixed(1)} ms, max ${delay.max.toFixed(0)} ms (one loop runs handlers, stores, interpreter, builds and reconcile passes)`,
  );
  const total = median(measured.map((r) => r.totalMs));
  const commands = median(measured.map((r) => r.criticalCommandMs));
  console.log(
    `push -> approved in every Prod environment: median ${total.toFixed(0)} ms, of which commands on the critical path ${commands.toFixed(0)} ms; engine ${(total - commands).toFixed(0)} ms over 1 build + 3 hops`,
  );
  return perHop;
}

export default async function bench(): Promise<void> {
  // The machine is often shared: the load says how far the figures are from a quiet machine's.
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  const main = await threeStageRun();
  const perHop = report(main);
  // The other store too, unless LOCKSTEP_BENCH_DYNAMODB chose one: the target is DynamoDB Local's figure.
  if (process.env.LOCKSTEP_BENCH_DYNAMODB === undefined) {
    const other = main.backend === 'dynalite' ? 'java' : 'dynalite';
    if (other === 'dynalite' || javaAvailable()) {
      console.log('');
      const second = report(await threeStageRun(4, other));
      console.log(
        `per hop, both stores: ${main.backend} ${perHop.toFixed(0)} ms, ${other === 'java' ? 'dynamodb-local' : 'dynalite'} ${second.toFixed(0)} ms (target ${TARGET_MS} ms on DynamoDB Local)`,
      );
    }
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const dataDir = await mkdtemp(join(tmpdir(), 'lockstep-bench-start-'));
  try {
    const fresh = await timeToReady(dataDir);
    const again = await timeToReady(dataDir);
    console.log(
      `npm start -> ready (DynamoDB Local when Java exists): fresh data folder ${fresh.wallMs} ms (system reports ${fresh.reportedMs} ms), restart ${again.wallMs} ms (${again.reportedMs} ms) (target < 10 s)`,
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
