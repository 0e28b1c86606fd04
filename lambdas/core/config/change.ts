/**
 * What changing a pipeline definition will do (`lockstep validate new.yaml --against old.yaml`): environments
 * renamed, added and removed, and the promotions, applications and packages that come and go. Pure: two validated
 * pipelines in, sentences out, so an operator reads the consequences before `cdk deploy`.
 */
import { promotionId, type Pipeline } from './schema';

export interface ConfigChange {
  /** `renamed`, `added`, `removed`, `changed`, or `warning` for a change that probably is not what was meant. */
  readonly kind: 'renamed' | 'added' | 'removed' | 'changed' | 'warning';
  /** What it is about, e.g. `environment Prod-NA`, `promotion Beta-to-Prod`. */
  readonly subject: string;
  /** What will happen, in one or two sentences. */
  readonly message: string;
}

function environments(pipeline: Pipeline) {
  return new Map(pipeline.stages.flatMap((s) => s.environments.map((e) => [e.name, e] as const)));
}

/**
 * Compares `before` (what is deployed) with `after` (what will be), in the order an operator cares: pipeline,
 * environments, promotions, applications, packages. An empty list: nothing changes at run time.
 *
 * @example
 * for (const c of describeChange(deployed, edited)) console.log(`${c.kind} ${c.subject}: ${c.message}`);
 */
export function describeChange(before: Pipeline, after: Pipeline): ConfigChange[] {
  const changes: ConfigChange[] = [];
  if (before.pipeline.name !== after.pipeline.name) {
    changes.push({
      kind: 'warning',
      subject: `pipeline ${after.pipeline.name}`,
      message: `The pipeline name changes from "${before.pipeline.name}": that is a new pipeline (a new stack with empty tables), not this one renamed.`,
    });
  }

  const old = environments(before);
  const next = environments(after);
  const renamed = new Map<string, string>(); // old name -> new name
  for (const [name, env] of next) {
    const from = env.renamedFrom;
    if (from === undefined || old.has(name)) continue;
    if (old.has(from)) {
      renamed.set(from, name);
      changes.push({
        kind: 'renamed',
        subject: `environment ${from}`,
        message:
          `Renamed to ${name}: its deployed and previous revisions, its approvals and its lock carry over, so nothing is ` +
          `redeployed for the rename and rollback still has its target. Executions in flight to ${from} are stopped and ` +
          `their lock released; the reconcile pass promotes to ${name} from there.`,
      });
    } else {
      changes.push({
        kind: 'warning',
        subject: `environment ${name}`,
        message: `renamedFrom: ${from}, but the old definition has no environment ${from}, so ${name} starts empty (nothing deployed, nothing approved).`,
      });
    }
  }
  for (const [name] of next) {
    if (old.has(name) || [...renamed.values()].includes(name)) continue;
    const into = after.promotions.find((p) => p.to === name);
    changes.push({
      kind: 'added',
      subject: `environment ${name}`,
      message: into
        ? `New: the promotion from ${'environment' in into.from ? `environment ${into.from.environment}` : `application ${[into.from.application].flat().join(', ')}`} deploys its selected revision there on the next reconcile pass${into.approval === 'manual' ? ', after a manual go-ahead' : ''}.`
        : 'New: nothing promotes to it, so nothing is deployed there.',
    });
  }
  for (const [name] of old) {
    if (next.has(name) || renamed.has(name)) continue;
    changes.push({
      kind: 'removed',
      subject: `environment ${name}`,
      message:
        `Removed: executions in flight to ${name} are stopped, its lock is released and the removal is recorded in the ` +
        `timeline. What runs there is not undeployed, and its history stays readable. If it was renamed, add renamedFrom: ${name} to the new environment instead.`,
    });
  }

  const rename = (env: string) => renamed.get(env) ?? env;
  const oldPromotions = new Map(
    before.promotions.map((p) => {
      const moved = {
        ...p,
        to: rename(p.to),
        from: 'environment' in p.from ? { environment: rename(p.from.environment) } : p.from,
      };
      return [promotionId(moved), p] as const;
    }),
  );
  const newPromotions = new Map(after.promotions.map((p) => [promotionId(p), p] as const));
  for (const [id, p] of newPromotions) {
    const was = oldPromotions.get(id);
    if (!was) {
      changes.push({
        kind: 'added',
        subject: `promotion ${id}`,
        message: `New: ${p.enabled ? 'starts promoting on the next reconcile pass' : 'defined disabled, so nothing moves along it yet'}.`,
      });
      continue;
    }
    const diffs = [
      was.strategy !== p.strategy ? `selection ${was.strategy} -> ${p.strategy}` : '',
      was.approval !== p.approval ? `approval ${was.approval} -> ${p.approval}` : '',
      was.enabled !== p.enabled ? (p.enabled ? 'enabled' : 'disabled') : '',
    ].filter(Boolean);
    if (diffs.length > 0)
      changes.push({ kind: 'changed', subject: `promotion ${id}`, message: `${diffs.join('; ')}.` });
  }
  for (const [id] of oldPromotions) {
    if (!newPromotions.has(id))
      changes.push({
        kind: 'removed',
        subject: `promotion ${id}`,
        message: 'Removed: nothing more is promoted along it; executions already started run to their end.',
      });
  }

  const names = (list: readonly { name: string }[]) => new Set(list.map((x) => x.name));
  for (const [kind, a, b] of [
    ['application', names(before.applications), names(after.applications)],
    ['package', names(before.packages), names(after.packages)],
  ] as const) {
    for (const n of b)
      if (!a.has(n))
        changes.push({
          kind: 'added',
          subject: `${kind} ${n}`,
          message:
            kind === 'package' ? 'New: its pushes are built from now on.' : 'New: its first build becomes revision 1.',
        });
    for (const n of a)
      if (!b.has(n))
        changes.push({
          kind: 'removed',
          subject: `${kind} ${n}`,
          message:
            kind === 'package'
              ? 'Removed: its pushes are no longer built.'
              : 'Removed: no more builds; its revisions stay recorded.',
        });
  }
  return changes;
}
