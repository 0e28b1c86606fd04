// The operator store against dynalite: the key layout its file documents (the console reads pins by it), the
// conditional claim that lets one of two concurrent rollbacks start, paging, and corrupt items read as
// StoredItemError.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StoredItemError } from '../../lambdas/adapters/dynamo-items';
import { DynamoOperatorStore } from '../../lambdas/adapters/dynamo-operator-store';
import type { EnvironmentPin, RollbackClaim } from '../../lambdas/core/model';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

const store = () => new DynamoOperatorStore(db.client, db.table('Environments'));
const pin = (environment: string, application = 'web'): EnvironmentPin => ({
  environment,
  application,
  revision: 3,
  pinnedBy: 'ann@example.com',
  pinnedAt: 1000,
});
const claim = (overrides: Partial<RollbackClaim> = {}): RollbackClaim => ({
  environment: 'Prod',
  application: 'web',
  from: 3,
  fromDeployedAt: 5000,
  to: 2,
  executionName: 'rollback-a',
  requestedBy: 'ann@example.com',
  requestedAt: 6000,
  ...overrides,
});

describe('DynamoOperatorStore', () => {
  it('keeps every pin under PINS / ENV#<environment>#APP#<application> and reads them all past the first page', async () => {
    const paged = new DynamoOperatorStore(db.pagedClient(2), db.table('Environments'));
    for (const env of ['A', 'B', 'C', 'D', 'E']) await paged.setPin(pin(env));
    await paged.setPin({ ...pin('A'), revision: 4, reason: 'freeze' }); // replaces A's pin
    expect((await db.partition('Environments', 'PINS'))[0]).toEqual({
      pk: 'PINS',
      sk: 'ENV#A#APP#web',
      ...pin('A'),
      revision: 4,
      reason: 'freeze',
    });
    expect((await paged.pins()).map((p) => `${p.environment}:r${p.revision}`)).toEqual([
      'A:r4',
      'B:r3',
      'C:r3',
      'D:r3',
      'E:r3',
    ]);
    expect(await store().pin('B', 'web')).toEqual(pin('B'));
    expect(await store().removePin('B', 'web')).toEqual(pin('B'));
    expect(await store().removePin('B', 'web')).toBeUndefined();
    expect(await store().pin('B', 'web')).toBeUndefined();
  });

  it('lets exactly one of concurrent claims on a deployment win, and a claim on a later deployment replace it', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store().claimRollback(claim({ executionName: `rollback-${i}` }))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = (await store().rollbackClaim('Prod', 'web'))!;
    expect((await db.getRaw('Environments', { pk: 'ENV#Prod', sk: 'ROLLBACK#web' }))?.executionName).toBe(
      winner.executionName,
    );

    // The same deployment again: refused, unless the caller names the stored claim's (ended) execution.
    expect(await store().claimRollback(claim({ executionName: 'rollback-x' }))).toBe(false);
    expect(await store().claimRollback(claim({ executionName: 'rollback-x' }), 'rollback-other')).toBe(false);
    expect(await store().claimRollback(claim({ executionName: 'rollback-x' }), winner.executionName)).toBe(true);
    // Another deployment (the environment moved on): a new claim wins.
    expect(await store().claimRollback(claim({ fromDeployedAt: 9000, executionName: 'rollback-y' }))).toBe(true);
    expect(await store().rollbackClaim('Prod', 'web')).toEqual(
      claim({ fromDeployedAt: 9000, executionName: 'rollback-y' }),
    );
  });

  it('reads a corrupt pin or claim as a StoredItemError naming the attribute', async () => {
    await db.putRaw('Environments', { pk: 'PINS', sk: 'ENV#Bad#APP#web', ...pin('Bad'), revision: 'three' });
    await expect(store().pin('Bad', 'web')).rejects.toThrow(StoredItemError);
    await expect(store().pins()).rejects.toThrow(/revision:/);
    await db.deleteRaw('Environments', { pk: 'PINS', sk: 'ENV#Bad#APP#web' });

    await db.putRaw('Environments', { pk: 'ENV#Bad', sk: 'ROLLBACK#web', ...claim(), fromDeployedAt: 'then' });
    await expect(store().rollbackClaim('Bad', 'web')).rejects.toThrow(/fromDeployedAt:/);
  });
});
