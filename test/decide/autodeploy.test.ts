import { describe, expect, it } from '@jest/globals';
import { firstEnvironmentsOutOfSync } from '../../lambdas/core/decide/autodeploy';
import { deployed, environment, revision, threeStagePipeline } from './fixtures';

describe('firstEnvironmentsOutOfSync', () => {
  it('lists the first environments not running the latest successful revision of each application', () => {
    const result = firstEnvironmentsOutOfSync(threeStagePipeline(), {
      revisions: { A: [revision('A', 1), revision('A', 3), revision('A', 2)], B: [revision('B', 1)] },
      environments: {
        Alpha: environment('Alpha', {
          applications: {
            A: { current: deployed('A', 2), approved: [2] },
            B: { current: deployed('B', 1), approved: [] },
          },
        }),
        // Beta is fed by Alpha, not by an application: never a first environment.
        Beta: environment('Beta', { applications: { A: { current: deployed('A', 1), approved: [] } } }),
      },
      promotionApprovals: [],
      startedExecutions: [],
    });
    expect(result).toEqual([
      { application: 'A', environment: 'Alpha', promotion: 'A+B-to-Alpha', latest: 3, current: 2 },
    ]);
  });

  it('reports an environment that runs nothing yet, and skips applications never built', () => {
    const result = firstEnvironmentsOutOfSync(threeStagePipeline(), {
      revisions: { A: [revision('A', 1)] },
      environments: {},
      promotionApprovals: [],
      startedExecutions: [],
    });
    expect(result).toEqual([
      { application: 'A', environment: 'Alpha', promotion: 'A+B-to-Alpha', latest: 1, current: undefined },
    ]);
  });
});
