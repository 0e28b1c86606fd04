import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context as LambdaContext } from 'aws-lambda';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../constants';
import { LocalConfigurationError } from '../errors';
import { LOCAL_HOST, closeServer, listen } from '../net';

/**
 * The local stand-in for an API Gateway HTTP API: turns node requests into payload-format 2.0 events for the
 * registered routes and writes the handler's result back, following API Gateway's rules:
 *
 * - headers lower-cased, repeated headers joined with commas, cookies in `cookies`;
 * - the raw body kept byte for byte (signature checks need it), base64 with `isBase64Encoded` unless it is text;
 * - a result without `statusCode` is a 200 JSON body (a string as is, anything else JSON-encoded);
 * - unknown route: 404 `{"message":"Not Found"}`; body over the limit: 413; handler error: 500
 *   `{"message":"Internal Server Error"}`, the error logged without request headers.
 */
export type HttpHandler = (event: APIGatewayProxyEventV2, context: LambdaContext) => unknown;

/**
 * The local stand-in for an HTTP API JWT authorizer: checks the `Authorization` header and returns the verified
 * token's claims as API Gateway hands them to the integration (string values), or undefined to refuse.
 */
export interface LocalRouteAuthorizer {
  verify(authorization: string | undefined): Readonly<Record<string, string>> | undefined;
}

export interface RouteOptions {
  /**
   * Guard the route as a JWT authorizer does on AWS: a request whose bearer the authorizer refuses gets API
   * Gateway's 401 and never reaches the handler; an accepted one carries the claims in
   * `requestContext.authorizer.jwt.claims`. @default - no authorizer (the handler authenticates, as the webhook does)
   */
  readonly authorizer?: LocalRouteAuthorizer;
}

export interface FrontDoorOptions {
  /** Largest request body. @default 10 MiB (API Gateway's limit) */
  readonly maxBodyBytes?: number;
  /** @default console.error */
  readonly onHandlerError?: (error: unknown, routeKey: string) => void;
  /** @default 0 (a free port) */
  readonly port?: number;
}

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly regex: RegExp;
  readonly params: readonly string[];
  readonly handler: HttpHandler;
  readonly authorizer?: LocalRouteAuthorizer;
}

const TEXT_TYPES = /^(text\/|application\/(json|[a-z.+-]*\+json|xml|[a-z.+-]*\+xml|x-www-form-urlencoded|javascript))/i;

export class HttpFrontDoor {
  private readonly routes: Route[] = [];
  private server?: Server;
  private baseUrl?: string;

  constructor(private readonly options: FrontDoorOptions = {}) {}

  /**
   * Adds a route. `path` may hold `{name}` parameters (one segment) and a final `{name+}` (the rest).
   *
   * @example
   * frontDoor.registerRoute('GET', '/approvals/{requestId}', handler);
   * frontDoor.registerRoute('GET', '/console/api/{proxy+}', consoleApi, { authorizer: consoleLogin });
   */
  registerRoute(method: string, path: string, handler: HttpHandler, options: RouteOptions = {}): void {
    const params: string[] = [];
    const regex = new RegExp(
      '^' +
        path
          .split('/')
          .map((segment) => {
            const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(segment);
            if (greedy) {
              params.push(greedy[1]!);
              return '(.+)';
            }
            const param = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
            if (param) {
              params.push(param[1]!);
              return '([^/]+)';
            }
            if (segment.includes('{'))
              throw new LocalConfigurationError(`Route ${path}: a parameter must be a whole path segment`);
            return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          })
          .join('/') +
        '$',
    );
    this.routes.push({
      method: method.toUpperCase(),
      pattern: path,
      regex,
      params,
      handler,
      ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    });
  }

  /** Starts listening; returns the base URL (`http://127.0.0.1:<port>`). */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        (this.options.onHandlerError ?? logError)(error, 'front door');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
      });
    });
    const port = await listen(this.server, this.options.port ?? 0);
    this.baseUrl = `http://${LOCAL_HOST}:${port}`;
    return this.baseUrl;
  }

  get url(): string {
    if (!this.baseUrl) throw new LocalConfigurationError('The HTTP front door has not started');
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = url.pathname;
    let match: RegExpExecArray | null = null;
    const route = this.routes.find((r) => r.method === method && (match = r.regex.exec(rawPath)) !== null);
    if (!route || !match) return json(res, 404, { message: 'Not Found' });

    const limit = this.options.maxBodyBytes ?? 10 * 1024 * 1024;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      return json(res, 413, { message: 'Request Entity Too Large' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) return json(res, 413, { message: 'Request Entity Too Large' });
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);

    const headers: Record<string, string> = {};
    let cookies: string[] | undefined;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      const value = req.rawHeaders[i + 1]!;
      if (name === 'cookie') {
        cookies = [
          ...(cookies ?? []),
          ...value
            .split(';')
            .map((c) => c.trim())
            .filter(Boolean),
        ];
        continue;
      }
      headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    }
    const queryStringParameters: Record<string, string> = {};
    for (const [k, v] of url.searchParams)
      queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
    const pathParameters = Object.fromEntries(
      route.params.map((name, i) => [name, decodeURIComponent(match![i + 1]!)]),
    );
    // API Gateway runs the authorizer before the integration: a refused request never reaches the handler.
    const claims = route.authorizer?.verify(headers.authorization);
    if (route.authorizer && claims === undefined) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      res.end(JSON.stringify({ message: 'Unauthorized' }));
      return;
    }
    const isText = TEXT_TYPES.test(headers['content-type'] ?? 'text/plain');
    const now = new Date();
    const routeKey = `${route.method} ${route.pattern}`;
    const requestId = randomUUID();

    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey,
      rawPath,
      rawQueryString: url.search.slice(1),
      ...(cookies ? { cookies } : {}),
      headers,
      ...(url.search ? { queryStringParameters } : {}),
      ...(route.params.length > 0 ? { pathParameters } : {}),
      requestContext: {
        accountId: LOCAL_ACCOUNT,
        apiId: 'local',
        domainName: headers.host ?? LOCAL_HOST,
        domainPrefix: (headers.host ?? LOCAL_HOST).split('.')[0]!,
        http: {
          method,
          path: rawPath,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? LOCAL_HOST,
          userAgent: headers['user-agent'] ?? '',
        },
        requestId,
        routeKey,
        ...(claims
          ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: { ...claims }, scopes: null } } }
          : {}),
        stage: '$default',
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
      ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
      isBase64Encoded: body.length > 0 && !isText,
    };

    let result: unknown;
    try {
      result = await route.handler(event, lambdaContext(routeKey, requestId));
    } catch (error) {
      (this.options.onHandlerError ?? logError)(error, routeKey);
      return json(res, 500, { message: 'Internal Server Error' });
    }
    writeResult(res, result);
  }
}

function writeResult(res: ServerResponse, result: unknown): void {
  const structured =
    result !== null && typeof result === 'object' && 'statusCode' in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : undefined;
  if (!structured) {
    // Payload 2.0 without a statusCode: API Gateway answers 200 with the value as a JSON body.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(typeof result === 'string' ? result : JSON.stringify(result ?? null));
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(structured.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  const body =
    structured.body === undefined
      ? ''
      : structured.isBase64Encoded
        ? Buffer.from(structured.body, 'base64')
        : structured.body;
  res.writeHead(structured.statusCode ?? 200, headers);
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function logError(error: unknown, routeKey: string): void {
  console.error(`[local http] ${routeKey} failed:`, error);
}

function lambdaContext(routeKey: string, requestId: string): LambdaContext {
  const started = Date.now();
  const name = `lockstep-http-${routeKey
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    // API Gateway integrations time out after 30 s.
    getRemainingTimeInMillis: () => Math.max(0, 30_000 - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
