/**
 * Errors of the promotion runtime. Each `name` is what the promotion state machine's Retry/Catch match on, so
 * renaming a class is a contract change (see `statemachines/promotion.asl.json`).
 */
import { LockstepError } from '../core/errors';

/** Base of errors raised by the promotion steps, agents and stores. */
export class PromotionError extends LockstepError {}

/** A conditional write lost to a concurrent writer that is still working (retry later). */
export class ConcurrentUpdateError extends PromotionError {}

/** The caller's fencing token is not the lock's current grant (its lease expired, another holder took over). */
export class LockLostError extends PromotionError {}

/**
 * The revision is approved in the environment, but what follows the approval (releasing the lock, the timeline
 * entries, the announcement) failed. Retrying is safe (the step recognises its own approval); after the last retry
 * the promotion still counts as approved and only announces itself (`EmitPromoted`), it never rolls back.
 */
export class AfterApprovalError extends PromotionError {}

/** One or more test steps of an approval workflow failed. */
export class TestsFailedError extends PromotionError {}

/** A compliance policy refused the sign-off; `details.findings` says why. */
export class ComplianceFailedError extends PromotionError {}

/** The pipeline names a compliance policy that does not exist. */
export class UnknownCompliancePolicyError extends PromotionError {}

/** An approver rejected the revision (sent as the task failure of the manual approval step). */
export class ApprovalRejectedError extends PromotionError {}

/** Input to a handler did not have the expected shape. */
export class InvalidInputError extends PromotionError {}

/** Something the input names (revision, environment, request) does not exist. */
export class NotFoundError extends PromotionError {}

export { HttpError } from '../core/errors';

/** `lockstep retry` found nothing it may retry; the message says what stands and what to do instead. */
export class RetryRefusedError extends PromotionError {}

/**
 * A CloudWatch alarm the bake watches was in ALARM during the bake: the approval workflow fails and the revision
 * rolls back. The message names the alarm, when it fired and CloudWatch's reason.
 */
export class AlarmFiredError extends PromotionError {}

/**
 * The bake could not start watching its alarms: one is missing, or in INSUFFICIENT_DATA without
 * `acceptInsufficientData`. The message says which alarm and how to fix it; the workflow fails (no unwatched bake).
 */
export class BakeBlockedError extends PromotionError {}

/** Reading the bake's alarms from CloudWatch failed (throttled, denied, unreachable); the state machine retries it. */
export class AlarmReadError extends PromotionError {}
