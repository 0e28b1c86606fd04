/**
 * Delivery metrics over the last 30 days, per application and environment, computed from the pipeline timeline:
 * deployment frequency (deploys per day), lead time from commit to production (a production environment is one
 * of the last stage's), change failure rate (rollbacks over deployments) and time to restore (from the failure to
 * the end of its rollback).
 */
import type { PipelineEvent } from '../ports/stores';
import type { ConsoleReadDependencies } from './dependencies';

export const METRICS_DAYS = 30;
const DAY_MS = 86_400_000;
/** Most timeline entries read for the metrics; past it the oldest days are undercounted (`truncated`). */
export const METRICS_SCAN_LIMIT = 20_000;

const FAILURES = new Set(['tests-failed', 'compliance-refused', 'deployment-failed', 'approval-workflow-failed']);

export interface EnvironmentMetrics {
  readonly application: string;
  readonly environment: string;
  readonly production: boolean;
  /** Deploys per day, oldest day first (`METRICS_DAYS` values, the last is today so far). */
  readonly deploymentsPerDay: readonly number[];
  readonly deployments: number;
  readonly rollbacks: number;
  /** Rollbacks over deployments; absent without deployments. */
  readonly changeFailureRate?: number;
  /** Mean time from a failure to its rollback's end (ms); absent without rollbacks. */
  readonly meanTimeToRestoreMs?: number;
  /** Lead time from the first commit of each deployed revision to its deploy here (ms), median; production only. */
  readonly medianLeadTimeMs?: number;
}

export interface DeliveryMetrics {
  readonly from: number;
  readonly to: number;
  readonly days: number;
  readonly truncated: boolean;
  readonly environments: readonly EnvironmentMetrics[];
}

export async function deliveryMetrics(deps: ConsoleReadDependencies): Promise<DeliveryMetrics> {
  const { pipeline, events, revisions } = deps.agents;
  const to = deps.agents.clock();
  const from = to - METRICS_DAYS * DAY_MS;
  const read = await events.list({}, METRICS_SCAN_LIMIT);
  const recent = read.filter((e) => e.at >= from && e.at <= to).reverse(); // oldest first
  const production = new Set(pipeline.stages.at(-1)?.environments.map((e) => e.name) ?? []);
  const groups = new Map<string, PipelineEvent[]>();
  for (const e of recent) {
    if (!e.environment || !e.application) continue;
    const key = `${e.application}\n${e.environment}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const commitTimes = new Map<string, number | undefined>();
  const firstCommitAt = async (application: string, revision: number) => {
    const key = `${application}#${revision}`;
    if (!commitTimes.has(key)) {
      const r = await revisions.get(application, revision);
      commitTimes.set(key, r && r.commits.length > 0 ? Math.min(...r.commits.map((c) => c.timestamp)) : r?.createdAt);
    }
    return commitTimes.get(key);
  };
  const environments: EnvironmentMetrics[] = [];
  for (const stage of pipeline.stages) {
    for (const env of stage.environments) {
      for (const application of pipeline.applications.map((a) => a.name)) {
        const list = groups.get(`${application}\n${env.name}`) ?? [];
        if (list.length === 0) continue;
        const deploys = list.filter((e) => e.type === 'deployed');
        const rollbacks = list.filter((e) => e.type === 'rollback-done');
        const perDay = new Array<number>(METRICS_DAYS).fill(0);
        for (const d of deploys) perDay[Math.min(METRICS_DAYS - 1, Math.floor((d.at - from) / DAY_MS))]!++;
        const restores = rollbacks.flatMap((r) => {
          const failure = list.filter((e) => FAILURES.has(e.type) && e.at <= r.at).at(-1);
          return failure ? [r.at - failure.at] : [];
        });
        let medianLeadTimeMs: number | undefined;
        if (production.has(env.name)) {
          const leads = (
            await Promise.all(
              deploys
                .filter((d) => d.revision !== undefined && d.details?.rollback !== true)
                .map(async (d) => {
                  const start = await firstCommitAt(application, d.revision!);
                  return start === undefined ? undefined : d.at - start;
                }),
            )
          ).filter((v): v is number => v !== undefined);
          medianLeadTimeMs = median(leads);
        }
        environments.push({
          application,
          environment: env.name,
          production: production.has(env.name),
          deploymentsPerDay: perDay,
          deployments: deploys.length,
          rollbacks: rollbacks.length,
          ...(deploys.length > 0 ? { changeFailureRate: rollbacks.length / deploys.length } : {}),
          ...(restores.length > 0
            ? { meanTimeToRestoreMs: restores.reduce((a, b) => a + b, 0) / restores.length }
            : {}),
          ...(medianLeadTimeMs !== undefined ? { medianLeadTimeMs } : {}),
        });
      }
    }
  }
  return { from, to, days: METRICS_DAYS, truncated: read.length >= METRICS_SCAN_LIMIT, environments };
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
