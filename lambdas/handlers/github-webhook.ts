/**
 * `POST /webhooks/github`: GitHub push deliveries -> recorded pushes -> AutoBuild.
 *
 * Middleware order is policy: the signature is checked over the raw body before anything parses it; then the body
 * is parsed and validated, the delivery id deduplicated, and only then does the handler run. The error handler
 * answers client errors with their message and anything else with a plain 500.
 *
 * Answers: 401 bad or missing signature; 413 body over `MAX_WEBHOOK_BODY_BYTES`; 400 malformed JSON or missing
 * GitHub headers; 200 `ping`, duplicate delivery, or an ignored push (tag, branch deletion, untracked repository or
 * branch, other events) with the reason; 202 push recorded (with the builds it started).
 */
import middy, { type MiddlewareObj } from '@middy/core';
import { verifyWithFallback } from '@octokit/webhooks-methods';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { requireEnv } from '../core/errors';
import { errorHandler, securityHeaders } from '../adapters/middleware';
import { logger, metrics, observability } from '../adapters/observability';
import { agentDependencies, deliveryStore, secretReader } from '../adapters/runtime';
import { intakePushes } from '../promotion/agents';
import { parseSecrets } from '../promotion/approval-link';
import { HttpError } from '../promotion/errors';
import { header, json, rawBody } from '../core/http';
import { githubPushIntake } from '../promotion/push-events';

/**
 * Largest body accepted: 1 MiB. GitHub caps deliveries at 25 MB, but a push payload lists at most 20 commits and is
 * far smaller; anything bigger is refused before its signature is even computed.
 */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/** How long a delivery id is remembered: GitHub redelivers within days, by hand. */
export const DELIVERY_TTL_MS = 7 * 24 * 3600_000;

/** Shortest interval between re-reads of the webhook secret after a signature mismatch. */
const SECRET_REFRESH_INTERVAL_MS = 60_000;
let lastSecretRefresh = 0;

const secretArn = requireEnv('LOCKSTEP_WEBHOOK_SECRET_ARN');
const deps = agentDependencies();
const deliveries = deliveryStore();
const secrets = secretReader();

interface WebhookInternal {
  raw?: Buffer;
  payload?: unknown;
  eventName?: string;
  deliveryId?: string;
  remembered?: boolean;
}
type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error> & { internal: WebhookInternal };

async function signatureMatches(payload: string, signature: string): Promise<boolean> {
  const check = async () => {
    const { current, previous } = parseSecrets(await secrets.get(secretArn));
    // Constant-time comparison inside; the previous secret is accepted while a rotation is under way.
    // verify throws a TypeError only for an empty payload or signature (the secret is never empty): a mismatch.
    const verified = verifyWithFallback(current, payload, signature, previous ? [previous] : undefined).catch((error: unknown) => {
      if (error instanceof TypeError) return false;
      throw error;
    });
    return Boolean(await verified);
  };
  if (await check()) return true;
  // The secret may have rotated since it was cached: read it again, but at most once a minute, so forged
  // deliveries cannot turn into one Secrets Manager call each.
  const now = Date.now();
  if (now - lastSecretRefresh < SECRET_REFRESH_INTERVAL_MS) return false;
  lastSecretRefresh = now;
  secrets.clear();
  return check();
}

/** 1. Size limit and signature over the raw bytes, before any parsing. */
const verifySignature: MiddlewareObj = {
  before: async (request) => {
    const r = request as Request;
    const raw = rawBody(r.event);
    if (raw.length > MAX_WEBHOOK_BODY_BYTES) throw new HttpError(413, `Payload larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
    const signature = header(r.event, 'x-hub-signature-256');
    if (!signature || !/^sha256=[0-9a-f]{64}$/i.test(signature)) throw new HttpError(401, 'Missing or malformed X-Hub-Signature-256');
    if (!(await signatureMatches(raw.toString('utf8'), signature))) throw new HttpError(401, 'Signature does not match');
    r.internal.raw = raw;
  },
};

/** 2. Parse the JSON body. */
const parseBody: MiddlewareObj = {
  before: async (request) => {
    const r = request as Request;
    try {
      r.internal.payload = JSON.parse(r.internal.raw!.toString('utf8'));
    } catch {
      throw new HttpError(400, 'Body is not valid JSON');
    }
  },
};

/** 3. The GitHub headers a delivery must carry. */
const validateDelivery: MiddlewareObj = {
  before: async (request) => {
    const r = request as Request;
    const eventName = header(r.event, 'x-github-event');
    const deliveryId = header(r.event, 'x-github-delivery');
    if (!eventName || !/^[a-z_]{1,64}$/.test(eventName)) throw new HttpError(400, 'Missing or malformed X-GitHub-Event');
    if (!deliveryId || !/^[A-Za-z0-9-]{1,100}$/.test(deliveryId)) throw new HttpError(400, 'Missing or malformed X-GitHub-Delivery');
    if (typeof r.internal.payload !== 'object' || r.internal.payload === null) throw new HttpError(400, 'Body is not a JSON object');
    r.internal.eventName = eventName;
    r.internal.deliveryId = deliveryId;
  },
};

/** 4. A delivery id seen before is answered at once; a delivery whose processing failed is forgotten again. */
const dedupeDelivery: MiddlewareObj = {
  before: async (request) => {
    const r = request as Request;
    const id = r.internal.deliveryId!;
    if (!(await deliveries.remember(`github:${id}`, deps.clock(), DELIVERY_TTL_MS))) {
      metrics.addMetric('DuplicateDelivery', 'Count', 1);
      return json(200, { status: 'duplicate', message: `Delivery ${id} was processed before; ignored` });
    }
    r.internal.remembered = true;
    return undefined;
  },
  onError: async (request) => {
    const r = request as Request;
    if (!r.internal.remembered) return;
    // The handler's error is what GitHub must see (it redelivers on 5xx); a failed forget is logged, because the
    // redelivery is then answered as a duplicate until the record expires.
    await deliveries.forget(`github:${r.internal.deliveryId!}`).catch((error: unknown) => {
      logger.error('Could not forget a failed delivery: its redelivery will be answered as a duplicate', { deliveryId: r.internal.deliveryId, error });
    });
  },
};

async function handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const internal = verified.get(event)!;
  const { eventName, deliveryId, payload } = internal;
  if (eventName === 'ping') return json(200, { status: 'pong', message: 'Webhook is set up' });
  if (eventName !== 'push') return json(200, { status: 'ignored', reason: `${eventName} events are not used; subscribe to push only` });
  const intake = githubPushIntake(deps.pipeline, payload, deliveryId!, deps.clock());
  if (intake.kind === 'ignored') {
    logger.info('Push ignored', { deliveryId, reason: intake.reason });
    return json(200, { status: 'ignored', reason: intake.reason });
  }
  const outcome = await intakePushes(deps, intake.pushes, `github:${deliveryId}`);
  metrics.addMetric('PushRecorded', 'Count', outcome.recorded);
  return json(202, { status: 'accepted', recorded: outcome.recorded, buildsStarted: outcome.buildsStarted });
}

/** What the middlewares established about a request, for the handler (keyed by the event object). */
const verified = new WeakMap<object, WebhookInternal>();
const shareInternal: MiddlewareObj = {
  before: async (request) => {
    verified.set(request.event as object, (request as Request).internal);
  },
};

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  // Used first so that their onError run last: the error handler answers, then the headers are added.
  .use(securityHeaders())
  .use(errorHandler())
  .use(observability('github-webhook'))
  .use(verifySignature)
  .use(parseBody)
  .use(validateDelivery)
  .use(dedupeDelivery)
  .use(shareInternal)
  .handler(handle);
