/**
 * One local run of the three-stage shape (Alpha -> Beta -> Prod NA / EU / FE, a test step and a compliance
 * sign-off in every environment) with no-op commands, shared by bench/local-e2e and bench/promotion-cost: the
 * local system binds handler modules once per process, so both read the same run.
 *
 * No manual approval and no windows: those measure people and clocks, not the engine.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promotionId } from '../../lambdas/core/config/schema';
import { executionName } from '../../lambdas/core/names';
import { startLocalSystem } from '../../local/assembly/system';
import type { BuildRecord } from '../../local/codebuild/codebuild';
import type { ExecutionRecord, LocalFunctionHandler } from '../../local/stepfunctions/step-functions';

const ENVIRONMENTS = ['alpha', 'beta', 'prod-na', 'prod-eu', 'prod-fe'];
const environment = (name: string) => `
      - name: ${name}
        deploy: { commands: ["true"] }
        approval:
          tests: [{ name: smoke, commands: ["true"] }]
          compliance: { policy: change-management }`;
const CONFIG = `
pipeline: { name: bench, buildDebounce: 0s }
packages:
  - name: sample-app
    source: { local: { path: repos/sample-app, branch: main } }
    build: { commands: ["true"], artifacts: [package.json] }
applications:
  - { name: sample-app, packages: [sample-app] }
stages:
  - name: Alpha
    environments:${environment('alpha')}
  - name: Beta
    environments:${environment('beta')}
  - name: Prod
    environments:${['prod-na', 'prod-eu', 'prod-fe'].map(environment).join('')}
promotions:
  - { from: { application: sample-app }, to: alpha }
  - { from: { environment: alpha }, to: beta }
  - { from: { environment: beta }, to: prod-na }
  - { from: { environment: beta }, to: prod-eu }
  - { from: { environment: beta }, to: prod-fe }
`;

export interface Hop {
  readonly environment: string;
  readonly revision: number;
  readonly execution: ExecutionRecord;
  readonly durationMs: number;
  /** Time builds of this hop ran (overlapping test builds counted once). */
  readonly commandMs: number;
  readonly builds: number;
  readonly lambdaInvocations: number;
  readonly lambdaMs: number;
  /** DynamoDB requests the hop's step handlers sent (counted per execution, whatever else runs meanwhile). */
  readonly dynamoRequests: number;
  /** Per promotion step (`action` of the Task): how long its handler ran, and the DynamoDB requests it sent. */
  readonly steps: readonly StepTiming[];
  /** Per DynamoDB operation sent by the hop's handlers: how many, and their summed time (overlapping ones each count). */
  readonly dynamoOperations: ReadonlyMap<string, { count: number; ms: number }>;
}

export interface StepTiming {
  readonly action: string;
  readonly ms: number;
  readonly dynamoRequests: number;
  /** The longest chain of DynamoDB requests one after another in the step (requests in flight together count once). */
  readonly dynamoRoundTrips: number;
  readonly dynamoMs: number;
}

export interface Round {
  readonly revision: number;
  /** Push sent -> the revision approved in every Prod environment. */
  readonly totalMs: number;
  /** Commands on the critical path: the application build, Alpha, Beta and the slowest Prod hop. */
  readonly criticalCommandMs: number;
  readonly hops: readonly Hop[];
}

export interface RunResult {
  readonly rounds: Round[];
  readonly readyMs: number;
  readonly backend: string;
  /** Mean time of an idle reconcile pass (nothing to do: what the minute schedule costs). */
  readonly idleReconcileMs: number;
  /**
   * How late the process's event loop ran while the pushes went through (ms): handlers, stores, the interpreter,
   * the build runner and the reconcile pass share one loop, so a late loop delays every DynamoDB answer.
   */
  readonly eventLoopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** Which DynamoDB: `LOCKSTEP_BENCH_DYNAMODB` (`java` or `dynalite`), else local mode's own choice. */
export type BenchBackend = 'default' | 'java' | 'dynalite';

const runs = new Map<BenchBackend, Promise<RunResult>>();

/**
 * Runs `rounds` pushes to production, one after another, on `backend` (memoised per backend: the first caller's
 * run is everyone's).
 */
export function threeStageRun(rounds = 4, backend: BenchBackend = 'default'): Promise<RunResult> {
  let run = runs.get(backend);
  if (!run) {
    run = measure(rounds, backend);
    runs.set(backend, run);
  }
  return run;
}

async function measure(roundCount: number, backend: BenchBackend): Promise<RunResult> {
  const preference = backend !== 'default' ? backend : process.env.LOCKSTEP_BENCH_DYNAMODB;
  const dataDir = await mkdtemp(join(tmpdir(), 'lockstep-bench-'));
  const configFile = join(dataDir, 'bench.yaml');
  await writeFile(configFile, CONFIG);
  const system = await startLocalSystem({
    dataDir,
    configFile,
    firstPush: false,
    progress: false,
    sdkPublishing: false,
    write: () => undefined,
    ...(preference ? { javaPreference: preference as 'java' | 'dynalite' } : {}),
  });
  const sfn = system.services.stepFunctions;
  try {
    // Time every Lambda invocation: the handlers the system bound, re-registered behind a stopwatch. Each DynamoDB
    // request is put down to the invocation whose handler sent it (the store follows every await).
    const lambda = {
      invocations: new Map<string, number>(),
      ms: new Map<string, number>(),
      dynamo: new Map<string, number>(),
      steps: new Map<string, StepTiming[]>(),
      operations: new Map<string, Map<string, { count: number; ms: number }>>(),
    };
    const invocation = new AsyncLocalStorage<Invocation>();
    system.services.clients.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        const current = invocation.getStore();
        if (!current) return next(args);
        const started = performance.now();
        if (current.inFlight++ === 0) {
          current.roundTrips++;
          current.busySince = started;
        }
        try {
          return await next(args);
        } finally {
          const ended = performance.now();
          current.requests++;
          if (--current.inFlight === 0) current.busyMs += ended - current.busySince;
          const operations =
            lambda.operations.get(current.execution) ?? new Map<string, { count: number; ms: number }>();
          lambda.operations.set(current.execution, operations);
          const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
          const op = operations.get(name) ?? { count: 0, ms: 0 };
          operations.set(name, { count: op.count + 1, ms: op.ms + ended - started });
        }
      },
      { step: 'initialize', name: 'benchDynamoRequestTimer' },
    );
    for (const name of ['lockstep-bench-promotion-steps', 'lockstep-bench-approval-request']) {
      const handler = sfn.registeredFunction(name);
      if (!handler) throw new Error(`The local system bound no function ${name}`);
      sfn.registerFunction(name, (async (event: { execution?: string; action?: string }, context: never) => {
        const key = event.execution ?? '?';
        const current: Invocation = {
          execution: key,
          requests: 0,
          roundTrips: 0,
          inFlight: 0,
          busySince: 0,
          busyMs: 0,
        };
        const started = performance.now();
        try {
          return await invocation.run(current, () => handler(event, context));
        } finally {
          const ms = performance.now() - started;
          lambda.invocations.set(key, (lambda.invocations.get(key) ?? 0) + 1);
          lambda.ms.set(key, (lambda.ms.get(key) ?? 0) + ms);
          lambda.dynamo.set(key, (lambda.dynamo.get(key) ?? 0) + current.requests);
          lambda.steps.set(key, [
            ...(lambda.steps.get(key) ?? []),
            {
              action: event.action ?? name,
              ms,
              dynamoRequests: current.requests,
              dynamoRoundTrips: current.roundTrips,
              dynamoMs: current.busyMs,
            },
          ]);
        }
      }) as LocalFunctionHandler);
    }
    const builds: BuildRecord[] = [];
    system.services.codeBuild.subscribe((record) => {
      if (record.buildComplete && !builds.some((b) => b.id === record.id)) builds.push(structuredClone(record));
    });

    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const rounds: Round[] = [];
    for (let revision = 1; revision <= roundCount; revision++) {
      const pushed = Date.now();
      await system.push({ message: `bench round ${revision}` });
      const names = system.pipeline.promotions.map((p) => ({
        environment: p.to,
        name: executionName(promotionId(p), 'sample-app', revision),
      }));
      const executions: ExecutionRecord[] = [];
      for (const { name } of names) {
        // Polled until its run is attached (StartExecution records the execution just before running it).
        let record = sfn.getExecution(name);
        const giveUpAt = Date.now() + 120_000;
        while (!record || record.status === 'RUNNING') {
          // An earlier hop that failed never starts this one: say so instead of waiting forever.
          if (Date.now() > giveUpAt) throw new Error(`${name} did not finish within 2 minutes`);
          await (record ? sfn.waitForExecution(name) : undefined);
          await new Promise((r) => setTimeout(r, 2));
          record = sfn.getExecution(name);
        }
        if (record.status !== 'SUCCEEDED') throw new Error(`${name} ${record.status}: ${record.error} ${record.cause}`);
        executions.push(record);
      }
      const totalMs = Math.max(...executions.map((e) => e.stopDate!)) - pushed;
      const hops = names.map(({ environment }, i) => {
        const execution = executions[i]!;
        const mine = builds.filter(
          (b) =>
            b.environmentVariables.some((v) => v.name === 'LOCKSTEP_ENVIRONMENT' && v.value === environment) &&
            b.environmentVariables.some((v) => v.name === 'LOCKSTEP_REVISION' && v.value === String(revision)),
        );
        return {
          environment,
          revision,
          execution,
          durationMs: execution.stopDate! - execution.startDate,
          commandMs: unionMs(mine.map((b) => [b.startTime, b.endTime!] as const)),
          builds: mine.length,
          lambdaInvocations: lambda.invocations.get(execution.name) ?? 0,
          lambdaMs: lambda.ms.get(execution.name) ?? 0,
          dynamoRequests: lambda.dynamo.get(execution.name) ?? 0,
          steps: lambda.steps.get(execution.name) ?? [],
          dynamoOperations: lambda.operations.get(execution.name) ?? new Map(),
        };
      });
      const appBuild = builds.find((b) => b.projectName.endsWith('-build-sample-app') && b.startTime >= pushed);
      const hopOf = (env: string) => hops.find((h) => h.environment === env)!.commandMs;
      const criticalCommandMs =
        (appBuild ? appBuild.endTime! - appBuild.startTime : 0) +
        hopOf('alpha') +
        hopOf('beta') +
        Math.max(hopOf('prod-na'), hopOf('prod-eu'), hopOf('prod-fe'));
      rounds.push({ revision, totalMs, criticalCommandMs, hops });
    }
    loopDelay.disable();
    const eventLoopDelay = {
      p50: loopDelay.percentile(50) / 1e6,
      p99: loopDelay.percentile(99) / 1e6,
      max: loopDelay.max / 1e6,
    };
    const passes = 10;
    const passStart = performance.now();
    for (let i = 0; i < passes; i++) await system.reconcile();
    const idleReconcileMs = (performance.now() - passStart) / passes;
    return {
      rounds,
      readyMs: system.readyMs,
      backend: system.services.dynamodb.backend,
      idleReconcileMs,
      eventLoopDelay,
    };
  } finally {
    await system.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** What one handler invocation did, followed through its awaits. */
interface Invocation {
  readonly execution: string;
  requests: number;
  roundTrips: number;
  inFlight: number;
  busySince: number;
  busyMs: number;
}

function unionMs(intervals: ReadonlyArray<readonly [number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

export { ENVIRONMENTS };
