/**
 * AutoBuild grouping: which pushes become which build requests, and when to look again. Pure: the webhook and
 * CodeCommit handlers record pushes, and the reconcile pass calls `planBuilds` with every push it knows of and
 * each application's build history.
 *
 * Rules:
 * - Only pushes to a known package, on its configured branch, with `autoBuild` on, count. A push counts once: a
 *   repeated delivery id or a repeated (package, commit) is a duplicate.
 * - A push is **pending** for an application until a build of that application includes its commit. A push to a
 *   package used by two applications is pending for both, so each gets its own build.
 * - Pending pushes of one application are grouped: the build starts once no push came for `buildDebounce` (a quiet
 *   period after the latest push), but at the latest `BUILD_DEBOUNCE_CAP` times `buildDebounce` after the earliest
 *   pending push, so a steady stream of pushes still builds.
 * - While a build of the application runs, nothing else starts for it; pushes that arrive meanwhile stay pending
 *   and are built after it ends.
 * - A failed build's commits count as built: they never trigger a build on their own. The next change retries
 *   them together with itself (they are still the branch heads, and the request lists them again).
 */
import { durationMs, type PackageDefinition, type Pipeline } from '../config/schema';
import type { Commit, VersionSet } from '../model';

/** A cap of 5 debounce intervals: long enough to group a burst of related pushes, short enough to bound delay. */
export const BUILD_DEBOUNCE_CAP = 5;

/** A push as the webhook or CodeCommit event reports it. */
export interface Push {
  readonly package: string;
  readonly branch: string;
  /** The branch head after the push: what gets built. */
  readonly commit: string;
  /** Author of the head commit. */
  readonly author: string;
  /** Message of the head commit. */
  readonly message: string;
  /**
   * Every commit the push brought, oldest first, the head last (GitHub's `commits[]`). Absent or empty: the push
   * reported only its head, which then is the one commit (`commit`, `author`, `message`, at `receivedAt`).
   */
  readonly commits?: readonly Commit[];
  /** The branch head before the push (GitHub `before`, CodeCommit `oldCommitId`), when the source says. */
  readonly before?: string;
  /**
   * Who pushed, as approvers are named (GitHub `pusher.email`, a CodeCommit caller ARN mapped through the pipeline's
   * `identities`). Every commit of the push is recorded as pushed by them. @default unknown (older records)
   */
  readonly pusher?: string;
  /** When Lockstep received it (epoch ms). */
  readonly receivedAt: number;
  /** GitHub delivery id or EventBridge event id; a redelivery carries the same one. */
  readonly deliveryId: string;
}

/** A commit together with the package it belongs to. */
export interface BuildCommit extends Commit {
  readonly package: string;
}

/** One build of an application, as the build history holds it. */
export interface BuildRecord {
  readonly id: string;
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly startedAt: number;
  readonly finishedAt?: number;
  /** Package versions the build used. */
  readonly versionSet: VersionSet;
  /** Commits the build was requested with (and so counts as having built). */
  readonly commits: readonly BuildCommit[];
}

/** A build to start now. */
export interface BuildRequest {
  readonly application: string;
  /** Deterministic for the same pending pushes: use it as the idempotency key of the build start. */
  readonly requestId: string;
  /**
   * The latest pushed commit per package, else the version of the application's last build. A package that was
   * never built nor pushed is absent: the build uses its branch head.
   */
  readonly versionSet: VersionSet;
  /** New commits in this build: pending pushes, plus those of failed builds since the last success. */
  readonly commits: readonly BuildCommit[];
  readonly authors: readonly string[];
  readonly deliveryIds: readonly string[];
  /** The failed build this one retries, when the application's last build failed. */
  readonly retryOf?: string;
}

export type ApplicationBuildState =
  | { readonly application: string; readonly state: 'idle' }
  | { readonly application: string; readonly state: 'running'; readonly build: string; readonly pending: number }
  | { readonly application: string; readonly state: 'debouncing'; readonly until: number; readonly pending: number }
  | { readonly application: string; readonly state: 'requested'; readonly requestId: string };

export interface AutoBuildPlan {
  readonly requests: readonly BuildRequest[];
  /** The earliest end of a debounce (epoch ms), when to call again; null when nothing waits on time. */
  readonly lookAgainAt: number | null;
  /** One entry per application, in config order. */
  readonly applications: readonly ApplicationBuildState[];
}

function branchOf(pkg: PackageDefinition): string {
  const s = pkg.source;
  return 'github' in s ? s.github.branch : 'codecommit' in s ? s.codecommit.branch : s.local.branch;
}

const keyOf = (pkg: string, commit: string) => `${pkg}@${commit}`;

/**
 * The commits a push brought, oldest first; the head commit always among them (last, unless listed earlier). Each
 * carries the push's pusher, unless it names its own.
 */
export function commitsOf(push: Push): Commit[] {
  const listed = push.commits ?? [];
  const head: Commit[] = listed.some((c) => c.id === push.commit)
    ? []
    : [{ id: push.commit, message: push.message, author: push.author, timestamp: push.receivedAt }];
  const commits: Commit[] = [...listed, ...head];
  return push.pusher === undefined
    ? commits
    : commits.map((c) => (c.pushedBy === undefined ? { ...c, pushedBy: push.pusher } : c));
}

/** FNV-1a, base 36: a short stable id from the pending push keys. */
function hashOf(parts: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) h = Math.imul(h ^ part.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0x0a, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

/**
 * Pushes that trigger builds: known package, tracked branch, autoBuild on; duplicates dropped (the earliest
 * copy kept, so a redelivery does not extend a debounce). Sorted by `receivedAt`; pushes to one branch received in
 * the same millisecond are ordered by their `before` -> `commit` chain, so the latest head still comes last.
 *
 * @example
 * triggeringPushes(pipeline, [push, { ...push, receivedAt: push.receivedAt + 5_000 }]); // [push]
 */
export function triggeringPushes(pipeline: Pipeline, pushes: readonly Push[]): Push[] {
  const packages = new Map(pipeline.packages.map((p) => [p.name, p]));
  const sorted = [...pushes].sort((a, b) => a.receivedAt - b.receivedAt || chainOrder(a, b));
  const deliveries = new Set<string>();
  const commits = new Set<string>();
  const kept: Push[] = [];
  for (const push of sorted) {
    const pkg = packages.get(push.package);
    if (!pkg || !pkg.autoBuild || branchOf(pkg) !== push.branch) continue;
    const key = keyOf(push.package, push.commit);
    if (deliveries.has(push.deliveryId) || commits.has(key)) continue;
    deliveries.add(push.deliveryId);
    commits.add(key);
    kept.push(push);
  }
  return kept;
}

/** -1 when `b` was pushed on top of `a` (its `before` is `a`'s head), 1 for the reverse, else 0. */
function chainOrder(a: Push, b: Push): number {
  if (a.package !== b.package) return 0;
  if (b.before !== undefined && b.before === a.commit) return -1;
  if (a.before !== undefined && a.before === b.commit) return 1;
  return 0;
}

/**
 * Plans builds at `now` from every known push and each application's build history (application -> its builds).
 *
 * @example
 * const plan = planBuilds(pipeline, pushes, { web: [lastBuild] }, Date.now());
 * for (const request of plan.requests) await builds.start(request);
 * if (plan.lookAgainAt !== null) scheduleReconcile(plan.lookAgainAt);
 */
export function planBuilds(
  pipeline: Pipeline,
  pushes: readonly Push[],
  history: Readonly<Record<string, readonly BuildRecord[]>>,
  now: number,
): AutoBuildPlan {
  const debounce = durationMs(pipeline.pipeline.buildDebounce);
  const triggering = triggeringPushes(pipeline, pushes);
  const requests: BuildRequest[] = [];
  const states: ApplicationBuildState[] = [];
  let lookAgainAt: number | null = null;

  for (const app of pipeline.applications) {
    const application = app.name;
    const packages = new Set(app.packages);
    const builds = [...(history[application] ?? [])].sort((a, b) => a.startedAt - b.startedAt);
    const built = new Set<string>();
    for (const b of builds) for (const c of b.commits) built.add(keyOf(c.package, c.id));
    const pending = triggering.filter((p) => packages.has(p.package) && !built.has(keyOf(p.package, p.commit)));

    const running = builds.find((b) => b.status === 'running');
    if (running) {
      states.push({ application, state: 'running', build: running.id, pending: pending.length });
      continue;
    }
    if (pending.length === 0) {
      states.push({ application, state: 'idle' });
      continue;
    }
    // `pending` is sorted by receivedAt.
    const readyAt = Math.min(
      pending.at(-1)!.receivedAt + debounce,
      pending[0]!.receivedAt + BUILD_DEBOUNCE_CAP * debounce,
    );
    if (now < readyAt) {
      states.push({ application, state: 'debouncing', until: readyAt, pending: pending.length });
      lookAgainAt = lookAgainAt === null ? readyAt : Math.min(lookAgainAt, readyAt);
      continue;
    }

    const last = builds.at(-1);
    const versionSet: Record<string, string> = {};
    for (const pkg of app.packages) {
      const v = last?.versionSet[pkg];
      if (v !== undefined) versionSet[pkg] = v;
    }
    // The branch head is the tip of the push chain (each push's `before` -> `commit`), whatever order GitHub
    // delivered the pushes in; not the last delivery's `after`.
    const chains = new Map<string, Push[]>();
    for (const p of pending) chains.set(p.package, [...(chains.get(p.package) ?? []), p]);
    const onPath = new Set<Push>();
    for (const [pkg, pushesOfPackage] of chains) {
      const tip = chainTip(pushesOfPackage);
      versionSet[pkg] = tip.commit;
      for (const p of pathTo(
        tip,
        triggering.filter((t) => t.package === pkg),
        last?.versionSet[pkg],
      ))
        onPath.add(p);
    }

    // Failed builds since the last success never produced a revision: their commits land in this one.
    const lastSuccess = builds.findLastIndex((b) => b.status === 'succeeded');
    const commits: BuildCommit[] = [];
    const seen = new Set<string>();
    const add = (c: BuildCommit) => {
      const key = keyOf(c.package, c.id);
      if (!seen.has(key)) {
        seen.add(key);
        commits.push(c);
      }
    };
    for (const b of builds.slice(lastSuccess + 1)) if (b.status === 'failed') b.commits.forEach(add);
    // The commits between the previous build's head and the built head, oldest first: pushes on the chain to the
    // built head in chain order (however they were delivered), in the places receipt order gave them; a pending push
    // off that chain (an overwritten branch, a delivery without `before`) still counts where it was received.
    const chained = new Map<string, Push[]>();
    for (const [pkg, pushesOfPackage] of chains) {
      chained.set(
        pkg,
        pushesOfPackage.filter((p) => onPath.has(p)).sort((a, b) => chainDepth(a, pending) - chainDepth(b, pending)),
      );
    }
    const ordered = pending.map((p) => (onPath.has(p) ? chained.get(p.package)!.shift()! : p));
    for (const p of ordered) {
      for (const c of commitsOf(p)) add({ package: p.package, ...c });
    }

    const requestId = `${application}-${hashOf(pending.map((p) => keyOf(p.package, p.commit)))}`;
    requests.push({
      application,
      requestId,
      versionSet,
      commits,
      authors: [...new Set(commits.map((c) => c.author))],
      deliveryIds: pending.map((p) => p.deliveryId),
      ...(last?.status === 'failed' ? { retryOf: last.id } : {}),
    });
    states.push({ application, state: 'requested', requestId });
  }
  return { requests, lookAgainAt, applications: states };
}

/**
 * The push whose head no other push builds on (no push has it as `before`): the branch head after all of them.
 * Several such pushes (a force push, or a delivery missing in between): the one received last.
 */
export function chainTip(pushes: readonly Push[]): Push {
  const builtOn = new Set(pushes.map((p) => p.before).filter((b): b is string => b !== undefined));
  const tips = pushes.filter((p) => !builtOn.has(p.commit));
  const candidates = tips.length > 0 ? tips : pushes;
  return candidates.reduce((latest, p) => (p.receivedAt >= latest.receivedAt ? p : latest));
}

/** The pushes from `tip` back along `before` links until `previousHead` (exclusive) or a missing link. */
function pathTo(tip: Push, pushes: readonly Push[], previousHead: string | undefined): Push[] {
  const byHead = new Map(pushes.map((p) => [p.commit, p]));
  const path: Push[] = [];
  const seen = new Set<string>();
  for (
    let p: Push | undefined = tip;
    p && p.commit !== previousHead && !seen.has(p.commit);
    p = p.before ? byHead.get(p.before) : undefined
  ) {
    seen.add(p.commit);
    path.push(p);
  }
  return path;
}

/** How many pushes of `pushes` lie below `push` on its `before` chain (0 for the oldest). */
function chainDepth(push: Push, pushes: readonly Push[]): number {
  const byHead = new Map(pushes.filter((p) => p.package === push.package).map((p) => [p.commit, p]));
  let depth = 0;
  const seen = new Set<string>([push.commit]);
  for (
    let p = push.before ? byHead.get(push.before) : undefined;
    p && !seen.has(p.commit);
    p = p.before ? byHead.get(p.before) : undefined
  ) {
    seen.add(p.commit);
    depth++;
  }
  return depth;
}
