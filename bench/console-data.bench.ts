/**
 * `npm run bench console-data`: the console's pipeline page data (`pipelineView`: `loadWorld`, `decide()` for every
 * promotion, each card's recent timeline and pending approvals) for a pipeline of 100 environments (10 stages of
 * 10) with 10,000 revisions of history, computed in-process over in-memory stores that count the items each read
 * returns (what DynamoDB would bill as items read). Prints the time per page (median of the timed runs), the bytes
 * on the wire (JSON, and gzip as API Gateway can send it) and the item reads. Targets: < 100 ms, < 1 MB.
 */
import { gzipSync } from 'node:zlib';
import { pipelineSchema, promotionId, type Pipeline } from '../lambdas/core/config/schema';
import type { ApplicationAtEnvironment, LockState, Revision } from '../lambdas/core/model';
import { pipelineView } from '../lambdas/console/pipeline-view';
import type { ConsoleReadDependencies } from '../lambdas/console/dependencies';
import type { AgentDependencies } from '../lambdas/promotion/agents';
import type { ApprovalRequestRecord, PipelineEvent } from '../lambdas/ports/stores';

const STAGES = 10;
const PER_STAGE = 10;
const REVISIONS = 10_000;
const EVENTS_PER_ENVIRONMENT = 200;
const RUNS = 15;
const NOW = Date.parse('2030-01-07T12:00:00Z');

function pipeline(): Pipeline {
  const env = (s: number, e: number) => `s${s}-e${e}`;
  return pipelineSchema.parse({
    pipeline: { name: 'bench' },
    packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['make'] } }],
    applications: [{ name: 'web', packages: ['web'] }],
    stages: Array.from({ length: STAGES }, (_, s) => ({
      name: `Stage${s}`,
      environments: Array.from({ length: PER_STAGE }, (_, e) => ({
        name: env(s, e),
        deploy: { commands: ['./deploy.sh'] },
        ...(s >= 5
          ? { windows: [{ days: ['mon', 'tue'], start: '22:00', end: '04:00', timeZone: 'Europe/London' }] }
          : {}),
      })),
    })),
    promotions: Array.from({ length: STAGES }, (_, s) =>
      Array.from({ length: PER_STAGE }, (_, e) =>
        s === 0
          ? { from: { application: 'web' }, to: env(0, e) }
          : { from: { environment: env(s - 1, e) }, to: env(s, e) },
      ),
    ).flat(),
  });
}

export default async function run(): Promise<void> {
  const definition = pipeline();
  let items = 0;
  const count = <T>(value: T[]): T[] => ((items += value.length), value);
  const one = <T>(value: T | undefined): T | undefined => ((items += value === undefined ? 0 : 1), value);

  const revisions: Revision[] = Array.from({ length: REVISIONS }, (_, i) => ({
    application: 'web',
    number: i + 1,
    versionSet: { web: `c${i + 1}` },
    commits: [
      {
        id: `c${i + 1}`,
        message: `Change ${i + 1}`,
        author: 'dev@example.com',
        timestamp: NOW - (REVISIONS - i) * 60_000,
      },
    ],
    authors: ['dev@example.com'],
    artifact: `s3://artifacts/web/${i + 1}`,
    buildId: `b${i + 1}`,
    createdAt: NOW - (REVISIONS - i) * 60_000,
    priority: false,
    testResults: {},
  }));
  const names = definition.stages.flatMap((s) => s.environments.map((e) => e.name));
  const slots = new Map<string, Record<string, ApplicationAtEnvironment>>();
  const timelines = new Map<string, PipelineEvent[]>();
  names.forEach((name, i) => {
    const current = REVISIONS - 1 - Math.floor(i / PER_STAGE) * 20;
    slots.set(name, {
      web: {
        current: {
          application: 'web',
          number: current,
          versionSet: { web: `c${current}` },
          deployedAt: NOW - 3_600_000,
        },
        previous: {
          application: 'web',
          number: current - 1,
          versionSet: { web: `c${current - 1}` },
          deployedAt: NOW - 7_200_000,
        },
        approved: Array.from({ length: 50 }, (_, k) => current - k),
      },
    });
    timelines.set(
      name,
      Array.from({ length: EVENTS_PER_ENVIRONMENT }, (_, k) => ({
        at: NOW - k * 60_000,
        type: k % 4 === 0 ? 'approval-requested' : 'deployed',
        actor: 'execution:x',
        message: 'entry',
        environment: name,
        application: 'web',
        revision: current,
        ...(k % 4 === 0 ? { details: { requestId: `req-${name}-${k}` } } : {}),
      })),
    );
  });
  const lock: LockState = {
    environment: 'x',
    owner: 'exec',
    acquiredAt: NOW,
    leaseExpiresAt: NOW + 60_000,
    fencingToken: 1,
  };
  const agents = {
    pipeline: definition,
    clock: () => NOW,
    revisions: {
      list: async () => count(revisions.slice()),
      get: async (_: string, n: number) => one(revisions[n - 1]),
    },
    environments: {
      switches: async (d: unknown) => d,
      promotionSwitches: async () => ({}),
      get: async (name: string) => (count(Object.keys(slots.get(name) ?? {})), slots.get(name) ?? {}),
      slot: async (name: string, app: string) => one(slots.get(name)?.[app]),
      promotionApprovals: async () => count([]),
    },
    locks: { get: async (name: string) => (name.endsWith('e0') ? (one(lock), { ...lock, environment: name }) : null) },
    executions: { names: async (id: string) => count([`${id}-web-r1`]), retries: async () => count([]) },
    events: {
      list: async (scope: { environment?: string }, limit = 100) =>
        count((timelines.get(scope.environment ?? '') ?? []).slice(0, limit)),
    },
  } as unknown as AgentDependencies;
  const approvals = {
    get: async (requestId: string): Promise<ApprovalRequestRecord | undefined> =>
      one(
        requestId.endsWith('-0')
          ? {
              requestId,
              kind: 'environment',
              execution: 'x',
              environment: 'x',
              application: 'web',
              revision: 1,
              approvers: ['ann@example.com'],
              createdAt: NOW,
              expiresAt: NOW + 3_600_000,
              status: 'pending',
            }
          : {
              requestId,
              kind: 'environment',
              execution: 'x',
              environment: 'x',
              application: 'web',
              revision: 1,
              approvers: [],
              createdAt: NOW,
              expiresAt: NOW,
              status: 'approved',
            },
      ),
  };
  const deps = {
    agents,
    approvals,
    approvalBaseUrl: 'https://example.com/approvals',
  } as unknown as ConsoleReadDependencies;

  await pipelineView(deps); // warm-up (JIT, caches)
  const times: number[] = [];
  let body = '';
  let reads = 0;
  for (let i = 0; i < RUNS; i++) {
    items = 0;
    const started = performance.now();
    body = JSON.stringify(await pipelineView(deps));
    times.push(performance.now() - started);
    reads = items;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const bytes = Buffer.byteLength(body);
  console.log(
    `pipeline page data, ${names.length} environments, ${definition.promotions.length} promotions (${promotionId(definition.promotions[0]!)} ...), ${REVISIONS} revisions:`,
  );
  console.log(
    `  time      ${median.toFixed(1)} ms median of ${RUNS} (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)}); target < 100 ms`,
  );
  console.log(
    `  wire      ${bytes} bytes JSON (${(bytes / 1024).toFixed(0)} KiB), ${gzipSync(body).length} bytes gzip; target < 1 MB`,
  );
  console.log(
    `  item reads ${reads} (revisions ${REVISIONS}, the rest slots, locks, executions, timeline entries, approval requests)`,
  );
}
