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
import { randomUUID } from 'node:crypto';
import type { Revision } from '../core/model';
import type { Notifier, Orchestrator } from '../ports/services';
import type { ApprovalRequestRecord, ApprovalStore, EnvironmentStore, EventStore, RevisionStore } from '../ports/stores';
import { ApprovalLinkSigner, type ApprovalLinkClaims } from './approval-link';
import { HttpError } from './errors';
import { approvalRequested } from './notifications';

export interface ApprovalDependencies {
  readonly pipelineName: string;
  readonly approvals: ApprovalStore;
  readonly revisions: RevisionStore;
  readonly environments: EnvironmentStore;
  readonly events: EventStore;
  /** Publishes to the approval topic. */
  readonly approvalNotifier: Notifier;
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
  readonly timeoutSeconds: number;
  /** Only for `environment` requests: stored, never sent. */
  readonly taskToken?: string;
}

/** Stores the request (with its task token) and mails each approver their own signed link. */
export async function sendApprovalRequest(deps: ApprovalDependencies, request: NewApprovalRequest): Promise<{ requestId: string; expiresAt: number }> {
  const now = deps.clock();
  const requestId = (deps.newId ?? randomUUID)();
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
    createdAt: now,
    expiresAt,
    status: 'pending',
  };
  await deps.approvals.create(record, request.taskToken);
  const revision = await deps.revisions.get(request.application, request.revision);
  const signer = await deps.signer();
  for (const approver of approvers) {
    const claims = claimsOf(record, approver);
    await deps.approvalNotifier.publish(
      approvalRequested({
        pipeline: deps.pipelineName,
        environment: request.environment,
        application: request.application,
        revision: request.revision,
        approver,
        link: signer.link(deps.baseUrl, claims),
        expiresAt,
        kind: request.kind,
        commits: (revision?.commits ?? []).slice(0, 20).map((c) => `${c.id.slice(0, 12)} ${firstLine(c.message)} (${c.author})`),
      }),
    );
  }
  await deps.events.append({
    at: now,
    type: 'approval-requested',
    actor: `execution:${request.execution}`,
    message: `Approval of ${request.application} revision ${request.revision} in ${request.environment} requested from ${approvers.join(', ')}`,
    environment: request.environment,
    application: request.application,
    revision: request.revision,
    execution: request.execution,
    ...(request.promotion ? { promotion: request.promotion } : {}),
    details: { requestId, expiresAt },
  });
  return { requestId, expiresAt };
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
export async function verifyLink(deps: ApprovalDependencies, requestId: string, link: Partial<PresentedLink>): Promise<VerifiedRequest> {
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
 * Decides a request once. The conditional update in the store picks one winner among concurrent posts; the winner
 * sends the task success/failure with the stored token and records who decided in the audit record.
 */
export async function decideRequest(
  deps: ApprovalDependencies,
  requestId: string,
  link: Partial<PresentedLink>,
  decision: Decision,
  comment: string | undefined,
): Promise<ApprovalRequestRecord> {
  const { request, approver } = await verifyLink(deps, requestId, link);
  if (request.status !== 'pending') throw new HttpError(409, `This request was already ${request.status}.`);
  const decidedAt = deps.clock();
  const status = decision === 'approve' ? 'approved' : 'rejected';
  const won = await deps.approvals.decide(requestId, { status, decidedBy: approver, decidedAt, ...(comment ? { comment } : {}) });
  if (!won) {
    const now = await deps.approvals.get(requestId);
    if (now && now.status !== 'pending') throw new HttpError(409, `This request was already ${now.status}.`);
    throw new HttpError(410, 'This approval request has expired.');
  }
  if (request.kind === 'environment') {
    if (!won.taskToken) throw new Error(`Approval request ${requestId} has no task token`);
    try {
      if (status === 'approved') {
        await deps.orchestrator.succeed(won.taskToken, { decision: 'approved', approver, decidedAt, requestId });
      } else {
        await deps.orchestrator.fail(won.taskToken, 'ApprovalRejectedError', `Rejected by ${approver}${comment ? `: ${comment.slice(0, 200)}` : ''}`);
      }
    } catch (error) {
      // The workflow stopped waiting (timed out or was stopped) between the page load and the decision.
      if (error instanceof Error && (error.name === 'TaskTimedOut' || error.name === 'TaskDoesNotExist')) {
        throw new HttpError(410, 'The deployment no longer waits for this decision (it timed out or was stopped).', { cause: error });
      }
      throw error;
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
    details: { requestId, kind: request.kind, ...(comment ? { comment: comment.slice(0, 1000) } : {}) },
  });
  return { ...request, status, decidedBy: approver, decidedAt, ...(comment ? { comment } : {}) };
}
