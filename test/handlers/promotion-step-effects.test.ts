/**
 * What a promotion step leaves behind when one of its writes fails: the timeline and the notifications may only
 * report a state change that was made. Stores are in-memory fakes here; agents.test.ts runs the steps against
 * the DynamoDB adapters.
 */
import { describe, expect, it } from '@jest/globals';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import type { Notifier } from '../../lambdas/ports/services';
import type { EnvironmentStore, EventStore, LockStore, PipelineEvent, RevisionStore } from '../../lambdas/ports/stores';
import { runStep, type StepDependencies } from '../../lambdas/promotion/steps';

const pipeline = pipelineSchema.parse({
  pipeline: { name: 'shop' },
  packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['make'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [{ name: 'Beta', environments: [{ name: 'Beta', deploy: { commands: ['deploy'] } }] }],
  promotions: [{ from: { application: 'web' }, to: 'Beta' }],
});

const storeDown = () =>
  Promise.reject(Object.assign(new Error('DynamoDB is unavailable'), { name: 'InternalServerError' }));

/** Steps over fakes whose state writes fail; records every timeline entry and notification that still went out. */
function failingStateWrites() {
  const timeline: PipelineEvent[] = [];
  const published: string[] = [];
  const deps: StepDependencies = {
    pipeline,
    revisions: { get: async () => undefined } as unknown as RevisionStore,
    environments: { recordRolledBack: storeDown, markFailed: storeDown } as unknown as EnvironmentStore,
    locks: { release: storeDown } as unknown as LockStore,
    events: { append: async (event: PipelineEvent) => void timeline.push(event) } as unknown as EventStore,
    notifier: { publish: async (n) => void published.push(n.event) } satisfies Notifier,
    clock: () => 1_000,
  };
  return { deps, timeline, published };
}

const target = { execution: 'exec-1', promotion: 'web-to-Beta', application: 'web', environment: 'Beta', revision: 2 };

describe('promotion step effects when the state write fails', () => {
  it('release-lock with an announcement records nothing and announces nothing when the release fails', async () => {
    const { deps, timeline, published } = failingStateWrites();
    await expect(
      runStep(deps, {
        action: 'release-lock',
        environment: 'Beta',
        execution: 'exec-1',
        fencingToken: 3,
        announce: { promotion: 'web-to-Beta', application: 'web', revision: 2 },
      }),
    ).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(timeline).toEqual([]);
    expect(published).toEqual([]);
  });

  it('record-rollback neither records nor notifies a rollback whose environment update failed', async () => {
    const { deps, timeline, published } = failingStateWrites();
    await expect(
      runStep(deps, {
        action: 'record-rollback',
        ...target,
        outcome: 'rolled-back',
        previous: { exists: true, number: 1 },
        error: null,
      }),
    ).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(timeline).toEqual([]);
    expect(published).toEqual([]);
  });
});
