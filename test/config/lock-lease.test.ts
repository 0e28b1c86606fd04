import { describe, expect, it } from '@jest/globals';
import { loadPipeline } from '../../lambdas/core/config/load';
import { lockLeaseMs, LOCK_LEASE_DESCRIPTION, environmentSchema } from '../../lambdas/core/config/schema';
import { environmentDefinition, executionInput } from '../../lambdas/promotion/execution-input';
import { leaseEnd } from '../../local/console/status';
import { byRule, problemsAfter } from './fixtures';

const HOUR = 3_600_000;

describe('lockLease is the whole hold, approval wait included', () => {
  it('gives the quickstart beta a 25 h lease, as its file says, not 25 h + the 24 h approval timeout', () => {
    const pipeline = loadPipeline('examples/quickstart/lockstep.config.yaml');
    const beta = environmentDefinition(pipeline, 'beta')!;
    expect(lockLeaseMs(beta)).toBe(25 * HOUR);
    const input = executionInput(pipeline, {
      promotion: 'alpha-to-beta',
      execution: 'alpha-to-beta-sample-app-r1',
      environment: 'beta',
      revision: {
        application: 'sample-app',
        number: 1,
        versionSet: {},
        commits: [],
        authors: [],
        artifact: 's3://artifacts/revisions/sample-app/1/artifact.zip',
        buildId: 'b',
        createdAt: 0,
        priority: false,
        testResults: {},
      },
    });
    expect(input.lockLeaseMs).toBe(25 * HOUR);
  });

  it('defaults to 2 h plus the manual timeout and the bake time when unset', () => {
    const env = environmentSchema.parse({
      name: 'beta',
      deploy: { commands: ['./deploy.sh'] },
      approval: { manual: { approvers: ['a@example.com'], timeout: '24h' }, bakeTime: '30m' },
    });
    expect(lockLeaseMs(env)).toBe(26.5 * HOUR);
    expect(lockLeaseMs(environmentSchema.parse({ name: 'alpha', deploy: { commands: ['x'] } }))).toBe(2 * HOUR);
  });

  it('says what the lease means in the schema description', () => {
    expect(environmentSchema.shape.lockLease.description).toBe(LOCK_LEASE_DESCRIPTION);
    expect(LOCK_LEASE_DESCRIPTION).toMatch(/whole time .* manual approval wait and the bake time/);
  });

  it('refuses a lease that would lapse during the approval wait, naming both durations and the fix', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.stages[0]!.environments[0]!.approval = {
          tests: [],
          manual: { approvers: ['rm@example.com'], timeout: '24h' },
          bakeTime: '30m',
        };
        p.stages[0]!.environments[0]!.lockLease = '24h';
      }),
      'lock-lease',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('stages[0].environments[0].lockLease');
    expect(problems[0]!.message).toContain(
      'lockLease 24h is the whole time a promotion holds the lock of "beta", approval wait included, but the manual approval\'s timeout (24h) plus the bake time (30m) alone take 24h30m',
    );
    expect(problems[0]!.fix).toContain('at least 25h30m');
  });

  it('accepts the examples as they are', () => {
    for (const file of ['examples/quickstart/lockstep.config.yaml', 'examples/three-stage/lockstep.config.yaml']) {
      expect(() => loadPipeline(file)).not.toThrow();
    }
  });
});

describe('lockstep status shows a lease end with its date and the time left', () => {
  const now = Date.parse('2026-12-03T13:00:00Z');
  it('prints a lease two days away with its date, not a bare time of day', () => {
    expect(leaseEnd(Date.parse('2026-12-05T13:19:51Z'), now)).toBe('2026-12-05 13:19:51 UTC, in 2d 20m');
  });
  it('prints minutes for a short lease and says when it has expired', () => {
    expect(leaseEnd(now + 90 * 60_000, now)).toBe('2026-12-03 14:30:00 UTC, in 1h 30m');
    expect(leaseEnd(now + 20_000, now)).toBe('2026-12-03 13:00:20 UTC, in 1m');
    expect(leaseEnd(now - 1, now)).toBe('2026-12-03 12:59:59 UTC, expired');
  });
});
