/**
 * HTTP API `GET /approvals/{requestId}` and `POST /approvals/{requestId}`.
 *
 * GET shows the request (revision, environment, changes, test results) with Approve and Reject buttons; it never
 * decides. POST (form: `approver`, `exp`, `sig` from the link, `decision` = approve|reject, optional `comment`)
 * verifies the signature, expiry and binding, then decides exactly once through a conditional update and sends the
 * task success/failure with the stored token. Answers are HTML with a strict CSP; 403 invalid link, 409 already
 * decided, 410 expired, 413 form too large.
 *
 * Manual promotions use the same requests and routes (their requests carry no task token).
 */
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { bodyLimit, errorHandler, lazyHandler, securityHeaders } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { defaultRuntime } from '../adapters/runtime';
import { approvalPage, decisionPage, messagePage } from '../promotion/approval-page';
import {
  decideRequest,
  verifyLink,
  type ApprovalDependencies,
  type Decision,
  type PresentedLink,
} from '../promotion/approvals';
import { HttpError } from '../promotion/errors';
import { html, rawBody } from '../core/http';

/** Largest form accepted (a comment of 1,000 characters and the link fields fit many times over). */
export const MAX_FORM_BYTES = 16 * 1024;

/** What the request says, once parsed and validated. */
interface ApprovalCall {
  readonly method: 'GET' | 'POST';
  readonly requestId: string;
  readonly link: Partial<PresentedLink>;
  readonly decision?: Decision;
  readonly comment?: string;
}
/** The event once parsed: like a body parser, the parse step puts what it read on the event. */
type Event = APIGatewayProxyEventV2 & { approval?: ApprovalCall };
type Result = APIGatewayProxyStructuredResultV2;

function pick(params: URLSearchParams): Partial<PresentedLink> {
  const link: { approver?: string; exp?: string; sig?: string } = {};
  for (const key of ['approver', 'exp', 'sig'] as const) {
    const value = params.get(key);
    if (value) link[key] = value;
  }
  return link;
}

/** Parses and validates the route, query and form; the body of a POST is a URL-encoded form. */
const parseAndValidate: MiddlewareObj<Event, Result> = {
  before: async (request) => {
    const event = request.event;
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new HttpError(405, 'Use GET to view or POST to decide');
    const requestId = event.pathParameters?.requestId ?? '';
    if (!/^[A-Za-z0-9-]{8,64}$/.test(requestId)) throw new HttpError(404, 'No such approval request');
    if (method === 'GET') {
      event.approval = { method, requestId, link: pick(new URLSearchParams(event.rawQueryString ?? '')) };
      return;
    }
    const form = new URLSearchParams(rawBody(event).toString('utf8'));
    const decision = form.get('decision');
    if (decision !== 'approve' && decision !== 'reject') throw new HttpError(400, 'Choose Approve or Reject');
    const comment = form.get('comment')?.trim().slice(0, 1000) || undefined;
    event.approval = { method, requestId, link: pick(form), decision, ...(comment ? { comment } : {}) };
  },
};

export function createHandler(
  deps: ApprovalDependencies,
  { logger, metrics, ...o }: Observability = createObservability('approval-api'),
) {
  /** Client errors become an HTML page; anything else goes on to the error handler (a plain 500). */
  const htmlClientErrors: MiddlewareObj<Event, Result> = {
    onError: async (request) => {
      const error = request.error as unknown;
      if (error instanceof HttpError && error.statusCode < 500) {
        logger.warn('Approval request refused', { status: error.statusCode, reason: error.message });
        metrics.addMetric('ApprovalRefused', 'Count', 1);
        const title =
          { 403: 'Link not valid', 404: 'Not found', 409: 'Already decided', 410: 'Expired', 413: 'Too large' }[
            error.statusCode
          ] ?? 'Cannot do that';
        request.response = html(error.statusCode, messagePage(title, error.message));
      }
    },
  };

  const handle = async (event: Event): Promise<Result> => {
    const call = event.approval!;
    if (call.method === 'GET') {
      const verified = await verifyLink(deps, call.requestId, call.link);
      return html(
        200,
        approvalPage(verified.request, verified.revision, verified.approver, call.link as PresentedLink),
      );
    }
    const decided = await decideRequest(deps, call.requestId, call.link, call.decision!, call.comment);
    metrics.addMetric(
      decided.status === 'approved' ? 'Approved' : decided.status === 'rejected' ? 'Rejected' : 'ApprovalRecorded',
      'Count',
      1,
    );
    logger.info('Approval decided', { requestId: call.requestId, status: decided.status, by: decided.decidedBy });
    return html(200, decisionPage(decided));
  };

  return (
    middy<Event, Result>()
      // Used first so that their onError run last: client errors become pages, others a plain 500, then headers.
      .use(securityHeaders())
      .use(errorHandler(logger))
      .use(htmlClientErrors)
      .use(observability({ logger, metrics, ...o }))
      .use(bodyLimit(MAX_FORM_BYTES))
      .use(parseAndValidate)
      .handler(handle)
  );
}

export const handler = lazyHandler(() => createHandler(defaultRuntime().approvalDependencies()));
