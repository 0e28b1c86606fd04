/**
 * The alarm-watched bake (`approval.bakeTime: { duration, alarms }`): the promotion state machine runs `start-bake`
 * once, then waits and runs `check-bake` until the bake time is over (docs/ARCHITECTURE.md, "Alarm-watched bake").
 * Every check reads the alarms' history since the bake started as well as their current state, so an alarm that
 * went into ALARM and back between two checks still fails the bake.
 *
 * The verdicts (`startVerdict`, `checkVerdict`) are pure; `startBake` and `checkBake` add the fence check, the reads
 * through the `AlarmReader` port, the timeline entries and the typed errors the ASL catches.
 */
import type { Pipeline } from '../core/config/schema';
import { LockstepError } from '../core/errors';
import type { AlarmFiring, AlarmReader, AlarmScope, AlarmState } from '../ports/services';
import type { EventStore } from '../ports/stores';
import { AlarmFiredError, AlarmReadError, BakeBlockedError, NotFoundError } from './errors';
import { environmentDefinition } from './execution-input';

/** The shortest wait between two checks of a bake's alarms. */
export const BAKE_POLL_MIN_MS = 60_000;
/**
 * At most this many checks per bake: longer bakes check less often (`bakePollIntervalMs`). Each check costs 9
 * history events (Wait, CheckBake, BakeOver), so a bake of any length costs at most about 5,400 of Step
 * Functions' 25,000 events per execution, and a 7-day bake checks every 17 minutes.
 */
export const BAKE_MAX_POLLS = 600;

/**
 * How long the state machine waits between two checks of a bake of `bakeMs`: a minute for bakes up to 10 hours,
 * then `bakeMs / BAKE_MAX_POLLS` (whole seconds). A firing is never missed (each check reads the history since the
 * bake started); a longer interval only delays the rollback by up to that much.
 *
 * @example
 * bakePollIntervalMs(30 * 60_000); // 60_000
 * bakePollIntervalMs(7 * 86_400_000); // 1_008_000 (16.8 minutes)
 */
export function bakePollIntervalMs(bakeMs: number): number {
  return Math.max(BAKE_POLL_MIN_MS, Math.ceil(bakeMs / BAKE_MAX_POLLS / 1000) * 1000);
}

/** What `start-bake` and `check-bake` return: the state machine keeps it at `$.bake`. */
export interface BakeProgress {
  /** When the bake started (ISO 8601): history is read from here. */
  readonly startedAt: string;
  /** When it is over (ISO 8601). */
  readonly endsAt: string;
  /** The next Wait: the poll interval, or less when the bake ends sooner; 0 when done. */
  readonly waitSeconds: number;
  /** True once the bake time is over and no alarm was in ALARM during it. */
  readonly done: boolean;
}

/** What a bake needs beyond its input. */
export interface BakeDependencies {
  readonly pipeline: Pipeline;
  readonly events: EventStore;
  /** CloudWatch, through the composition root's adapter. Absent: an alarm bake fails with the reason. */
  readonly alarms?: AlarmReader;
  readonly clock: () => number;
}

/** The promotion the bake belongs to, and the alarms its execution input names. */
export interface BakeTarget {
  readonly execution: string;
  readonly promotion: string;
  readonly application: string;
  readonly environment: string;
  readonly revision: number;
  /** Alarm names (ARNs in the pipeline are resolved to names in the execution input). */
  readonly alarms: readonly string[];
}

/**
 * Where an environment's alarms are read: its region (else Lockstep's own) and, when it names one, through its
 * `roleArn` (the role its deploy assumes, which must also allow the two CloudWatch reads).
 */
export function alarmScope(pipeline: Pipeline, environment: string): AlarmScope {
  const definition = environmentDefinition(pipeline, environment);
  if (!definition)
    throw new NotFoundError(`Environment ${environment} is not in the pipeline`, { details: { environment } });
  return {
    ...(definition.region !== undefined ? { region: definition.region } : {}),
    ...(definition.roleArn !== undefined ? { roleArn: definition.roleArn } : {}),
  };
}

/** A verdict on the alarms: go on, or fail with what the user reads. */
export type BakeVerdict =
  | { readonly kind: 'clear' }
  | { readonly kind: 'blocked'; readonly alarm: string; readonly reason: string }
  | { readonly kind: 'fired'; readonly alarm: string; readonly at: string; readonly reason: string };

/**
 * At the start: every alarm must exist, none may be in ALARM, and none in INSUFFICIENT_DATA unless accepted. The
 * first alarm in configuration order that stops the bake is the one named.
 */
export function startVerdict(
  names: readonly string[],
  states: readonly AlarmState[],
  acceptInsufficientData: boolean,
): BakeVerdict {
  const byName = new Map(states.map((s) => [s.name, s]));
  for (const name of names) {
    const state = byName.get(name);
    if (!state) return { kind: 'blocked', alarm: name, reason: 'missing' };
    if (state.state === 'ALARM') return { kind: 'fired', alarm: name, at: state.updatedAt, reason: state.reason };
    if (state.state === 'INSUFFICIENT_DATA' && !acceptInsufficientData)
      return { kind: 'blocked', alarm: name, reason: state.reason };
  }
  return { kind: 'clear' };
}

/**
 * During the bake: the earliest transition into ALARM since the start fails it, else an alarm in ALARM now (its
 * history entry may not be written yet), else an alarm that no longer exists blocks it. INSUFFICIENT_DATA during the
 * bake does not fail it: the alarm's own `TreatMissingData` says whether missing data is breaching.
 */
export function checkVerdict(
  names: readonly string[],
  states: readonly AlarmState[],
  firings: readonly AlarmFiring[],
): BakeVerdict {
  const watched = new Set(names);
  const first = [...firings].filter((f) => watched.has(f.name)).sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[0];
  if (first) return { kind: 'fired', alarm: first.name, at: first.at, reason: first.reason };
  const byName = new Map(states.map((s) => [s.name, s]));
  for (const name of names) {
    const state = byName.get(name);
    if (state?.state === 'ALARM') return { kind: 'fired', alarm: name, at: state.updatedAt, reason: state.reason };
  }
  const gone = names.find((name) => !byName.has(name));
  return gone === undefined ? { kind: 'clear' } : { kind: 'blocked', alarm: gone, reason: 'deleted' };
}

/** The next Wait and whether the bake is over, at `now`. */
export function bakeProgress(startedAt: number, endsAt: number, now: number): BakeProgress {
  const left = endsAt - now;
  const interval = bakePollIntervalMs(endsAt - startedAt);
  return {
    startedAt: new Date(startedAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
    // Whole seconds for the Wait state, and never 0 before the end, so the loop cannot spin.
    waitSeconds: left <= 0 ? 0 : Math.max(1, Math.ceil(Math.min(interval, left) / 1000)),
    done: left <= 0,
  };
}

/** Where the alarms were looked for, as the user reads it: "region eu-west-1 (read through arn:...)". */
function where(scope: AlarmScope): string {
  const account = scope.roleArn ? `the account of ${scope.roleArn}` : "Lockstep's own account";
  return `${scope.region ? `region ${scope.region}` : "Lockstep's own region"} of ${account}`;
}

function revisionIn(target: BakeTarget): string {
  return `${target.application} revision ${target.revision} in ${target.environment}`;
}

function reader(deps: BakeDependencies): AlarmReader {
  if (!deps.alarms) {
    throw new AlarmReadError(
      'This runtime has no CloudWatch alarm reader, so the bake cannot watch its alarms; build the step dependencies with createRuntime (lambdas/adapters/runtime.ts)',
    );
  }
  return deps.alarms;
}

/** Reads through the port; anything but a Lockstep error becomes `AlarmReadError`, with what to check. */
async function read<T>(target: BakeTarget, scope: AlarmScope, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LockstepError) throw error;
    throw new AlarmReadError(
      `Could not read the bake alarms of ${target.environment} (${target.alarms.join(', ')}) in ${where(scope)}: ${(error as Error).message}. ` +
        `Check that ${scope.roleArn ? `${scope.roleArn} trusts Lockstep's promotion-steps role and allows` : 'the promotion-steps role allows'} cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory on them.`,
      { cause: error, details: { environment: target.environment, alarms: target.alarms } },
    );
  }
}

/** The typed error, and its timeline entry, for a verdict that stops the bake. */
async function stop(
  deps: BakeDependencies,
  target: BakeTarget,
  verdict: Exclude<BakeVerdict, { kind: 'clear' }>,
  scope: AlarmScope,
  phase: 'start' | 'check',
): Promise<never> {
  const environment = target.environment;
  let error: LockstepError;
  if (verdict.kind === 'fired') {
    error = new AlarmFiredError(
      `Alarm ${verdict.alarm} ${phase === 'start' ? `was in ALARM (since ${verdict.at}) when the bake of ${revisionIn(target)} started` : `went into ALARM at ${verdict.at} during the bake of ${revisionIn(target)}`}: ${verdict.reason}`,
      { details: { environment, alarm: verdict.alarm, at: verdict.at, reason: verdict.reason } },
    );
  } else if (verdict.reason === 'missing' || verdict.reason === 'deleted') {
    error = new BakeBlockedError(
      `The bake of ${revisionIn(target)} is blocked: alarm ${verdict.alarm} ${verdict.reason === 'missing' ? 'does not exist' : 'was deleted during the bake'} in ${where(scope)}. ` +
        `Create the alarm there, or correct its name in approval.bakeTime.alarms of ${environment}.`,
      { details: { environment, alarm: verdict.alarm } },
    );
  } else {
    error = new BakeBlockedError(
      `The bake of ${revisionIn(target)} is blocked: alarm ${verdict.alarm} is in INSUFFICIENT_DATA (${verdict.reason}), so it cannot tell whether the revision is healthy. ` +
        `Make its metric report data (an alarm on requests needs traffic), or set approval.bakeTime.acceptInsufficientData: true for ${environment}.`,
      { details: { environment, alarm: verdict.alarm, reason: verdict.reason } },
    );
  }
  await deps.events.append({
    at: deps.clock(),
    type: verdict.kind === 'fired' ? 'bake-alarm-fired' : 'bake-blocked',
    actor: `execution:${target.execution}`,
    message: error.message,
    environment,
    application: target.application,
    revision: target.revision,
    promotion: target.promotion,
    execution: target.execution,
    details: { ...error.details },
  });
  throw error;
}

/**
 * Starts the bake: the fence check and the alarms' current states in one round trip, then the start verdict. A
 * clear start records `bake-started` and returns the first Wait.
 *
 * @throws BakeBlockedError (missing, INSUFFICIENT_DATA), AlarmFiredError (in ALARM), AlarmReadError, LockLostError
 */
export async function startBake(
  deps: BakeDependencies,
  target: BakeTarget & { readonly bakeSeconds: number; readonly acceptInsufficientData: boolean },
  fence: () => Promise<void>,
): Promise<BakeProgress> {
  const scope = alarmScope(deps.pipeline, target.environment);
  const alarms = reader(deps);
  const [, states] = await Promise.all([fence(), read(target, scope, () => alarms.states(scope, target.alarms))]);
  const verdict = startVerdict(target.alarms, states, target.acceptInsufficientData);
  if (verdict.kind !== 'clear') return stop(deps, target, verdict, scope, 'start');
  const now = deps.clock();
  const progress = bakeProgress(now, now + target.bakeSeconds * 1000, now);
  const accepted = states.filter((s) => s.state === 'INSUFFICIENT_DATA').map((s) => s.name);
  await deps.events.append({
    at: now,
    type: 'bake-started',
    actor: `execution:${target.execution}`,
    message:
      `Baking ${revisionIn(target)} until ${progress.endsAt}, watching ${target.alarms.join(', ')} (checked every ${bakePollIntervalMs(target.bakeSeconds * 1000) / 1000} s)` +
      (accepted.length > 0 ? `; ${accepted.join(', ')} in INSUFFICIENT_DATA, accepted by acceptInsufficientData` : ''),
    environment: target.environment,
    application: target.application,
    revision: target.revision,
    promotion: target.promotion,
    execution: target.execution,
    details: { alarms: [...target.alarms], startedAt: progress.startedAt, endsAt: progress.endsAt },
  });
  return progress;
}

/**
 * One check during the bake: the fence, the alarms' history since the start and their current states, all in one
 * round trip. The last check (at the end of the bake) covers the whole bake too, so a pass records `bake-passed`.
 *
 * @throws AlarmFiredError, BakeBlockedError (an alarm deleted), AlarmReadError, LockLostError
 */
export async function checkBake(
  deps: BakeDependencies,
  target: BakeTarget & { readonly startedAt: string; readonly endsAt: string },
  fence: () => Promise<void>,
): Promise<BakeProgress> {
  const scope = alarmScope(deps.pipeline, target.environment);
  const alarms = reader(deps);
  const [, states, firings] = await Promise.all([
    fence(),
    read(target, scope, () => alarms.states(scope, target.alarms)),
    read(target, scope, () => alarms.firingsSince(scope, target.alarms, target.startedAt)),
  ]);
  const verdict = checkVerdict(target.alarms, states, firings);
  if (verdict.kind !== 'clear') return stop(deps, target, verdict, scope, 'check');
  const now = deps.clock();
  const progress = bakeProgress(Date.parse(target.startedAt), Date.parse(target.endsAt), now);
  if (progress.done) {
    await deps.events.append({
      at: now,
      type: 'bake-passed',
      actor: `execution:${target.execution}`,
      message: `${revisionIn(target)} baked from ${target.startedAt} to ${target.endsAt} with none of ${target.alarms.join(', ')} in ALARM`,
      environment: target.environment,
      application: target.application,
      revision: target.revision,
      promotion: target.promotion,
      execution: target.execution,
      details: { alarms: [...target.alarms], startedAt: target.startedAt, endsAt: target.endsAt },
    });
  }
  return progress;
}
