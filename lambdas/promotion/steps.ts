/**
 * The Tasks of the promotion state machine, dispatched on `action`. Pure over ports: the handler
 * (`lambdas/handlers/promotion-steps.ts`) wires the DynamoDB and SNS adapters; local mode binds the same handler.
 *
 * Errors are typed (`lambdas/promotion/errors.ts`) so the ASL can Retry/Catch them by name.
 */
import { z } from 'zod';
import { promotionId as idOf, type Pipeline } from '../core/config/schema';
import { isAnyOpen, nextOpening } from '../core/decide/windows';
import type { DeployedRevision } from '../core/model';
import type { ArtifactReader } from '../ports/artifacts';
import type { AlarmReader, Notifier } from '../ports/services';
import type {
  EnvironmentStore,
  EventStore,
  FencedRelease,
  LockStore,
  OperatorStore,
  PipelineEvent,
  RevisionStore,
} from '../ports/stores';
import { checkBake, startBake } from './bake';
import { evaluatePolicy } from './compliance';
import {
  AfterApprovalError,
  ComplianceFailedError,
  InvalidInputError,
  LockLostError,
  NotFoundError,
  TestsFailedError,
  UnknownCompliancePolicyError,
} from './errors';
import { environmentDefinition } from './execution-input';
import { readSecurityDiff } from './permissions-gate';
import { promotionFailed, revisionApproved, rollbackDone } from './notifications';

export interface StepDependencies {
  readonly pipeline: Pipeline;
  readonly revisions: RevisionStore;
  readonly environments: EnvironmentStore;
  readonly locks: LockStore;
  readonly events: EventStore;
  readonly notifier: Notifier;
  /**
   * Operators' pins: a promotion that reaches its gates after the destination was pinned pauses there until it is
   * unpinned. Omitted: pins are not checked by the execution (`decide()` still starts nothing into a pinned one).
   */
  readonly operators?: OperatorStore;
  /**
   * CloudWatch alarms, read by the alarm-watched bake (`start-bake`, `check-bake`). Omitted: a pipeline without
   * alarm bakes needs none, and a bake that watches alarms fails saying the reader is missing.
   */
  readonly alarms?: AlarmReader;
  /** Reads the security diffs of `deploy.cdk` environments (`read-security-diff`). Omitted: that action fails. */
  readonly artifacts?: ArtifactReader;
  readonly clock: () => number;
}

/** How often a paused execution re-checks a switch that was turned off (windows wait for their next opening). */
export const GATE_RECHECK_MS = 5 * 60_000;
/**
 * How soon an execution waiting for a held lock tries again: never later than the holder's lease end, and between
 * these bounds in proportion to how long the holder has held it (`LOCK_RETRY_HOLD_DIVISOR`). A lock taken a
 * minute ago is likely released soon (a short deploy), so it is checked every minute; a lock held for hours (a bake
 * time, a manual approval) every 15 minutes. Each re-check costs about 16 history events (Wait, CheckGates,
 * GatesOpen, AcquireLock, LockAcquired), so a fixed 60 s poll burns Step Functions' 25,000-event history in about
 * 26 hours, while this backoff waits out a 48-hour lease in about 3,300 events (`test/statemachines/lock-wait.test.ts`).
 */
export const LOCK_RETRY_MIN_MS = 60_000;
export const LOCK_RETRY_MAX_MS = 15 * 60_000;
export const LOCK_RETRY_HOLD_DIVISOR = 4;

/** When an execution refused the lock at `now` by `holder` tries again (see `LOCK_RETRY_MIN_MS`). */
export function lockRetryAt(holder: { acquiredAt: number; leaseExpiresAt: number }, now: number): number {
  const held = Math.max(0, now - holder.acquiredAt);
  const interval = Math.min(LOCK_RETRY_MAX_MS, Math.max(LOCK_RETRY_MIN_MS, Math.round(held / LOCK_RETRY_HOLD_DIVISOR)));
  // The lease end is when the lock frees itself at the latest; at least a second on, so a Wait never spins.
  return Math.max(Math.min(holder.leaseExpiresAt, now + interval), now + 1000);
}

const target = {
  execution: z.string().min(1),
  promotion: z.string().min(1),
  application: z.string().min(1),
  environment: z.string().min(1),
  revision: z.number().int().positive(),
};
const fenced = { ...target, fencingToken: z.number().int().positive(), lockLeaseMs: z.number().int().positive() };
const errorInfo = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough().nullish();
const failureStage = z.enum([
  'deploy',
  'approval-workflow',
  'prepare',
  'gates',
  'lock-lost',
  /** The security diff of a `deploy.cdk` environment failed, or its broadening was rejected or timed out. */
  'permissions-broadening',
]);

export const stepInputSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('check-gates'),
    ...target,
    /** An operator's rollback (`ExecutionInput['operator']`); null or absent on a promotion. */
    operator: z
      .object({ user: z.string(), via: z.string(), overrideLockAndWindows: z.boolean() })
      .passthrough()
      .nullish(),
  }),
  z.object({ action: z.literal('acquire-lock'), ...target, lockLeaseMs: z.number().int().positive() }),
  z.object({ action: z.literal('record-previous'), ...target }),
  z.object({ action: z.literal('read-security-diff'), ...target, diffUri: z.string().min(1) }),
  z.object({ action: z.literal('record-deployed'), ...fenced }),
  z.object({
    action: z.literal('record-test-results'),
    ...fenced,
    tests: z.array(z.object({ name: z.string(), passed: z.boolean(), buildId: z.string().optional() }).passthrough()),
  }),
  z.object({
    action: z.literal('compliance-sign-off'),
    ...fenced,
    policy: z.string().min(1),
    approver: z.string().nullish(),
  }),
  /** Kept for executions started before `approve-and-release` replaced MarkApproved + ReleaseLock. */
  z.object({ action: z.literal('mark-approved'), ...fenced }),
  /** The success path's last step: approve under a full fence check, release, announce. */
  z.object({ action: z.literal('approve-and-release'), ...fenced }),
  z.object({
    action: z.literal('record-recovery'),
    ...fenced,
    recovery: z
      .object({ failedRevision: z.number().int().positive(), reason: z.string(), requestedBy: z.string().optional() })
      .passthrough(),
  }),
  z.object({
    action: z.literal('record-rollback'),
    ...target,
    outcome: z.enum(['rolled-back', 'no-previous', 'rollback-failed']),
    previous: z.object({ exists: z.boolean(), number: z.number().int().positive().optional() }).passthrough(),
    error: errorInfo,
  }),
  z.object({
    action: z.literal('release-lock'),
    environment: z.string().min(1),
    execution: z.string().min(1),
    fencingToken: z.number().int().positive(),
    /** On the success path: announce the promotion (`promotion-succeeded`) in the same step, after the release. */
    announce: z
      .object({ promotion: target.promotion, application: target.application, revision: target.revision })
      .optional(),
  }),
  /** The alarm-watched bake's first step (`lambdas/promotion/bake.ts`): checks the alarms, records the start. */
  z.object({
    action: z.literal('start-bake'),
    ...fenced,
    bakeSeconds: z.number().int().positive(),
    alarms: z.array(z.string().min(1)).min(1),
    acceptInsufficientData: z.boolean(),
  }),
  /** One check during the bake: history since `startedAt` and current states. */
  z.object({
    action: z.literal('check-bake'),
    ...fenced,
    alarms: z.array(z.string().min(1)).min(1),
    startedAt: z.iso.datetime(),
    endsAt: z.iso.datetime(),
  }),
  z.object({ action: z.literal('notify'), ...target, stage: failureStage, error: errorInfo }),
  z.object({ action: z.literal('emit-event'), ...target, type: z.string().min(1), message: z.string().optional() }),
]);

export type StepInput = z.infer<typeof stepInputSchema>;

export type GateResult = { proceed: true; reason: string } | { proceed: false; waitUntil: string; reason: string };
export type LockResult =
  | { acquired: true; fencingToken: number; leaseExpiresAt: string }
  | { acquired: false; retryAt: string; holder: string; reason: string };
export type PreviousResult =
  | { exists: true; number: number; artifact: string; sourceLocation: string; versionSet: Record<string, string> }
  | { exists: false };

const iso = (ms: number) => new Date(ms).toISOString();

/** Runs one step. The result is what the state machine stores at the Task's ResultPath. */
export async function runStep(deps: StepDependencies, raw: unknown): Promise<unknown> {
  const parsed = stepInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(
      `Invalid promotion step input: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const input = parsed.data;
  switch (input.action) {
    case 'check-gates':
      return checkGates(deps, input);
    case 'acquire-lock':
      return acquireLock(deps, input);
    case 'record-previous':
      return recordPrevious(deps, input);
    case 'read-security-diff':
      if (!deps.artifacts) throw new InvalidInputError('read-security-diff needs an artifact reader; none is wired');
      return readSecurityDiff({ artifacts: deps.artifacts, events: deps.events, clock: deps.clock }, input);
    case 'record-deployed':
      return recordDeployed(deps, input);
    case 'record-test-results':
      return recordTestResults(deps, input);
    case 'compliance-sign-off':
      return complianceSignOff(deps, input);
    case 'mark-approved':
      return markApproved(deps, input);
    case 'approve-and-release':
      return approveAndRelease(deps, input);
    case 'record-recovery':
      return recordRecovery(deps, input);
    case 'record-rollback':
      return recordRollback(deps, input);
    case 'release-lock':
      return releaseLock(deps, input);
    case 'start-bake':
      return startBake(deps, input, () => requireFence(deps, input));
    case 'check-bake':
      return checkBake(deps, input, () => requireFence(deps, input));
    case 'notify':
      return notify(deps, input);
    case 'emit-event':
      return emitEvent(deps, input);
  }
}

type Of<A extends StepInput['action']> = Extract<StepInput, { action: A }>;

function actor(execution: string): string {
  return `execution:${execution}`;
}

async function checkGates(deps: StepDependencies, input: Of<'check-gates'>): Promise<GateResult> {
  const now = deps.clock();
  const { pipeline } = deps;
  // Three independent reads, one round trip. The pin matters only when the switches are on, but reading it beside
  // them costs a read and no wait, where reading it after them cost every hop a round trip.
  const [switches, promotionSwitches, pin] = await Promise.all([
    deps.environments.switches({ enabled: pipeline.pipeline.enabled, automation: pipeline.pipeline.automation }),
    deps.environments.promotionSwitches(),
    input.operator ? undefined : deps.operators?.pin(input.environment, input.application),
  ]);
  const promotion = pipeline.promotions.find((p) => idOf(p) === input.promotion);
  const promotionEnabled = promotionSwitches[input.promotion] ?? promotion?.enabled ?? true;
  // The switches govern automation; an operator's rollback is the operator's own action and passes them.
  const closed = input.operator
    ? undefined
    : !switches.enabled
      ? `pipeline ${pipeline.pipeline.name} is disabled`
      : !switches.automation
        ? 'automation is switched off'
        : !promotionEnabled
          ? `promotion ${input.promotion} is disabled`
          : undefined;
  const paused =
    closed ??
    (pin &&
      `${input.environment} is pinned to ${input.application} r${pin.revision} by ${pin.pinnedBy} at ${iso(pin.pinnedAt)}`);
  if (paused) {
    return {
      proceed: false,
      waitUntil: iso(now + GATE_RECHECK_MS),
      reason: `Paused: ${paused}; checking again in ${GATE_RECHECK_MS / 60_000} minutes`,
    };
  }
  const env = environmentDefinition(pipeline, input.environment);
  if (!env)
    throw new NotFoundError(`Environment ${input.environment} is not in the pipeline`, {
      details: { environment: input.environment },
    });
  if (input.operator?.overrideLockAndWindows) {
    return { proceed: true, reason: `${input.operator.user} overrode the deploy windows of ${env.name}` };
  }
  if (env.windows.length > 0 && !isAnyOpen(env.windows, now)) {
    const opening = nextOpening(env.windows, now);
    return {
      proceed: false,
      waitUntil: iso(opening),
      reason: `Waiting for the next time window of ${env.name}, opening at ${iso(opening)}`,
    };
  }
  return { proceed: true, reason: 'Pipeline, promotion and automation are on and the window is open' };
}

async function acquireLock(deps: StepDependencies, input: Of<'acquire-lock'>): Promise<LockResult> {
  const now = deps.clock();
  const result = await deps.locks.acquire(input.environment, input.execution, input.lockLeaseMs, now);
  if (result.acquired) {
    await deps.events.append({
      at: now,
      type: 'lock-acquired',
      actor: actor(input.execution),
      message: `Locked ${input.environment} for ${input.application} revision ${input.revision} (token ${result.lock.fencingToken})`,
      environment: input.environment,
      application: input.application,
      revision: input.revision,
      promotion: input.promotion,
      execution: input.execution,
      details: { fencingToken: result.lock.fencingToken, leaseExpiresAt: result.lock.leaseExpiresAt },
    });
    return { acquired: true, fencingToken: result.lock.fencingToken, leaseExpiresAt: iso(result.lock.leaseExpiresAt) };
  }
  return {
    acquired: false,
    retryAt: iso(lockRetryAt(result.holder, now)),
    holder: result.holder.owner,
    reason: `${input.environment} is locked by ${result.holder.owner} until ${iso(result.holder.leaseExpiresAt)}`,
  };
}

/**
 * The rollback target: the last revision *approved* in this environment (other than the one being deployed), not
 * whatever ran before. A revision that failed its approval here, or was never through it, is never a target; with
 * no approved revision the environment has no safe revision (`exists: false`), and the failed revision stays.
 */
async function recordPrevious(deps: StepDependencies, input: Of<'record-previous'>): Promise<PreviousResult> {
  const slot = await deps.environments.slot(input.environment, input.application);
  const target = lastApproved(slot?.approved ?? [], input.revision);
  if (target === undefined) return { exists: false };
  const revision = await deps.revisions.get(input.application, target);
  if (!revision)
    throw new NotFoundError(`Revision ${target} of ${input.application} is missing`, { details: { revision: target } });
  const match = /^s3:\/\/(.+)$/.exec(revision.artifact);
  return {
    exists: true,
    number: revision.number,
    artifact: revision.artifact,
    sourceLocation: match ? match[1]! : revision.artifact,
    versionSet: { ...revision.versionSet },
  };
}

/** The most recently approved revision in an approved list (kept in approval order), other than `except`. */
export function lastApproved(approved: readonly number[], except?: number): number | undefined {
  for (let i = approved.length - 1; i >= 0; i--) if (approved[i] !== except) return approved[i];
  return undefined;
}

/**
 * Refuses a holder whose token is stale or whose lease expired (one consistent read of the lock), and extends a
 * live lease when its renewal is due (a heartbeat; see `renewalInterval`).
 */
async function requireFence(deps: StepDependencies, input: z.infer<z.ZodObject<typeof fenced>>): Promise<void> {
  const held = await deps.locks.heartbeat(
    input.environment,
    input.execution,
    input.fencingToken,
    input.lockLeaseMs,
    deps.clock(),
  );
  if (!held) {
    throw new LockLostError(
      `Execution ${input.execution} no longer holds the lock of ${input.environment} (token ${input.fencingToken})`,
      {
        details: { environment: input.environment, execution: input.execution, fencingToken: input.fencingToken },
      },
    );
  }
}

async function recordDeployed(
  deps: StepDependencies,
  input: Of<'record-deployed'>,
): Promise<{ deployed: number; previous: number | null }> {
  // The revision and slot reads change nothing, so they share the fence check's round trip; nothing is written
  // before all three, and the slot write is conditional on the slot read.
  const [, revision, before] = await Promise.all([
    requireFence(deps, input),
    deps.revisions.get(input.application, input.revision),
    deps.environments.slot(input.environment, input.application),
  ]);
  if (!revision) throw new NotFoundError(`Revision ${input.revision} of ${input.application} is missing`);
  const now = deps.clock();
  const deployed: DeployedRevision = {
    application: input.application,
    number: input.revision,
    versionSet: revision.versionSet,
    deployedAt: now,
  };
  const slot = await deps.environments.recordDeployed(input.environment, deployed, before);
  await deps.events.append({
    at: now,
    type: 'deployed',
    actor: actor(input.execution),
    message: `Deployed ${input.application} revision ${input.revision} to ${input.environment}`,
    environment: input.environment,
    application: input.application,
    revision: input.revision,
    promotion: input.promotion,
    execution: input.execution,
  });
  return { deployed: input.revision, previous: slot.previous?.number ?? null };
}

async function recordTestResults(
  deps: StepDependencies,
  input: Of<'record-test-results'>,
): Promise<{ passed: number; failed: number }> {
  await requireFence(deps, input);
  const passed = input.tests.filter((t) => t.passed).length;
  const failed = input.tests.length - passed;
  await deps.revisions.recordTestResults(input.application, input.revision, input.environment, { passed, failed });
  const failedNames = input.tests.filter((t) => !t.passed).map((t) => t.name);
  await deps.events.append({
    at: deps.clock(),
    type: failed === 0 ? 'tests-passed' : 'tests-failed',
    actor: actor(input.execution),
    message:
      failed === 0
        ? `${passed} test steps passed in ${input.environment}`
        : `${failed} of ${input.tests.length} test steps failed in ${input.environment}: ${failedNames.join(', ')}`,
    environment: input.environment,
    application: input.application,
    revision: input.revision,
    promotion: input.promotion,
    execution: input.execution,
    details: {
      tests: input.tests.map((t) => ({ name: t.name, passed: t.passed, ...(t.buildId ? { buildId: t.buildId } : {}) })),
    },
  });
  if (failed > 0) {
    throw new TestsFailedError(`Test steps failed in ${input.environment}: ${failedNames.join(', ')}`, {
      details: { environment: input.environment, revision: input.revision, failed: failedNames },
    });
  }
  return { passed, failed };
}

async function complianceSignOff(
  deps: StepDependencies,
  input: Of<'compliance-sign-off'>,
): Promise<{ policy: string; passed: true }> {
  const [, revision] = await Promise.all([
    requireFence(deps, input),
    deps.revisions.get(input.application, input.revision),
  ]);
  if (!revision) throw new NotFoundError(`Revision ${input.revision} of ${input.application} is missing`);
  const env = environmentDefinition(deps.pipeline, input.environment);
  const result = evaluatePolicy(input.policy, {
    environment: input.environment,
    revision,
    configuredTests: env?.approval.tests.length ?? 0,
    ...(revision.testResults[input.environment] ? { testResults: revision.testResults[input.environment] } : {}),
    ...(input.approver ? { approver: input.approver } : {}),
  });
  if (!result)
    throw new UnknownCompliancePolicyError(`Unknown compliance policy ${input.policy}`, {
      details: { policy: input.policy },
    });
  await deps.events.append({
    at: deps.clock(),
    type: result.passed ? 'compliance-signed-off' : 'compliance-refused',
    actor: `policy:${input.policy}`,
    message: `Compliance policy ${input.policy} ${result.passed ? 'signed off' : 'refused'} ${input.application} revision ${input.revision} in ${input.environment}`,
    environment: input.environment,
    application: input.application,
    revision: input.revision,
    promotion: input.promotion,
    execution: input.execution,
    details: { findings: result.findings },
  });
  if (!result.passed) {
    const failures = result.findings.filter((f) => !f.passed).map((f) => `${f.rule}: ${f.message}`);
    throw new ComplianceFailedError(`Compliance policy ${input.policy} refused: ${failures.join('; ')}`, {
      details: { policy: input.policy, findings: failures },
    });
  }
  return { policy: input.policy, passed: true };
}

async function markApproved(deps: StepDependencies, input: Of<'mark-approved'>): Promise<{ approved: number }> {
  await requireFence(deps, input);
  await deps.environments.markApproved(input.environment, input.application, input.revision, deps.clock());
  await deps.events.append({
    at: deps.clock(),
    type: 'revision-approved',
    actor: actor(input.execution),
    message: `${input.application} revision ${input.revision} is approved in ${input.environment}`,
    environment: input.environment,
    application: input.application,
    revision: input.revision,
    promotion: input.promotion,
    execution: input.execution,
  });
  return { approved: input.revision };
}

/**
 * The end of the success path, in one Task (it replaced MarkApproved followed by ReleaseLock): one consistent read
 * of the lock is the fence check, the approval is written only while this execution holds the lock, and the release
 * is conditional on that same read, so no other holder can have come and gone in between. Then the timeline entries
 * (approved, released, promoted) go out in one batch, beside the announcement.
 *
 * The approval is written before the release, so a retry after a crash either still holds the lock (and approves
 * again: a no-op) or finds the revision approved here and only announces again. A lock lost before the approval is
 * `LockLostError` (nothing approved, nothing to roll back); a failure after it is `AfterApprovalError`.
 */
async function approveAndRelease(
  deps: StepDependencies,
  input: Of<'approve-and-release'>,
): Promise<{ approved: number; released: boolean; emitted: string }> {
  let approved = false;
  const afterApproval = (error: unknown) =>
    new AfterApprovalError(
      `${input.application} revision ${input.revision} is approved in ${input.environment}, but releasing the lock or announcing the approval failed: ${(error as Error).message}`,
      { cause: error, details: { environment: input.environment, execution: input.execution } },
    );
  let fenced: FencedRelease;
  try {
    fenced = await deps.locks.releaseAfter(
      input.environment,
      input.execution,
      input.fencingToken,
      deps.clock(),
      async () => {
        await deps.environments.markApproved(input.environment, input.application, input.revision, deps.clock());
        approved = true;
      },
    );
  } catch (error) {
    throw approved ? afterApproval(error) : error;
  }
  if (!fenced.held) {
    // Not held: either the lock was lost before anything was approved, or this is a retry of a step that approved
    // and released before its answer was lost. The approval precedes the release, so the slot tells them apart.
    const slot = await deps.environments.slot(input.environment, input.application);
    if (!slot?.approved.includes(input.revision)) {
      throw new LockLostError(
        `Execution ${input.execution} no longer holds the lock of ${input.environment} (token ${input.fencingToken}); ${input.application} revision ${input.revision} is not approved there`,
        {
          details: { environment: input.environment, execution: input.execution, fencingToken: input.fencingToken },
        },
      );
    }
  }
  const released = fenced.held && fenced.released;
  const at = deps.clock();
  const announced = { ...input, action: 'emit-event' as const, type: 'promotion-succeeded' };
  try {
    await Promise.all([
      deps.events.append([
        {
          at,
          type: 'revision-approved',
          actor: actor(input.execution),
          message: `${input.application} revision ${input.revision} is approved in ${input.environment}`,
          environment: input.environment,
          application: input.application,
          revision: input.revision,
          promotion: input.promotion,
          execution: input.execution,
        },
        ...(fenced.held ? [releaseEntry(input, released, at)] : []),
        emittedEvent(announced, at),
      ]),
      announceSuccess(deps, announced),
    ]);
  } catch (error) {
    throw afterApproval(error);
  }
  return { approved: input.revision, released, emitted: announced.type };
}

/** The timeline entry of a release (or of a release the lock refused: another grant since). */
function releaseEntry(
  input: { environment: string; execution: string; fencingToken: number },
  released: boolean,
  at: number,
): PipelineEvent {
  return {
    at,
    type: released ? 'lock-released' : 'lock-release-refused',
    actor: actor(input.execution),
    message: released
      ? `Released the lock of ${input.environment} (token ${input.fencingToken})`
      : `Token ${input.fencingToken} no longer holds the lock of ${input.environment}; nothing to release`,
    environment: input.environment,
    execution: input.execution,
  };
}

/**
 * The end of a recovery execution: the approved revision it redeployed is current again (`record-deployed` wrote
 * it), so the timeline and the notification say the environment was rolled back, and why.
 */
async function recordRecovery(
  deps: StepDependencies,
  input: Of<'record-recovery'>,
): Promise<{ outcome: 'rolled-back' }> {
  await requireFence(deps, input);
  const now = deps.clock();
  const failed = input.recovery.failedRevision;
  const requestedBy = input.recovery.requestedBy;
  await Promise.all([
    deps.events.append({
      at: now,
      type: 'rollback-rolled-back',
      actor: actor(input.execution),
      message: requestedBy
        ? `Rolled ${input.environment} back from ${input.application} revision ${failed} to revision ${input.revision}: ${input.recovery.reason}`
        : `Rolled ${input.environment} back from ${input.application} revision ${failed} (never approved there) to revision ${input.revision}, its last approved revision: ${input.recovery.reason}`,
      environment: input.environment,
      application: input.application,
      revision: failed,
      promotion: input.promotion,
      execution: input.execution,
      details: { restored: input.revision, reason: input.recovery.reason, ...(requestedBy ? { requestedBy } : {}) },
    }),
    deps.notifier.publish(
      rollbackDone({
        pipeline: deps.pipeline.pipeline.name,
        environment: input.environment,
        application: input.application,
        revision: failed,
        outcome: 'rolled-back',
        restored: input.revision,
        execution: input.execution,
      }),
    ),
  ]);
  return { outcome: 'rolled-back' };
}

async function recordRollback(deps: StepDependencies, input: Of<'record-rollback'>): Promise<{ outcome: string }> {
  const now = deps.clock();
  const restored = input.previous.exists ? input.previous.number : undefined;
  // Whatever the rollback managed, the revision failed here: later waves must not get it.
  await deps.environments.markFailed(input.environment, input.application, input.revision);
  if (input.outcome === 'rolled-back' && restored !== undefined) {
    const revision = await deps.revisions.get(input.application, restored);
    await deps.environments.recordRolledBack(input.environment, input.application, {
      application: input.application,
      number: restored,
      versionSet: revision?.versionSet ?? {},
      deployedAt: now,
    });
  }
  const message = {
    'rolled-back': `Rolled ${input.environment} back from ${input.application} revision ${input.revision} to revision ${restored}`,
    'no-previous': `${input.environment} has no safe revision of ${input.application}: none was ever approved there, so revision ${input.revision} stays deployed, not approved, and nothing deploys over it until an operator allows it`,
    'rollback-failed': `Rolling ${input.environment} back to revision ${restored} failed`,
  }[input.outcome];
  // The timeline entry and the notification follow the state write and not each other.
  await Promise.all([
    deps.events.append({
      at: now,
      type: `rollback-${input.outcome}`,
      actor: actor(input.execution),
      message,
      environment: input.environment,
      application: input.application,
      revision: input.revision,
      promotion: input.promotion,
      execution: input.execution,
      details: { error: input.error?.Error, cause: input.error?.Cause?.slice(0, 2000), restored },
    }),
    deps.notifier.publish(
      rollbackDone({
        pipeline: deps.pipeline.pipeline.name,
        environment: input.environment,
        application: input.application,
        revision: input.revision,
        outcome: input.outcome,
        ...(restored !== undefined ? { restored } : {}),
        execution: input.execution,
      }),
    ),
  ]);
  return { outcome: input.outcome };
}

/**
 * Releases the lock; with `announce`, also announces the promotion (what `emit-event` does for
 * `promotion-succeeded`), so the success path takes one Task instead of two. Both timeline entries and the
 * notification follow the release and depend on nothing else, so they go out together; a retry releases again (a
 * no-op for the same token) and announces again, as a retried `emit-event` would.
 */
async function releaseLock(
  deps: StepDependencies,
  input: Of<'release-lock'>,
): Promise<{ released: boolean; emitted?: string }> {
  const released = await deps.locks.release(input.environment, input.execution, input.fencingToken);
  const at = deps.clock();
  const announced = input.announce && {
    ...input.announce,
    action: 'emit-event' as const,
    environment: input.environment,
    execution: input.execution,
    type: 'promotion-succeeded',
  };
  await Promise.all([
    deps.events.append([releaseEntry(input, released, at), ...(announced ? [emittedEvent(announced, at)] : [])]),
    ...(announced ? [announceSuccess(deps, announced)] : []),
  ]);
  return announced ? { released, emitted: announced.type } : { released };
}

async function notify(deps: StepDependencies, input: Of<'notify'>): Promise<{ notified: string }> {
  const notification = promotionFailed({
    pipeline: deps.pipeline.pipeline.name,
    environment: input.environment,
    application: input.application,
    revision: input.revision,
    stage: input.stage,
    error: input.error?.Error ?? 'unknown error',
    ...(input.error?.Cause ? { cause: input.error.Cause } : {}),
    execution: input.execution,
  });
  // The notification and the timeline entry record the same failure and do not depend on each other.
  await Promise.all([
    deps.notifier.publish(notification),
    deps.events.append({
      at: deps.clock(),
      type: notification.event,
      actor: actor(input.execution),
      message: notification.text.split('\n')[0] ?? notification.subject,
      environment: input.environment,
      application: input.application,
      revision: input.revision,
      promotion: input.promotion,
      execution: input.execution,
      details: { stage: input.stage, error: input.error?.Error, cause: input.error?.Cause?.slice(0, 2000) },
    }),
  ]);
  return { notified: notification.event };
}

function emittedEvent(input: Of<'emit-event'>, at: number): PipelineEvent {
  return {
    at,
    type: input.type,
    actor: actor(input.execution),
    message: input.message ?? `${input.type}: ${input.application} revision ${input.revision} in ${input.environment}`,
    environment: input.environment,
    application: input.application,
    revision: input.revision,
    promotion: input.promotion,
    execution: input.execution,
  };
}

/** The notification that follows a `promotion-succeeded` event. */
async function announceSuccess(deps: StepDependencies, input: Of<'emit-event'>): Promise<void> {
  if (input.type !== 'promotion-succeeded') return;
  await deps.notifier.publish(
    revisionApproved({
      pipeline: deps.pipeline.pipeline.name,
      environment: input.environment,
      application: input.application,
      revision: input.revision,
      execution: input.execution,
    }),
  );
}

async function emitEvent(deps: StepDependencies, input: Of<'emit-event'>): Promise<{ emitted: string }> {
  await Promise.all([deps.events.append(emittedEvent(input, deps.clock())), announceSuccess(deps, input)]);
  return { emitted: input.type };
}
