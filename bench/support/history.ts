/**
 * A pipeline with a long history, written as raw items in the key layout that Lockstep used before the approved
 * index (every approval in the slot's `approved` list, one execution record per started execution): what an
 * upgraded installation finds in its tables. Shared by bench/reconcile-reads.bench.ts and the tests that prove the
 * in-flight world decides as the whole history did (test/handlers/in-flight-world.test.ts).
 *
 * Shape: applications `web` and `api` built `revisions` times each; every revision approved at Alpha and Beta,
 * all but the last two at Gamma, all but the last three at Prod-NA and Prod-EU. Each environment runs its newest
 * approved revision, except Beta, where the newest Alpha-approved revision is being deployed (lock held by its
 * execution). Every 10th revision and the one before last are flagged priority; later revisions pass more tests.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { promotionId, pipelineSchema, type Pipeline, type PipelineInput } from '../../lambdas/core/config/schema';
import type { Revision } from '../../lambdas/core/model';
import { executionName } from '../../lambdas/core/names';
import { batchPutAll, pad } from '../../lambdas/adapters/dynamo-util';
import { APPROVED_TAIL } from '../../lambdas/ports/stores';

const env = (name: string) => ({
  name,
  deploy: { commands: ['./deploy.sh'] },
  approval: { tests: [{ name: 'smoke', commands: ['./smoke.sh'] }] },
});

export const HISTORY_PIPELINE_INPUT: PipelineInput = {
  pipeline: { name: 'history' },
  packages: [
    { name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['npm ci'] } },
    { name: 'api', source: { github: { owner: 'acme', repo: 'api' } }, build: { commands: ['npm ci'] } },
  ],
  applications: [
    { name: 'web', packages: ['web'] },
    { name: 'api', packages: ['api'] },
  ],
  stages: [
    { name: 'Alpha', environments: [env('Alpha')] },
    { name: 'Beta', environments: [env('Beta')] },
    { name: 'Gamma', environments: [env('Gamma')] },
    { name: 'Prod', environments: [env('Prod-NA'), env('Prod-EU')] },
  ],
  promotions: [
    { from: { application: ['web', 'api'] }, to: 'Alpha' },
    { from: { environment: 'Alpha' }, to: 'Beta' },
    { from: { environment: 'Beta' }, to: 'Gamma', strategy: 'priority' },
    { from: { environment: 'Gamma' }, to: 'Prod-NA', strategy: 'most-tests-passed', approval: 'manual' },
    { from: { environment: 'Gamma' }, to: 'Prod-EU', strategy: 'compatible' },
  ],
};

export const HISTORY_PIPELINE: Pipeline = pipelineSchema.parse(HISTORY_PIPELINE_INPUT);

export const HISTORY_APPLICATIONS = ['web', 'api'] as const;

/** How many of the newest revisions each environment has not approved (yet). */
const BEHIND: Readonly<Record<string, number>> = { Alpha: 0, Beta: 0, Gamma: 2, 'Prod-NA': 3, 'Prod-EU': 3 };

export interface HistoryTables {
  readonly revisions: string;
  readonly environments: string;
  readonly locks: string;
}

function revisionOf(application: string, number: number, revisions: number): Revision {
  return {
    application,
    number,
    versionSet: { [application]: `c${number}`, shared: `v${Math.ceil(number / 50)}` },
    commits: [{ id: `c${number}`, message: `change ${number}`, author: 'dev@example.com', timestamp: number * 60_000 }],
    authors: ['dev@example.com'],
    artifact: `s3://artifacts/revisions/${application}/${number}/artifact.zip`,
    buildId: `${application}-build-${number}`,
    createdAt: number * 60_000,
    priority: number % 10 === 0 || number === revisions - 1,
    testResults: { Alpha: { passed: 10 + Math.floor(number / 5), failed: 0 } },
  };
}

/**
 * Writes the history as raw items: in the layout of the stores before the approved index (`old`, the default), or
 * as the migration leaves it (`indexed`: every approval in the index, the slot lists cut to their tail), which
 * seeds a long history without migrating it first.
 */
export async function seedHistory(
  client: DynamoDBDocumentClient,
  tables: HistoryTables,
  revisions: number,
  now: number,
  layout: 'old' | 'indexed' = 'old',
): Promise<void> {
  const revisionItems: Record<string, unknown>[] = [];
  const environmentItems: Record<string, unknown>[] = [];
  const lockItems: Record<string, unknown>[] = [];
  for (const application of HISTORY_APPLICATIONS) {
    revisionItems.push({ pk: `APP#${application}`, sk: '#COUNTER', last: revisions });
    for (let n = 1; n <= revisions; n++) {
      const revision = revisionOf(application, n, revisions);
      revisionItems.push({ pk: `APP#${application}`, sk: `REV#${pad(n)}`, ...revision });
    }
    for (const [environment, behind] of Object.entries(BEHIND)) {
      const approvedUpTo = revisions - behind;
      const current = environment === 'Beta' ? revisions - 1 : approvedUpTo;
      const approved = Array.from({ length: environment === 'Beta' ? revisions - 1 : approvedUpTo }, (_, i) => i + 1);
      const deployedRevision = (n: number) => ({
        application,
        number: n,
        versionSet: revisionOf(application, n, revisions).versionSet,
        deployedAt: now - (revisions - n) * 60_000,
      });
      environmentItems.push({
        pk: `ENV#${environment}`,
        sk: `APP#${application}`,
        current: deployedRevision(current),
        ...(current > 1 ? { previous: deployedRevision(current - 1) } : {}),
        approved: layout === 'old' ? approved : approved.slice(-APPROVED_TAIL),
      });
      if (layout === 'indexed') {
        const tailFrom = approved.length - APPROVED_TAIL;
        for (const [i, n] of approved.entries()) {
          environmentItems.push({
            pk: `APPROVED#${environment}#${application}`,
            sk: `REV#${pad(n)}`,
            environment,
            application,
            number: n,
            ...(i < tailFrom ? { compacted: true } : {}),
          });
        }
      }
    }
  }
  // Execution records: one per revision that each promotion started, as today's store writes them.
  for (const p of HISTORY_PIPELINE.promotions) {
    const id = promotionId(p);
    for (const application of HISTORY_APPLICATIONS) {
      const startedUpTo = p.to === 'Beta' ? revisions : revisions - BEHIND[p.to]!;
      for (let n = 1; n <= startedUpTo; n++) {
        const name = executionName(id, application, n);
        environmentItems.push({
          pk: `PROMOTION#${id}`,
          sk: `EXECUTION#${name}`,
          promotion: id,
          application,
          revision: n,
          executionName: name,
          startedAt: n * 60_000,
          attempt: 1,
        });
        if (p.approval === 'manual') {
          environmentItems.push({
            pk: `PROMOTION#${id}`,
            sk: `APPROVAL#${application}#${n}`,
            promotion: id,
            application,
            revision: n,
            decision: 'approved',
            decidedBy: 'ops@example.com',
            decidedAt: n * 60_000,
          });
        }
      }
    }
  }
  // Beta is deploying web's newest revision: its execution holds the lock.
  lockItems.push({
    pk: 'LOCK#Beta',
    sk: 'LOCK',
    environment: 'Beta',
    owner: executionName('Alpha-to-Beta', 'web', revisions),
    fencingToken: revisions,
    lastFencingToken: revisions,
    acquiredAt: now - 60_000,
    leaseExpiresAt: now + 3_600_000,
  });
  await Promise.all([
    ...inParallel(revisionItems).map((items) => batchPutAll(client, tables.revisions, items)),
    ...inParallel(environmentItems).map((items) => batchPutAll(client, tables.environments, items)),
    batchPutAll(client, tables.locks, lockItems),
  ]);
}

/** Splits items into a few interleaved groups written concurrently (seeding 10,000 revisions takes minutes otherwise). */
function inParallel<T>(items: readonly T[], groups = 8): T[][] {
  const out: T[][] = Array.from({ length: groups }, () => []);
  items.forEach((item, i) => out[i % groups]!.push(item));
  return out;
}
