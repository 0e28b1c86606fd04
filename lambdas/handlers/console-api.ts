/**
 * HTTP API routes of the web console (issue 11):
 *
 * - `GET /console` and `GET /console/{asset}`: the static front end (`console/`), public like any static asset, and
 *   `GET /console/config.json`: how the browser logs in (`{ mode: 'local' }` or `{ mode: 'cognito', ... }`);
 * - `GET /console/api/...`: the pages' data (pipeline, timelines, revision detail, change progress, audit log with
 *   CSV/JSON export, SDKs, delivery metrics), with an ETag: a poll sending `If-None-Match` gets 304 while nothing
 *   changed;
 * - `POST /console/api/...`: operator actions (switches, rollback, pin, unpin, approve/reject, and in local mode
 *   setting a bake alarm's state), JSON bodies.
 *
 * Every `/console/api/` route reads the caller from the JWT authorizer's claims (`identityFromEvent`: Cognito on
 * AWS, the emulated authorizer locally) and checks the group's right (`authorize`); a refusal is a 403 and an audit
 * entry. A bearer token in a header is the only credential (no cookie), so another site cannot forge a request.
 * Answers carry a strict Content-Security-Policy: scripts and styles from this origin only, no inline script.
 */
import { createHash } from 'node:crypto';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  bodyLimit,
  errorHandler,
  httpRouter,
  jsonBodyParser,
  lazyHandler,
  securityHeaders,
  type Route,
} from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { consoleApiDependencies } from '../adapters/console-runtime';
import { defaultRuntime } from '../adapters/runtime';
import { HttpError } from '../core/errors';
import { escapeHtml, header, html, json } from '../core/http';
import {
  ACTION_RIGHTS,
  actorOf,
  alarmBody,
  approvalBody,
  parseBody,
  pinBody,
  rollbackBody,
  switchesBody,
  unpinBody,
} from '../console/actions';
import { authorize, identityFromEvent, type ConsoleAction, type ConsoleIdentity } from '../console/auth';
import type { ConsoleApiDependencies, ConsoleClientConfig } from '../console/dependencies';
import { ForbiddenError } from '../console/errors';
import { deliveryMetrics } from '../console/metrics';
import { ConsoleNotFoundError } from '../console/not-found';
import { pipelineView } from '../console/pipeline-view';
import { changeProgress, requireApplication, revisionDetail, revisionOfCommit } from '../console/revision-view';
import { sdkPage } from '../console/sdk-view';
import { auditCsv, auditLog, parseTimelineCursor, requireEnvironment, timelinePage } from '../console/timeline';

/** Largest action body: a reason of 500 characters fits many times over. */
export const MAX_CONSOLE_BODY_BYTES = 8 * 1024;

type Event = APIGatewayProxyEventV2 & { body?: unknown };
type Result = APIGatewayProxyStructuredResultV2;

/**
 * The console's Content-Security-Policy: nothing but this origin's scripts, styles and data, plus the Cognito
 * domain the login code is exchanged at. No inline script or style anywhere.
 */
export function consoleCsp(config: ConsoleClientConfig): string {
  const login = config.mode === 'cognito' ? ` ${new URL(config.domain).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${login}`,
    `form-action 'self'${login}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** A weak ETag over the JSON body: the same data, the same tag. */
export function etagOf(body: string): string {
  return `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

function param(event: Event, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined) throw new HttpError(404, `Missing ${name} in the path`);
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ConsoleNotFoundError(`"${value}" is not a valid ${name}`);
  }
}

function revisionNumber(event: Event): number {
  const text = param(event, 'number');
  const number = Number(text);
  if (!/^\d{1,9}$/.test(text) || number < 1)
    throw new ConsoleNotFoundError(`"${text}" is not a revision number: revisions are numbered 1, 2, 3, ...`);
  return number;
}

export function createHandler(
  deps: ConsoleApiDependencies,
  { logger, metrics, ...o }: Observability = createObservability('console-api'),
) {
  const csp = consoleCsp(deps.clientConfig);
  const { read } = deps;
  const pipeline = read.agents.pipeline;

  /** Checks the caller's right first; a refusal is audited, then answered 403. */
  const allowed = async (event: Event, action: ConsoleAction): Promise<ConsoleIdentity> => {
    const identity = identityFromEvent(event);
    try {
      authorize(identity, action);
    } catch (error) {
      if (error instanceof ForbiddenError) {
        await deps.auditDenied(identity, action, `${event.requestContext.http.method} ${event.rawPath}`);
        metrics.addMetric('ConsoleRequestDenied', 'Count', 1);
      }
      throw error;
    }
    return identity;
  };

  /** A data route: read right, then the data as JSON with its ETag (304 when the caller has it already). */
  const data =
    (produce: (event: Event) => Promise<unknown>) =>
    async (event: Event): Promise<Result> => {
      await allowed(event, 'read');
      const body = JSON.stringify(await produce(event));
      const etag = etagOf(body);
      const headers = { 'Content-Type': 'application/json', ETag: etag, 'Cache-Control': 'private, no-cache' };
      if (header(event, 'if-none-match') === etag) return { statusCode: 304, headers };
      return { statusCode: 200, headers, body };
    };

  /** An action route: its right, the body parsed with its schema, the action, then `{ ok, outcome }`. */
  const action =
    (right: ConsoleAction, run: (event: Event, identity: ConsoleIdentity) => Promise<unknown>) =>
    async (event: Event): Promise<Result> => {
      const identity = await allowed(event, right);
      const outcome = await run(event, identity);
      logger.info('Console action', { user: identity.user, route: event.rawPath });
      metrics.addMetric('ConsoleAction', 'Count', 1);
      return json(200, { ok: true, outcome: outcome ?? null });
    };

  const asset = async (name: string): Promise<Result> => {
    if (name === 'config.json') return json(200, deps.clientConfig);
    const file = await deps.assets.get(name);
    if (!file) throw new ConsoleNotFoundError(`No page or file "${name}" in the console`);
    return {
      statusCode: 200,
      headers: { 'Content-Type': file.contentType, 'Cache-Control': 'no-cache' },
      body: file.body.toString('base64'),
      isBase64Encoded: true,
    };
  };

  const withBody = (handler: (event: Event) => Promise<Result>) =>
    middy<Event, Result>()
      .use(jsonBodyParser({ emptyBody: {} }))
      .handler(handler);

  const routes: Route<Event, Result>[] = [
    { method: 'GET', path: '/console', handler: () => asset('index.html') },
    { method: 'GET', path: '/console/{asset}', handler: async (event) => asset(param(event, 'asset')) },
    { method: 'GET', path: '/console/api/me', handler: data(async (event) => identityFromEvent(event)) },
    { method: 'GET', path: '/console/api/pipeline', handler: data(() => pipelineView(read)) },
    {
      method: 'GET',
      path: '/console/api/environments/{environment}/timeline',
      handler: data(async (event) => {
        const environment = param(event, 'environment');
        requireEnvironment(pipeline, environment);
        return timelinePage(read.timelines, { environment }, parseTimelineCursor(event.queryStringParameters));
      }),
    },
    {
      method: 'GET',
      path: '/console/api/revisions/{application}/{number}',
      handler: data(async (event) => revisionDetail(read, param(event, 'application'), revisionNumber(event))),
    },
    {
      method: 'GET',
      path: '/console/api/revisions/{application}/{number}/timeline',
      handler: data(async (event) => {
        const application = param(event, 'application');
        requireApplication(read, application);
        const revision = revisionNumber(event);
        if (!(await read.agents.revisions.get(application, revision)))
          throw new ConsoleNotFoundError(`${application} has no revision ${revision}`);
        return timelinePage(
          read.timelines,
          { application, revision },
          parseTimelineCursor(event.queryStringParameters),
        );
      }),
    },
    {
      method: 'GET',
      path: '/console/api/revisions/{application}/{number}/progress',
      handler: data(async (event) => changeProgress(read, param(event, 'application'), revisionNumber(event))),
    },
    {
      method: 'GET',
      path: '/console/api/commits/{commit}/progress',
      handler: data(async (event) => {
        const found = await revisionOfCommit(read, param(event, 'commit'));
        return changeProgress(read, found.application, found.number);
      }),
    },
    {
      method: 'GET',
      path: '/console/api/audit',
      handler: async (event) => {
        const query = event.queryStringParameters ?? {};
        const format = query.format ?? 'json';
        if (format !== 'json' && format !== 'csv')
          throw new HttpError(400, `Export as format=json or format=csv, not "${format}"`);
        if (query.environment) requireEnvironment(pipeline, query.environment);
        const filter = {
          ...(query.environment ? { environment: query.environment } : {}),
          ...(query.actor ? { actor: query.actor } : {}),
          ...(query.action ? { action: query.action } : {}),
        };
        if (format === 'json')
          return data(async () => ({ filter, entries: await auditLog(read.agents.events, filter) }))(event);
        await allowed(event, 'read');
        return {
          statusCode: 200,
          headers: {
            'Content-Type': 'text/csv; charset=utf-8',
            'Content-Disposition': `attachment; filename="lockstep-${pipeline.pipeline.name}-audit.csv"`,
          },
          body: auditCsv(await auditLog(read.agents.events, filter)),
        };
      },
    },
    { method: 'GET', path: '/console/api/sdks', handler: data(() => sdkPage(read.sdks)) },
    { method: 'GET', path: '/console/api/metrics', handler: data(() => deliveryMetrics(read)) },
    {
      method: 'POST',
      path: '/console/api/switches',
      handler: withBody(
        action(ACTION_RIGHTS.switches, (event, identity) =>
          deps.operations.setSwitches(parseBody(switchesBody, event.body, 'switch'), actorOf(identity)),
        ),
      ),
    },
    ...(['rollback', 'pin', 'unpin'] as const).map((name): Route<Event, Result> => ({
      method: 'POST',
      path: `/console/api/environments/{environment}/${name}`,
      handler: withBody(
        action(ACTION_RIGHTS[name], async (event, identity) => {
          const environment = param(event, 'environment');
          requireEnvironment(pipeline, environment);
          const actor = actorOf(identity);
          if (name === 'rollback')
            return deps.operations.rollback(environment, parseBody(rollbackBody, event.body, 'rollback'), actor);
          if (name === 'pin') return deps.operations.pin(environment, parseBody(pinBody, event.body, 'pin'), actor);
          return deps.operations.unpin(environment, parseBody(unpinBody, event.body, 'unpin'), actor);
        }),
      ),
    })),
    {
      method: 'POST',
      path: '/console/api/alarms/{name}',
      handler: withBody(
        action(ACTION_RIGHTS.alarm, async (event, identity) => {
          const name = param(event, 'name');
          const body = parseBody(alarmBody, event.body, 'alarm');
          if (!read.alarms)
            throw new HttpError(
              409,
              "The console sets alarms in local mode only; on AWS, set an alarm's state in CloudWatch (aws cloudwatch set-alarm-state)",
            );
          await read.alarms.setter.set(name, body.state, body.reason ?? `set from the console by ${identity.user}`);
          return { name, state: body.state };
        }),
      ),
    },
    {
      method: 'POST',
      path: '/console/api/approvals/{requestId}',
      handler: withBody(
        action(ACTION_RIGHTS.approval, (event, identity) => {
          const requestId = param(event, 'requestId');
          if (!/^[A-Za-z0-9-]{8,64}$/.test(requestId)) throw new ConsoleNotFoundError('No such approval request');
          return deps.operations.decideApproval(
            requestId,
            parseBody(approvalBody, event.body, 'approval'),
            actorOf(identity),
          );
        }),
      ),
    },
  ];

  /**
   * Client errors as the caller reads them: JSON `{ message }` under `/console/api/` (the pages show the message),
   * and elsewhere a 404 page that leads back to the pipeline. Never a stack trace; 5xx go on to the error handler.
   */
  const clientErrors: MiddlewareObj<Event, Result> = {
    onError: async (request) => {
      const error = request.error as { statusCode?: unknown; message?: string } | null;
      const status = error?.statusCode;
      if (typeof status !== 'number' || status >= 500) return;
      // The router's own 404 ("Route does not exist") says nothing a person can act on.
      const message = error instanceof HttpError ? error.message : 'There is no such page in the console.';
      if (request.event.rawPath?.startsWith('/console/api/')) {
        request.response = json(status, { message });
        return;
      }
      if (status === 404) request.response = html(404, notFoundHtml(message));
    },
  };

  /** The console's own CSP replaces the approval pages' policy on every answer, errors included. */
  const consoleHeaders: MiddlewareObj<Event, Result> = {
    after: async (request) => setCsp(request.response),
    onError: async (request) => setCsp(request.response),
  };
  const setCsp = (response: Result | null | undefined) => {
    if (response) response.headers = { ...response.headers, 'Content-Security-Policy': csp };
  };

  /** `/console/` is `/console`: the URL `npm start` prints ends with a slash, and routes are matched without. */
  const trailingSlash: MiddlewareObj<Event, Result> = {
    before: async (request) => {
      const event = request.event;
      if (event.rawPath?.length > 1 && event.rawPath.endsWith('/')) event.rawPath = event.rawPath.replace(/\/+$/, '');
      const http = event.requestContext?.http;
      if (http?.path?.length > 1 && http.path.endsWith('/')) http.path = http.path.replace(/\/+$/, '');
    },
  };

  return (
    middy<Event, Result>()
      // Used first so that their onError run last: 404 pages, then client errors keep their message, others a
      // plain 500, then the security headers and the console's CSP.
      .use(consoleHeaders)
      .use(securityHeaders())
      .use(errorHandler(logger))
      .use(clientErrors)
      .use(observability({ logger, metrics, ...o }))
      .use(bodyLimit(MAX_CONSOLE_BODY_BYTES))
      .use(trailingSlash)
      .handler(httpRouter<Event, Result>(routes))
  );
}

/** The console's 404 page: static, styled by the console's own stylesheet, the message escaped. */
export function notFoundHtml(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found · Lockstep console</title><link rel="stylesheet" href="/console/style.css"></head>
<body><main class="not-found"><h1>Not found</h1><p>${escapeHtml(message)}</p>
<p><a href="/console">Back to the pipeline</a></p></main></body></html>
`;
}

export const handler = lazyHandler(() => createHandler(consoleApiDependencies(defaultRuntime(), { env: process.env })));
