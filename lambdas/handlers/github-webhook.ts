/**
 * `POST /webhooks/github`: GitHub push deliveries -> recorded pushes -> AutoBuild.
 *
 * Middleware order is policy: the signature is checked over the raw body before anything parses it; then the body
 * is parsed (JSON, or GitHub's form encoding `payload=<json>`) and validated, the delivery id deduplicated, and only
 * then does the handler run. The error handler answers client errors with their message and anything else with a
 * plain 500.
 *
 * Answers: 401 bad or missing signature; 413 body over `MAX_WEBHOOK_BODY_BYTES`; 415 a content type other than
 * JSON or form; 400 an empty body, malformed JSON, a body that is not a JSON object, or missing GitHub headers; 200
 * `ping`, duplicate delivery, or an ignored push (tag, branch deletion, untracked repository or branch, other
 * events) with the reason; 202 push recorded (with the builds it started).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { bodyLimit, errorHandler, jsonBodyParser, lazyHandler, securityHeaders } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { defaultRuntime } from '../adapters/runtime';
import type { SecretReader } from '../ports/services';
import type { DeliveryStore } from '../ports/stores';
import { intakePushes, type AgentDependencies } from '../promotion/agents';
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
export const SECRET_REFRESH_INTERVAL_MS = 60_000;

export interface WebhookDependencies {
  /** The agents the push goes to; their `clock` also paces the secret re-reads. */
  readonly agents: AgentDependencies;
  readonly deliveries: DeliveryStore;
  readonly secrets: SecretReader;
  /** The secret holding `{ current, previous? }` (Secrets Manager id or ARN). */
  readonly webhookSecretId: string;
}

type Event = APIGatewayProxyEventV2 & { body?: unknown };
type Result = APIGatewayProxyStructuredResultV2;
/** What the middlewares of one request know, in `request.internal` (the Powertools idempotency pattern). */
interface WebhookState {
  /** The body's bytes as GitHub signed them. */
  raw?: Buffer;
  /** The delivery id was stored, and must be forgotten if processing fails, so a redelivery is processed. */
  remembered?: string;
}
const stateOf = (request: middy.Request): WebhookState =>
  ((request.internal as { webhook?: WebhookState }).webhook ??= {});

/**
 * Whether `signature` (`sha256=<hex>`) is GitHub's HMAC of these exact bytes with one of the secrets. Computed
 * over the bytes, not a decoded string, so a body that is not valid UTF-8 (or is empty) verifies as GitHub signed
 * it; compared in constant time.
 */
export function signatureMatches(raw: Buffer, signature: string, secrets: readonly string[]): boolean {
  const given = Buffer.from(signature.slice('sha256='.length).toLowerCase(), 'hex');
  return secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(raw).digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const JSON_TYPE = /^application\/(.+\+)?json\s*(;|$)/i;

export function createHandler(
  deps: WebhookDependencies,
  { logger, metrics, ...o }: Observability = createObservability('github-webhook'),
) {
  const { agents, deliveries, secrets, webhookSecretId } = deps;
  let lastSecretRefresh = Number.NEGATIVE_INFINITY;

  const secretsNow = async (fresh: boolean) => {
    const { current, previous } = parseSecrets(await secrets.get(webhookSecretId, { fresh }));
    // The previous secret is accepted while a rotation is under way.
    return previous ? [current, previous] : [current];
  };

  /** 1. Size limit and signature over the raw bytes, before any parsing. */
  const verifySignature: MiddlewareObj<Event, Result> = {
    before: async (request) => {
      const raw = rawBody(request.event);
      const signature = header(request.event, 'x-hub-signature-256');
      if (!signature || !/^sha256=[0-9a-f]{64}$/i.test(signature))
        throw new HttpError(401, 'Missing or malformed X-Hub-Signature-256');
      let matches = signatureMatches(raw, signature, await secretsNow(false));
      // The secret may have rotated since it was cached: read it again, but at most once a minute (on the
      // injected clock), so forged deliveries cannot turn into one Secrets Manager call each.
      const now = agents.clock();
      if (!matches && now - lastSecretRefresh >= SECRET_REFRESH_INTERVAL_MS) {
        lastSecretRefresh = now;
        matches = signatureMatches(raw, signature, await secretsNow(true));
      }
      if (!matches) throw new HttpError(401, 'Signature does not match');
      stateOf(request).raw = raw;
    },
  };

  /**
   * 2a. GitHub sends either JSON or, when the webhook's content type is `application/x-www-form-urlencoded`, a form
   * whose `payload` field holds the same JSON; the signature covered the form as sent. Either way the JSON text goes
   * on to the body parser.
   */
  const unwrapGithubBody: MiddlewareObj<Event, Result> = {
    before: async (request) => {
      const raw = stateOf(request).raw!;
      const event = request.event;
      if (raw.length === 0)
        throw new HttpError(
          400,
          'The body is empty: GitHub sends each event as a JSON object; redeliver it from the webhook settings',
        );
      const contentType = header(event, 'content-type') ?? '';
      if (FORM.test(contentType)) {
        const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
        if (payload === null)
          throw new HttpError(
            400,
            'The form body has no "payload" field; set the webhook\'s content type to application/json',
          );
        event.body = payload;
      } else if (contentType === '' || JSON_TYPE.test(contentType)) {
        event.body = raw.toString('utf8');
      } else {
        throw new HttpError(
          415,
          `Content type ${contentType} is not supported: set the webhook's content type to application/json`,
        );
      }
      event.isBase64Encoded = false;
    },
  };

  /** 3. The GitHub headers a delivery must carry, and a body that is a JSON object. */
  const validateDelivery: MiddlewareObj<Event, Result> = {
    before: async (request) => {
      const event = request.event;
      const eventName = header(event, 'x-github-event');
      const deliveryId = header(event, 'x-github-delivery');
      if (!eventName || !/^[a-z_]{1,64}$/.test(eventName))
        throw new HttpError(400, 'Missing or malformed X-GitHub-Event');
      if (!deliveryId || !/^[A-Za-z0-9-]{1,100}$/.test(deliveryId))
        throw new HttpError(400, 'Missing or malformed X-GitHub-Delivery');
      if (typeof event.body !== 'object' || event.body === null || Array.isArray(event.body))
        throw new HttpError(400, 'The body is not a JSON object');
    },
  };

  /** 4. A delivery id seen before is answered at once; a delivery whose processing failed is forgotten again. */
  const dedupeDelivery: MiddlewareObj<Event, Result> = {
    before: async (request) => {
      const id = `github:${header(request.event, 'x-github-delivery')!}`;
      if (!(await deliveries.remember(id, agents.clock(), DELIVERY_TTL_MS))) {
        metrics.addMetric('DuplicateDelivery', 'Count', 1);
        return json(200, {
          status: 'duplicate',
          message: `Delivery ${id.slice('github:'.length)} was processed before; ignored`,
        });
      }
      stateOf(request).remembered = id;
      return undefined;
    },
    onError: async (request) => {
      const id = stateOf(request).remembered;
      // Best effort: when even the forget fails, the error being answered is the one worth reporting, and the
      // delivery id expires after DELIVERY_TTL_MS.
      if (id !== undefined)
        await deliveries
          .forget(id)
          .catch((error: unknown) => logger.warn('Could not forget a failed delivery', { id, error: String(error) }));
    },
  };

  const handle = async (event: Event): Promise<Result> => {
    const eventName = header(event, 'x-github-event')!;
    const deliveryId = header(event, 'x-github-delivery')!;
    if (eventName === 'ping') return json(200, { status: 'pong', message: 'Webhook is set up' });
    if (eventName !== 'push')
      return json(200, { status: 'ignored', reason: `${eventName} events are not used; subscribe to push only` });
    const intake = githubPushIntake(agents.pipeline, event.body, deliveryId, agents.clock());
    if (intake.kind === 'ignored') {
      logger.info('Push ignored', { deliveryId, reason: intake.reason });
      return json(200, { status: 'ignored', reason: intake.reason });
    }
    const outcome = await intakePushes(agents, intake.pushes, `github:${deliveryId}`);
    metrics.addMetric('PushRecorded', 'Count', outcome.recorded);
    return json(202, { status: 'accepted', recorded: outcome.recorded, buildsStarted: outcome.buildsStarted });
  };

  return (
    middy<Event, Result>()
      // Used first so that their onError run last: the error handler answers, then the headers are added.
      .use(securityHeaders())
      .use(errorHandler(logger))
      .use(observability({ logger, metrics, ...o }))
      .use(bodyLimit(MAX_WEBHOOK_BODY_BYTES))
      .use(verifySignature)
      .use(unwrapGithubBody)
      .use(jsonBodyParser())
      .use(validateDelivery)
      .use(dedupeDelivery)
      .handler(handle)
  );
}

export const handler = lazyHandler(() => createHandler(defaultRuntime().webhookDependencies()));
