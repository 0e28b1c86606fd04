/**
 * Persistence ports. Each store persists what the decision core decides; none of them decides anything itself.
 * One DynamoDB adapter implements each (`lambdas/adapters/dynamo-*.ts`); tests and local mode run the same adapters
 * against DynamoDB Local or dynalite.
 *
 * Every time is epoch milliseconds. Every write that can race is conditional, so two concurrent callers can never
 * both win.
 */
import type { BuildRecord, BuildRequest, Push } from '../core/decide/autobuild';
import type {
  ApplicationAtEnvironment,
  DeployedRevision,
  EnvironmentPin,
  LockState,
  PipelineSwitches,
  PromotionApproval,
  RetryRequest,
  Revision,
  RollbackClaim,
} from '../core/model';

/** What a build produced, before it has a number. */
export type RevisionDraft = Omit<Revision, 'number' | 'testResults' | 'application'> & {
  readonly testResults?: Revision['testResults'];
};

export interface RevisionStore {
  /**
   * Records what build `buildId` produced as the next revision of `application`, once: the number comes from the
   * application's atomic counter, then `prepare(number)` says what the revision holds (e.g. after copying the
   * artifact to the revision's own location), then revision N is written (immutable). A repeated call for the same
   * build returns the revision written the first time; a crashed caller's reserved number is reused, so numbers
   * have no gaps.
   */
  create(application: string, buildId: string, prepare: (number: number) => Promise<RevisionDraft>): Promise<Revision>;
  get(application: string, number: number): Promise<Revision | undefined>;
  /** All revisions of an application, oldest first. Reads the whole history: not for the reconcile pass. */
  list(application: string): Promise<Revision[]>;
  /**
   * Revisions of an application, newest first: at most `limit`, none numbered below `atLeast` and, with `below`,
   * none numbered `below` or above (a cursor for reading on from an earlier page). Costs what it returns, however
   * long the history (what the reconcile pass reads candidates through).
   */
  newest(application: string, options: { limit: number; atLeast?: number; below?: number }): Promise<Revision[]>;
  /**
   * The number of the newest revision of `application` built from or including a commit whose id starts with
   * `commit` (any case): one it lists among its commits, or a version in its version set. Reads one index item,
   * however long the history (revisions written before the index, until `indexLegacyCommits` reached them, are
   * read when the index has no match).
   */
  findByCommit(application: string, commit: string): Promise<number | undefined>;
  /**
   * Indexes by commit up to `budget` revisions written before the commit index, newest first; returns how many.
   * Idempotent and safe to run concurrently; 0 once every revision is indexed (the reconcile pass calls it).
   */
  indexLegacyCommits(application: string, budget: number): Promise<number>;
  /** The revisions among `numbers` that exist, by number, read consistently in batches. */
  getMany(application: string, numbers: readonly number[]): Promise<Revision[]>;
  /** Sets the test results of one environment's approval workflow on a revision (the only mutable part). */
  recordTestResults(
    application: string,
    number: number,
    environment: string,
    results: { passed: number; failed: number },
  ): Promise<void>;
  /** Finds the revision a build produced (makes build completion idempotent). */
  findByBuildId(application: string, buildId: string): Promise<Revision | undefined>;
}

/**
 * How many of the latest approvals an environment slot's `approved` list keeps (older ones live in the approved
 * index only). Rollbacks and recovery need the last approved revision other than the current one; each approval
 * follows a deploy there, so the current revision is never more than a couple of approvals back.
 */
export const APPROVED_TAIL = 16;

export interface EnvironmentStore {
  /** application -> slot (current, previous, approved) at one environment. */
  get(environment: string): Promise<Record<string, ApplicationAtEnvironment>>;
  /** One application's slot at an environment, read consistently; undefined when nothing was recorded there. */
  slot(environment: string, application: string): Promise<ApplicationAtEnvironment | undefined>;
  /**
   * Sets `current` to the new revision and `previous` to `before.current`, unless `before.current` already is it.
   * `before` is what the caller read with `slot`: the write is conditional on the slot still holding that
   * `current`, so a change in between fails the call (ConditionalCheckFailedException) instead of being lost.
   */
  recordDeployed(
    environment: string,
    revision: DeployedRevision,
    before: ApplicationAtEnvironment | undefined,
  ): Promise<ApplicationAtEnvironment>;
  /** After a rollback: `current` becomes `restored`, the revision that was current before the failed deploy. */
  recordRolledBack(environment: string, application: string, restored: DeployedRevision): Promise<void>;
  /**
   * Records that `revision` passed its approval workflow at `environment` (idempotent): in the approved index, and
   * at the end of the slot's `approved` list, which keeps the last `APPROVED_TAIL` approvals in approval order; and
   * as the latest approval at `at` (a second call for the same revision changes nothing).
   */
  markApproved(environment: string, application: string, revision: number, at: number): Promise<void>;
  /** Records that `revision`'s approval workflow failed at the environment (idempotent); waves stop on it. */
  markFailed(environment: string, application: string, revision: number): Promise<void>;
  /**
   * The approved index: revision numbers approved at `environment`, newest first, at most `limit`, none below
   * `atLeast`. Approvals still in a slot's list from before the index (see `compactApproved`) may be missing here:
   * readers take the union with the slot's `approved`.
   */
  approvedNewest(
    environment: string,
    application: string,
    options: { limit: number; atLeast?: number },
  ): Promise<number[]>;
  /**
   * Moves the oldest entries of a slot's `approved` list (as the caller read it) beyond the last `APPROVED_TAIL`
   * into the approved index: at most `budget` per call, idempotent, safe to run concurrently and to resume after a
   * crash. Returns how many moved (0 when the list is short enough, or another caller moved them first). This is
   * how a list written by an older Lockstep, which held every approval, is migrated.
   */
  compactApproved(
    environment: string,
    application: string,
    approved: readonly number[],
    budget: number,
  ): Promise<number>;
  /** Records an operator's permission to deploy over `revision`, which was never approved there (`cleared`). */
  clearUnsafe(environment: string, application: string, revision: number): Promise<void>;
  /** Pipeline-wide switches, falling back to the pipeline definition's values when never switched. */
  switches(defaults: PipelineSwitches): Promise<PipelineSwitches>;
  setSwitches(switches: Partial<PipelineSwitches>, by: string): Promise<PipelineSwitches>;
  /** Promotion enabled flags switched at run time (promotion id -> enabled). */
  promotionSwitches(): Promise<Record<string, boolean>>;
  setPromotionEnabled(promotionId: string, enabled: boolean, by: string): Promise<void>;
  /** Manual go-aheads for manual promotions. Reads every one ever recorded: not for the reconcile pass. */
  promotionApprovals(promotionId: string): Promise<PromotionApproval[]>;
  /** Manual go-aheads recorded for the given revisions of `application` along a promotion (a batch read by key). */
  promotionApprovalsFor(
    promotionId: string,
    application: string,
    revisions: readonly number[],
  ): Promise<PromotionApproval[]>;
  /** Records a go-ahead decision once: a second decision on the same (promotion, application, revision) loses. */
  decidePromotion(approval: PromotionApproval): Promise<boolean>;
  /** Remembers that an approval request was sent for a manual promotion (true only for the first caller). */
  claimPromotionRequest(promotionId: string, application: string, revision: number, now: number): Promise<boolean>;
  /**
   * Remembers the last decision reconcile made for a (promotion, application); true when it differs from the one
   * before, so the timeline records each change once instead of every minute.
   */
  noteDecision(promotionId: string, application: string, summary: string, now: number): Promise<boolean>;
  /**
   * Writes a whole slot for an application at an environment unless one exists there (a renamed environment
   * adopting its old name's slot). True when written.
   */
  adoptSlot(environment: string, application: string, slot: ApplicationAtEnvironment): Promise<boolean>;
  /** The environment names the last reconcile pass saw in the definition; undefined before the first. */
  knownEnvironments(): Promise<string[] | undefined>;
  setKnownEnvironments(names: readonly string[]): Promise<void>;
}

export type AcquireResult =
  { readonly acquired: true; readonly lock: LockState } | { readonly acquired: false; readonly holder: LockState };

export interface LockStore {
  /** The lock as stored; an expired lease is returned as null (free). */
  get(environment: string, now: number): Promise<LockState | null>;
  /**
   * Acquires when free, expired, or already held by `owner` (re-entry keeps the token and extends the lease).
   * A fresh grant takes the last fencing token + 1; tokens are never reset.
   */
  acquire(environment: string, owner: string, leaseMs: number, now: number): Promise<AcquireResult>;
  /** Extends the lease; only for the holder with the current token while its lease has not expired. */
  renew(environment: string, owner: string, fencingToken: number, leaseMs: number, now: number): Promise<boolean>;
  /**
   * A holder's fence check before an action: true when `owner` holds the current grant `fencingToken` with a live
   * lease, read consistently; the lease is renewed in the same call only when it is due (`renewalInterval`), so a
   * check between renewals costs one read. False when the token is stale, the lock is another's or released, or
   * the lease expired.
   */
  heartbeat(environment: string, owner: string, fencingToken: number, leaseMs: number, now: number): Promise<boolean>;
  /** Releases; only with the current token (a repeated release is a no-op). False when the token is stale. */
  release(environment: string, owner: string, fencingToken: number): Promise<boolean>;
  /** True when `fencingToken` is the current grant and its lease has not expired. */
  validate(environment: string, fencingToken: number, now: number): Promise<boolean>;
  /**
   * A holder's last act under the lock, with a full fence check: one consistent read checks that `owner` holds the
   * grant `fencingToken` with a live lease at `now`; only then `work` runs, and the lock is released on condition
   * that it is still exactly what was read, so nobody took it between the check and the release. When the fence
   * refuses, `work` does not run.
   */
  releaseAfter(
    environment: string,
    owner: string,
    fencingToken: number,
    now: number,
    work: () => Promise<void>,
  ): Promise<FencedRelease>;
}

/**
 * What `LockStore.releaseAfter` did. `released: false` after the work ran: the lock changed between the read and the
 * release (an operator's unlock, or the lease ended and another holder took it), so there was nothing to release.
 */
export type FencedRelease = { readonly held: true; readonly released: boolean } | { readonly held: false };

export interface PipelineEvent {
  readonly at: number;
  /** e.g. `push-recorded`, `build-started`, `revision-created`, `deploy-started`, `approval-decided`, ... */
  readonly type: string;
  /** Who did it: a user email, `github:<login>`, or an agent (`agent:reconcile`, `execution:<name>`). */
  readonly actor: string;
  readonly message: string;
  readonly environment?: string;
  readonly application?: string;
  readonly revision?: number;
  readonly promotion?: string;
  readonly execution?: string;
  readonly details?: Record<string, unknown>;
}

/** A timeline that is one partition of its own: an environment's, or a revision's. */
export type TimelineScope =
  { readonly environment: string } | { readonly application: string; readonly revision: number };

/** A stretch of a timeline read from a position (`EventStore.readTimeline`). */
export interface TimelineRead {
  /** In the order read: newest first going `older`, oldest first going `newer`. */
  readonly events: readonly PipelineEvent[];
  /** Each event's position in its timeline, to read on from it. Opaque to callers. */
  readonly positions: readonly string[];
  /** Whether the timeline holds more entries past the last one read. */
  readonly more: boolean;
}

export interface EventStore {
  /**
   * Appends to the pipeline timeline and, when given, to the environment's and the revision's timelines. Several
   * events of one step go in as few round trips as the store allows (one for up to 8 events in DynamoDB).
   */
  append(events: PipelineEvent | readonly PipelineEvent[]): Promise<void>;
  /** Newest first. */
  list(
    scope: { environment?: string; application?: string; revision?: number },
    limit?: number,
  ): Promise<PipelineEvent[]>;
}

/** Reads timelines by position, for paging through them (the console's timeline pages). */
export interface TimelineReader {
  /**
   * At most `limit` entries of a timeline past `from` (a position an earlier read returned; absent: from the newest
   * going `older`), in `direction`. Reads `limit` + 1 entries however deep `from` lies: a page of an old stretch
   * costs what a first page does.
   */
  readTimeline(
    scope: TimelineScope,
    options: { readonly limit: number; readonly from?: string; readonly direction: 'older' | 'newer' },
  ): Promise<TimelineRead>;
}

export interface ApprovalBinding {
  readonly execution: string;
  readonly environment: string;
  readonly application: string;
  readonly revision: number;
}

export interface ApprovalRequestRecord extends ApprovalBinding {
  readonly requestId: string;
  /** `environment`: an approval workflow's manual step (has a task token); `promotion`: a manual promotion. */
  readonly kind: 'environment' | 'promotion';
  readonly promotion?: string;
  readonly approvers: readonly string[];
  /** How many distinct approvers must approve. @default 1 */
  readonly required?: number;
  /** Approvers who approved so far, in order (only kept when `required` > 1). @default none */
  readonly approvedBy?: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly status: 'pending' | 'approved' | 'rejected';
  readonly decidedBy?: string;
  readonly decidedAt?: number;
  readonly comment?: string;
  /** When the approvers' links were published; absent while they were not (yet) sent. */
  readonly notifiedAt?: number;
  /**
   * Whether a decision reached the workflow that waits for it (`SendTaskSuccess`/`SendTaskFailure`, or the
   * go-ahead record of a manual promotion): `pending` from the decision until delivery succeeded, then `delivered`;
   * `undeliverable` when the workflow no longer waited (timed out or stopped). Absent on a pending request, and on
   * requests decided before delivery was tracked (treated as delivered).
   */
  readonly delivery?: 'pending' | 'delivered' | 'undeliverable';
  /** When delivery finished (delivered or found undeliverable). */
  readonly deliveredAt?: number;
  /**
   * Set on the permission-broadening confirmation of a `deploy.cdk` environment (before its deploy, not its manual
   * approval step): the security changes the approvers confirm. @default none (a manual approval or promotion)
   */
  readonly securityDiff?: SecurityDiffExcerpt;
}

/** The security changes a permissions-broadening confirmation shows (`lambdas/promotion/permissions-gate.ts`). */
export interface SecurityDiffExcerpt {
  /** Stacks whose diff broadens permissions. */
  readonly stacks: readonly string[];
  /** The CDK CLI's security tables, cut to a bounded excerpt. */
  readonly excerpt: string;
  /** Whether the excerpt is shorter than the whole diff. */
  readonly truncated: boolean;
  /** Where the whole diff is (`s3://...`). */
  readonly location: string;
}

/**
 * How long one caller holds the delivery of a decision: longer than a Step Functions call with the SDK's retries
 * takes, short enough that a crashed deliverer's decision goes out on the next reconcile pass or two.
 */
export const APPROVAL_DELIVERY_LEASE_MS = 60_000;

/** A decided request whose delivery the caller holds (for a while: see `ApprovalStore.claimDelivery`). */
export interface ClaimedDelivery {
  readonly request: ApprovalRequestRecord;
  readonly taskToken: string | undefined;
}

export interface ApprovalStore {
  /** Writes a new request with its task token (never returned by `get`). Fails if the id exists. */
  create(request: ApprovalRequestRecord, taskToken: string | undefined): Promise<void>;
  get(requestId: string): Promise<ApprovalRequestRecord | undefined>;
  /** Records that the approvers' links went out, so a repeated request step does not mail them again. */
  markNotified(requestId: string, at: number): Promise<void>;
  /**
   * Moves a pending, unexpired request to a decision with `delivery: 'pending'`, listed by `undelivered` until
   * `finishDelivery`. Exactly one caller wins; it gets the task token back and holds the delivery for
   * `APPROVAL_DELIVERY_LEASE_MS` from `decidedAt`. Losers (already decided, expired) get `undefined`.
   */
  decide(
    requestId: string,
    decision: { status: 'approved' | 'rejected'; decidedBy: string; decidedAt: number; comment?: string },
  ): Promise<{ taskToken: string | undefined } | undefined>;
  /**
   * Adds `approver`'s approval to a pending, unexpired request that needs several (idempotent per approver).
   * Returns the approvers who approved so far, or `undefined` when the request is no longer pending or expired.
   */
  addApproval(requestId: string, approver: string, at: number): Promise<readonly string[] | undefined>;
  /**
   * Takes over the delivery of a decided, undelivered request whose delivery nobody holds (never held, released,
   * or its lease ended before `now`), for `APPROVAL_DELIVERY_LEASE_MS`. Exactly one caller wins; others get
   * `undefined`.
   */
  claimDelivery(requestId: string, now: number): Promise<ClaimedDelivery | undefined>;
  /** Lets go of a delivery that failed, so the next attempt need not wait for the lease to end. */
  releaseDelivery(requestId: string): Promise<void>;
  /** Records how delivery ended; the request leaves `undelivered`. */
  finishDelivery(requestId: string, outcome: 'delivered' | 'undeliverable', at: number): Promise<void>;
  /** Ids of decided requests whose delivery is still pending, oldest decision first. */
  undelivered(now: number): Promise<string[]>;
}

/** A build of the AutoBuild history, plus the CodeBuild id once started and the revision it became once recorded. */
export type StoredBuild = BuildRecord & {
  readonly application: string;
  readonly buildId?: string;
  readonly revision?: number;
  /** Why a failed build failed, as reported (e.g. "commit … is not in …: was the push force-overwritten …?"). */
  readonly failure?: string;
};

/**
 * AutoBuild's pushes and build history, in the shapes of the decision core (`planBuilds` decides; this persists).
 */
export interface BuildStore {
  /** Records a push (idempotent per (package, commit)). False when it was known already. */
  recordPush(push: Push): Promise<boolean>;
  /** Every push known; `planBuilds` works out which are pending. */
  pushes(): Promise<Push[]>;
  /** application -> its builds. */
  history(applications: readonly string[]): Promise<Record<string, StoredBuild[]>>;
  /**
   * Claims a planned build request: exactly one caller per `request.requestId` wins and must start the build then
   * call `started`. The claim already counts as a running build for `planBuilds`.
   */
  claim(request: BuildRequest, now: number): Promise<boolean>;
  started(application: string, requestId: string, buildId: string): Promise<void>;
  /** Completes a running build once: true for the first caller. */
  complete(
    application: string,
    requestId: string,
    outcome: { status: 'succeeded' | 'failed'; finishedAt: number; revision?: number; failure?: string },
  ): Promise<boolean>;
}

export interface DeliveryStore {
  /** Remembers a delivery id for `ttlMs`; false when it was seen before (and has not expired). */
  remember(id: string, now: number, ttlMs: number): Promise<boolean>;
  /** Forgets a delivery whose processing failed, so the sender's redelivery is processed. */
  forget(id: string): Promise<void>;
}

/** What an execution started for a promotion; kept so the decision core knows what was started. */
export interface ExecutionRecord {
  readonly promotion: string;
  readonly application: string;
  readonly revision: number;
  readonly executionName: string;
  readonly executionArn?: string;
  readonly startedAt: number;
  /** Which attempt of (promotion, application, revision) this is. @default 1 (records from before attempts) */
  readonly attempt?: number;
}

export interface ExecutionStore {
  /** Records a started execution (idempotent per execution name). */
  record(execution: ExecutionRecord): Promise<void>;
  /** Execution names started for a promotion. Reads the whole history: not for the reconcile pass. */
  names(promotionId: string): Promise<string[]>;
  /** Which of `names` were started for the promotion: a batch read by key, whatever the history. */
  started(promotionId: string, names: readonly string[]): Promise<string[]>;
  /** Executions started for a promotion, oldest first. */
  list(promotionId: string): Promise<ExecutionRecord[]>;
  /**
   * Records a retry request once per (promotion, application, revision, attempt): true for the first caller, false
   * when that attempt was requested already (two operators, or one command run twice).
   */
  requestRetry(request: RetryRequest): Promise<boolean>;
  /** Retry requests of a promotion. */
  retries(promotionId: string): Promise<RetryRequest[]>;
}

/**
 * What operators set on environments by hand: pins, and the claims that keep operator rollbacks one at a time.
 * Kept apart from `EnvironmentStore` because the reconcile pass reads all pins in one query (`pins`).
 */
export interface OperatorStore {
  /** Every pin of the pipeline (one query). */
  pins(): Promise<EnvironmentPin[]>;
  pin(environment: string, application: string): Promise<EnvironmentPin | undefined>;
  /** Sets (or replaces) the pin of an application at an environment. */
  setPin(pin: EnvironmentPin): Promise<void>;
  /** Removes a pin; returns the pin removed, undefined when there was none. */
  removePin(environment: string, application: string): Promise<EnvironmentPin | undefined>;
  /** The last rollback claimed for an application at an environment. */
  rollbackClaim(environment: string, application: string): Promise<RollbackClaim | undefined>;
  /**
   * Claims the rollback of a deployment: true for exactly one caller. Wins when no claim exists, when the stored
   * claim is for another deployment (`fromDeployedAt` differs), or when `replacing` names the stored claim's
   * execution (the caller found it ended).
   */
  claimRollback(claim: RollbackClaim, replacing?: string): Promise<boolean>;
}
