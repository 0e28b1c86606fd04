/**
 * `decide()`: what should happen now for one application along one promotion edge. Agents (AutoDeploy,
 * AutoPromote), the reconcile pass, `lockstep explain` and the console all call this one function.
 */
import { executionName } from '../names';
import type { Revision } from '../model';
import { describeConflicts, selectRevision, type DeployedVersionSet } from './selection';
import type { Decision, PromotionSnapshot } from './types';
import { describeWindow, formatInZone, isAnyOpen, nextOpeningDetail } from './windows';

/**
 * Started execution names as a set, built once per array: a reconcile pass hands the same array to every snapshot,
 * and a linear `includes` per decision would make the pass quadratic.
 */
const startedSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function hasStarted(started: readonly string[], name: string): boolean {
  if (started.length < 16) return started.includes(name);
  let set = startedSets.get(started);
  if (!set) {
    set = new Set(started);
    startedSets.set(started, set);
  }
  return set.has(name);
}

function iso(instant: number): string {
  return new Date(instant).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sourceOf(snapshot: PromotionSnapshot): string {
  return 'environment' in snapshot.promotion.from ? `approved at ${snapshot.promotion.from.environment}` : 'built';
}

/**
 * Decides what to do now for `snapshot` at `now` (epoch ms). Pure: the same snapshot and clock give the same
 * decision. Checks, in order (the first that applies wins):
 *
 * 1. pipeline disabled -> `disabled` (pipeline); promotion disabled -> `disabled` (promotion);
 * 1b. the destination pinned for the application by an operator (`lockstep pin`) -> `pinned`, "pinned by X at T";
 * 2. selection: no candidates -> `no-candidate`; none compatible -> `no-compatible-revision`;
 * 3. the destination already runs the selected revision -> `in-sync`;
 * 4. the execution for (promotion, application, revision, attempt) already started -> `already-started`; the
 *    attempt is the highest one an operator requested for that revision (`lockstep retry`), else 1;
 * 5. manual promotion whose revision was rejected -> `rejected`;
 * 5b. the destination, unlocked, runs a revision never approved there: `recovering` while the reconcile pass rolls
 *     it back to its last approved revision, `no-safe-revision` when there is none and no operator allowed deploys
 *     over it (`cleared`);
 * 6. automation off -> `automation-off`, whose reason says what would happen with it on (steps 6b-9);
 * 6b. the destination is in a wave: the revision failed in an earlier wave -> `wave-stopped`; an earlier wave has
 *     not approved it, bakes after approving it, or the destination's wave runs `maxConcurrent` promotions ->
 *     `wait-wave`;
 * 7. manual promotion not yet approved -> `awaiting-approval`;
 * 8. every window closed -> `wait-window` until the next opening;
 * 9. the lock held by someone else with a live lease -> `blocked-by-lock` until the lease ends;
 * 10. otherwise `deploy`, as the execution named by `executionName()`.
 *
 * Steps 4 and 5 come before the automation switch because automation does not change them: a started execution
 * runs to its end either way, and a rejection stands until a newer revision is selected.
 *
 * @example
 * const d = decide(snapshot, Date.parse('2024-03-04T23:00:00Z'));
 * if (d.kind === 'deploy') await orchestrator.start(d.executionName, d.revision);
 * console.log(d.reason); // "Deploy A r5 to Prod-EU (replacing r4) as execution Beta-to-Prod-EU-A-r5."
 */
export function decide(snapshot: PromotionSnapshot, now: number): Decision {
  const { promotion, application, destination } = snapshot;
  const dest = destination.name;

  if (!snapshot.pipeline.enabled) {
    return {
      kind: 'disabled',
      scope: 'pipeline',
      reason: `The pipeline is disabled, so nothing is promoted to ${dest}.`,
    };
  }
  if (!promotion.enabled) {
    return {
      kind: 'disabled',
      scope: 'promotion',
      reason: `Promotion ${promotion.id} is disabled, so ${application} is not promoted to ${dest}.`,
    };
  }

  const pin = snapshot.pin;
  if (pin) {
    return {
      kind: 'pinned',
      revision: pin.revision,
      pinnedBy: pin.pinnedBy,
      pinnedAt: pin.pinnedAt,
      reason:
        `${dest} is pinned to ${application} r${pin.revision} by ${pin.pinnedBy} at ${iso(pin.pinnedAt)}` +
        `${pin.reason ? ` (${pin.reason})` : ''}, so nothing is promoted to it; \`lockstep unpin ${dest}\` lets automation promote again.`,
    };
  }

  const slot = destination.applications[application];
  const current = slot?.current;
  const deployed: DeployedVersionSet[] = [];
  if (promotion.strategy === 'compatible') {
    for (const other in destination.applications) {
      const c = destination.applications[other]!.current;
      if (other !== application && c) deployed.push({ application: other, number: c.number, versionSet: c.versionSet });
    }
  }
  const selection = selectRevision(promotion.strategy, snapshot.candidates, deployed);
  if (selection.kind === 'no-candidate') {
    const why =
      'environment' in promotion.from
        ? `no revision of ${application} is approved at ${promotion.from.environment} yet`
        : `no revision of ${application} has been built yet`;
    return { kind: 'no-candidate', reason: `Nothing to promote to ${dest}: ${why}.` };
  }
  if (selection.kind === 'no-compatible') {
    return {
      kind: 'no-compatible-revision',
      candidates: selection.candidates,
      conflicts: selection.conflicts,
      reason:
        `No revision of ${application} ${sourceOf(snapshot)} (${selection.candidates.map((n) => `r${n}`).join(', ')}) ` +
        `is compatible with what ${dest} runs: ${describeConflicts(selection.conflicts)}.`,
    };
  }

  const revision = selection.revision;
  const r = `${application} r${revision.number}`;
  if (current?.number === revision.number) {
    return {
      kind: 'in-sync',
      revision: revision.number,
      reason: `${dest} already runs ${r}, the ${promotion.strategy} revision ${sourceOf(snapshot)}.`,
    };
  }

  const attempt = requestedAttempt(snapshot, revision.number);
  const name = executionName(promotion.id, application, revision.number, attempt);
  if (hasStarted(snapshot.startedExecutions, name)) {
    return {
      kind: 'already-started',
      revision: revision.number,
      executionName: name,
      reason:
        `Execution ${name} promoting ${r} to ${dest} has already started; an attempt never starts twice ` +
        `(if it failed, \`lockstep retry ${dest}\` starts attempt ${attempt + 1}).`,
    };
  }

  let approval: PromotionSnapshot['promotionApprovals'][number] | undefined;
  if (promotion.approval === 'manual') {
    approval = snapshot.promotionApprovals.find(
      (a) => a.promotion === promotion.id && a.application === application && a.revision === revision.number,
    );
    if (approval?.decision === 'rejected') {
      return {
        kind: 'rejected',
        revision: revision.number,
        reason: `${r} was rejected for ${dest}${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}; a newer revision must be selected before anything is promoted.`,
      };
    }
  }

  const unsafe = unsafeDestination(snapshot, revision.number, now);
  if (unsafe) return unsafe;

  const next = actionable(snapshot, revision, name, approval?.decision === 'approved', now);
  if (!snapshot.pipeline.automation) {
    return {
      kind: 'automation-off',
      revision: revision.number,
      reason: `Automation is off, so nothing starts; with it on: ${lowerFirst(next.reason)}`,
    };
  }
  return next;
}

/**
 * A destination that runs a revision never approved there while nobody holds its lock was left by an execution
 * that ended outside its own Catch, or by a first revision that failed its approval. Nothing new deploys over it:
 * the reconcile pass rolls it back to its last approved revision first, and with none an operator decides.
 */
function unsafeDestination(snapshot: PromotionSnapshot, selected: number, now: number): Decision | undefined {
  const { application, destination } = snapshot;
  const slot = destination.applications[application];
  const current = slot?.current;
  if (!slot || !current || slot.approved.includes(current.number) || slot.cleared === current.number) return undefined;
  if (destination.lock && now < destination.lock.leaseExpiresAt) return undefined; // its execution is still at work
  const dest = destination.name;
  const rollbackTo = [...slot.approved].reverse().find((n) => n !== current.number);
  if (rollbackTo !== undefined) {
    return {
      kind: 'recovering',
      revision: selected,
      unapproved: current.number,
      rollbackTo,
      reason: `${dest} runs ${application} r${current.number}, which was never approved there; it is rolled back to r${rollbackTo}, its last approved revision, before r${selected} is promoted.`,
    };
  }
  return {
    kind: 'no-safe-revision',
    revision: selected,
    unapproved: current.number,
    reason:
      `${dest} has no safe revision of ${application}: it runs r${current.number}, which was never approved there, and no revision was. ` +
      `Nothing is deployed over it until an operator runs \`lockstep unlock ${dest} --allow-deploy --reason "..."\`.`,
  };
}

/** The attempt to run for `revision`: the highest retry requested for it on this edge, else the first. */
function requestedAttempt(snapshot: PromotionSnapshot, revision: number): number {
  let attempt = 1;
  for (const r of snapshot.retries ?? []) {
    if (r.promotion === snapshot.promotion.id && r.application === snapshot.application && r.revision === revision)
      attempt = Math.max(attempt, r.attempt);
  }
  return attempt;
}

function lowerFirst(s: string): string {
  // Keep names (A, Prod-EU) capitalised: only lower a leading common word.
  return /^(Deploy|Waiting|Nothing)\b/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

/**
 * Step 6b of `decide`: the wave order inside a stage. Every environment of every earlier wave must have approved
 * the revision (and the last earlier wave's `bakeAfter` must have passed since), and the destination's own wave
 * may run at most `maxConcurrent` promotions at once.
 */
function waveDecision(snapshot: PromotionSnapshot, revision: number, name: string, now: number): Decision | undefined {
  const wave = snapshot.wave;
  if (!wave) return undefined;
  const { application } = snapshot;
  const dest = snapshot.destination.name;
  for (const earlier of wave.earlier) {
    const pending: string[] = [];
    for (const env of earlier.environments) {
      if (env.slot?.approved.includes(revision)) continue;
      if (env.slot?.failed?.includes(revision)) {
        return {
          kind: 'wave-stopped',
          revision,
          wave: earlier.position,
          failedAt: env.name,
          reason:
            `r${revision} of ${application} failed its approval workflow at ${env.name} in ${earlier.label}, ` +
            `so later waves, ${dest} among them, do not get it; a newer revision must pass ${earlier.label} first.`,
        };
      }
      pending.push(env.name);
    }
    if (pending.length > 0) {
      return {
        kind: 'wait-wave',
        revision,
        wave: earlier.position,
        reason:
          `Waiting for ${earlier.label} to approve r${revision} of ${application} before ${wave.label} gets it: ` +
          `${pending.join(', ')} ${pending.length === 1 ? 'has' : 'have'} not approved it yet.`,
      };
    }
  }
  const last = wave.earlier[wave.earlier.length - 1];
  if (last?.bakeAfterMs !== undefined) {
    // The bake counts from the wave's last approval of this revision; an environment whose latest approval is a
    // newer revision approved this one before that, so it does not delay the bake.
    let approvedAt = 0;
    for (const env of last.environments) {
      if (env.slot?.lastApproval?.revision === revision) approvedAt = Math.max(approvedAt, env.slot.lastApproval.at);
    }
    const until = approvedAt + last.bakeAfterMs;
    if (now < until) {
      return {
        kind: 'wait-wave',
        revision,
        wave: last.position,
        until,
        reason: `r${revision} of ${application} bakes after ${last.label} until ${iso(until)}; ${wave.label} gets it then.`,
      };
    }
  }
  if (wave.maxConcurrent !== undefined) {
    const busy = wave.siblings.filter(
      (s) => s.lock && s.lock.owner !== name && !s.lock.owner.startsWith('manual:') && now < s.lock.leaseExpiresAt,
    );
    if (busy.length >= wave.maxConcurrent) {
      return {
        kind: 'wait-wave',
        revision,
        wave: wave.position,
        reason:
          `${wave.label} already runs ${busy.length} promotion${busy.length === 1 ? '' : 's'} ` +
          `(${busy.map((s) => s.name).join(', ')}), its maxConcurrent, so r${revision} of ${application} waits for ${dest}.`,
      };
    }
  }
  return undefined;
}

/** Steps 6b-10 of `decide`: what happens to a selected, unstarted revision once automation allows it. */
function actionable(
  snapshot: PromotionSnapshot,
  revision: Revision,
  name: string,
  manuallyApproved: boolean,
  now: number,
): Decision {
  const { promotion, application, destination } = snapshot;
  const dest = destination.name;
  const r = `${application} r${revision.number}`;

  const wave = waveDecision(snapshot, revision.number, name, now);
  if (wave) return wave;
  if (promotion.approval === 'manual' && !manuallyApproved) {
    return {
      kind: 'awaiting-approval',
      revision: revision.number,
      reason: `${r} is waiting for a manual approval before it is promoted to ${dest}.`,
    };
  }
  if (!isAnyOpen(destination.windows, now)) {
    const opening = nextOpeningDetail(destination.windows, now);
    const w = opening.window!;
    return {
      kind: 'wait-window',
      revision: revision.number,
      until: opening.at,
      reason: `${r} waits for a deploy window of ${dest}: the next opens ${formatInZone(opening.at, w.timeZone)} (${describeWindow(w)}).`,
    };
  }
  const lock = destination.lock;
  if (lock && lock.owner !== name && now < lock.leaseExpiresAt) {
    return {
      kind: 'blocked-by-lock',
      revision: revision.number,
      owner: lock.owner,
      until: lock.leaseExpiresAt,
      reason: `${dest} is locked by ${lock.owner} until ${iso(lock.leaseExpiresAt)} at the latest, so ${r} waits.`,
    };
  }
  const current = destination.applications[application]?.current;
  return {
    kind: 'deploy',
    revision,
    executionName: name,
    reason: `Deploy ${r} to ${dest} (${current ? `replacing r${current.number}` : 'first deploy'}) as execution ${name}.`,
  };
}
