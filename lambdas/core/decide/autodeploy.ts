/**
 * AutoDeploy's check: the first environments (fed directly by a promotion from an application) that do not run the
 * application's latest successful revision. The reconcile pass then starts those promotions through `decide()`,
 * which adds the windows, locks and switches; this check only says where a new build has not arrived yet.
 */
import { promotionId, type Pipeline } from '../config/schema';
import type { Revision } from '../model';
import type { World } from './snapshots';

export interface OutOfSync {
  readonly application: string;
  readonly environment: string;
  readonly promotion: string;
  /** The latest successful revision of the application. */
  readonly latest: number;
  /** What the environment runs now; undefined when it runs nothing of this application. */
  readonly current?: number;
}

function latestOf(revisions: readonly Revision[]): number | undefined {
  let max: number | undefined;
  for (const r of revisions) if (max === undefined || r.number > max) max = r.number;
  return max;
}

/**
 * For each application, the environments fed directly by a promotion from that application whose current revision
 * is not the latest successful one. Applications without a revision yet have nothing to deploy and are skipped.
 *
 * @example
 * firstEnvironmentsOutOfSync(pipeline, world);
 * // [{ application: 'web', environment: 'Alpha', promotion: 'web-to-Alpha', latest: 7, current: 6 }]
 */
export function firstEnvironmentsOutOfSync(pipeline: Pipeline, world: World): OutOfSync[] {
  const latest = new Map<string, number | undefined>();
  const out: OutOfSync[] = [];
  for (const p of pipeline.promotions) {
    if (!('application' in p.from)) continue;
    for (const application of ([] as string[]).concat(p.from.application)) {
      if (!latest.has(application)) latest.set(application, latestOf(world.revisions[application] ?? []));
      const newest = latest.get(application);
      if (newest === undefined) continue;
      const current = world.environments[p.to]?.applications[application]?.current?.number;
      if (current !== newest) {
        out.push({ application, environment: p.to, promotion: promotionId(p), latest: newest, current });
      }
    }
  }
  return out;
}
