import { describe, expect, it } from '@jest/globals';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import type { Push } from '../../lambdas/core/decide/autobuild';
import type { PipelineSwitches } from '../../lambdas/core/model';
import type { BuildRequest as RunnerRequest } from '../../lambdas/ports/services';
import type { BuildStore, EnvironmentStore, EventStore } from '../../lambdas/ports/stores';
import { autoBuild, type AgentDependencies } from '../../lambdas/promotion/agents';
import { formatStatus, type SystemStatus } from '../../local/console/status';

// Issue 14, item 8: the README says a disabled pipeline starts nothing, yet pushes were still built into revisions.
// Decision: a disabled pipeline (or automation off) records pushes but builds nothing; the first pass after it is
// switched back on builds the branch heads.
const pipeline = pipelineSchema.parse({
  pipeline: { name: 'shop', buildDebounce: '1s' },
  packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['make'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [{ name: 'Beta', environments: [{ name: 'Beta', deploy: { commands: ['deploy'] } }] }],
  promotions: [{ from: { application: 'web' }, to: 'Beta' }],
});

const push: Push = {
  package: 'web',
  branch: 'main',
  commit: 'a'.repeat(40),
  author: 'dev',
  message: 'change',
  receivedAt: 1_000,
  deliveryId: 'd1',
};

function agentsWith(switches: PipelineSwitches) {
  const started: RunnerRequest[] = [];
  const deps = {
    pipeline,
    artifactsBucket: 'artifacts',
    environments: { switches: async () => switches } as unknown as EnvironmentStore,
    builds: {
      pushes: async () => [push],
      history: async () => ({ web: [] }),
      claim: async () => true,
      started: async () => undefined,
    } as unknown as BuildStore,
    events: { append: async () => undefined } as unknown as EventStore,
    runner: {
      start: async (request: RunnerRequest) => (started.push(request), { buildId: `build-${started.length}` }),
      get: async () => [],
    },
    clock: () => 60_000,
  } as unknown as AgentDependencies;
  return { deps, started };
}

describe('a disabled pipeline', () => {
  it('builds nothing from the pushes it records', async () => {
    const { deps, started } = agentsWith({ enabled: false, automation: true });
    expect(await autoBuild(deps)).toEqual([]);
    expect(started).toEqual([]);
  });

  it('builds nothing with automation off either', async () => {
    const { deps, started } = agentsWith({ enabled: true, automation: false });
    expect(await autoBuild(deps)).toEqual([]);
    expect(started).toEqual([]);
  });

  it('builds the waiting pushes once it is enabled again', async () => {
    const { deps, started } = agentsWith({ enabled: true, automation: true });
    expect(await autoBuild(deps)).toEqual(['build-1']);
    expect(started[0]?.sourceVersions).toEqual({ web: push.commit });
  });

  it('says in the status view that pushes wait while it is disabled', () => {
    const status: SystemStatus = {
      at: 0,
      pipeline: 'shop',
      switches: { enabled: false, automation: true },
      environments: [],
      decisions: [],
      approvals: [],
      failures: [],
    };
    expect(formatStatus(status, pipeline).join('\n')).toContain(
      'Pushes are recorded, but nothing builds or deploys until the pipeline is enabled',
    );
  });
});
