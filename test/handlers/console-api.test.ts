import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { consoleApiDependencies } from '../../lambdas/adapters/console-runtime';
import { pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';
import { reconcile } from '../../lambdas/core/decide/snapshots';
import { createHandler } from '../../lambdas/handlers/console-api';
import { loadWorld } from '../../lambdas/promotion/agents';
import { callConsole, jsonBody as body, operator, viewer, type ConsoleRequest } from '../support/console-requests';
import { startRuntimeEnv, TEST_PIPELINE, type RuntimeEnv } from '../support/runtime-env';

// The console's HTTP answers over real stores (dynalite): what a browser gets for each page, who may do what,
// and what a bad address or a hostile value turns into.
const NOW = Date.parse('2030-01-07T12:00:00Z');
const PIPELINE: PipelineInput = {
  ...TEST_PIPELINE,
  stages: [
    TEST_PIPELINE.stages[0]!,
    {
      name: 'Ops',
      environments: [
        {
          name: 'Ops',
          deploy: { commands: ['./deploy.sh'] },
          windows: [{ days: ['mon'], start: '22:00', end: '23:00', timeZone: 'Asia/Tokyo' }],
        },
      ],
    },
  ],
};

let env: RuntimeEnv;
let api: ReturnType<typeof createHandler>;

const call = (method: 'GET' | 'POST', path: string, options: ConsoleRequest = {}) =>
  callConsole(api, method, path, options);

beforeAll(async () => {
  env = await startRuntimeEnv({}, PIPELINE, { clock: () => NOW });
  const { runtime } = env;
  const revision = (number: number, message: string, author = 'dev@example.com') => ({
    versionSet: { web: `c${number}`.padEnd(40, '0') },
    commits: [{ id: `c${number}`.padEnd(40, '0'), message, author, timestamp: NOW - 3_600_000 }],
    authors: [author],
    artifact: `s3://artifacts/web/${number}`,
    buildId: `build-${number}`,
    createdAt: NOW - 3_000_000 + number,
    priority: false,
  });
  await runtime.revisionStore().create('web', 'b1', async () => revision(1, 'First'));
  await runtime.revisionStore().create('web', 'b2', async () => revision(2, '<script>alert(1)</script>', '=cmd|evil'));
  const deployed = (number: number, at: number) => ({
    application: 'web',
    number,
    versionSet: { web: `c${number}`.padEnd(40, '0') },
    deployedAt: at,
  });
  const first = await runtime.environmentStore().recordDeployed('Beta', deployed(1, NOW - 7_200_000), undefined);
  await runtime.environmentStore().markApproved('Beta', 'web', 1, 1_000);
  await runtime.environmentStore().recordDeployed('Beta', deployed(2, NOW - 600_000), first);
  await runtime.lockStore().acquire('Beta', 'Beta-web-r2', 3_600_000, NOW - 600_000);
  await runtime.approvalStore().create(
    {
      requestId: 'req-0000000001',
      kind: 'environment',
      execution: 'Beta-web-r2',
      environment: 'Beta',
      application: 'web',
      revision: 2,
      approvers: ['ann@example.com'],
      createdAt: NOW - 300_000,
      expiresAt: NOW + 3_600_000,
      status: 'pending',
    },
    'token',
  );
  const events = runtime.eventStore();
  for (const e of [
    { at: NOW - 7_200_000, type: 'deployed', message: 'web r1 deployed to Beta', revision: 1 },
    { at: NOW - 600_000, type: 'deployed', message: 'web r2 deployed to Beta', revision: 2 },
    {
      at: NOW - 300_000,
      type: 'approval-requested',
      message: 'Approval requested',
      revision: 2,
      details: { requestId: 'req-0000000001' },
    },
  ])
    await events.append({ actor: 'execution:Beta-web-r2', environment: 'Beta', application: 'web', ...e });
  await events.append({
    at: NOW - 100_000,
    type: 'lock-released-by-operator',
    actor: '+alice@example.com',
    message: 'Lock released, "quoted"',
    environment: 'Beta',
  });
  api = createHandler(
    consoleApiDependencies(runtime, {
      env: { ...env.variables, LOCKSTEP_CONSOLE_ASSETS_DIR: join(import.meta.dirname, '../../console') },
      clientConfig: { mode: 'local' },
    }),
  );
});

afterAll(async () => {
  await env?.close();
});

describe('console data routes', () => {
  it('refuses data to a request without the authorizer claims (401)', async () => {
    const response = await call('GET', '/console/api/pipeline');
    expect(response.statusCode).toBe(401);
    expect(body(response).message).toMatch(/log in/);
  });

  it("shows each environment's revision, state, lock, window, pending approval and decide()'s reason", async () => {
    const response = await call('GET', '/console/api/pipeline', { claims: viewer });
    expect(response.statusCode).toBe(200);
    const view = body(response);
    const beta = view.stages[0].environments[0];
    expect(beta).toMatchObject({
      name: 'Beta',
      applications: [{ application: 'web', revision: 2, state: 'in approval', since: NOW - 300_000, previous: 1 }],
      lock: { owner: 'Beta-web-r2', leaseExpiresAt: NOW + 3_000_000 },
      pendingApprovals: [
        {
          requestId: 'req-0000000001',
          revision: 2,
          approvers: ['ann@example.com'],
          link: 'https://lockstep.example.com/approvals/req-0000000001',
        },
      ],
    });
    const ops = view.stages[1].environments[0];
    expect(ops.window).toEqual({
      open: false,
      windows: ['Mon 22:00-23:00 Asia/Tokyo'],
      nextOpening: expect.stringMatching(/22:00 Asia\/Tokyo/),
    });
    // The same words `lockstep explain` prints: decide() over the same world.
    const pipeline = pipelineSchema.parse(PIPELINE);
    const world = await loadWorld(env.runtime.agentDependencies());
    const expected = reconcile(pipeline, world, NOW).find((d) => d.destination === 'Beta')!.decision.reason;
    expect(beta.next[0].reason).toBe(expected);
    expect(view.promotions).toEqual(
      expect.arrayContaining([expect.objectContaining({ from: 'web', to: 'Beta', enabled: true })]),
    );
  });

  it('answers a poll whose data did not change with 304 and no body', async () => {
    const first = await call('GET', '/console/api/pipeline', { claims: viewer });
    const etag = String(first.headers?.ETag);
    const again = await call('GET', '/console/api/pipeline', { claims: viewer, headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBeUndefined();
  });

  it('pages the timeline of an environment, newest first', async () => {
    const view = body(await call('GET', '/console/api/environments/Beta/timeline', { claims: viewer }));
    expect(view.entries.map((e: { type: string }) => e.type)).toEqual([
      'lock-released-by-operator',
      'approval-requested',
      'deployed',
      'deployed',
    ]);
    expect(view.hasMore).toBe(false);
  });

  it('shows a revision with its commits and a diff against what each environment runs', async () => {
    const view = body(await call('GET', '/console/api/revisions/web/1', { claims: viewer }));
    expect(view.commits[0].message).toBe('First');
    expect(view.environments).toEqual([
      expect.objectContaining({
        environment: 'Beta',
        running: 2,
        relation: 'older',
        packages: [{ package: 'web', running: 'c2'.padEnd(40, '0'), revision: 'c1'.padEnd(40, '0') }],
      }),
    ]);
    expect(view.environments[0].commits[0].message).toBe('<script>alert(1)</script>');
  });

  it('opens the progress of a change by commit id', async () => {
    const view = body(await call('GET', '/console/api/commits/c2000000/progress', { claims: viewer }));
    expect(view).toMatchObject({
      application: 'web',
      revision: 2,
      environments: [{ environment: 'Beta', state: 'in', deployedAt: NOW - 600_000 }],
    });
  });

  it('answers an unknown environment, revision or commit with 404 and what exists', async () => {
    const env404 = await call('GET', '/console/api/environments/Nope/timeline', { claims: viewer });
    expect(env404.statusCode).toBe(404);
    expect(body(env404).message).toMatch(/No environment "Nope".*Beta, Ops/);
    expect((await call('GET', '/console/api/revisions/web/99', { claims: viewer })).statusCode).toBe(404);
    expect((await call('GET', '/console/api/revisions/nope/1', { claims: viewer })).statusCode).toBe(404);
    expect((await call('GET', '/console/api/commits/abcdef12/progress', { claims: viewer })).statusCode).toBe(404);
    const route404 = await call('GET', '/console/api/nothing/here', { claims: viewer });
    expect([route404.statusCode, body(route404).message]).toEqual([404, 'There is no such page in the console.']);
  });

  it('counts deploys for the delivery metrics', async () => {
    const view = body(await call('GET', '/console/api/metrics', { claims: viewer }));
    expect(view.environments).toEqual([
      expect.objectContaining({ application: 'web', environment: 'Beta', deployments: 2, rollbacks: 0 }),
    ]);
    expect(view.environments[0].deploymentsPerDay).toHaveLength(30);
  });

  it('says the SDKs page has nothing when no SDK publisher runs', async () => {
    expect(body(await call('GET', '/console/api/sdks', { claims: viewer }))).toEqual({
      available: false,
      staging: [],
      catalogue: [],
    });
  });
});

describe('console actions and the audit log', () => {
  it("refuses a viewer's rollback with 403 and records the refusal in the audit log", async () => {
    const response = await call('POST', '/console/api/environments/Beta/rollback', {
      claims: viewer,
      body: { application: 'web' },
    });
    expect(response.statusCode).toBe(403);
    const audit = body(
      await call('GET', '/console/api/audit', { claims: viewer, query: { action: 'console-request-denied' } }),
    );
    expect(audit.entries[0]).toMatchObject({
      actor: 'vera@example.com',
      action: 'console-request-denied',
      from: '203.0.113.7',
      via: 'console',
    });
  });

  it('switches the pipeline off for an operator, and the audit log says who', async () => {
    const response = await call('POST', '/console/api/switches', { claims: operator, body: { automation: false } });
    expect(response.statusCode).toBe(200);
    expect(body(await call('GET', '/console/api/pipeline', { claims: viewer })).switches.automation).toBe(false);
    const audit = body(
      await call('GET', '/console/api/audit', { claims: viewer, query: { actor: 'OTTO@example.com' } }),
    );
    expect(audit.entries.map((e: { action: string }) => e.action)).toEqual(['automation-switched']);
  });

  it('refuses an action body that does not fit, naming the field', async () => {
    const response = await call('POST', '/console/api/environments/Beta/pin', {
      claims: operator,
      body: { application: 'web', revision: 'two' },
    });
    expect(response.statusCode).toBe(400);
    expect(body(response).message).toMatch(/revision/);
  });

  it('exports the audit log as CSV with user-controlled cells that cannot run as formulas', async () => {
    const response = await call('GET', '/console/api/audit', {
      claims: viewer,
      query: { format: 'csv', environment: 'Beta' },
    });
    expect(response.headers?.['Content-Type']).toMatch(/text\/csv/);
    const lines = String(response.body).trim().split('\r\n');
    expect(lines[0]).toBe('time,actor,action,environment,application,revision,from,via,message');
    expect(lines).toContain(
      `${new Date(NOW - 100_000).toISOString()},'+alice@example.com,lock-released-by-operator,Beta,,,,,"Lock released, ""quoted"""`,
    );
  });
});

describe('console pages', () => {
  it('serves the front end with a CSP that allows no inline script', async () => {
    const response = await call('GET', '/console');
    expect(response.statusCode).toBe(200);
    expect(Buffer.from(response.body!, 'base64').toString()).toContain('<script type="module" src="/console/app.js">');
    const csp = String(response.headers?.['Content-Security-Policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('answers an unknown console page with an HTML 404 page whose text is escaped', async () => {
    const response = await call('GET', '/console/<img>.js');
    expect(response.statusCode).toBe(404);
    expect(response.headers?.['Content-Type']).toMatch(/text\/html/);
    expect(response.body).not.toContain('<img>');
    expect(response.body).toContain('Back to the pipeline');
  });

  it('serves the login settings the browser reads', async () => {
    expect(body(await call('GET', '/console/config.json'))).toEqual({ mode: 'local' });
  });
});

describe('card state', () => {
  it('follows the deploy lifecycle among timeline entries written in the same millisecond', async () => {
    const { runtime } = env;
    await runtime.revisionStore().create('ops', 'ops-b1', async () => ({
      versionSet: { ops: 'd1'.padEnd(40, '0') },
      commits: [],
      authors: [],
      artifact: 's3://artifacts/ops/1',
      buildId: 'ops-b1',
      createdAt: NOW - 60_000,
      priority: false,
    }));
    const at = NOW - 30_000;
    await runtime
      .environmentStore()
      .recordDeployed(
        'Ops',
        { application: 'ops', number: 1, versionSet: { ops: 'd1'.padEnd(40, '0') }, deployedAt: at },
        undefined,
      );
    await runtime.environmentStore().markApproved('Ops', 'ops', 1, 1_000);
    // Written in the order a deploy goes, all in one millisecond: the store returns them in any order.
    for (const type of [
      'promotion-started',
      'lock-acquired',
      'deployed',
      'tests-passed',
      'revision-approved',
      'promotion-succeeded',
    ])
      await runtime.eventStore().append({
        at,
        type,
        actor: 'execution:ops-r1',
        message: type,
        environment: 'Ops',
        application: 'ops',
        revision: 1,
      });
    const ops = body(await call('GET', '/console/api/pipeline', { claims: viewer })).stages[1].environments[0];
    expect(ops.applications).toEqual([{ application: 'ops', revision: 1, state: 'approved', since: at }]);
  });
});

describe('timeline pages by cursor', () => {
  it('pages a long revision timeline with older and newer cursors, and refuses a damaged one with the way back', async () => {
    const entries = Array.from({ length: 60 }, (_, i) => ({
      at: NOW - 100_000 + i,
      type: 'paging-check',
      actor: 'agent:test',
      message: `entry ${i + 1}`,
      application: 'web',
      revision: 1,
    }));
    await env.runtime.eventStore().append(entries.slice(0, 25));
    await env.runtime.eventStore().append(entries.slice(25));
    const path = '/console/api/revisions/web/1/timeline';
    const first = body(await call('GET', path, { claims: viewer }));
    expect(first).toMatchObject({ page: 1, pageSize: 50, hasMore: true });
    expect(first.newer).toBeUndefined();
    expect(first.entries[0].message).toBe('entry 60');

    const second = body(await call('GET', path, { claims: viewer, query: { cursor: first.older } }));
    expect(second.page).toBe(2);
    expect(second.older).toBeUndefined();
    expect(
      second.entries
        .filter((e: { type: string }) => e.type === 'paging-check')
        .map((e: { message: string }) => e.message),
    ).toEqual([
      'entry 10',
      'entry 9',
      'entry 8',
      'entry 7',
      'entry 6',
      'entry 5',
      'entry 4',
      'entry 3',
      'entry 2',
      'entry 1',
    ]);
    const back = body(await call('GET', path, { claims: viewer, query: { cursor: second.newer } }));
    expect(back.entries).toEqual(first.entries);

    const damaged = await call('GET', path, { claims: viewer, query: { cursor: 'eyJwIjo' } });
    expect([damaged.statusCode, body(damaged).message]).toEqual([
      400,
      'This timeline page link is damaged or out of date: open the timeline from its newest page',
    ]);
  });
});
