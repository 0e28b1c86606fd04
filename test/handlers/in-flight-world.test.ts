// The reconcile pass's in-flight world (lambdas/promotion/world-loader.ts) against the whole-history world that
// loadWorld read before it, on a table written in the old layout: same decisions, before, during and after the
// migration into the approved index.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoEnvironmentStore } from '../../lambdas/adapters/dynamo-environment-store';
import { DynamoExecutionStore } from '../../lambdas/adapters/dynamo-execution-store';
import { DynamoLockStore } from '../../lambdas/adapters/dynamo-lock-store';
import { DynamoRevisionStore } from '../../lambdas/adapters/dynamo-revision-store';
import { promotionId, type Pipeline } from '../../lambdas/core/config/schema';
import { reconcile, type World } from '../../lambdas/core/decide/snapshots';
import type { EnvironmentState } from '../../lambdas/core/model';
import { APPROVED_TAIL } from '../../lambdas/ports/stores';
import { loadInFlightWorld, migrateApprovedIndex, type WorldSources } from '../../lambdas/promotion/world-loader';
import { HISTORY_APPLICATIONS, HISTORY_PIPELINE, seedHistory } from '../../bench/support/history';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const REVISIONS = 60;

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

function sources(pipeline: Pipeline = HISTORY_PIPELINE, client = db.client): WorldSources {
  return {
    pipeline,
    revisions: new DynamoRevisionStore(client, db.table('Revisions'), () => NOW),
    environments: new DynamoEnvironmentStore(client, db.table('Environments')),
    locks: new DynamoLockStore(client, db.table('Locks')),
    executions: new DynamoExecutionStore(client, db.table('Environments')),
    clock: () => NOW,
  };
}

/** loadWorld as it was before the approved index: every revision, approval and execution record. */
async function loadWholeWorld(deps: WorldSources): Promise<World> {
  const { pipeline } = deps;
  const environmentNames = pipeline.stages.flatMap((s) => s.environments.map((e) => e.name));
  const promotionIds = pipeline.promotions.map((p) => promotionId(p));
  const [switches, promotionsEnabled, revisionLists, environmentStates, approvals, executions, retries] =
    await Promise.all([
      deps.environments.switches({ enabled: pipeline.pipeline.enabled, automation: pipeline.pipeline.automation }),
      deps.environments.promotionSwitches(),
      Promise.all(pipeline.applications.map(async (a) => [a.name, await deps.revisions.list(a.name)] as const)),
      Promise.all(
        environmentNames.map(async (name): Promise<[string, EnvironmentState]> => {
          const [applications, lock] = await Promise.all([deps.environments.get(name), deps.locks.get(name, NOW)]);
          return [name, { name, applications, lock }];
        }),
      ),
      Promise.all(promotionIds.map((id) => deps.environments.promotionApprovals(id))),
      Promise.all(promotionIds.map((id) => deps.executions.names(id))),
      Promise.all(promotionIds.map((id) => deps.executions.retries(id))),
    ]);
  return {
    switches,
    promotionsEnabled,
    revisions: Object.fromEntries(revisionLists),
    environments: Object.fromEntries(environmentStates),
    promotionApprovals: approvals.flat(),
    startedExecutions: executions.flat(),
    retries: retries.flat(),
  };
}

const decisionsOf = (world: World, pipeline: Pipeline = HISTORY_PIPELINE) =>
  reconcile(pipeline, world, NOW).map((d) => ({ ...d, reason: d.decision.reason }));

describe('the in-flight world of a reconcile pass', () => {
  let before: ReturnType<typeof decisionsOf>;

  beforeAll(async () => {
    await seedHistory(
      db.client,
      { revisions: db.table('Revisions'), environments: db.table('Environments'), locks: db.table('Locks') },
      REVISIONS,
      NOW,
    );
    before = decisionsOf(await loadWholeWorld(sources()));
  });

  it('is decided on as the whole history was, on a table written in the old layout', async () => {
    // Deploying, started and locked, in sync, waiting for a manual go-ahead: along latest, priority, most tests passed
    // and compatible edges.
    expect(new Set(before.map((d) => d.decision.kind))).toEqual(
      new Set(['already-started', 'awaiting-approval', 'deploy', 'in-sync']),
    );
    expect(decisionsOf(await loadInFlightWorld(sources()))).toEqual(before);
  });

  it('migrates old approval lists into the approved index in pages, deciding the same after every page', async () => {
    const deps = sources();
    let pages = 0;
    for (;;) {
      const states = (await loadWholeWorld(deps)).environments;
      const moved = await migrateApprovedIndex(deps.environments, states, 100);
      if (moved === 0) break;
      pages++;
      expect(decisionsOf(await loadInFlightWorld(deps))).toEqual(before);
    }
    expect(pages).toBeGreaterThan(1);
    // Every list is down to its tail, the index holds every approval, and nothing moves twice.
    const behind: Record<string, number> = { Alpha: 0, Beta: 1, Gamma: 2, 'Prod-NA': 3, 'Prod-EU': 3 };
    for (const [environment, missing] of Object.entries(behind)) {
      for (const application of HISTORY_APPLICATIONS) {
        const slot = await deps.environments.slot(environment, application);
        expect(slot?.approved.length).toBe(APPROVED_TAIL);
        const indexed = await deps.environments.approvedNewest(environment, application, { limit: 1_000 });
        const expected = REVISIONS - missing;
        expect(indexed.length).toBe(expected - APPROVED_TAIL);
        expect(indexed[0]).toBe(expected - APPROVED_TAIL);
      }
    }
    expect(await migrateApprovedIndex(deps.environments, (await loadWholeWorld(deps)).environments)).toBe(0);
    expect(decisionsOf(await loadInFlightWorld(deps))).toEqual(before);
  });

  it('keeps deciding as before once new approvals go through the index (a later pass after the upgrade)', async () => {
    const deps = sources();
    // Beta's deploy of web r60 passes its approval workflow: the lock goes, the approval is recorded the new way.
    await deps.environments.markApproved('Beta', 'web', REVISIONS, NOW);
    const slot = await deps.environments.slot('Beta', 'web');
    expect(slot?.approved.length).toBe(APPROVED_TAIL);
    expect(slot?.approved.at(-1)).toBe(REVISIONS);
    const world = await loadInFlightWorld(deps);
    const gamma = decisionsOf(world).find((d) => d.destination === 'Gamma' && d.application === 'web');
    // Beta -> Gamma selects by priority: r60 is flagged (every 10th is), so it goes next.
    expect(gamma?.decision).toMatchObject({ kind: 'deploy', revision: { number: REVISIONS } });
  });

  it('reads only the executions of the candidates, so an already-started execution still says so', async () => {
    const deps = sources();
    // Prod-EU has started web r57 (recorded), but still runs r57's predecessor: decide must see the record.
    await deps.executions.record({
      promotion: 'Gamma-to-Prod-EU',
      application: 'web',
      revision: REVISIONS - 2,
      executionName: 'Gamma-to-Prod-EU-web-r58',
      startedAt: NOW,
    });
    const decisions = decisionsOf(await loadInFlightWorld(deps));
    expect(decisions.find((d) => d.destination === 'Prod-EU' && d.application === 'web')?.decision).toMatchObject({
      kind: 'already-started',
      executionName: 'Gamma-to-Prod-EU-web-r58',
    });
  });
});
