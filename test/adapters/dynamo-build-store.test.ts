// DynamoBuildStore against dynalite: the key layout its file documents, the conditional writes that keep two
// reconcile passes from starting two builds of one application, and reads that follow every page.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoBuildStore } from '../../lambdas/adapters/dynamo-build-store';
import type { BuildRequest, Push } from '../../lambdas/core/decide/autobuild';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

/** Each test uses its own application names: the table is shared by the file. */
const store = () => new DynamoBuildStore(db.client, db.table('Revisions'));

const push = (pkg: string, commit: string, receivedAt = 1): Push => ({
  package: pkg,
  branch: 'main',
  commit,
  author: 'ann',
  message: `change ${commit}`,
  receivedAt,
  deliveryId: `delivery-${commit}`,
});

const request = (application: string, requestId: string): BuildRequest => ({
  application,
  requestId,
  versionSet: { [application]: `${requestId}-head` },
  commits: [{ package: application, id: `${requestId}-head`, message: 'm', author: 'ann', timestamp: 1 }],
  authors: ['ann'],
  deliveryIds: ['d'],
});

const MINUTE = 60_000;

describe('DynamoBuildStore', () => {
  it('records a push once per (package, commit) under PUSHES / PUSH#<package>#<commit>', async () => {
    const builds = store();
    expect(await builds.recordPush(push('web', 'c1'))).toBe(true);
    expect(await builds.recordPush({ ...push('web', 'c1'), deliveryId: 'redelivered' })).toBe(false);
    expect(await db.getRaw('Revisions', { pk: 'PUSHES', sk: 'PUSH#web#c1' })).toMatchObject({
      package: 'web',
      commit: 'c1',
      deliveryId: 'delivery-c1',
    });
    expect(await builds.pushes()).toContainEqual(push('web', 'c1'));
  });

  it('keeps the commits a push brought, in order', async () => {
    const builds = store();
    const commits = [
      { id: 'p1', message: 'first', author: 'ann', timestamp: 1 },
      { id: 'p2', message: 'second', author: 'bob', timestamp: 2 },
    ];
    await builds.recordPush({ ...push('api', 'p2'), commits, before: 'p0' });
    expect((await builds.pushes()).find((p) => p.commit === 'p2')).toEqual({
      ...push('api', 'p2'),
      commits,
      before: 'p0',
    });
  });

  it('lets exactly one of several concurrent claims of one application win, whatever request each planned', async () => {
    const builds = store();
    const claims = await Promise.all(
      ['r1', 'r2', 'r3', 'r4'].map((id) => builds.claim(request('shop', id), 10 * MINUTE)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = `r${claims.indexOf(true) + 1}`;
    expect(await db.getRaw('Revisions', { pk: 'BUILDS#shop', sk: 'ACTIVE' })).toMatchObject({
      active: winner,
      claimedAt: 10 * MINUTE,
    });
    const history = (await builds.history(['shop'])).shop!;
    expect(history.map((b) => [b.id, b.status])).toEqual([[winner, 'running']]);
  });

  it('claims another application independently', async () => {
    const builds = store();
    expect(await builds.claim(request('cart', 'r1'), 1)).toBe(true);
    expect(await builds.claim(request('checkout', 'r1'), 1)).toBe(true);
  });

  it('takes over a claim whose claimer never started its build, but only once it is stale', async () => {
    const builds = store();
    expect(await builds.claim(request('stale', 'crashed'), 0)).toBe(true);
    expect(await builds.claim(request('stale', 'next'), 4 * MINUTE)).toBe(false);
    expect(await builds.claim(request('stale', 'next'), 6 * MINUTE)).toBe(true);
    expect(await db.getRaw('Revisions', { pk: 'BUILDS#stale', sk: 'ACTIVE' })).toMatchObject({ active: 'next' });
  });

  it('never takes over a started build, however old', async () => {
    const builds = store();
    await builds.claim(request('slow', 'r1'), 0);
    await builds.started('slow', 'r1', 'codebuild:1');
    expect(await builds.claim(request('slow', 'r2'), 60 * MINUTE)).toBe(false);
    expect(await db.getRaw('Revisions', { pk: 'BUILDS#slow', sk: 'ACTIVE' })).toMatchObject({
      active: 'r1',
      buildId: 'codebuild:1',
    });
    expect((await builds.history(['slow'])).slow).toEqual([
      expect.objectContaining({ id: 'r1', buildId: 'codebuild:1', status: 'running' }),
    ]);
  });

  it('refuses to mark a build started that was never claimed', async () => {
    await expect(store().started('ghost', 'r1', 'codebuild:9')).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
  });

  it('completes a build once, frees the application for the next claim, and keeps the outcome', async () => {
    const builds = store();
    await builds.claim(request('done', 'r1'), 1);
    await builds.started('done', 'r1', 'codebuild:2');
    const outcomes = await Promise.all([
      builds.complete('done', 'r1', { status: 'succeeded', finishedAt: 5, revision: 3 }),
      builds.complete('done', 'r1', { status: 'failed', finishedAt: 6 }),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes[0]
      ? { status: 'succeeded', finishedAt: 5, revision: 3 }
      : { status: 'failed', finishedAt: 6 };
    expect((await builds.history(['done'])).done).toEqual([expect.objectContaining(winner)]);
    expect((await db.getRaw('Revisions', { pk: 'BUILDS#done', sk: 'ACTIVE' }))?.active).toBeUndefined();
    expect(await builds.claim(request('done', 'r2'), 7)).toBe(true);
  });

  it('reads every push and every build past the first page', async () => {
    const paged = new DynamoBuildStore(db.pagedClient(2), db.table('Revisions'));
    const before = (await paged.pushes()).length;
    for (let i = 0; i < 5; i++) await paged.recordPush(push('paged', `c${i}`));
    expect((await paged.pushes()).length).toBe(before + 5);
    for (let i = 0; i < 5; i++) {
      await paged.claim(request('many', `r${i}`), i);
      await paged.complete('many', `r${i}`, { status: 'succeeded', finishedAt: i });
    }
    expect((await paged.history(['many'])).many!.map((b) => b.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});
