import { describe, expect, it } from '@jest/globals';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { decide } from '../../lambdas/core/decide/decide';
import type { ApplicationAtEnvironment, Revision } from '../../lambdas/core/model';
import type { EnvironmentStore, RevisionStore } from '../../lambdas/ports/stores';
import { lastApproved, runStep, type StepDependencies } from '../../lambdas/promotion/steps';
import { deployed, revision, snapshot } from './fixtures';

// Issue 14, item 7: the rollback target is the last revision approved in the environment, never one that failed
// its approval there; with none, the environment has no safe revision and takes no automated deploy.
const NOW = Date.parse('2024-01-03T12:00:00Z');

const pipeline = pipelineSchema.parse({
  pipeline: { name: 'shop' },
  packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['make'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [{ name: 'Beta', environments: [{ name: 'Beta', deploy: { commands: ['deploy'] } }] }],
  promotions: [{ from: { application: 'web' }, to: 'Beta' }],
});

function stepsOver(slot: ApplicationAtEnvironment): StepDependencies {
  const revisions = new Map<number, Revision>(
    [1, 2, 3, 4].map((n) => [n, { ...revision('web', n), artifact: `s3://artifacts/revisions/web/${n}/artifact.zip` }]),
  );
  return {
    pipeline,
    revisions: { get: async (_app: string, n: number) => revisions.get(n) } as unknown as RevisionStore,
    environments: { slot: async () => slot, get: async () => ({ web: slot }) } as unknown as EnvironmentStore,
    locks: {} as never,
    events: {} as never,
    notifier: {} as never,
    clock: () => NOW,
  };
}

const recordPrevious = (slot: ApplicationAtEnvironment, deploying: number) =>
  runStep(stepsOver(slot), {
    action: 'record-previous',
    execution: 'e',
    promotion: 'web-to-Beta',
    application: 'web',
    environment: 'Beta',
    revision: deploying,
  });

describe('the rollback target', () => {
  it('is the last revision approved in the environment, not the unapproved one that ran before', async () => {
    // r1 approved there; r2 then ran there without ever being approved (its execution was stopped).
    await expect(recordPrevious({ current: deployed('web', 2), approved: [1] }, 3)).resolves.toMatchObject({
      exists: true,
      number: 1,
      sourceLocation: 'artifacts/revisions/web/1/artifact.zip',
    });
  });

  it('does not exist when the first revision failed its approval: a later failure never rolls back to it', async () => {
    await expect(recordPrevious({ current: deployed('web', 1), approved: [] }, 2)).resolves.toEqual({ exists: false });
  });

  it('skips the revision being deployed when the step runs again after the deploy was recorded', async () => {
    await expect(
      recordPrevious({ current: deployed('web', 3), previous: deployed('web', 2), approved: [1, 3] }, 3),
    ).resolves.toMatchObject({ number: 1 });
    expect(lastApproved([1, 4, 2], 2)).toBe(4);
    expect(lastApproved([], 2)).toBeUndefined();
  });
});

describe('an environment running a revision never approved there', () => {
  it('takes no automated deploy and is reported as having no safe revision when nothing was ever approved there', () => {
    const d = decide(
      snapshot({ destination: { applications: { A: { current: deployed('A', 1), approved: [] } } } }),
      NOW,
    );
    expect(d).toMatchObject({ kind: 'no-safe-revision', unapproved: 1, revision: 2 });
    expect(d.reason).toBe(
      'Prod has no safe revision of A: it runs r1, which was never approved there, and no revision was. Nothing is deployed over it until an operator runs `lockstep unlock Prod --allow-deploy --reason "..."`.',
    );
  });

  it('waits for the rollback to its last approved revision before promoting anything', () => {
    const d = decide(
      snapshot({
        candidates: [revision('A', 1), revision('A', 2), revision('A', 3)],
        destination: { applications: { A: { current: deployed('A', 2), approved: [1] } } },
      }),
      NOW,
    );
    expect(d).toMatchObject({ kind: 'recovering', unapproved: 2, rollbackTo: 1, revision: 3 });
  });

  it('deploys again once an operator allowed deploys over the unapproved revision', () => {
    const d = decide(
      snapshot({ destination: { applications: { A: { current: deployed('A', 1), approved: [], cleared: 1 } } } }),
      NOW,
    );
    expect(d.kind).toBe('deploy');
  });

  it('is left alone while an execution holds the lock (its own approval workflow is running)', () => {
    const lock = {
      environment: 'Prod',
      owner: 'Beta-to-Prod-A-r1',
      acquiredAt: NOW - 1000,
      leaseExpiresAt: NOW + 60_000,
      fencingToken: 4,
    };
    const d = decide(
      snapshot({ destination: { lock, applications: { A: { current: deployed('A', 1), approved: [] } } } }),
      NOW,
    );
    expect(d.kind).toBe('blocked-by-lock');
  });
});
