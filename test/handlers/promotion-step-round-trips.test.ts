/**
 * How long each promotion step waits on DynamoDB, counted in round trips: the longest chain of requests sent one
 * after another (requests in flight together count once). Local mode's per-hop overhead is mostly these waits
 * (`npm run bench local-e2e` prints them per step), so a change that puts a read or write back in a row shows up
 * here as a number, without asserting any time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PublishCommand } from '@aws-sdk/client-sns';
import { promotionId } from '../../lambdas/core/config/schema';
import { runStep } from '../../lambdas/promotion/steps';
import { mocks, startRuntimeEnv, TEST_PIPELINE, type RuntimeEnv } from '../support/runtime-env';

let env: RuntimeEnv;
const chain = { inFlight: 0, roundTrips: 0, requests: 0 };

beforeAll(async () => {
  env = await startRuntimeEnv();
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  env.runtime.clients.dynamodb.middlewareStack.add(
    (next) => async (args) => {
      if (chain.inFlight++ === 0) chain.roundTrips++;
      chain.requests++;
      try {
        return await next(args);
      } finally {
        chain.inFlight--;
      }
    },
    { step: 'initialize', name: 'countRoundTrips' },
  );
  await env.runtime.revisionStore().create('web', 'build-1', async () => ({
    versionSet: { web: 'abc' },
    commits: [{ id: 'abc', message: 'Change the cart', author: 'dev@example.com', timestamp: 1 }],
    authors: ['dev@example.com'],
    artifact: 's3://artifacts/web/1.zip',
    buildId: 'build-1',
    createdAt: 1,
    priority: false,
  }));
});
afterAll(() => env.close());

/** Runs one step and returns its result and how many round trips it waited for. */
async function roundTrips(input: Record<string, unknown>): Promise<{ result: unknown; roundTrips: number }> {
  chain.roundTrips = 0;
  const result = await runStep(env.runtime.stepDependencies(), input);
  return { result, roundTrips: chain.roundTrips };
}

describe('round trips of each promotion step on the success path', () => {
  const target = {
    execution: 'web-to-Beta-r1',
    promotion: promotionId(TEST_PIPELINE.promotions![0]!),
    application: 'web',
    environment: 'Beta',
    revision: 1,
  };
  const lease = { lockLeaseMs: 3_600_000 };

  it('checks the switches, the promotion switch and the pin in one round of reads', async () => {
    const gates = await roundTrips({ action: 'check-gates', ...target, operator: null });
    expect(gates.result).toMatchObject({ proceed: true });
    expect(gates.roundTrips).toBe(1);
  });

  it('grants a free lock with one write, then records it on the timeline', async () => {
    const lock = await roundTrips({ action: 'acquire-lock', ...target, ...lease });
    expect(lock.result).toMatchObject({ acquired: true, fencingToken: 1 });
    expect(lock.roundTrips).toBe(2);
    // A retried step (same owner) is granted the same token again, through the read-compute-write path.
    const again = await roundTrips({ action: 'acquire-lock', ...target, ...lease });
    expect(again.result).toMatchObject({ acquired: true, fencingToken: 1 });
    const other = await roundTrips({ action: 'acquire-lock', ...target, execution: 'someone-else', ...lease });
    expect(other.result).toMatchObject({ acquired: false, holder: target.execution });
  });

  it('takes three rounds to record the deploy and the test results, two for the compliance sign-off and five to approve and release', async () => {
    const fenced = { ...target, fencingToken: 1, ...lease };
    const deployed = await roundTrips({ action: 'record-deployed', ...fenced });
    const tests = await roundTrips({
      action: 'record-test-results',
      ...fenced,
      tests: [{ name: 'smoke', passed: true }],
    });
    const compliance = await roundTrips({
      action: 'compliance-sign-off',
      ...fenced,
      policy: 'change-management',
      approver: null,
    });
    const approved = await roundTrips({ action: 'approve-and-release', ...fenced });
    expect(approved.result).toMatchObject({ approved: 1, released: true });
    expect([deployed.roundTrips, tests.roundTrips, compliance.roundTrips, approved.roundTrips]).toEqual([3, 3, 2, 5]);
  });

  it('grants the released lock to the next execution with the next fencing token', async () => {
    const next = await roundTrips({
      action: 'acquire-lock',
      ...target,
      execution: 'web-to-Beta-r2',
      revision: 2,
      ...lease,
    });
    expect(next.result).toMatchObject({ acquired: true, fencingToken: 2 });
    expect(next.roundTrips).toBe(2);
  });
});
