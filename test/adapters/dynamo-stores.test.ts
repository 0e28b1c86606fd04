import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoApprovalStore } from '../../lambdas/adapters/dynamo-approval-store';
import { DynamoDeliveryStore } from '../../lambdas/adapters/dynamo-delivery-store';
import { DynamoEnvironmentStore } from '../../lambdas/adapters/dynamo-environment-store';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoLockStore } from '../../lambdas/adapters/dynamo-lock-store';
import { DynamoRevisionStore } from '../../lambdas/adapters/dynamo-revision-store';
import { TABLES } from '../../lambdas/core/tables';
import { ensureTables } from '../../local/dynamodb';

let server: ReturnType<typeof dynalite>;
let client: DynamoDBDocumentClient;
let tables: Record<string, string>;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tables = await ensureTables(endpoint, TABLES);
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const draft = (buildId: string) => async () => ({
  versionSet: { web: buildId },
  commits: [],
  authors: [],
  artifact: `s3://a/${buildId}`,
  buildId,
  createdAt: 1,
  priority: false,
});

describe('DynamoRevisionStore', () => {
  it('numbers revisions 1, 2, 3 and records one build once, even when completed concurrently', async () => {
    const store = new DynamoRevisionStore(client, tables.Revisions!);
    const first = await store.create('web', 'b1', draft('b1'));
    const concurrent = await Promise.allSettled([
      store.create('web', 'b2', draft('b2')),
      store.create('web', 'b2', draft('b2')),
    ]);
    const third = await store.create('web', 'b3', draft('b3'));
    const numbers = concurrent
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<{ number: number }>).value.number);
    expect(first.number).toBe(1);
    expect(new Set(numbers)).toEqual(new Set([2]));
    expect(third.number).toBe(3);
    expect((await store.list('web')).map((r) => r.number)).toEqual([1, 2, 3]);
    expect((await store.create('web', 'b1', draft('b1'))).number).toBe(1);
  });
});

describe('DynamoLockStore', () => {
  it('grants one of many concurrent acquirers and keeps growing the fencing token across releases', async () => {
    const locks = new DynamoLockStore(client, tables.Locks!);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => locks.acquire('Prod', `exec-${i}`, 60_000, 1_000)),
    );
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    if (!winner.acquired) throw new Error('unreachable');
    expect(await locks.release('Prod', winner.lock.owner, winner.lock.fencingToken)).toBe(true);
    const next = await locks.acquire('Prod', 'exec-next', 60_000, 2_000);
    expect(next.acquired && next.lock.fencingToken).toBe(winner.lock.fencingToken + 1);
    expect(await locks.get('Prod', 70_000)).toBeNull(); // an expired lease reads as free
  });
});

describe('DynamoLockStore heartbeat', () => {
  it('lets the holder act without a write until renewal is due, then extends the lease; refuses a holder whose lease expired', async () => {
    const locks = new DynamoLockStore(client, tables.Locks!);
    const granted = await locks.acquire('Gamma', 'exec-h', 60_000, 1_000);
    if (!granted.acquired) throw new Error('not granted');
    const token = granted.lock.fencingToken;
    expect(await locks.heartbeat('Gamma', 'exec-h', token, 60_000, 2_000)).toBe(true);
    expect((await locks.get('Gamma', 2_000))!.leaseExpiresAt).toBe(61_000);
    expect(await locks.heartbeat('Gamma', 'exec-h', token, 60_000, 30_000)).toBe(true);
    expect((await locks.get('Gamma', 30_000))!.leaseExpiresAt).toBe(90_000);
    expect(await locks.heartbeat('Gamma', 'exec-other', token, 60_000, 31_000)).toBe(false);
    expect(await locks.heartbeat('Gamma', 'exec-h', token, 60_000, 90_000)).toBe(false);
    const next = await locks.acquire('Gamma', 'exec-next', 60_000, 90_000);
    expect(next.acquired && next.lock.fencingToken).toBe(token + 1);
    expect(await locks.heartbeat('Gamma', 'exec-h', token, 60_000, 91_000)).toBe(false);
  });
});

describe('DynamoEnvironmentStore', () => {
  const deployed = (number: number) => ({
    application: 'web',
    number,
    versionSet: { web: `c${number}` },
    deployedAt: number * 1_000,
  });

  it('records a deploy against the slot the caller read: what was current becomes previous, a repeat changes nothing', async () => {
    const environments = new DynamoEnvironmentStore(client, tables.Environments!);
    expect(await environments.slot('Delta', 'web')).toBeUndefined();
    expect(await environments.recordDeployed('Delta', deployed(1), undefined)).toEqual({
      current: deployed(1),
      approved: [],
    });
    await environments.markApproved('Delta', 'web', 1, 1_000);
    const second = await environments.recordDeployed('Delta', deployed(2), await environments.slot('Delta', 'web'));
    expect(second).toEqual({
      current: deployed(2),
      previous: deployed(1),
      approved: [1],
      lastApproval: { revision: 1, at: 1_000 },
    });
    // A resumed step reads the slot again and finds its revision current: nothing is written, previous is kept.
    expect(await environments.recordDeployed('Delta', deployed(2), await environments.slot('Delta', 'web'))).toEqual(
      second,
    );
    expect((await environments.get('Delta')).web).toEqual(second);
  });

  it('keeps the first approval time of a revision and records each failed revision once (waves read both)', async () => {
    const environments = new DynamoEnvironmentStore(client, tables.Environments!);
    await environments.recordDeployed('Waves', deployed(1), undefined);
    await environments.markApproved('Waves', 'web', 1, 5_000);
    await environments.markApproved('Waves', 'web', 1, 9_000); // a resumed step: the first approval stands
    await environments.markFailed('Waves', 'web', 2);
    await environments.markFailed('Waves', 'web', 2);
    expect(await environments.slot('Waves', 'web')).toEqual({
      current: deployed(1),
      approved: [1],
      failed: [2],
      lastApproval: { revision: 1, at: 5_000 },
    });
  });

  it('refuses a deploy whose slot read is out of date instead of overwriting what was written since', async () => {
    const environments = new DynamoEnvironmentStore(client, tables.Environments!);
    await environments.recordDeployed('Epsilon', deployed(1), undefined);
    const stale = await environments.slot('Epsilon', 'web');
    await environments.recordDeployed('Epsilon', deployed(2), stale);
    await expect(environments.recordDeployed('Epsilon', deployed(3), stale)).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    await expect(environments.recordDeployed('Epsilon', deployed(3), undefined)).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    expect((await environments.get('Epsilon')).web).toEqual({
      current: deployed(2),
      previous: deployed(1),
      approved: [],
    });
  });
});

describe('DynamoEventStore', () => {
  it('lists the pipeline, an environment, a revision and an application timeline, newest first and up to the limit', async () => {
    const events = new DynamoEventStore(client, tables.Events!);
    const entry = (at: number, application: string, revision?: number) => ({
      at,
      type: 'deployed',
      actor: 'execution:e',
      message: `${application} ${at}`,
      environment: 'Zeta',
      application,
      ...(revision ? { revision } : {}),
    });
    // Other applications' entries in between, more than a page of the limit, so the application filter must page on.
    for (let at = 1; at <= 12; at++)
      await events.append(entry(at, at % 4 === 0 ? 'web' : 'api', at % 4 === 0 ? 2 : undefined));
    await events.append({ at: 13, type: 'switched', actor: 'ann@example.com', message: 'automation off' });
    expect((await events.list({}, 3)).map((e) => e.at)).toEqual([13, 12, 11]);
    expect((await events.list({ environment: 'Zeta' }, 3)).map((e) => e.at)).toEqual([12, 11, 10]);
    expect((await events.list({ application: 'web', revision: 2 })).map((e) => e.at)).toEqual([12, 8, 4]);
    expect((await events.list({ application: 'web' }, 2)).map((e) => e.at)).toEqual([12, 8]);
    expect(await events.list({ application: 'web' })).toEqual([12, 8, 4].map((at) => entry(at, 'web', 2)));
  });
});

describe('DynamoApprovalStore', () => {
  it('hands the task token to exactly one decision and never returns it from get', async () => {
    const approvals = new DynamoApprovalStore(client, tables.Environments!);
    const request = {
      requestId: 'req-1',
      kind: 'environment' as const,
      execution: 'e',
      environment: 'Beta',
      application: 'web',
      revision: 1,
      approvers: ['a@x.io'],
      createdAt: 0,
      expiresAt: Date.now() + 60_000,
      status: 'pending' as const,
    };
    await approvals.create(request, 'the-token');
    expect(JSON.stringify(await approvals.get('req-1'))).not.toContain('the-token');
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        approvals.decide('req-1', {
          status: i % 2 ? 'approved' : 'rejected',
          decidedBy: `u${i}`,
          decidedAt: Date.now(),
        }),
      ),
    );
    expect(outcomes.filter((o) => o?.taskToken === 'the-token')).toHaveLength(1);
  });
});

describe('DynamoDeliveryStore', () => {
  it('remembers a delivery until it expires', async () => {
    const deliveries = new DynamoDeliveryStore(client, tables.Idempotency!);
    expect(await deliveries.remember('d1', 0, 10_000)).toBe(true);
    expect(await deliveries.remember('d1', 5_000, 10_000)).toBe(false);
    expect(await deliveries.remember('d1', 20_000, 10_000)).toBe(true);
  });
});
