/**
 * Operator actions shared by the CLI (`lockstep rollback`, `pin`, `unpin`) and the web console: one function per
 * action, so both audit, notify and refuse the same way.
 *
 * A rollback is not a second deploy path: it starts the promotion state machine with a `recovery` input, the
 * machinery the reconcile pass uses to roll back what a failed execution left behind. The execution passes the
 * gates (the deploy windows, unless overridden), takes the environment's lock, redeploys the chosen revision and
 * records the rollback instead of running the approval workflow again (the revision was approved there before).
 *
 * Every action appends to the timeline with the operator as actor (`details.via`, `details.sourceIp`: where from)
 * and is announced on the notification topic as `operator-override`, like `lockstep unlock`.
 */
import { promotionId, type Pipeline } from '../core/config/schema';
import { describeWindow, formatInZone, isAnyOpen, nextOpeningDetail } from '../core/decide/windows';
import type { ApplicationAtEnvironment, EnvironmentPin, RollbackClaim } from '../core/model';
import { executionName } from '../core/names';
import type { ExecutionController, Notifier, PromotionOrchestrator } from '../ports/services';
import type { EnvironmentStore, EventStore, LockStore, OperatorStore, RevisionStore } from '../ports/stores';
import { PromotionError } from './errors';
import { environmentDefinition, executionInput } from './execution-input';
import { operatorAction } from './notifications';
import { lastApproved } from './steps';

export { decideApprovalAsUser, type ApprovalActor, type UserApprovalDecision } from './approvals';

/** Who acts, and through what: kept in the audit record. */
export interface Actor {
  /** A person's email or login (the console's authenticated user; the CLI's `--as` or login name). */
  readonly user: string;
  readonly via: 'cli' | 'console';
  /** The client's address as the HTTP API saw it (console only). */
  readonly sourceIp?: string;
}

/** What the operator actions read and write. `Runtime.operatorDependencies()` builds it. */
export interface OperatorDependencies {
  readonly pipeline: Pipeline;
  readonly revisions: RevisionStore;
  readonly environments: EnvironmentStore;
  readonly operators: OperatorStore;
  readonly locks: LockStore;
  readonly events: EventStore;
  readonly notifier: Notifier;
  readonly orchestrator: PromotionOrchestrator;
  /**
   * Stops the execution whose lock an override takes, so its deploy cannot land after the rollback's.
   * Omitted: the holder's lock is released and its next fenced step fails (`LockLostError`), but a deploy it has
   * under way runs to its end.
   */
  readonly executionControl?: ExecutionController;
  readonly clock: () => number;
}

/** Why an operator action was refused; `details.code` says which case, for the console's answer. */
export type RefusalCode =
  | 'unknown-environment'
  | 'unknown-application'
  | 'unknown-revision'
  | 'nothing-deployed'
  | 'no-promotion'
  | 'already-current'
  | 'never-deployed'
  | 'no-earlier-revision'
  | 'locked'
  | 'window-closed'
  | 'pinned'
  | 'not-current'
  | 'not-pinned'
  | 'bad-input';

/** An operator action that cannot be done as asked; the message says why and what to do instead. */
export class OperatorActionRefusedError extends PromotionError {
  get code(): RefusalCode {
    return this.details.code as RefusalCode;
  }
}

/** Another operator's rollback of the same deployment won; the message names them and their execution. */
export class RollbackConflictError extends PromotionError {}

export interface RollbackInput {
  readonly environment: string;
  readonly application: string;
  /** @default the last revision approved there before the one it runs */
  readonly toRevision?: number;
  /** Roll back even while another holds the lock (released, fenced) or every window is closed. @default false */
  readonly overrideLockAndWindows?: boolean;
  readonly reason?: string;
  readonly actor: Actor;
}

export interface RollbackOutcome {
  readonly environment: string;
  readonly application: string;
  readonly from: number;
  readonly to: number;
  /** The promotion state machine execution that redeploys `to`. */
  readonly executionName: string;
  readonly requestedAt: number;
  /** What the override set aside (empty without `overrideLockAndWindows`, or when nothing stood in the way). */
  readonly overridden: {
    /** The lock holder whose lock was released. */
    readonly lockHolder?: string;
    /** The holder's execution, stopped (it was running). */
    readonly stoppedExecution?: string;
    /** The closed windows, described. */
    readonly windowsClosed?: string;
  };
}

/** A claim whose execution is not known yet is still being started for this long (claim, then StartExecution). */
const CLAIM_START_GRACE_MS = 5 * 60_000;

function refuse(code: RefusalCode, message: string, details: Record<string, unknown> = {}): never {
  throw new OperatorActionRefusedError(message, { details: { code, ...details } });
}

function iso(instant: number): string {
  return new Date(instant).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function requireEnvironment(pipeline: Pipeline, environment: string) {
  const definition = environmentDefinition(pipeline, environment);
  if (!definition) {
    const known = pipeline.stages.flatMap((s) => s.environments.map((e) => e.name));
    refuse(
      'unknown-environment',
      `There is no environment ${environment} in pipeline ${pipeline.pipeline.name}; environments: ${known.join(', ')}`,
      { environment },
    );
  }
  return definition;
}

async function requireSlot(
  deps: OperatorDependencies,
  environment: string,
  application: string,
): Promise<ApplicationAtEnvironment & { current: NonNullable<ApplicationAtEnvironment['current']> }> {
  if (!deps.pipeline.applications.some((a) => a.name === application)) {
    refuse(
      'unknown-application',
      `There is no application ${application} in pipeline ${deps.pipeline.pipeline.name}; applications: ${deps.pipeline.applications.map((a) => a.name).join(', ')}`,
      { environment, application },
    );
  }
  const slot = await deps.environments.slot(environment, application);
  if (!slot?.current) {
    refuse('nothing-deployed', `${environment} runs no revision of ${application} yet`, { environment, application });
  }
  return { ...slot, current: slot.current };
}

/** Longest reason kept: it goes into the timeline, the notification and the execution input. */
export const MAX_REASON_LENGTH = 1000;

/** An action without a user or with an oversized reason is refused before anything is read or written. */
function checkRequest(input: { actor: Actor; reason?: string }): void {
  if (input.actor.user.trim() === '') {
    refuse('bad-input', "Say who acts (the actor's user is empty): every operator action is audited with its user");
  }
  if (input.reason !== undefined && input.reason.length > MAX_REASON_LENGTH) {
    refuse(
      'bad-input',
      `The reason is ${input.reason.length} characters long; keep it to ${MAX_REASON_LENGTH} (it goes into the audit record and the notification)`,
    );
  }
}

function audit(actor: Actor, details: Record<string, unknown>): Record<string, unknown> {
  return { via: actor.via, ...(actor.sourceIp ? { sourceIp: actor.sourceIp } : {}), ...details };
}

/**
 * Picks and checks the revision to roll back to: one approved at the environment (so it ran there and passed its
 * approval workflow), other than the one running now.
 */
async function rollbackTarget(
  deps: OperatorDependencies,
  input: RollbackInput,
  slot: ApplicationAtEnvironment & { current: NonNullable<ApplicationAtEnvironment['current']> },
): Promise<number> {
  const { environment, application } = input;
  const current = slot.current.number;
  const approved = slot.approved.filter((n) => n !== current);
  const listed = approved.length > 0 ? approved.map((n) => `r${n}`).join(', ') : 'none';
  if (input.toRevision === undefined) {
    const target = lastApproved(slot.approved, current);
    if (target === undefined) {
      refuse(
        'no-earlier-revision',
        `${environment} has no earlier revision of ${application} to roll back to: no revision other than r${current} was approved there`,
        { environment, application, current },
      );
    }
    return target;
  }
  const to = input.toRevision;
  if (to === current) {
    refuse('already-current', `${environment} already runs ${application} r${to}; nothing to roll back`, {
      environment,
      application,
      current,
    });
  }
  if (slot.approved.includes(to)) return to;
  if (!(await deps.revisions.get(application, to))) {
    refuse('unknown-revision', `${application} has no revision ${to}`, { environment, application, revision: to });
  }
  const ranThere = slot.previous?.number === to;
  refuse(
    'never-deployed',
    ranThere
      ? `${application} r${to} ran in ${environment} but was never approved there (its approval workflow did not pass), so it is not a safe rollback target; revisions approved there: ${listed}`
      : `${application} r${to} was never deployed to ${environment}, so it cannot be rolled back to; revisions deployed and approved there: ${listed}`,
    { environment, application, revision: to, approved },
  );
}

/**
 * Rolls an environment back to a revision it ran and approved before (`lockstep rollback <environment> [--to N]`,
 * the console's rollback button).
 *
 * Refused (`OperatorActionRefusedError`, `code` says why) when the target was never deployed and approved there,
 * the environment is pinned, or, without `overrideLockAndWindows`, another holds its lock or every deploy window is
 * closed. With the override the holder's lock is released (fenced: its next step fails with `LockLostError`) and
 * the windows are skipped, and both are recorded. Of two rollbacks of the same deployment at once exactly one
 * starts; the other gets `RollbackConflictError` naming who rolls back and to what.
 *
 * @example
 * const outcome = await rollbackEnvironment(deps, {
 *   environment: 'prod-na', application: 'storefront', actor: { user: 'ann@example.com', via: 'console' },
 * });
 * console.log(`r${outcome.from} -> r${outcome.to} as ${outcome.executionName}`);
 */
export async function rollbackEnvironment(deps: OperatorDependencies, input: RollbackInput): Promise<RollbackOutcome> {
  const { environment, application, actor } = input;
  const { pipeline } = deps;
  checkRequest(input);
  const definition = requireEnvironment(pipeline, environment);
  const incoming = pipeline.promotions.find((p) => p.to === environment);
  if (!incoming) {
    refuse('no-promotion', `Nothing promotes to ${environment}, so Lockstep has no deploy of it to roll back`, {
      environment,
    });
  }
  const slot = await requireSlot(deps, environment, application);
  const pin = await deps.operators.pin(environment, application);
  if (pin) {
    refuse(
      'pinned',
      `${environment} is pinned to ${application} r${pin.revision} by ${pin.pinnedBy} at ${iso(pin.pinnedAt)}; unpin it first (\`lockstep unpin ${environment}\`)`,
      { environment, application, pin },
    );
  }
  const to = await rollbackTarget(deps, input, slot);
  const revision = await deps.revisions.get(application, to);
  if (!revision) refuse('unknown-revision', `${application} has no revision ${to}`, { environment, application });

  const now = deps.clock();
  const override = input.overrideLockAndWindows === true;
  const lock = await deps.locks.get(environment, now);
  const liveLock = lock && now < lock.leaseExpiresAt ? lock : null;
  let windowsClosed: string | undefined;
  if (definition.windows.length > 0 && !isAnyOpen(definition.windows, now)) {
    const opening = nextOpeningDetail(definition.windows, now);
    windowsClosed = `every deploy window of ${environment} is closed; the next opens ${formatInZone(opening.at, opening.window!.timeZone)} (${describeWindow(opening.window!)})`;
  }
  if (!override && liveLock) {
    refuse(
      'locked',
      `${environment} is locked by ${liveLock.owner} until ${iso(liveLock.leaseExpiresAt)} at the latest; roll back once it is free, or override the lock (\`--override\`), which releases it and is recorded`,
      { environment, holder: liveLock.owner, until: liveLock.leaseExpiresAt },
    );
  }
  if (!override && windowsClosed) {
    refuse(
      'window-closed',
      `Not rolled back: ${windowsClosed}. Roll back then, or override the windows (\`--override\`), which is recorded`,
      { environment },
    );
  }

  const from = slot.current;
  // One name per request: a rollback whose execution failed may be asked again, and Step Functions keeps a name
  // for 90 days. The claim, not the name, keeps two requests from both starting.
  const name = executionName(
    `rollback-${environment}-${from.deployedAt.toString(36)}-${now.toString(36)}`,
    application,
    to,
  );
  const claim: RollbackClaim = {
    environment,
    application,
    from: from.number,
    fromDeployedAt: from.deployedAt,
    to,
    executionName: name,
    requestedBy: actor.user,
    requestedAt: now,
  };
  await claimRollback(deps, claim);

  const overridden: { lockHolder?: string; stoppedExecution?: string; windowsClosed?: string } = {};
  if (override && liveLock) {
    const stopped = await stopHolder(
      deps,
      liveLock.owner,
      `${actor.user} overrode the lock of ${environment} to roll back ${application} to r${to}`,
    );
    if (stopped) overridden.stoppedExecution = stopped;
  }
  if (override && liveLock && (await deps.locks.release(environment, liveLock.owner, liveLock.fencingToken))) {
    overridden.lockHolder = liveLock.owner;
    const message = `${actor.user} released the lock of ${environment} held by ${liveLock.owner} (token ${liveLock.fencingToken}) to roll back ${application} to r${to}`;
    await deps.events.append({
      at: now,
      type: 'lock-released-by-operator',
      actor: actor.user,
      message,
      environment,
      application,
      details: audit(actor, {
        holder: liveLock.owner,
        fencingToken: liveLock.fencingToken,
        reason: input.reason ?? 'rollback',
      }),
    });
  }
  if (override && windowsClosed) overridden.windowsClosed = windowsClosed;

  const why = `rollback requested by ${actor.user} via the ${actor.via}${input.reason ? `: ${input.reason}` : ''}`;
  const result = await deps.orchestrator.start(
    name,
    executionInput(pipeline, {
      promotion: promotionId(incoming),
      execution: name,
      environment,
      revision,
      recovery: { failedRevision: from.number, reason: why, requestedBy: actor.user },
      operator: { user: actor.user, via: actor.via, overrideLockAndWindows: override },
    }),
  );
  if (!result.started) {
    // Only a request in the same millisecond for the same deployment names the same execution; the claim let one in.
    throw new RollbackConflictError(
      `Execution ${name} exists already: this rollback was started; wait for it to finish`,
      {
        details: { claim },
      },
    );
  }
  const overrides = [
    overridden.stoppedExecution ? `execution ${overridden.stoppedExecution} stopped` : undefined,
    overridden.lockHolder ? `the lock held by ${overridden.lockHolder} released` : undefined,
    overridden.windowsClosed ? `closed windows overridden (${overridden.windowsClosed})` : undefined,
  ].filter((s): s is string => s !== undefined);
  const message =
    `${actor.user} rolls ${environment} back from ${application} r${from.number} to r${to} (execution ${name})` +
    `${overrides.length > 0 ? `, ${overrides.join('; ')}` : ''}${input.reason ? `: ${input.reason}` : ''}`;
  await deps.events.append({
    at: now,
    type: 'rollback-requested',
    actor: actor.user,
    message,
    environment,
    application,
    revision: from.number,
    promotion: promotionId(incoming),
    execution: name,
    details: audit(actor, {
      from: from.number,
      to,
      override,
      ...overridden,
      ...(input.reason ? { reason: input.reason } : {}),
    }),
  });
  await deps.notifier.publish(
    operatorAction({
      pipeline: pipeline.pipeline.name,
      environment,
      subject: `Rollback: ${environment}`,
      text: message,
    }),
  );
  return { environment, application, from: from.number, to, executionName: name, requestedAt: now, overridden };
}

/**
 * Stops the running execution that holds the lock (its name is the owner; an operator's hold, `manual:<user>`, is
 * no execution), so a deploy it has under way does not land after the rollback's. Returns its name when stopped.
 */
async function stopHolder(deps: OperatorDependencies, owner: string, cause: string): Promise<string | undefined> {
  if (!deps.executionControl || owner.includes(':')) return undefined;
  const holder = (await deps.executionControl.running()).find((e) => e.name === owner);
  if (!holder) return undefined;
  await deps.executionControl.stop(holder.executionArn, 'LockOverriddenError', cause);
  return holder.name;
}

/** Claims the rollback of `claim`'s deployment, or throws `RollbackConflictError` naming whoever holds it. */
async function claimRollback(deps: OperatorDependencies, claim: RollbackClaim): Promise<void> {
  const { environment, application } = claim;
  const existing = await deps.operators.rollbackClaim(environment, application);
  let replacing: string | undefined;
  if (existing?.fromDeployedAt === claim.fromDeployedAt) {
    const outcome = await deps.orchestrator.describe(existing.executionName);
    const starting = !outcome && claim.requestedAt - existing.requestedAt < CLAIM_START_GRACE_MS;
    if (outcome?.status === 'RUNNING' || starting) throw conflict(existing);
    replacing = existing.executionName; // it ended (or never started): this deployment may be rolled back again
  }
  if (await deps.operators.claimRollback(claim, replacing)) return;
  const winner = await deps.operators.rollbackClaim(environment, application);
  throw conflict(winner ?? claim);
}

function conflict(claim: RollbackClaim): RollbackConflictError {
  return new RollbackConflictError(
    `${claim.requestedBy} is already rolling ${claim.environment} back from ${claim.application} r${claim.from} to r${claim.to} ` +
      `(asked at ${iso(claim.requestedAt)}, execution ${claim.executionName}); wait for it to finish`,
    { details: { claim } },
  );
}

export interface PinInput {
  readonly environment: string;
  readonly application: string;
  readonly revision: number;
  readonly reason?: string;
  readonly actor: Actor;
}

/**
 * Pins an environment to the revision it runs (`lockstep pin <environment> <revision>`): automation promotes
 * nothing into it and rolls nothing back there until it is unpinned; `decide()` says "pinned by X at T". Pinning
 * again replaces the pin. Refused (`OperatorActionRefusedError`) for a revision the environment does not run: roll
 * back to it first.
 */
export async function pinEnvironment(deps: OperatorDependencies, input: PinInput): Promise<void> {
  const { environment, application, revision, actor } = input;
  checkRequest(input);
  requireEnvironment(deps.pipeline, environment);
  const slot = await requireSlot(deps, environment, application);
  if (slot.current.number !== revision) {
    refuse(
      'not-current',
      `${environment} runs ${application} r${slot.current.number}, not r${revision}; a pin keeps what runs now: roll back to r${revision} first (\`lockstep rollback ${environment} --to ${revision}\`), then pin it`,
      { environment, application, revision, current: slot.current.number },
    );
  }
  const now = deps.clock();
  const pin: EnvironmentPin = {
    environment,
    application,
    revision,
    pinnedBy: actor.user,
    pinnedAt: now,
    ...(input.reason ? { reason: input.reason } : {}),
  };
  await deps.operators.setPin(pin);
  const message = `${actor.user} pinned ${environment} to ${application} r${revision}; automation leaves it alone until it is unpinned${input.reason ? `: ${input.reason}` : ''}`;
  await deps.events.append({
    at: now,
    type: 'environment-pinned',
    actor: actor.user,
    message,
    environment,
    application,
    revision,
    details: audit(actor, input.reason ? { reason: input.reason } : {}),
  });
  await deps.notifier.publish(
    operatorAction({
      pipeline: deps.pipeline.pipeline.name,
      environment,
      subject: `Pinned: ${environment}`,
      text: message,
    }),
  );
}

/**
 * Removes an environment's pin (`lockstep unpin <environment>`): automation decides for it again on the next pass.
 * Refused (`OperatorActionRefusedError`, `not-pinned`) when it was not pinned.
 */
export async function unpinEnvironment(
  deps: OperatorDependencies,
  input: { environment: string; application: string; actor: Actor },
): Promise<void> {
  const { environment, application, actor } = input;
  checkRequest(input);
  requireEnvironment(deps.pipeline, environment);
  const removed = await deps.operators.removePin(environment, application);
  if (!removed) {
    refuse('not-pinned', `${environment} is not pinned for ${application}; nothing to unpin`, {
      environment,
      application,
    });
  }
  const now = deps.clock();
  const message = `${actor.user} unpinned ${environment} (${application} r${removed.revision}, pinned by ${removed.pinnedBy} at ${iso(removed.pinnedAt)}); automation decides for it again`;
  await deps.events.append({
    at: now,
    type: 'environment-unpinned',
    actor: actor.user,
    message,
    environment,
    application,
    revision: removed.revision,
    details: audit(actor, { pinnedBy: removed.pinnedBy, pinnedAt: removed.pinnedAt }),
  });
  await deps.notifier.publish(
    operatorAction({
      pipeline: deps.pipeline.pipeline.name,
      environment,
      subject: `Unpinned: ${environment}`,
      text: message,
    }),
  );
}

/**
 * The application an operator means at an environment when they name none (the CLI's `--application`): the only
 * one that reaches it. Refused when several do.
 */
export function applicationAt(pipeline: Pipeline, environment: string, reaching: readonly string[]): string {
  requireEnvironment(pipeline, environment);
  if (reaching.length === 1) return reaching[0]!;
  if (reaching.length === 0) refuse('no-promotion', `No application is promoted to ${environment}`, { environment });
  return refuse(
    'unknown-application',
    `Several applications reach ${environment} (${reaching.join(', ')}); choose one with --application`,
    { environment },
  );
}
