import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { StartBuildCommand } from '@aws-sdk/client-codebuild';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { sign } from '@octokit/webhooks-methods';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHandler } from '../../lambdas/handlers/github-webhook';
import { mocks, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

let env: RuntimeEnv;
let handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let deliveries = 0;

beforeAll(async () => {
  // Mid-rotation: the new secret is current, the old one is still accepted.
  env = await startRuntimeEnv({ webhook: JSON.stringify({ current: 'new-secret', previous: 'old-secret' }) });
  mocks.codebuild.on(StartBuildCommand).resolves({ build: { id: 'lockstep-shop-build-web:1' } });
  handler = createHandler(env.runtime.webhookDependencies()) as never;
});
afterAll(() => env.close());

function push(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ref: 'refs/heads/main',
    after: 'a'.repeat(40),
    deleted: false,
    repository: { full_name: 'acme/web', name: 'web', owner: { login: 'acme' } },
    head_commit: { id: 'a'.repeat(40), message: 'Add cart', author: { email: 'dev@example.com', name: 'Dev' } },
    pusher: { name: 'dev', email: 'dev@example.com' },
    ...overrides,
  };
}

async function deliver(
  body: string,
  options: { secret?: string | null; event?: string; delivery?: string; base64?: boolean } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': options.event ?? 'push',
    'x-github-delivery': options.delivery ?? `delivery-${++deliveries}`,
  };
  if (options.secret !== null) headers['x-hub-signature-256'] = await sign(options.secret ?? 'new-secret', body);
  const response = await handler({
    headers,
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
    requestContext: { http: { method: 'POST' } },
  } as unknown as APIGatewayProxyEventV2);
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(response.body ?? '{}');
  } catch {
    parsed = { text: response.body };
  }
  return {
    status: response.statusCode ?? 0,
    body: parsed,
    headers: (response.headers ?? {}) as Record<string, string>,
  };
}

describe('GitHub webhook', () => {
  it('refuses a delivery without a signature', async () => {
    expect((await deliver(JSON.stringify(push()), { secret: null })).status).toBe(401);
  });

  it('refuses a delivery whose signature does not match', async () => {
    const response = await deliver(JSON.stringify(push()), { secret: 'guessed' });
    expect(response.status).toBe(401);
    expect(JSON.stringify(response.body)).not.toMatch(/stack|at .*\.ts/);
  });

  it('refuses a body signed for different content', async () => {
    const signature = await sign('new-secret', JSON.stringify(push()));
    const response = await handler({
      headers: { 'x-hub-signature-256': signature, 'x-github-event': 'push', 'x-github-delivery': 'tampered' },
      body: JSON.stringify(push({ after: 'b'.repeat(40) })),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);
    expect(response.statusCode).toBe(401);
  });

  it('re-reads the secret after a mismatch at most once a minute, so forged deliveries cost no Secrets Manager call each', async () => {
    mocks.secrets.resetHistory();
    for (let i = 0; i < 5; i++) expect((await deliver(JSON.stringify(push()), { secret: 'forged' })).status).toBe(401);
    expect(mocks.secrets.commandCalls(GetSecretValueCommand).length).toBeLessThanOrEqual(1);
  });

  it('accepts the previous secret during a rotation', async () => {
    expect((await deliver(JSON.stringify(push({ after: '1'.repeat(40) })), { secret: 'old-secret' })).status).toBe(202);
  });

  it('refuses a body over the size limit with 413, before checking anything else', async () => {
    const response = await deliver('x'.repeat(1024 * 1024 + 1), { secret: null });
    expect(response.status).toBe(413);
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    expect((await deliver('{"ref": ', {})).status).toBe(400);
  });

  it('answers ping', async () => {
    const response = await deliver(JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }), {
      event: 'ping',
    });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('pong');
    expect(response.headers['X-Content-Type-Options']).toBe('nosniff');
  });

  it('records a push once and ignores the same delivery id when it comes again', async () => {
    const body = JSON.stringify(push({ after: '2'.repeat(40) }));
    const first = await deliver(body, { delivery: 'same-delivery' });
    const again = await deliver(body, { delivery: 'same-delivery' });
    expect(first.status).toBe(202);
    expect(first.body.recorded).toBe(1);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('duplicate');
  });

  it('reads a base64-encoded body as API Gateway sends it', async () => {
    expect((await deliver(JSON.stringify(push({ after: '3'.repeat(40) })), { base64: true })).status).toBe(202);
  });

  it('ignores a tag push, saying why', async () => {
    const response = await deliver(JSON.stringify(push({ ref: 'refs/tags/v1.0.0' })));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ignored', reason: expect.stringContaining('tag') });
  });

  it('ignores a branch deletion, saying why', async () => {
    const response = await deliver(JSON.stringify(push({ deleted: true, after: '0'.repeat(40) })));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ignored', reason: expect.stringContaining('deleted') });
  });

  it('ignores untracked branches and repositories, saying why', async () => {
    const branch = await deliver(JSON.stringify(push({ ref: 'refs/heads/feature/x' })));
    const repository = await deliver(JSON.stringify(push({ repository: { full_name: 'acme/other' } })));
    expect(branch.status).toBe(200);
    expect(branch.body.reason).toContain('feature/x');
    expect(repository.body.reason).toContain('acme/other');
  });

  it('ignores events other than push', async () => {
    const response = await deliver(JSON.stringify({ action: 'opened' }), { event: 'pull_request' });
    expect(response.body.status).toBe('ignored');
  });

  it('answers 400 when the GitHub headers are missing', async () => {
    const body = JSON.stringify(push());
    const response = await handler({
      headers: { 'x-hub-signature-256': await sign('new-secret', body) },
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);
    expect(response.statusCode).toBe(400);
  });
});

describe('GitHub webhook: secret rotation and the re-read rate limit', () => {
  const ROTATING = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rotating';
  let now = Date.parse('2030-01-07T10:00:00Z');
  let secret = 'first-secret';
  let rotating: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  const reads = () => mocks.secrets.commandCalls(GetSecretValueCommand, { SecretId: ROTATING }).length;
  const deliverTo = async (body: string, signingSecret: string) => {
    const response = await rotating({
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': `rotating-${++deliveries}`,
        'x-hub-signature-256': await sign(signingSecret, body),
      },
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);
    return response.statusCode;
  };

  beforeAll(() => {
    mocks.secrets
      .on(GetSecretValueCommand, { SecretId: ROTATING })
      .callsFake(() => ({ SecretString: JSON.stringify({ current: secret }) }));
    const base = env.runtime.webhookDependencies();
    // Its own handler: its own secret, its own re-read pacing, and a clock the test moves.
    rotating = createHandler({
      ...base,
      webhookSecretId: ROTATING,
      agents: { ...base.agents, clock: () => now },
    }) as never;
  });

  it('accepts a delivery signed with a secret rotated since it was cached, by reading the secret again', async () => {
    expect(await deliverTo(JSON.stringify(push({ after: '4'.repeat(40) })), 'first-secret')).toBe(202);
    // Rotated in Secrets Manager with no previous secret kept; the handler still holds the first one in its cache.
    secret = 'second-secret';
    expect(await deliverTo(JSON.stringify(push({ after: '5'.repeat(40) })), 'second-secret')).toBe(202);
  });

  it('reads the secret again at most once a minute on its clock, however many forged deliveries come', async () => {
    now += 120_000;
    const before = reads();
    for (let i = 0; i < 5; i++) expect(await deliverTo(JSON.stringify(push()), 'forged')).toBe(401);
    expect(reads() - before).toBe(1);
    now += 59_000;
    expect(await deliverTo(JSON.stringify(push()), 'forged')).toBe(401);
    expect(reads() - before).toBe(1);
    now += 1_000;
    expect(await deliverTo(JSON.stringify(push()), 'forged')).toBe(401);
    expect(reads() - before).toBe(2);
  });
});

describe('GitHub webhook: bodies GitHub can send', () => {
  // Signed with node:crypto: octokit's sign() refuses an empty payload, which GitHub's HMAC covers all the same.
  const signature = (body: string) => `sha256=${createHmac('sha256', 'new-secret').update(body).digest('hex')}`;
  const raw = async (body: string, headers: Record<string, string>) => {
    const response = await handler({
      headers: {
        'x-github-event': 'push',
        'x-github-delivery': `body-${++deliveries}`,
        'x-hub-signature-256': signature(body),
        ...headers,
      },
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);
    const text = response.body ?? '';
    return {
      status: response.statusCode,
      text,
      json: () => JSON.parse(text) as Record<string, unknown>,
      headers: response.headers ?? {},
    };
  };

  it('accepts a form-encoded delivery (payload=<json>), verifying the signature over the form as sent', async () => {
    const form = new URLSearchParams({ payload: JSON.stringify(push({ after: '6'.repeat(40) })) }).toString();
    const response = await raw(form, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(202);
    expect(response.json().recorded).toBe(1);
  });

  it('refuses a form-encoded delivery whose signature covers other content', async () => {
    const form = new URLSearchParams({ payload: JSON.stringify(push()) }).toString();
    const response = await handler({
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'push',
        'x-github-delivery': 'form-tampered',
        'x-hub-signature-256': await sign('new-secret', JSON.stringify(push())),
      },
      body: form,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);
    expect(response.statusCode).toBe(401);
  });

  it('answers 415 with the fix to a content type that is neither JSON nor a form', async () => {
    const response = await raw(JSON.stringify(push()), { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(response.text).toContain("set the webhook's content type to application/json");
  });

  it('answers 400 to a JSON array body, which is not an event', async () => {
    const response = await raw(JSON.stringify([push()]), { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
    expect(response.text).toContain('not a JSON object');
  });

  it('answers a correctly signed empty body with 400 saying the body is empty, not a signature mismatch', async () => {
    const response = await raw('', { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
    expect(response.text).toMatch(/empty/);
    expect(response.text).not.toMatch(/Signature/);
  });

  it('verifies the signature over the bytes as sent, even when they are not valid UTF-8', async () => {
    const bytes = Buffer.concat([
      Buffer.from(JSON.stringify(push({ after: '7'.repeat(40) })).slice(0, -1)),
      Buffer.from(',"note":"\xff"}', 'latin1'),
    ]);
    const signature = `sha256=${createHmac('sha256', 'new-secret').update(bytes).digest('hex')}`;
    const response = await handler({
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'latin1',
        'x-hub-signature-256': signature,
      },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    } as unknown as APIGatewayProxyEventV2);
    expect(response.statusCode).not.toBe(401);
  });

  it('puts the security headers on error answers too, without internals', async () => {
    const response = await raw('{"ref": ', { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
    expect(response.headers['Strict-Transport-Security']).toMatch(/max-age=/);
    expect(response.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(response.headers['Cache-Control']).toBe('no-store');
    expect(response.text).not.toMatch(/SyntaxError|Unexpected|at .*\.(ts|js)/);
  });
});

describe('GitHub webhook: any signed body', () => {
  it('answers every correctly signed body with a client answer or success, never a 500 or internals', async () => {
    const contentTypes = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/x-www-form-urlencoded',
      'text/plain',
      '',
    );
    const bodies = fc.oneof(
      fc.json(),
      fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      fc.json().map((payload) => new URLSearchParams({ payload }).toString()),
      fc.record({ ref: fc.string(), after: fc.string(), repository: fc.anything() }).map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(
        bodies,
        contentTypes,
        fc.constantFrom('push', 'ping', 'issues'),
        async (body, contentType, event) => {
          const bytes = Buffer.from(body, 'latin1');
          const response = await handler({
            headers: {
              ...(contentType ? { 'content-type': contentType } : {}),
              'x-github-event': event,
              'x-github-delivery': `fuzz-${++deliveries}`,
              'x-hub-signature-256': `sha256=${createHmac('sha256', 'new-secret').update(bytes).digest('hex')}`,
            },
            body: bytes.toString('base64'),
            isBase64Encoded: true,
          } as unknown as APIGatewayProxyEventV2);
          expect([200, 202, 400, 415]).toContain(response.statusCode);
          expect(response.body ?? '').not.toMatch(/\n\s+at |Error:/);
        },
      ),
      { numRuns: 150 },
    );
  });
});
