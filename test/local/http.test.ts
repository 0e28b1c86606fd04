import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpFrontDoor } from '../../local/http/front-door';

describe('local HTTP front door', () => {
  const door = new HttpFrontDoor({ maxBodyBytes: 1024, onHandlerError: () => undefined });
  const seen: APIGatewayProxyEventV2[] = [];
  let base: string;

  beforeAll(async () => {
    door.registerRoute('GET', '/approvals/{requestId}', (event) => {
      seen.push(event);
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'text/html' },
        body: `<h1>${event.pathParameters?.requestId}</h1>`,
        cookies: ['seen=1; Path=/'],
      };
    });
    door.registerRoute('POST', '/webhooks/github', (event) => {
      seen.push(event);
      return { accepted: true };
    });
    door.registerRoute('POST', '/upload', (event) => {
      seen.push(event);
      return { statusCode: 200, isBase64Encoded: true, body: event.body };
    });
    door.registerRoute('GET', '/boom', () => {
      throw new Error('internal detail');
    });
    base = await door.start();
  });

  afterAll(() => door.stop());

  it('turns a request into a payload 2.0 event with path parameters, lower-cased headers, cookies and query', async () => {
    const response = await fetch(`${base}/approvals/req-42?view=full`, {
      headers: { 'X-Custom': 'A', Cookie: 'a=1; b=2' },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('<h1>req-42</h1>');
    expect(response.headers.get('content-type')).toBe('text/html');
    expect(response.headers.get('set-cookie')).toBe('seen=1; Path=/');
    const event = seen.at(-1)!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /approvals/{requestId}',
      rawPath: '/approvals/req-42',
      rawQueryString: 'view=full',
      queryStringParameters: { view: 'full' },
      pathParameters: { requestId: 'req-42' },
      cookies: ['a=1', 'b=2'],
      requestContext: { http: { method: 'GET', path: '/approvals/req-42', sourceIp: '127.0.0.1' }, stage: '$default' },
      isBase64Encoded: false,
    });
    expect(event.headers['x-custom']).toBe('A');
  });

  it('keeps a text body byte for byte and answers a result without statusCode as 200 JSON', async () => {
    const raw = '{"zen":"Keep it logically awesome.",  "spaces":  true}';
    const response = await fetch(`${base}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: true });
    expect(seen.at(-1)?.body).toBe(raw);
  });

  it('base64-encodes a binary body and decodes a base64 result', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const response = await fetch(`${base}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(seen.at(-1)?.isBase64Encoded).toBe(true);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
  });

  it('answers 404 for an unknown route, 413 over the body limit and a plain 500 when the handler throws', async () => {
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
    const tooBig = await fetch(`${base}/webhooks/github`, { method: 'POST', body: 'x'.repeat(2048) });
    expect(tooBig.status).toBe(413);
    const boom = await fetch(`${base}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.text()).not.toContain('internal detail');
  });
});
