/**
 * Manual approvals: sending a request (one signed link per approver) and deciding it exactly once.
 *
 * Identity: the approval topic gets one message per approver, with a message attribute `approver`; each approver's
 * email subscription filters on it, so a link reaches only the mailbox it was signed for. The link's signature
 * covers that approver, so whoever posts the form decides as the approver the link was sent to; the form has no
 * identity field to forge. (Forwarding the email forwards the authority, as with any emailed link.)
 *
 * The same mechanism serves an environment's manual approval step (the request holds a Step Functions task token)
 * and a manual promotion's go-ahead (no token: the decision is recorded for `decide()` to read).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Revision } from '../core/model';
import type { Notifier, Orchestrator } from '../ports/services';
import type {
  ApprovalRequestRecord,
  ApprovalStore,
  SecurityDiffExcerpt,
  EnvironmentStore,
  EventStore,
  RevisionStore,
} from '../ports/stores';
import { ApprovalLinkSigner, type ApprovalLinkClaims } from './approval-link';
import { HttpError } from './errors';
import { approvalRequested, approvalRequestedNotice } from './notifications';
import { describeOwnChange, ownChangeIn } from './self-approval';

export interface ApprovalDependencies {
  readonly pipelineName: string;
  readonly approvals: ApprovalStore;
  readonly revisions: RevisionStore;
  readonly environments: EnvironmentStore;
  readonly events: EventStore;
  /** Publishes to the approval topic (each approver's own link, filtered on `approver`). */
  readonly approvalNotifier: Notifier;
  /**
   * Publishes to the notification topic, where the pipeline's `notifications:` rules subscribe (filtered on
   * `event`): an `approval-requested` notice without links goes there, so a rule naming that event fires.
   */
  readonly notifier: Notifier;
  readonly orchestrator: Orchestrator;
  readonly signer: () => Promise<ApprovalLinkSigner>;
  readonly baseUrl: string;
  readonly clock: () => number;
  readonly newId?: () => string;
  /**
   * Upper bound on a link's lifetime in seconds (the construct's `approvalLinkTtl`). A request whose own timeout is
   * shorter expires with it. @default the request's timeout
   */
  readonly linkTtlSeconds?: number;
}

export interface NewApprovalRequest {
  readonly kind: 'environment' | 'promotion';
  readonly execution: string;
  readonly environment: string;
  readonly application: string;
  readonly revision: number;
  readonly promotion?: string;
  readonly approvers: readonly string[];
  /** How many distinct approvers must approve. @default 1 */
  readonly required?: number;
  readonly timeoutSeconds: number;
  /** Only for `environment` requests: stored, never sent. */
  readonly taskToken?: string;
  /** A permission-broadening confirmation's security changes (before a `deploy.cdk` deploy). */
  readonly securityDiff?: SecurityDiffExcerpt;
}

/**
 * Stores the request (with its task token) and mails each approver their own signed link.
 *
 * Idempotent per task token: the request id is derived from the token, so the step run again with the same token
 * (a retried invocation on AWS, an execution resumed after local mode was killed) finds its request instead of
 * making a second one. A pending request is reused, its links mailed again only if they never went out; a request
 * decided meanwhile completes the task with that decision; an expired one fails it.
 */
export async function sendApprovalRequest(
  deps: ApprovalDependencies,
  request: NewApprovalRequest,
): Promise<{ requestId: string; expiresAt: number }> {
  const now = deps.clock();
  const requestId = request.taskToken ? requestIdForToken(request.taskToken) : (deps.newId ?? randomUUID)();
  if (request.taskToken) {
    const existing = await deps.approvals.get(requestId);
    if (existing) return resumeRequest(deps, existing, request.taskToken);
  }
  const lifetimeSeconds = Math.min(request.timeoutSeconds, deps.linkTtlSeconds ?? Number.POSITIVE_INFINITY);
  const expiresAt = now + lifetimeSeconds * 1000;
  const approvers = [...new Set(request.approvers.map((a) => a.trim().toLowerCase()))];
  const record: ApprovalRequestRecord = {
    requestId,
    kind: request.kind,
    execution: request.execution,
    environment: request.environment,
    application: request.application,
    revision: request.revision,
    ...(request.promotion ? { promotion: request.promotion } : {}),
    approvers,
    ...(request.required !== undefined && request.required > 1 ? { required: request.required } : {}),
    createdAt: now,
    expiresAt,
    status: 'pending',
    ...(request.securityDiff
      ? {
          securityDiff: {
            stacks: request.securityDiff.stacks,
            excerpt: request.securityDiff.excerpt,
            truncated: request.securityDiff.truncated,
            location: request.securityDiff.location,
          },
        }
      : {}),
  };
  await deps.approvals.create(record, request.taskToken);
  await notifyApprovers(deps, record);
  await deps.events.append({
    at: now,
    type: 'approval-requested',
    actor: `execution:${request.execution}`,
    message: `${request.securityDiff ? 'Permissions-broadening confirmation' : 'Approval'} of ${request.application} revision ${request.revision} in ${request.environment} requested from ${approvers.join(', ')}`,
    environment: request.environment,
    application: request.application,
    revision: request.revision,
    execution: request.execution,
    ...(request.promotion ? { promotion: request.promotion } : {}),
    details: { requestId, expiresAt },
  });
  return { requestId, expiresAt };
}

/** A request id that only the holder of the task token can compute; the token itself is not recoverable from it. */
export function requestIdForToken(taskToken: string): string {
  return createHash('sha256').update(`lockstep-approval-request\n${taskToken}`).digest('hex').slice(0, 32);
}

/**
 * Mails each approver their own link (the same link every time: it is signed over the stored request), then tells
 * the notification rules that approval was requested. That notice carries no link: a link decides as the approver
 * it was signed for, so it goes to that approver's mailbox only.
 */
async function notifyApprovers(deps: ApprovalDependencies, record: ApprovalRequestRecord): Promise<void> {
  const revision = await deps.revisions.get(record.application, record.revision);
  const signer = await deps.signer();
  const subject = {
    pipeline: deps.pipelineName,
    environment: record.environment,
    application: record.application,
    revision: record.revision,
    expiresAt: record.expiresAt,
    kind: record.kind,
    commits: (revision?.commits ?? [])
      .slice(0, 20)
      // The pusher is named too when another person pushed: either one is refused as an approver.
      .map(
        (c) =>
          `${c.id.slice(0, 12)} ${firstLine(c.message)} (${c.author}${
            c.pushedBy && c.pushedBy.toLowerCase() !== c.author.toLowerCase() ? `, pushed by ${c.pushedBy}` : ''
          })`,
      ),
    ...(record.securityDiff ? { securityDiff: record.securityDiff } : {}),
  };
  for (const approver of record.approvers) {
    await deps.approvalNotifier.publish(
      approvalRequested({ ...subject, approver, link: signer.link(deps.baseUrl, claimsOf(record, approver)) }),
    );
  }
  // Marked right after the approvers' mail: a step resumed after a crash mails again only what was not marked,
  // so nothing may sit between the two. The rules' notice comes after; a crash before it loses that one notice,
  // never sends an approver a second link.
  await deps.approvals.markNotified(record.requestId, deps.clock());
  await deps.notifier.publish(approvalRequestedNotice({ ...subject, approvers: record.approvers }));
}

/** The request step ran again with a token whose request exists: carry on from where that request is. */
async function resumeRequest(
  deps: ApprovalDependencies,
  existing: ApprovalRequestRecord,
  taskToken: string,
): Promise<{ requestId: string; expiresAt: number }> {
  if (existing.status !== 'pending' && existing.delivery === 'pending') {
    // Decided but not delivered yet: deliver it now, unless another delivery holds it.
    const claimed = await deps.approvals.claimDelivery(existing.requestId, deps.clock());
    if (claimed) await deliverDecision(deps, claimed.request, taskToken);
  } else if (existing.status === 'approved') {
    await deps.orchestrator.succeed(taskToken, {
      decision: 'approved',
      approver: existing.decidedBy,
      decidedAt: existing.decidedAt,
      requestId: existing.requestId,
    });
  } else if (existing.status === 'rejected') {
    const comment = existing.comment ? `: ${existing.comment.slice(0, 200)}` : '';
    await deps.orchestrator.fail(
      taskToken,
      'ApprovalRejectedError',
      `Rejected by ${existing.decidedBy ?? 'an approver'}${comment}`,
    );
  } else if (existing.expiresAt <= deps.clock()) {
    await deps.orchestrator.fail(
      taskToken,
      'ApprovalExpiredError',
      `Approval request ${existing.requestId} expired at ${new Date(existing.expiresAt).toISOString()}`,
    );
  } else if (existing.notifiedAt === undefined) {
    await notifyApprovers(deps, existing);
  }
  return { requestId: existing.requestId, expiresAt: existing.expiresAt };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.slice(0, 120);
}

function claimsOf(record: ApprovalRequestRecord, approver: string): ApprovalLinkClaims {
  return {
    requestId: record.requestId,
    approver: approver.toLowerCase(),
    execution: record.execution,
    environment: record.environment,
    application: record.application,
    revision: record.revision,
    expiresAt: Math.floor(record.expiresAt / 1000),
  };
}

/** What a link presents: the approver it names, its expiry (epoch seconds) and its signature. */
export interface PresentedLink {
  readonly approver: string;
  readonly exp: string;
  readonly sig: string;
}

export interface VerifiedRequest {
  readonly request: ApprovalRequestRecord;
  readonly approver: string;
  readonly revision: Revision | undefined;
}

/**
 * Loads a request and checks a presented link against it: signature over the stored binding (so a link for another
 * request, revision or environment fails), the approver is one of the request's approvers, not expired.
 * Errors are client errors with messages safe to show.
 */
export async function verifyLink(
  deps: ApprovalDependencies,
  requestId: string,
  link: Partial<PresentedLink>,
): Promise<VerifiedRequest> {
  if (!link.sig || !link.exp || !link.approver || !/^\d{1,12}$/.test(link.exp)) {
    throw new HttpError(403, 'This approval link is incomplete. Open the link from the approval email.');
  }
  const request = await deps.approvals.get(requestId);
  // Same answer for an unknown request and a bad signature: ids cannot be probed.
  if (!request) throw new HttpError(403, 'This approval link is not valid.');
  const approver = link.approver.trim().toLowerCase();
  const claims = { ...claimsOf(request, approver), expiresAt: Number(link.exp) };
  const signer = await deps.signer();
  const check = signer.verify(claims, link.sig, deps.clock());
  if (!check.valid && check.reason === 'signature') throw new HttpError(403, 'This approval link is not valid.');
  if (!request.approvers.includes(approver)) throw new HttpError(403, 'This approval link is not valid.');
  if (!check.valid || request.expiresAt <= deps.clock()) {
    throw new HttpError(410, 'This approval request has expired.');
  }
  return { request, approver, revision: await deps.revisions.get(request.application, request.revision) };
}

export type Decision = 'approve' | 'reject';

/**
 * Decides a request once, then delivers the decision to the workflow waiting for it. The conditional update in the
 * store picks one winner among concurrent posts; the winner holds the delivery, sends the task success/failure with
 * the stored token (or records a manual promotion's go-ahead) and records who decided in the audit record.
 *
 * The decision is stored before it is delivered, so a failed delivery (throttling, a network error) is not lost:
 * the approver's 500 page can be retried, and the same approver posting the same decision again delivers it
 * instead of being told it was already decided (another decision, or another approver, still gets 409); the
 * reconcile pass delivers it too (`deliverUndelivered`), so nothing depends on the approver retrying.
 */
export async function decideRequest(
  deps: ApprovalDependencies,
  requestId: string,
  link: Partial<PresentedLink>,
  decision: Decision,
  comment: string | undefined,
): Promise<ApprovalRequestRecord> {
  const { request, approver, revision } = await verifyLink(deps, requestId, link);
  return decideAs(deps, request, approver, decision, comment, {}, { revision });
}

/** Who decides from the console: the authenticated user, and where from (kept in the audit record). */
export interface ApprovalActor {
  readonly user: string;
  readonly via: 'cli' | 'console';
  readonly sourceIp?: string;
}

export interface UserApprovalDecision {
  readonly requestId: string;
  readonly decision: Decision;
  readonly comment?: string;
  readonly actor: ApprovalActor;
}

/**
 * The console's approve/reject: an authenticated user (the console's identity, not a signed link) decides a
 * request through the same steps as the approval link (`decideRequest`): exactly one decision wins, it is stored
 * before it is delivered, and it is audited with the user, `via` and the source address.
 *
 * @throws HttpError 404 for an unknown request, 403 when the user is not one of the approvers the pipeline names
 *   for it, 410 when it expired, 409 when it was decided already.
 * @example
 * await decideApprovalAsUser(deps, { requestId, decision: 'approve', actor: { user: 'ann@example.com', via: 'console' } });
 */
export async function decideApprovalAsUser(
  deps: ApprovalDependencies,
  input: UserApprovalDecision,
): Promise<ApprovalRequestRecord> {
  const request = await deps.approvals.get(input.requestId);
  if (!request) throw new HttpError(404, `There is no approval request ${input.requestId}.`);
  const approver = input.actor.user.trim().toLowerCase();
  if (!request.approvers.includes(approver)) {
    throw new HttpError(403, `${input.actor.user} is not one of the approvers the pipeline names for this request.`);
  }
  if (request.status === 'pending' && request.expiresAt <= deps.clock()) {
    throw new HttpError(410, 'This approval request has expired.');
  }
  const where = { via: input.actor.via, ...(input.actor.sourceIp ? { sourceIp: input.actor.sourceIp } : {}) };
  return decideAs(deps, request, approver, input.decision, input.comment, where);
}

/**
 * Decides `request` as `approver` (already verified), once, then delivers the decision. `loaded.revision` is the
 * request's revision when the caller read it already (the link's check does), so it is not read twice.
 */
async function decideAs(
  deps: ApprovalDependencies,
  request: ApprovalRequestRecord,
  approver: string,
  decision: Decision,
  comment: string | undefined,
  where: Record<string, unknown> = {},
  loaded?: { readonly revision: Revision | undefined },
): Promise<ApprovalRequestRecord> {
  const { requestId } = request;
  const status = decision === 'approve' ? 'approved' : 'rejected';
  if (request.status !== 'pending') return retryDelivery(deps, request, approver, status, where);
  if (status === 'approved') {
    const revision = loaded ? loaded.revision : await deps.revisions.get(request.application, request.revision);
    await refuseSelfApproval(deps, request, revision, approver, where);
    const required = request.required ?? 1;
    if (required > 1) {
      const approvedBy = await deps.approvals.addApproval(requestId, approver, deps.clock());
      if (!approvedBy) {
        const now = await deps.approvals.get(requestId);
        if (now && now.status !== 'pending') return retryDelivery(deps, now, approver, status, where);
        throw new HttpError(410, 'This approval request has expired.');
      }
      if (approvedBy.length < required) {
        await deps.events.append({
          at: deps.clock(),
          type: 'approval-recorded',
          actor: approver,
          message: `${approver} approved ${request.application} revision ${request.revision} in ${request.environment} (${approvedBy.length} of ${required} approvals)`,
          environment: request.environment,
          application: request.application,
          revision: request.revision,
          execution: request.execution,
          ...(request.promotion ? { promotion: request.promotion } : {}),
          details: { requestId, approvedBy: [...approvedBy], required, ...where },
        });
        return { ...request, approvedBy };
      }
    }
  }
  const decidedAt = deps.clock();
  const won = await deps.approvals.decide(requestId, {
    status,
    decidedBy: approver,
    decidedAt,
    ...(comment ? { comment } : {}),
  });
  if (!won) {
    const now = await deps.approvals.get(requestId);
    if (now && now.status !== 'pending') return retryDelivery(deps, now, approver, status, where);
    throw new HttpError(410, 'This approval request has expired.');
  }
  const decided: ApprovalRequestRecord = {
    ...request,
    status,
    decidedBy: approver,
    decidedAt,
    ...(comment ? { comment } : {}),
    delivery: 'pending',
  };
  return deliverDecision(deps, decided, won.taskToken, where);
}

/**
 * Nobody approves their own change: an approver who authored or pushed a commit of the revision is refused, told
 * which commit and why, and the refusal is audited. Rejecting stays open to them.
 */
async function refuseSelfApproval(
  deps: ApprovalDependencies,
  request: ApprovalRequestRecord,
  revision: Revision | undefined,
  approver: string,
  where: Record<string, unknown>,
): Promise<void> {
  const own = ownChangeIn(revision, approver);
  if (!own) return;
  const what = describeOwnChange(own);
  const message = `You (${approver}) ${what} in ${request.application} revision ${request.revision}, so another approver must approve it.`;
  await deps.events.append({
    at: deps.clock(),
    type: 'approval-refused',
    actor: approver,
    message: `Refused ${approver}'s approval of ${request.application} revision ${request.revision} in ${request.environment}: they ${what} in it`,
    environment: request.environment,
    application: request.application,
    revision: request.revision,
    execution: request.execution,
    ...(request.promotion ? { promotion: request.promotion } : {}),
    details: {
      requestId: request.requestId,
      reason: 'self-approval',
      role: own.role,
      ...(own.commit ? { commit: own.commit } : {}),
      ...where,
    },
  });
  throw new HttpError(403, message);
}

/**
 * A post on a decided request: the same approver re-posting the same decision while it is undelivered delivers it
 * (unless a delivery is under way, which will finish it); anything else is refused as already decided.
 */
async function retryDelivery(
  deps: ApprovalDependencies,
  request: ApprovalRequestRecord,
  approver: string,
  status: 'approved' | 'rejected',
  where: Record<string, unknown> = {},
): Promise<ApprovalRequestRecord> {
  const same = request.decidedBy === approver && request.status === status;
  if (!same || request.delivery !== 'pending') throw new HttpError(409, `This request was already ${request.status}.`);
  const claimed = await deps.approvals.claimDelivery(request.requestId, deps.clock());
  if (!claimed) return request; // another delivery holds it: the decision stands and goes out
  return deliverDecision(deps, claimed.request, claimed.taskToken, where);
}

/**
 * Delivers decided, undelivered requests whose delivery nobody holds (the reconcile pass calls this): a decision
 * whose first delivery failed reaches its workflow without the approver posting again. Returns the request ids
 * delivered; one that cannot be delivered now stays for the next pass.
 */
export async function deliverUndelivered(deps: ApprovalDependencies): Promise<string[]> {
  const delivered: string[] = [];
  for (const requestId of await deps.approvals.undelivered(deps.clock())) {
    const claimed = await deps.approvals.claimDelivery(requestId, deps.clock());
    if (!claimed) continue;
    try {
      await deliverDecision(deps, claimed.request, claimed.taskToken);
      delivered.push(requestId);
    } catch {
      // Released for the next pass (or found undeliverable, which ends it); the others still get their turn.
    }
  }
  return delivered;
}

/** Sends a decided request's decision, with the delivery held by the caller; records the outcome and the audit. */
async function deliverDecision(
  deps: ApprovalDependencies,
  request: ApprovalRequestRecord,
  taskToken: string | undefined,
  where: Record<string, unknown> = {},
): Promise<ApprovalRequestRecord> {
  const { requestId, comment } = request;
  const status = request.status === 'approved' ? 'approved' : 'rejected';
  const approver = request.decidedBy ?? 'an approver';
  const decidedAt = request.decidedAt ?? deps.clock();
  if (request.kind === 'environment' && !taskToken) {
    await deps.approvals.finishDelivery(requestId, 'undeliverable', deps.clock());
    throw new Error(`Approval request ${requestId} has no task token`);
  }
  try {
    if (request.kind === 'environment' && taskToken) {
      if (status === 'approved') {
        await deps.orchestrator.succeed(taskToken, { decision: 'approved', approver, decidedAt, requestId });
      } else {
        await deps.orchestrator.fail(
          taskToken,
          'ApprovalRejectedError',
          `Rejected by ${approver}${comment ? `: ${comment.slice(0, 200)}` : ''}`,
        );
      }
    } else if (request.promotion) {
      await deps.environments.decidePromotion({
        promotion: request.promotion,
        application: request.application,
        revision: request.revision,
        decision: status,
        decidedBy: approver,
        decidedAt,
      });
    }
  } catch (error) {
    // The workflow stopped waiting (timed out or was stopped) between the page load and the decision.
    if (error instanceof Error && (error.name === 'TaskTimedOut' || error.name === 'TaskDoesNotExist')) {
      await deps.approvals.finishDelivery(requestId, 'undeliverable', deps.clock());
      throw new HttpError(410, 'The deployment no longer waits for this decision (it timed out or was stopped).', {
        cause: error,
      });
    }
    // Let go so that a retry (the approver's, or the reconcile pass's) need not wait for the lease to end.
    // The delivery's error is the one to report; if the release fails too, the lease simply runs out.
    await deps.approvals.releaseDelivery(requestId).catch(() => undefined);
    throw error;
  }
  const deliveredAt = deps.clock();
  await deps.approvals.finishDelivery(requestId, 'delivered', deliveredAt);
  await deps.events.append({
    at: decidedAt,
    type: `approval-${status}`,
    actor: approver,
    message: `${approver} ${status} ${request.application} revision ${request.revision} in ${request.environment}`,
    environment: request.environment,
    application: request.application,
    revision: request.revision,
    execution: request.execution,
    ...(request.promotion ? { promotion: request.promotion } : {}),
    details: { requestId, kind: request.kind, ...where, ...(comment ? { comment: comment.slice(0, 1000) } : {}) },
  });
  return { ...request, delivery: 'delivered', deliveredAt };
}
