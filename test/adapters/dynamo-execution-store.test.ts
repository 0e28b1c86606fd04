// DynamoExecutionStore against dynalite: what the decision core reads as `startedExecutions`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoEnvironmentStore } from '../../lambdas/adapters/dynamo-environment-store';
import { DynamoExecutionStore } from '../../lambdas/adapters/dynamo-execution-store';
import type { ExecutionRecord } from '../../lambdas/ports/stores';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

const execution = (promotion: string, executionName: string, startedAt = 1): ExecutionRecord => ({
  promotion,
  application: 'web',
  revision: 3,
  executionName,
  executionArn: `arn:aws:states:us-east-1:123456789012:execution:promotion:${executionName}`,
  startedAt,
});

describe('DynamoExecutionStore', () => {
  it('records an execution under PROMOTION#<id> / EXECUTION#<name>', async () => {
    await new DynamoExecutionStore(db.client, db.table('Environments')).record(
      execution('web-to-beta', 'web-to-beta-3'),
    );
    expect(await db.getRaw('Environments', { pk: 'PROMOTION#web-to-beta', sk: 'EXECUTION#web-to-beta-3' })).toEqual({
      pk: 'PROMOTION#web-to-beta',
      sk: 'EXECUTION#web-to-beta-3',
      ...execution('web-to-beta', 'web-to-beta-3'),
    });
  });

  it('records each name once: a repeat, even a concurrent one, keeps the first record and does not fail', async () => {
    const executions = new DynamoExecutionStore(db.client, db.table('Environments'));
    await Promise.all([1, 2, 3].map((at) => executions.record(execution('once', 'once-3', at))));
    await executions.record(execution('once', 'once-3', 99));
    const stored = await db.getRaw('Environments', { pk: 'PROMOTION#once', sk: 'EXECUTION#once-3' });
    expect([1, 2, 3]).toContain(stored?.startedAt);
    expect(await executions.names('once')).toEqual(['once-3']);
  });

  it("lists only the promotion's executions, not the approvals and decisions kept in the same partition", async () => {
    const executions = new DynamoExecutionStore(db.client, db.table('Environments'));
    const environments = new DynamoEnvironmentStore(db.client, db.table('Environments'));
    await executions.record(execution('beta-to-prod', 'beta-to-prod-1'));
    await environments.decidePromotion({
      promotion: 'beta-to-prod',
      application: 'web',
      revision: 1,
      decision: 'approved',
      decidedBy: 'ann',
    });
    await environments.claimPromotionRequest('beta-to-prod', 'web', 2, 5);
    await environments.noteDecision('beta-to-prod', 'web', 'waiting for approval', 5);
    await executions.record(execution('beta-to-prod-eu', 'beta-to-prod-eu-1'));
    expect(await executions.names('beta-to-prod')).toEqual(['beta-to-prod-1']);
  });

  it('lists every name past the first page', async () => {
    const paged = new DynamoExecutionStore(db.pagedClient(2), db.table('Environments'));
    const names = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
    for (const name of names) await paged.record(execution('paged', name));
    expect(await paged.names('paged')).toEqual(names);
  });
});
