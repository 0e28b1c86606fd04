import { PublishCommand } from '@aws-sdk/client-sns';
import { SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Runtime } from '../../lambdas/adapters/runtime';
import { createHandler as createApprovalApi } from '../../lambdas/handlers/approval-api';
import { createHandler as createApprovalRequest } from '../../lambdas/handlers/approval-request';
import { reconcilePass } from '../../lambdas/promotion/agents';
import { ApprovalLinkSigner } from '../../lambdas/promotion/approval-link';
import { deliverUndelivered, sendApprovalRequest } from '../../lambdas/promotion/approvals';
import { mocks, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

type Http = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let env: RuntimeEnv;
let requestApproval: (event: unknown) => Promise<{ requestId: string; expiresAt: number }>;
let api: Http;
let runtime: Runtime;
const signer = new ApprovalLinkSigner({ current: 'signing-secret' });

beforeAll(async () => {
  env = await startRuntimeEnv();
  mocks.sfn.on(SendTaskSuccessCommand).resolves({});
  mocks.sfn.on(SendTaskFailureCommand).resolves({});
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  runtime = env.runtime;
  await runtime.revisionStore().create('web', 'build-7', async () => ({
    versionSet: { web: 'c7' },
    commits: [
      {
        id: 'c7c7c7c7c7c7c7',
        message: 'Fix <script>alert(1)</script> in cart',
        author: 'dev@example.com',
        timestamp: 1,
      },
    ],
    authors: ['dev@example.com'],
    artifact: 's3://artifacts/revisions/web/1/artifact.zip',
    buildId: 'build-7',
    createdAt: 1,
    priority: false,
  }));
  requestApproval = createApprovalRequest(runtime.approvalDependencies()) as never;
  api = createApprovalApi(runtime.approvalDependencies()) as never;
});
afterAll(() => env.close());
beforeEach(() => {
  mocks.sns.resetHistory();
  mocks.sfn.resetHistory();
});

async function newRequest(
  token: string,
  approvers: readonly string[] = ['ann@example.com', 'Bob@example.com'],
  required?: number,
  revision = 1,
): Promise<{ requestId: string; links: Record<string, URL> }> {
  mocks.sns.resetHistory();
  const { requestId } = await requestApproval({
    taskToken: token,
    request: {
      execution: `web-to-Beta-web-r${revision}`,
      promotion: 'web-to-Beta',
      environment: 'Beta',
      application: 'web',
      revision,
      approvers,
      ...(required !== undefined ? { required } : {}),
      timeoutSeconds: 3600,
    },
  });
  const links: Record<string, URL> = {};
  for (const call of mocks.sns.commandCalls(PublishCommand)) {
    const input = call.args[0].input;
    // Links go to the approval topic; the notification topic gets a notice without links.
    if (input.TopicArn !== env.variables.LOCKSTEP_APPROVAL_TOPIC_ARN) continue;
    const approver = input.MessageAttributes?.approver?.StringValue ?? '';
    links[approver] = new URL(/https:\/\/\S+/.exec(input.Message ?? '')![0]);
  }
  return { requestId, links };
}

function get(link: URL): Promise<APIGatewayProxyStructuredResultV2> {
  return api({
    rawPath: link.pathname,
    rawQueryString: link.searchParams.toString(),
    pathParameters: { requestId: link.pathname.split('/').pop() },
    requestContext: { http: { method: 'GET' } },
    headers: {},
  } as unknown as APIGatewayProxyEventV2);
}

function post(
  link: URL,
  decision: 'approve' | 'reject',
  override: Record<string, string> = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const form = new URLSearchParams({
    approver: link.searchParams.get('approver')!,
    exp: link.searchParams.get('exp')!,
    sig: link.searchParams.get('sig')!,
    decision,
    ...override,
  });
  return api({
    rawPath: link.pathname,
    rawQueryString: '',
    pathParameters: { requestId: link.pathname.split('/').pop() },
    requestContext: { http: { method: 'POST' } },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2);
}

function decisions(): number {
  return mocks.sfn.commandCalls(SendTaskSuccessCommand).length + mocks.sfn.commandCalls(SendTaskFailureCommand).length;
}

describe('approval links', () => {
  it('mails each approver their own link, which never contains the task token', async () => {
    const { requestId, links } = await newRequest('secret-task-token-1');
    expect(Object.keys(links).sort()).toEqual(['ann@example.com', 'bob@example.com']);
    for (const call of mocks.sns.commandCalls(PublishCommand)) {
      expect(JSON.stringify(call.args[0].input)).not.toContain('secret-task-token-1');
    }
    expect(links['ann@example.com']!.href).toMatch(
      new RegExp(`^https://lockstep.example.com/approvals/${requestId}\\?`),
    );
  });

  it('shows the revision on GET and decides nothing', async () => {
    const { requestId, links } = await newRequest('token-get');
    const page = await get(links['ann@example.com']!);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Approve');
    expect(page.body).toContain('Reject');
    expect(page.body).toContain('Fix &#60;script&#62;alert(1)&#60;/script&#62; in cart');
    expect(page.body).not.toContain('<script>');
    expect(page.headers?.['Content-Security-Policy']).toContain("default-src 'none'");
    expect(page.headers?.['Referrer-Policy']).toBe('no-referrer');
    expect(decisions()).toBe(0);
    expect((await runtime.approvalStore().get(requestId))?.status).toBe('pending');
  });

  it('approves once with the stored token and records who decided', async () => {
    const { requestId, links } = await newRequest('token-approve');
    const response = await post(links['bob@example.com']!, 'approve');
    expect(response.statusCode).toBe(200);
    const [call] = mocks.sfn.commandCalls(SendTaskSuccessCommand);
    expect(call!.args[0].input.taskToken).toBe('token-approve');
    expect(JSON.parse(call!.args[0].input.output!)).toMatchObject({
      decision: 'approved',
      approver: 'bob@example.com',
    });
    const audit = await runtime.eventStore().list({ application: 'web', revision: 1 });
    expect(audit.find((e) => e.type === 'approval-approved')).toMatchObject({
      actor: 'bob@example.com',
      details: expect.objectContaining({ requestId }),
    });
  });

  it('refuses a link used a second time', async () => {
    const { links } = await newRequest('token-reuse');
    expect((await post(links['ann@example.com']!, 'approve')).statusCode).toBe(200);
    expect((await post(links['ann@example.com']!, 'reject')).statusCode).toBe(409);
    expect((await post(links['bob@example.com']!, 'approve')).statusCode).toBe(409);
    expect(decisions()).toBe(1);
  });

  it('sends a rejection as ApprovalRejectedError', async () => {
    const { links } = await newRequest('token-reject');
    expect((await post(links['ann@example.com']!, 'reject', { comment: 'breaks checkout' })).statusCode).toBe(200);
    const [call] = mocks.sfn.commandCalls(SendTaskFailureCommand);
    expect(call!.args[0].input).toMatchObject({ taskToken: 'token-reject', error: 'ApprovalRejectedError' });
  });

  it('lets exactly one of two concurrent decisions win', async () => {
    const { links } = await newRequest('token-race');
    const responses = await Promise.all([
      post(links['ann@example.com']!, 'approve'),
      post(links['bob@example.com']!, 'reject'),
    ]);
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect(decisions()).toBe(1);
  });

  it('refuses a forged signature', async () => {
    const { links } = await newRequest('token-forged');
    const link = new URL(links['ann@example.com']!);
    link.searchParams.set(
      'sig',
      signer.sign({
        requestId: 'x',
        approver: 'ann@example.com',
        execution: 'e',
        environment: 'Beta',
        application: 'web',
        revision: 1,
        expiresAt: 9e9,
      }),
    );
    expect((await get(link)).statusCode).toBe(403);
    expect((await post(link, 'approve')).statusCode).toBe(403);
    expect(decisions()).toBe(0);
  });

  it("refuses one approver's link presented as another approver", async () => {
    const { links } = await newRequest('token-swap');
    const link = new URL(links['ann@example.com']!);
    link.searchParams.set('approver', 'bob@example.com');
    expect((await post(link, 'approve')).statusCode).toBe(403);
  });

  it('refuses a validly signed link for another revision or environment', async () => {
    const { requestId, links } = await newRequest('token-binding');
    const exp = Number(links['ann@example.com']!.searchParams.get('exp'));
    const base = {
      requestId,
      approver: 'ann@example.com',
      execution: 'web-to-Beta-web-r1',
      application: 'web',
      expiresAt: exp,
    };
    for (const claims of [
      { ...base, environment: 'Beta', revision: 2 },
      { ...base, environment: 'Prod', revision: 1 },
    ]) {
      const link = new URL(links['ann@example.com']!);
      link.searchParams.set('sig', signer.sign(claims));
      expect((await post(link, 'approve')).statusCode).toBe(403);
    }
    expect(decisions()).toBe(0);
  });

  it('refuses someone who is not an approver, even with a correctly signed link', async () => {
    const { requestId, links } = await newRequest('token-outsider');
    const exp = Number(links['ann@example.com']!.searchParams.get('exp'));
    const claims = {
      requestId,
      approver: 'mallory@example.com',
      execution: 'web-to-Beta-web-r1',
      environment: 'Beta',
      application: 'web',
      revision: 1,
      expiresAt: exp,
    };
    const link = new URL(links['ann@example.com']!);
    link.searchParams.set('approver', 'mallory@example.com');
    link.searchParams.set('sig', signer.sign(claims));
    expect((await post(link, 'approve')).statusCode).toBe(403);
  });

  it('refuses an expired link', async () => {
    const { requestId, links } = await newRequest('token-expired');
    const past = Math.floor(Date.now() / 1000) - 60;
    const claims = {
      requestId,
      approver: 'ann@example.com',
      execution: 'web-to-Beta-web-r1',
      environment: 'Beta',
      application: 'web',
      revision: 1,
      expiresAt: past,
    };
    const link = new URL(links['ann@example.com']!);
    link.searchParams.set('exp', String(past));
    link.searchParams.set('sig', signer.sign(claims));
    expect((await get(link)).statusCode).toBe(410);
    expect((await post(link, 'approve')).statusCode).toBe(410);
    expect(decisions()).toBe(0);
  });

  it('caps a link lifetime at the configured link TTL when the request timeout is longer', async () => {
    const deps = { ...runtime.approvalDependencies(), linkTtlSeconds: 600, clock: () => 1_000_000 };
    const request = {
      kind: 'environment' as const,
      execution: 'web-to-Beta-web-r1',
      environment: 'Beta',
      application: 'web',
      revision: 1,
      approvers: ['ann@example.com'],
      timeoutSeconds: 86_400,
      taskToken: 'token-ttl',
    };
    expect((await sendApprovalRequest(deps, request)).expiresAt).toBe(1_000_000 + 600_000);
    expect(
      (await sendApprovalRequest(deps, { ...request, timeoutSeconds: 60, taskToken: 'token-ttl-2' })).expiresAt,
    ).toBe(1_000_000 + 60_000);
  });

  it('refuses an unknown request the same way as a bad signature', async () => {
    const { links } = await newRequest('token-unknown');
    const link = new URL(
      links['ann@example.com']!.href.replace(/approvals\/[^?]+/, 'approvals/00000000-0000-0000-0000-000000000000'),
    );
    const response = await get(link);
    expect(response.statusCode).toBe(403);
    expect(response.headers?.['Content-Type']).toContain('text/html');
  });
});

describe('N-of-M approvals, with no self-approval', () => {
  const three = ['ann@example.com', 'bob@example.com', 'dev@example.com'];
  const deliveredFor = (token: string) =>
    [...mocks.sfn.commandCalls(SendTaskSuccessCommand), ...mocks.sfn.commandCalls(SendTaskFailureCommand)].filter(
      (c) => c.args[0].input.taskToken === token,
    );

  it('completes a 2-of-3 approval at the second distinct approver, and refuses the author on the page', async () => {
    const { requestId, links } = await newRequest('token-2of3', three, 2);
    expect(Object.keys(links).sort()).toEqual(three);

    // dev@example.com authored the revision's commit: the page says so, and an approval is refused and audited.
    const page = await get(links['dev@example.com']!);
    expect(page.body).toContain('You authored commit c7c7c7c7c7c7 in this revision');
    const refused = await post(links['dev@example.com']!, 'approve');
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain(
      'You (dev@example.com) authored commit c7c7c7c7c7c7 in web revision 1, so another approver must approve it.',
    );
    const audit = await runtime.eventStore().list({ application: 'web', revision: 1 });
    expect(audit.find((e) => e.type === 'approval-refused' && e.details?.requestId === requestId)).toMatchObject({
      actor: 'dev@example.com',
      details: expect.objectContaining({ reason: 'self-approval' }),
    });

    const first = await post(links['ann@example.com']!, 'approve');
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('1 of 2 approvals');
    expect((await post(links['ann@example.com']!, 'approve')).body).toContain('1 of 2 approvals'); // same approver twice
    expect((await get(links['bob@example.com']!)).body).toContain('1 of 2 approvals so far (ann@example.com)');
    expect(deliveredFor('token-2of3')).toHaveLength(0);

    const second = await post(links['bob@example.com']!, 'approve');
    expect(second.statusCode).toBe(200);
    expect(second.body).toContain('<h1>Approved</h1>');
    expect(
      mocks.sfn.commandCalls(SendTaskSuccessCommand).filter((c) => c.args[0].input.taskToken === 'token-2of3'),
    ).toHaveLength(1);
  });

  it('ends at one rejection, even after approvals, and the author may reject', async () => {
    const { links } = await newRequest('token-2of3-reject', three, 2);
    expect((await post(links['ann@example.com']!, 'approve')).statusCode).toBe(200);
    expect((await post(links['dev@example.com']!, 'reject')).statusCode).toBe(200);
    const [failure] = mocks.sfn
      .commandCalls(SendTaskFailureCommand)
      .filter((c) => c.args[0].input.taskToken === 'token-2of3-reject');
    expect(failure!.args[0].input.error).toBe('ApprovalRejectedError');
    expect((await post(links['bob@example.com']!, 'approve')).statusCode).toBe(409);
    expect(deliveredFor('token-2of3-reject')).toHaveLength(1);
  });

  it('refuses the approver who pushed a commit, even one authored by someone else, and says which commit', async () => {
    await runtime.revisionStore().create('web', 'build-pushed', async () => ({
      versionSet: { web: 'd8' },
      commits: [
        {
          id: 'd8d8d8d8d8d8d8d8',
          message: 'Tidy',
          author: 'dev@example.com',
          timestamp: 2,
          pushedBy: 'Ann@Example.com',
        },
      ],
      authors: ['dev@example.com'],
      artifact: 's3://artifacts/revisions/web/2/artifact.zip',
      buildId: 'build-pushed',
      createdAt: 2,
      priority: false,
    }));
    const { requestId, links } = await newRequest('token-pushed', three, 2, 2);
    const email = mocks.sns
      .commandCalls(PublishCommand)
      .map((c) => c.args[0].input)
      .find((input) => input.MessageAttributes?.approver?.StringValue === 'bob@example.com');
    expect(email?.Message).toContain('d8d8d8d8d8d8 Tidy (dev@example.com, pushed by Ann@Example.com)');
    const page = (await get(links['ann@example.com']!)).body!;
    expect(page).toContain('You pushed commit d8d8d8d8d8d8 in this revision');
    expect(page).toContain('dev@example.com<br><span class="note">pushed by Ann@Example.com</span>');
    const refused = await post(links['ann@example.com']!, 'approve');
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain(
      'You (ann@example.com) pushed commit d8d8d8d8d8d8 in web revision 2, so another approver must approve it.',
    );
    const audit = await runtime.eventStore().list({ application: 'web', revision: 2 });
    expect(audit.find((e) => e.type === 'approval-refused' && e.details?.requestId === requestId)).toMatchObject({
      actor: 'ann@example.com',
      message: expect.stringContaining('they pushed commit d8d8d8d8d8d8 in it'),
      details: expect.objectContaining({ reason: 'self-approval', role: 'pushed', commit: 'd8d8d8d8d8d8' }),
    });
    // Neither the pusher's refusal nor the author's counts: bob alone is one of two approvals.
    expect((await post(links['dev@example.com']!, 'approve')).statusCode).toBe(403);
    expect((await post(links['bob@example.com']!, 'approve')).body).toContain('1 of 2 approvals');
    expect(deliveredFor('token-pushed')).toHaveLength(0);
  });

  it('decides exactly once when N approvals and a rejection arrive at once, 50 times over', async () => {
    const approvers = ['ann@example.com', 'bob@example.com', 'cy@example.com'];
    for (let i = 0; i < 50; i++) {
      const token = `token-race-nofm-${i}`;
      const { requestId, links } = await newRequest(token, approvers, 2);
      const responses = await Promise.all([
        post(links['ann@example.com']!, 'approve'),
        post(links['bob@example.com']!, 'approve'),
        post(links['cy@example.com']!, 'reject'),
      ]);
      const delivered = deliveredFor(token);
      expect(delivered).toHaveLength(1);
      const stored = await runtime.approvalStore().get(requestId);
      const success = mocks.sfn.commandCalls(SendTaskSuccessCommand).some((c) => c.args[0].input.taskToken === token);
      expect(stored!.status).toBe(success ? 'approved' : 'rejected');
      if (stored!.status === 'approved')
        expect(new Set(stored!.approvedBy)).toEqual(new Set(['ann@example.com', 'bob@example.com']));
      // Every answer is either the outcome, a recorded approval, or "already decided".
      for (const r of responses) expect([200, 409]).toContain(r.statusCode);
    }
  }, 180_000); // 50 rounds of four requests each: well under a minute on a quiet machine
});

describe('delivering a decision', () => {
  const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

  /** Step Functions that fails the first SendTaskSuccess for `token`, then accepts; counts what it accepted. */
  function flakyStepFunctions(token: string): { accepted: () => number } {
    let accepted = 0;
    let calls = 0;
    mocks.sfn.on(SendTaskSuccessCommand, { taskToken: token }).callsFake(() => {
      if (++calls === 1) throw throttled();
      accepted++;
      return {};
    });
    return { accepted: () => accepted };
  }

  it('delivers an approval when the approver posts again after Step Functions failed the first delivery', async () => {
    const sfn = flakyStepFunctions('token-flaky-retry');
    const { requestId, links } = await newRequest('token-flaky-retry');
    expect((await post(links['ann@example.com']!, 'approve')).statusCode).toBe(500);
    expect(sfn.accepted()).toBe(0);

    // Another approver, or another decision, is still refused: only the same decision is delivered again.
    expect((await post(links['bob@example.com']!, 'approve')).statusCode).toBe(409);
    expect((await post(links['ann@example.com']!, 'reject')).statusCode).toBe(409);
    const again = await post(links['ann@example.com']!, 'approve');
    expect(again.statusCode).toBe(200);
    expect(sfn.accepted()).toBe(1);
    expect(mocks.sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);

    // Delivered once: posting again is refused, and the reconcile pass has nothing left to deliver.
    expect((await post(links['ann@example.com']!, 'approve')).statusCode).toBe(409);
    expect(await deliverUndelivered(runtime.approvalDependencies())).toEqual([]);
    expect(sfn.accepted()).toBe(1);
    const audit = await runtime.eventStore().list({ application: 'web', revision: 1 });
    expect(audit.filter((e) => e.type === 'approval-approved' && e.details?.requestId === requestId)).toHaveLength(1);
  });

  it('delivers an approval on the next reconcile pass when the approver never posts again', async () => {
    mocks.sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:promotion:x', startDate: new Date() });
    const sfn = flakyStepFunctions('token-flaky-reconcile');
    const { requestId, links } = await newRequest('token-flaky-reconcile');
    expect((await post(links['bob@example.com']!, 'approve')).statusCode).toBe(500);
    expect(await runtime.approvalStore().get(requestId)).toMatchObject({
      status: 'approved',
      decidedBy: 'bob@example.com',
      delivery: 'pending',
    });

    const deps = { ...runtime.agentDependencies(), approvals: runtime.approvalDependencies() };
    const [first, second] = [await reconcilePass(deps), await reconcilePass(deps)];
    expect(first.decisionsDelivered).toEqual([requestId]);
    expect(second.decisionsDelivered).toEqual([]);
    expect(sfn.accepted()).toBe(1);
    const [, delivered] = mocks.sfn.commandCalls(SendTaskSuccessCommand, { taskToken: 'token-flaky-reconcile' });
    expect(JSON.parse(delivered!.args[0].input.output!)).toMatchObject({
      decision: 'approved',
      approver: 'bob@example.com',
      requestId,
    });
    expect(await runtime.approvalStore().get(requestId)).toMatchObject({ delivery: 'delivered' });
  });

  it('answers 410 and stops delivering when the workflow no longer waits', async () => {
    mocks.sfn
      .on(SendTaskSuccessCommand, { taskToken: 'token-timed-out' })
      .rejects(Object.assign(new Error('Task timed out'), { name: 'TaskTimedOut' }));
    const { requestId, links } = await newRequest('token-timed-out');
    expect((await post(links['ann@example.com']!, 'approve')).statusCode).toBe(410);
    expect(await runtime.approvalStore().get(requestId)).toMatchObject({
      status: 'approved',
      delivery: 'undeliverable',
    });
    expect(await runtime.approvalStore().undelivered(Date.now())).not.toContain(requestId);
    expect((await post(links['ann@example.com']!, 'approve')).statusCode).toBe(409);
  });
});
