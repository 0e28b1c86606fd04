/**
 * From a pipeline definition and the whole world's runtime state to one `PromotionSnapshot` per (promotion,
 * application), and a reconcile pass deciding them all. The reconcile Lambda, the CLI and local mode call this.
 */
import {
  durationMs,
  promotionId,
  type EnvironmentDefinition,
  type Pipeline,
  type PromotionDefinition,
} from '../config/schema';
import type {
  EnvironmentPin,
  EnvironmentState,
  PipelineSwitches,
  PromotionApproval,
  RetryRequest,
  Revision,
} from '../model';
import { decide } from './decide';
import type { Decision, PromotionSnapshot, WaveGate } from './types';

/**
 * Everything the decision core reads about one pipeline's runtime state, as plain data (what the stores hold; also
 * the `--state` file of `lockstep explain`).
 */
export interface World {
  /** Switches as operators set them now. @default the config's `pipeline.enabled` and `pipeline.automation` */
  readonly switches?: Partial<PipelineSwitches>;
  /** promotion id -> enabled, as operators set it now. @default each promotion's `enabled` in the config */
  readonly promotionsEnabled?: Readonly<Record<string, boolean>>;
  /** application -> its revisions (successful builds), in any order. */
  readonly revisions: Readonly<Record<string, readonly Revision[]>>;
  /** environment -> its state. @default (missing) nothing deployed, nothing approved, unlocked */
  readonly environments: Readonly<Record<string, EnvironmentState>>;
  /** Manual go-aheads for promotions with `approval: manual`. */
  readonly promotionApprovals: readonly PromotionApproval[];
  /** Names of every promotion execution started so far. */
  readonly startedExecutions: readonly string[];
  /** Retries operators asked for (`lockstep retry`). @default none */
  readonly retries?: readonly RetryRequest[];
  /** Operators' pins (`lockstep pin`): nothing is promoted into a pinned (environment, application). @default none */
  readonly pins?: readonly EnvironmentPin[];
}

/** One decision of a reconcile pass, with what it is about. */
export interface PromotionDecision {
  readonly promotion: string;
  readonly application: string;
  readonly destination: string;
  readonly decision: Decision;
}

/** Revisions of one application by number, built once per world and application. */
type RevisionLookup = (n: number) => Revision | undefined;
const lookups = new WeakMap<readonly Revision[], RevisionLookup>();
function revisionLookup(revisions: readonly Revision[]): RevisionLookup {
  let lookup = lookups.get(revisions);
  if (lookup) return lookup;
  // Stores return revisions numbered 1..n in order; then position is the index and no map is needed.
  const dense = revisions.every((r, i) => r.number === i + 1);
  if (dense) {
    lookup = (n) => revisions[n - 1];
  } else {
    const byNumber = new Map<number, Revision>();
    for (const r of revisions) byNumber.set(r.number, r);
    lookup = (n) => byNumber.get(n);
  }
  lookups.set(revisions, lookup);
  return lookup;
}

/**
 * Applications that flow into each environment along the promotion graph: an application source carries its
 * applications; an environment source carries whatever reaches that environment. A cycle (rejected by validation)
 * contributes nothing rather than looping.
 *
 * @example
 * applicationsReaching(pipeline).get('prod-na'); // ['storefront']
 */
export function applicationsReaching(pipeline: Pipeline): ReadonlyMap<string, readonly string[]> {
  const incoming = new Map<string, PromotionDefinition>();
  for (const p of pipeline.promotions) incoming.set(p.to, p);
  const memo = new Map<string, readonly string[]>();
  const visiting = new Set<string>();
  const reach = (env: string): readonly string[] => {
    const known = memo.get(env);
    if (known) return known;
    if (visiting.has(env)) return [];
    visiting.add(env);
    const p = incoming.get(env);
    const apps = !p
      ? []
      : 'application' in p.from
        ? ([] as string[]).concat(p.from.application)
        : reach(p.from.environment);
    visiting.delete(env);
    memo.set(env, apps);
    return apps;
  };
  for (const stage of pipeline.stages) for (const env of stage.environments) reach(env.name);
  return memo;
}

/** A wave of a stage, resolved once per pipeline. */
interface WaveLayout {
  readonly position: number;
  readonly label: string;
  readonly environments: readonly string[];
  readonly maxConcurrent?: number;
  readonly bakeAfterMs?: number;
}

/**
 * Each environment that belongs to a wave -> its wave and every earlier wave of its stage.
 *
 * @example
 * wavesByEnvironment(pipeline).get('prod-eu'); // { wave: { position: 2, label: 'wave 2 (prod-eu)', ... }, earlier: [wave 1] }
 */
export function wavesByEnvironment(
  pipeline: Pipeline,
): ReadonlyMap<string, { readonly wave: WaveLayout; readonly earlier: readonly WaveLayout[] }> {
  const result = new Map<string, { wave: WaveLayout; earlier: WaveLayout[] }>();
  for (const stage of pipeline.stages) {
    const layouts: WaveLayout[] = (stage.waves ?? []).map((w, i) => ({
      position: i + 1,
      label: `wave ${i + 1} (${w.environments.join(', ')})`,
      environments: w.environments,
      ...(w.maxConcurrent !== undefined ? { maxConcurrent: w.maxConcurrent } : {}),
      ...(w.bakeAfter !== undefined ? { bakeAfterMs: durationMs(w.bakeAfter) } : {}),
    }));
    layouts.forEach((wave, i) => {
      for (const env of wave.environments)
        if (!result.has(env)) result.set(env, { wave, earlier: layouts.slice(0, i) });
    });
  }
  return result;
}

function waveGate(
  layout: { readonly wave: WaveLayout; readonly earlier: readonly WaveLayout[] },
  destination: string,
  application: string,
  world: World,
): WaveGate {
  const { wave } = layout;
  return {
    position: wave.position,
    label: wave.label,
    ...(wave.maxConcurrent !== undefined ? { maxConcurrent: wave.maxConcurrent } : {}),
    siblings: wave.environments
      .filter((name) => name !== destination)
      .map((name) => ({ name, lock: world.environments[name]?.lock ?? null })),
    earlier: layout.earlier.map((w) => ({
      position: w.position,
      label: w.label,
      ...(w.bakeAfterMs !== undefined ? { bakeAfterMs: w.bakeAfterMs } : {}),
      environments: w.environments.map((name) => {
        const slot = world.environments[name]?.applications[application];
        return slot ? { name, slot } : { name };
      }),
    })),
  };
}

/** Options for `buildSnapshots` and `reconcile`. */
export interface SnapshotOptions {
  /** Only this promotion (by `promotionId()`). @default every promotion */
  readonly promotion?: string;
}

/**
 * One snapshot per (promotion, application) in config order. Candidates are every revision of the application for
 * an application source, and the revisions approved at the source environment for an environment source.
 *
 * @example
 * for (const snapshot of buildSnapshots(pipeline, world)) console.log(snapshot.promotion.id, snapshot.application);
 */
export function buildSnapshots(pipeline: Pipeline, world: World, options: SnapshotOptions = {}): PromotionSnapshot[] {
  const switches: PipelineSwitches = {
    enabled: world.switches?.enabled ?? pipeline.pipeline.enabled,
    automation: world.switches?.automation ?? pipeline.pipeline.automation,
  };
  const definitions = new Map<string, EnvironmentDefinition>();
  for (const stage of pipeline.stages) for (const env of stage.environments) definitions.set(env.name, env);
  const approvalsByPromotion = new Map<string, PromotionApproval[]>();
  for (const a of world.promotionApprovals) {
    const list = approvalsByPromotion.get(a.promotion);
    if (list) list.push(a);
    else approvalsByPromotion.set(a.promotion, [a]);
  }
  const reaching = applicationsReaching(pipeline);
  const waves = wavesByEnvironment(pipeline);
  const none: readonly PromotionApproval[] = [];
  const pins = new Map<string, EnvironmentPin>();
  for (const pin of world.pins ?? []) pins.set(`${pin.environment}\u0000${pin.application}`, pin);
  const retriesByPromotion = new Map<string, RetryRequest[]>();
  for (const r of world.retries ?? [])
    retriesByPromotion.set(r.promotion, [...(retriesByPromotion.get(r.promotion) ?? []), r]);

  const snapshots: PromotionSnapshot[] = [];
  for (const p of pipeline.promotions) {
    const id = promotionId(p);
    if (options.promotion !== undefined && options.promotion !== id) continue;
    const state = world.environments[p.to] ?? { name: p.to, applications: {}, lock: null };
    const destination = { ...state, name: p.to, windows: definitions.get(p.to)?.windows ?? [] };
    const edge = { ...p, id, enabled: world.promotionsEnabled?.[id] ?? p.enabled };
    const from = p.from;
    const fromEnvironment = 'environment' in from ? from.environment : undefined;
    const applications =
      'environment' in from ? (reaching.get(from.environment) ?? []) : ([] as string[]).concat(from.application);
    const waveLayout = waves.get(p.to);
    for (const application of applications) {
      const revisions = world.revisions[application] ?? [];
      let candidates: readonly Revision[] = revisions;
      if (fromEnvironment !== undefined) {
        const approved = world.environments[fromEnvironment]?.applications[application]?.approved ?? [];
        const lookup = revisionLookup(revisions);
        const list: Revision[] = [];
        for (const n of approved) {
          const r = lookup(n);
          if (r) list.push(r);
        }
        candidates = list;
      }
      snapshots.push({
        pipeline: switches,
        promotion: edge,
        application,
        candidates,
        destination,
        promotionApprovals: approvalsByPromotion.get(id) ?? none,
        startedExecutions: world.startedExecutions,
        retries: retriesByPromotion.get(id) ?? [],
        ...(waveLayout ? { wave: waveGate(waveLayout, p.to, application, world) } : {}),
        ...pinOf(pins, p.to, application),
      });
    }
  }
  return snapshots;
}

function pinOf(pins: ReadonlyMap<string, EnvironmentPin>, environment: string, application: string) {
  const pin = pins.get(`${environment}\u0000${application}`);
  return pin ? { pin } : {};
}

/**
 * Decides every (promotion, application) of `pipeline` at `now`: one whole reconcile pass.
 *
 * @example
 * for (const d of reconcile(pipeline, world, Date.now())) {
 *   if (d.decision.kind === 'deploy') await startExecution(d.decision.executionName, d.decision.revision);
 * }
 */
export function reconcile(
  pipeline: Pipeline,
  world: World,
  now: number,
  options: SnapshotOptions = {},
): PromotionDecision[] {
  return buildSnapshots(pipeline, world, options).map((snapshot) => ({
    promotion: snapshot.promotion.id,
    application: snapshot.application,
    destination: snapshot.destination.name,
    decision: decide(snapshot, now),
  }));
}
