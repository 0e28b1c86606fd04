// The keyed reads the reconcile pass uses instead of whole histories, against dynalite with one-item query pages
// (an adapter that stops at the first page, or reads past its limit, fails here).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoEnvironmentStore } from '../../lambdas/adapters/dynamo-environment-store';
import { DynamoExecutionStore } from '../../lambdas/adapters/dynamo-execution-store';
import { DynamoRevisionStore } from '../../lambdas/adapters/dynamo-revision-store';
import { APPROVED_TAIL } from '../../lambdas/ports/stores';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

const environments = () => new DynamoEnvironmentStore(db.pagedClient(1), db.table('Environments'));

describe('the approved index', () => {
  it('keeps the slot list to the last approvals in order, and every approval in the index, newest first', async () => {
    const store = environments();
    const order = [...Array.from({ length: 30 }, (_, i) => i + 1), 7]; // r7 again: idempotent, not appended twice
    for (const n of order) await store.markApproved('Beta', 'web', n, n);
    const slot = await store.slot('Beta', 'web');
    expect(slot?.approved).toEqual(Array.from({ length: APPROVED_TAIL }, (_, i) => 30 - APPROVED_TAIL + 1 + i));
    expect(await store.approvedNewest('Beta', 'web', { limit: 3 })).toEqual([30, 29, 28]);
    expect(await store.approvedNewest('Beta', 'web', { limit: 100, atLeast: 27 })).toEqual([30, 29, 28, 27]);
    expect(await store.approvedNewest('Beta', 'api', { limit: 1 })).toEqual([]);
  });

  it('moves an old list into the index in pages, and two compactions at once move each entry once', async () => {
    const store = environments();
    const approved = Array.from({ length: 100 }, (_, i) => i + 1);
    await db.putRaw('Environments', { pk: 'ENV#Gamma', sk: 'APP#web', approved });
    const [a, b] = await Promise.all([
      store.compactApproved('Gamma', 'web', approved, 40),
      store.compactApproved('Gamma', 'web', approved, 40),
    ]);
    expect([a, b].sort()).toEqual([0, 40]); // the loser saw its list change and left it to the next call
    const after = (await store.slot('Gamma', 'web'))!.approved;
    expect(after).toEqual(approved.slice(40));
    expect(await store.compactApproved('Gamma', 'web', after, 1_000)).toBe(100 - 40 - APPROVED_TAIL);
    expect((await store.slot('Gamma', 'web'))!.approved).toEqual(approved.slice(-APPROVED_TAIL));
    expect(await store.approvedNewest('Gamma', 'web', { limit: 1_000 })).toEqual(
      approved.slice(0, 100 - APPROVED_TAIL).reverse(),
    );
    expect(await store.compactApproved('Gamma', 'web', approved.slice(-APPROVED_TAIL), 1_000)).toBe(0);
  });

  it('leaves a list alone when it changed since it was read (an approval in between is never lost)', async () => {
    const store = environments();
    const approved = Array.from({ length: 20 }, (_, i) => i + 1);
    await db.putRaw('Environments', { pk: 'ENV#Prod', sk: 'APP#web', approved });
    await store.markApproved('Prod', 'web', 21, 21); // appends (and compacts what it read itself)
    expect(await store.compactApproved('Prod', 'web', approved, 1_000)).toBe(0);
    expect((await store.slot('Prod', 'web'))!.approved.at(-1)).toBe(21);
  });
});

describe('keyed reads of revisions, executions and go-aheads', () => {
  it('reads revisions newest first from a floor, and a batch by number', async () => {
    const revisions = new DynamoRevisionStore(db.pagedClient(1), db.table('Revisions'), () => 1);
    for (let i = 1; i <= 5; i++) {
      await revisions.create('shop', `build-${i}`, async () => ({
        versionSet: { shop: `c${i}` },
        commits: [],
        authors: [],
        artifact: `s3://a/${i}`,
        buildId: `build-${i}`,
        createdAt: i,
        priority: false,
      }));
    }
    expect((await revisions.newest('shop', { limit: 2 })).map((r) => r.number)).toEqual([5, 4]);
    expect((await revisions.newest('shop', { limit: 10, atLeast: 3 })).map((r) => r.number)).toEqual([5, 4, 3]);
    expect((await revisions.getMany('shop', [4, 2, 9, 2])).map((r) => r.number)).toEqual([2, 4]);
  });

  it('says which of the named executions were started, and finds go-aheads by revision', async () => {
    const executions = new DynamoExecutionStore(db.client, db.table('Environments'));
    await executions.record({
      promotion: 'Beta-to-Prod',
      application: 'web',
      revision: 3,
      executionName: 'Beta-to-Prod-web-r3',
      startedAt: 1,
    });
    expect(await executions.started('Beta-to-Prod', ['Beta-to-Prod-web-r3', 'Beta-to-Prod-web-r4'])).toEqual([
      'Beta-to-Prod-web-r3',
    ]);
    const store = environments();
    await store.decidePromotion({
      promotion: 'Beta-to-Prod',
      application: 'web',
      revision: 3,
      decision: 'approved',
      decidedBy: 'ann',
    });
    expect(await store.promotionApprovalsFor('Beta-to-Prod', 'web', [3, 4])).toEqual([
      { promotion: 'Beta-to-Prod', application: 'web', revision: 3, decision: 'approved', decidedBy: 'ann' },
    ]);
  });
});
