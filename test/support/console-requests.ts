/** HTTP API (payload 2.0) requests to the console API handler, as API Gateway sends them after the JWT authorizer. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type Claims = Record<string, string>;
export const viewer: Claims = { email: 'vera@example.com', 'cognito:groups': '[viewers]' };
export const operator: Claims = { email: 'otto@example.com', 'cognito:groups': '[operators]' };

export interface ConsoleRequest {
  /** The authorizer's JWT claims; omitted: an anonymous request. */
  readonly claims?: Claims;
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

type ConsoleHandler = (event: APIGatewayProxyEventV2, context: never) => Promise<APIGatewayProxyStructuredResultV2>;

export function callConsole(
  api: ConsoleHandler,
  method: 'GET' | 'POST',
  path: string,
  options: ConsoleRequest = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const query = new URLSearchParams(options.query ?? {});
  return api(
    {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: query.toString(),
      ...(options.query ? { queryStringParameters: options.query } : {}),
      headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      requestContext: {
        http: { method, path, sourceIp: '203.0.113.7' },
        ...(options.claims ? { authorizer: { jwt: { claims: options.claims, scopes: [] } } } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body), isBase64Encoded: false } : {}),
    } as unknown as APIGatewayProxyEventV2,
    {} as never,
  );
}

/** The JSON body of a console API answer. */
export const jsonBody = (r: APIGatewayProxyStructuredResultV2) => JSON.parse(r.body ?? 'null');
