// The deployment system's other stores against dynalite: the key layout each file documents (other tools and
// the console read the tables by these keys), the conditional writes that make "exactly once" hold, and reads
// that follow every page. Concurrency of revisions, locks, deploys and decisions is in dynamo-stores.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoApprovalStore } from '../../lambdas/adapters/dynamo-approval-store';
import { DynamoDeliveryStore } from '../../lambdas/adapters/dynamo-delivery-store';
import { DynamoEnvironmentStore } from '../../lambdas/adapters/dynamo-environment-store';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoLockStore } from '../../lambdas/adapters/dynamo-lock-store';
import { DynamoRevisionStore } from '../../lambdas/adapters/dynamo-revision-store';
import type { ApprovalRequestRecord } from '../../lambdas/ports/stores';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

const draft = (buildId: string) => async () => ({
  versionSet: { web: buildId },
  commits: [],
  authors: ['ann'],
  artifact: `s3://artifacts/${buildId}.zip`,
  buildId,
  createdAt: 1,
  priority: false,
});

describe('DynamoRevisionStore layout', () => {
  it('keeps the counter, each revision under a 12-digit number, the build marker and the commit index in APP#<application>', async () => {
    const revisions = new DynamoRevisionStore(db.client, db.table('Revisions'), () => 1_000);
    const created = await revisions.create('layout', 'b1', draft('b1'));
    expect(await db.partition('Revisions', 'APP#layout')).toEqual([
      { pk: 'APP#layout', sk: '#COUNTER', last: 1 },
      { pk: 'APP#layout', sk: 'BUILD#b1', state: 'done', claimedAt: 1_000, number: 1 },
      { pk: 'APP#layout', sk: 'COMMIT#b1#000000000001', number: 1 },
      { pk: 'APP#layout', sk: 'REV#000000000001', ...created },
    ]);
    expect(created).toEqual({ ...(await draft('b1')()), application: 'layout', number: 1, testResults: {} });
  });

  it('records test results per environment on an existing revision only', async () => {
    const revisions = new DynamoRevisionStore(db.client, db.table('Revisions'));
    await revisions.create('tested', 'b1', draft('b1'));
    await revisions.recordTestResults('tested', 1, 'Beta', { passed: 10, failed: 1 });
    await revisions.recordTestResults('tested', 1, 'Gamma', { passed: 3, failed: 0 });
    expect((await revisions.get('tested', 1))!.testResults).toEqual({
      Beta: { passed: 10, failed: 1 },
      Gamma: { passed: 3, failed: 0 },
    });
    await expect(revisions.recordTestResults('tested', 2, 'Beta', { passed: 1, failed: 0 })).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
  });

  it('finds a revision by build only once the build was recorded', async () => {
    const revisions = new DynamoRevisionStore(db.client, db.table('Revisions'));
    expect(await revisions.findByBuildId('found', 'b1')).toBeUndefined();
    await db.putRaw('Revisions', { pk: 'APP#found', sk: 'BUILD#b1', state: 'claimed', claimedAt: 1, number: 1 });
    expect(await revisions.findByBuildId('found', 'b1')).toBeUndefined();
  });

  it('lists every revision past the first page, oldest first', async () => {
    const paged = new DynamoRevisionStore(db.pagedClient(2), db.table('Revisions'));
    for (let i = 1; i <= 5; i++) await paged.create('paged', `b${i}`, draft(`b${i}`));
    expect((await paged.list('paged')).map((r) => [r.number, r.buildId])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [n, `b${n}`]),
    );
  });
});

describe('DynamoEnvironmentStore layout', () => {
  const deployed = (application: string, number: number) => ({
    application,
    number,
    versionSet: { [application]: `c${number}` },
    deployedAt: number,
  });

  it('keeps one slot per application under ENV#<environment> / APP#<application>', async () => {
    const environments = new DynamoEnvironmentStore(db.client, db.table('Environments'));
    await environments.recordDeployed('Layout', deployed('web', 1), undefined);
    await environments.markApproved('Layout', 'web', 1, 1_000);
    await environments.markApproved('Layout', 'web', 1, 1_000);
    expect(await db.partition('Environments', 'ENV#Layout')).toEqual([
      {
        pk: 'ENV#Layout',
        sk: 'APP#web',
        current: deployed('web', 1),
        approved: [1],
        lastApproval: { revision: 1, at: 1_000 },
      },
    ]);
  });

  it('rolls back to the restored revision and forgets previous', async () => {
    const environments = new DynamoEnvironmentStore(db.client, db.table('Environments'));
    await environments.recordDeployed('Rollback', deployed('web', 1), undefined);
    await environments.recordDeployed('Rollback', deployed('web', 2), await environments.slot('Rollback', 'web'));
    await environments.recordRolledBack('Rollback', 'web', deployed('web', 1));
    expect(await environments.slot('Rollback', 'web')).toEqual({ current: deployed('web', 1), approved: [] });
  });

  it('reads every application slot past the first page', async () => {
    const paged = new DynamoEnvironmentStore(db.pagedClient(2), db.table('Environments'));
    const apps = ['a1', 'a2', 'a3', 'a4', 'a5'];
    for (const app of apps) await paged.recordDeployed('Paged', deployed(app, 1), undefined);
    expect(Object.keys(await paged.get('Paged')).sort()).toEqual(apps);
  });

  it('keeps switches under PIPELINE / SWITCHES, falling back to the defaults for a switch never set', async () => {
    const environments = new DynamoEnvironmentStore(db.client, db.table('Environments'));
    await db.deleteRaw('Environments', { pk: 'PIPELINE', sk: 'SWITCHES' });
    expect(await environments.switches({ enabled: true, automation: false })).toEqual({
      enabled: true,
      automation: false,
    });
    expect(await environments.setSwitches({ automation: true }, 'ann')).toEqual({ enabled: true, automation: true });
    expect(await db.getRaw('Environments', { pk: 'PIPELINE', sk: 'SWITCHES' })).toEqual({
      pk: 'PIPELINE',
      sk: 'SWITCHES',
      automation: true,
      changedBy: 'ann',
    });
    expect(await environments.switches({ enabled: false, automation: false })).toEqual({
      enabled: false,
      automation: true,
    });
    await environments.setSwitches({ enabled: false }, 'bob');
    expect(await environments.switches({ enabled: true, automation: false })).toEqual({
      enabled: false,
      automation: true,
    });
  });

  it('keeps promotion switches under PIPELINE / PROMOTION#<id> and reads them all past the first page', async () => {
    const paged = new DynamoEnvironmentStore(db.pagedClient(2), db.table('Environments'));
    for (let i = 0; i < 5; i++) await paged.setPromotionEnabled(`p${i}`, i % 2 === 0, 'ann');
    expect(await db.getRaw('Environments', { pk: 'PIPELINE', sk: 'PROMOTION#p1' })).toEqual({
      pk: 'PIPELINE',
      sk: 'PROMOTION#p1',
      enabled: false,
      changedBy: 'ann',
    });
    expect(await paged.promotionSwitches()).toMatchObject({ p0: true, p1: false, p2: true, p3: false, p4: true });
  });

  it('records a go-ahead once unless it was pending, and reads them all past the first page', async () => {
    const paged = new DynamoEnvironmentStore(db.pagedClient(2), db.table('Environments'));
    const approval = (revision: number, decision: 'approved' | 'rejected' | 'pending') => ({
      promotion: 'go',
      application: 'web',
      revision,
      decision,
      decidedBy: 'ann',
      decidedAt: revision,
    });
    expect(await paged.decidePromotion(approval(1, 'pending'))).toBe(true);
    expect(await paged.decidePromotion(approval(1, 'approved'))).toBe(true);
    expect(await paged.decidePromotion(approval(1, 'rejected'))).toBe(false);
    for (let n = 2; n <= 5; n++) await paged.decidePromotion(approval(n, 'approved'));
    expect(await db.getRaw('Environments', { pk: 'PROMOTION#go', sk: 'APPROVAL#web#1' })).toMatchObject({
      decision: 'approved',
    });
    expect((await paged.promotionApprovals('go')).map((a) => [a.revision, a.decision])).toEqual([
      [1, 'approved'],
      [2, 'approved'],
      [3, 'approved'],
      [4, 'approved'],
      [5, 'approved'],
    ]);
  });

  it('claims an approval request once and notes a decision only when it changed', async () => {
    const environments = new DynamoEnvironmentStore(db.client, db.table('Environments'));
    expect(
      (await Promise.all([1, 2, 3].map(() => environments.claimPromotionRequest('ask', 'web', 4, 10)))).filter(Boolean),
    ).toHaveLength(1);
    expect(await db.getRaw('Environments', { pk: 'PROMOTION#ask', sk: 'REQUEST#web#4' })).toEqual({
      pk: 'PROMOTION#ask',
      sk: 'REQUEST#web#4',
      requestedAt: 10,
    });
    expect(await environments.noteDecision('ask', 'web', 'waiting for the window', 1)).toBe(true);
    expect(await environments.noteDecision('ask', 'web', 'waiting for the window', 2)).toBe(false);
    expect(await environments.noteDecision('ask', 'web', 'deploying 4', 3)).toBe(true);
    expect(await db.getRaw('Environments', { pk: 'PROMOTION#ask', sk: 'LAST#web' })).toMatchObject({
      summary: 'deploying 4',
      at: 3,
    });
  });
});

describe('DynamoLockStore layout', () => {
  it('keeps one item per environment under LOCK#<environment> / LOCK, without an owner once released', async () => {
    const locks = new DynamoLockStore(db.client, db.table('Locks'));
    const granted = await locks.acquire('Layout', 'exec-1', 60_000, 1_000);
    expect(await db.getRaw('Locks', { pk: 'LOCK#Layout', sk: 'LOCK' })).toMatchObject({
      owner: 'exec-1',
      acquiredAt: 1_000,
      leaseExpiresAt: 61_000,
      fencingToken: 1,
    });
    if (!granted.acquired) throw new Error('not granted');
    await locks.release('Layout', 'exec-1', 1);
    const released = await db.getRaw('Locks', { pk: 'LOCK#Layout', sk: 'LOCK' });
    expect(released).toMatchObject({ fencingToken: 1 });
    expect(released).not.toHaveProperty('owner');
    expect(await locks.get('Layout', 2_000)).toBeNull();
  });

  it('refuses a release or renewal with a stale fencing token', async () => {
    const locks = new DynamoLockStore(db.client, db.table('Locks'));
    await locks.acquire('Stale', 'exec-1', 60_000, 0);
    await locks.release('Stale', 'exec-1', 1);
    await locks.acquire('Stale', 'exec-2', 60_000, 1);
    expect(await locks.release('Stale', 'exec-1', 1)).toBe(false);
    expect(await locks.renew('Stale', 'exec-1', 1, 60_000, 2)).toBe(false);
    expect(await locks.validate('Stale', 2, 3)).toBe(true);
    expect(await locks.validate('Stale', 1, 3)).toBe(false);
  });
});

describe('DynamoEventStore layout', () => {
  it('writes an event once per timeline it belongs to, with one sort key', async () => {
    const events = new DynamoEventStore(db.client, db.table('Events'));
    await events.append({
      at: Date.parse('2026-02-03T04:05:06.007Z'),
      type: 'deployed',
      actor: 'execution:e',
      message: 'm',
      environment: 'Layout',
      application: 'layoutapp',
      revision: 9,
    });
    const [env] = await db.partition('Events', 'ENV#Layout');
    const [rev] = await db.partition('Events', 'REV#layoutapp#9');
    expect(String(env?.sk)).toMatch(/^2026-02-03T04:05:06\.007Z#/);
    expect(rev?.sk).toBe(env?.sk);
    expect((await db.partition('Events', 'TIMELINE')).some((e) => e.sk === env?.sk)).toBe(true);
  });

  it('pages through the timeline until the limit is met', async () => {
    const paged = new DynamoEventStore(db.pagedClient(2), db.table('Events'));
    for (let at = 1; at <= 7; at++)
      await paged.append({ at, type: 't', actor: 'a', message: `m${at}`, environment: 'PagedEnv' });
    expect((await paged.list({ environment: 'PagedEnv' }, 5)).map((e) => e.at)).toEqual([7, 6, 5, 4, 3]);
  });
});

describe('DynamoApprovalStore layout', () => {
  const request = (requestId: string, expiresAt = 1_000_000): ApprovalRequestRecord => ({
    requestId,
    kind: 'environment',
    execution: 'e',
    environment: 'Beta',
    application: 'web',
    revision: 1,
    approvers: ['ann@example.com'],
    createdAt: 0,
    expiresAt,
    status: 'pending',
  });

  it('keeps the request with its token under APPROVAL#<id> / REQUEST and refuses a second create', async () => {
    const approvals = new DynamoApprovalStore(db.client, db.table('Environments'));
    await approvals.create(request('layout-1'), 'token-1');
    expect(await db.getRaw('Environments', { pk: 'APPROVAL#layout-1', sk: 'REQUEST' })).toEqual({
      pk: 'APPROVAL#layout-1',
      sk: 'REQUEST',
      ...request('layout-1'),
      taskToken: 'token-1',
    });
    expect(await approvals.get('layout-1')).toEqual(request('layout-1'));
    await expect(approvals.create(request('layout-1'), 'token-2')).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
  });

  it('lists a decision under APPROVAL-DELIVERIES until its delivery finished', async () => {
    const approvals = new DynamoApprovalStore(db.client, db.table('Environments'));
    await approvals.create(request('deliver-1'), 'token-d');
    expect(
      await approvals.decide('deliver-1', { status: 'approved', decidedBy: 'ann@example.com', decidedAt: 10 }),
    ).toEqual({ taskToken: 'token-d' });
    expect(await db.getRaw('Environments', { pk: 'APPROVAL-DELIVERIES', sk: 'deliver-1' })).toBeDefined();
    expect(await approvals.undelivered(20)).toContain('deliver-1');
    // The decider holds the delivery; nobody else can take it over until the lease ends.
    expect(await approvals.claimDelivery('deliver-1', 20)).toBeUndefined();
    await approvals.releaseDelivery('deliver-1');
    expect(await approvals.claimDelivery('deliver-1', 20)).toEqual({
      request: expect.objectContaining({ requestId: 'deliver-1', delivery: 'pending' }),
      taskToken: 'token-d',
    });
    await approvals.finishDelivery('deliver-1', 'delivered', 30);
    expect(await db.getRaw('Environments', { pk: 'APPROVAL-DELIVERIES', sk: 'deliver-1' })).toBeUndefined();
    expect(await approvals.get('deliver-1')).toMatchObject({
      status: 'approved',
      delivery: 'delivered',
      deliveredAt: 30,
    });
  });

  it('refuses a decision on an expired request', async () => {
    const approvals = new DynamoApprovalStore(db.client, db.table('Environments'));
    await approvals.create(request('expired-1', 100), 'token-x');
    expect(
      await approvals.decide('expired-1', { status: 'approved', decidedBy: 'ann@example.com', decidedAt: 200 }),
    ).toBeUndefined();
    expect(await approvals.get('expired-1')).toMatchObject({ status: 'pending' });
  });

  it('finds every undelivered decision past the first page, oldest decision first', async () => {
    const paged = new DynamoApprovalStore(db.pagedClient(2), db.table('Environments'));
    const ids = ['u5', 'u3', 'u1', 'u4', 'u2'];
    for (const id of ids) {
      await paged.create(request(`paged-${id}`), `token-${id}`);
      await paged.decide(`paged-${id}`, {
        status: 'rejected',
        decidedBy: 'bob@example.com',
        decidedAt: Number(id.slice(1)),
      });
    }
    const waiting = (await paged.undelivered(50)).filter((id) => id.startsWith('paged-'));
    expect(waiting).toEqual(['paged-u1', 'paged-u2', 'paged-u3', 'paged-u4', 'paged-u5']);
  });
});

describe('DynamoDeliveryStore layout', () => {
  it('keeps delivery#<id> with its expiry in epoch seconds, and forgets it on request', async () => {
    const deliveries = new DynamoDeliveryStore(db.client, db.table('Idempotency'));
    expect(await deliveries.remember('layout-1', 1_500, 10_000)).toBe(true);
    expect(await db.getRaw('Idempotency', { id: 'delivery#layout-1' })).toEqual({
      id: 'delivery#layout-1',
      expiration: 12,
      seenAt: 1_500,
    });
    await deliveries.forget('layout-1');
    expect(await db.getRaw('Idempotency', { id: 'delivery#layout-1' })).toBeUndefined();
    expect(await deliveries.remember('layout-1', 2_000, 10_000)).toBe(true);
  });
});
