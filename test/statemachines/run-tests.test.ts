/**
 * RunTests, the Map over an environment's test steps: bounded concurrency, and CodeBuild capacity errors (account
 * build quota, throttling) treated as "try again later", never as a failed test.
 */
import { describe, expect, it } from '@jest/globals';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { input, PIPELINE, promotionDefinition, runPromotion, summary } from '../support/promotion-harness';

const SMOKE = 'Beta/test/smoke';

function withTests(count: number): PipelineInput {
  const pipeline = structuredClone(PIPELINE);
  pipeline.stages[0]!.environments[0]!.approval = {
    tests: Array.from({ length: count }, (_, i) => ({ name: `t${i}`, commands: ['./t.sh'] })),
  };
  return pipeline;
}

describe('RunTests', () => {
  it('bounds how many test builds run at once instead of starting every step together', async () => {
    const map = promotionDefinition().States.RunTests as { MaxConcurrency?: number };
    expect(map.MaxConcurrency).toBeGreaterThan(0);
    const run = await runPromotion({ buildMs: 20 }, input(withTests(10)));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.effects.filter((e) => e.kind === 'codebuild' && e.what.includes('/test/'))).toHaveLength(10);
    expect(run.maxConcurrentBuilds).toBe(map.MaxConcurrency);
  });

  it.each(['CodeBuild.AccountLimitExceededException', 'CodeBuild.ThrottlingException'])(
    'retries a test step refused with %s until CodeBuild has capacity, and the revision is approved',
    async (error) => {
      const run = await runPromotion({ flakyBuilds: { [SMOKE]: { error, times: 12 } } });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.effects.filter((e) => e.what === SMOKE)).toHaveLength(13);
      const results = run.effects.find((e) => e.what === 'record-test-results')!;
      expect(results.input.tests).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'smoke', passed: true })]),
      );
      expect(summary(run.effects)).toContain('approve-and-release');
    },
  );

  it('never records a capacity refusal that outlasts the retries as a failed test', async () => {
    const run = await runPromotion({
      flakyBuilds: { [SMOKE]: { error: 'CodeBuild.AccountLimitExceededException', times: 1000 } },
    });
    expect(run.status).toBe('FAILED');
    expect(run.effects.find((e) => e.what === 'record-test-results')).toBeUndefined();
    const notify = run.effects.find((e) => e.what === 'notify')!;
    expect(notify.input).toMatchObject({
      stage: 'approval-workflow',
      error: { Error: 'TestCapacityUnavailableError' },
    });
    // The workflow could not verify the revision, so it is not approved and the environment goes back.
    expect(summary(run.effects)).not.toContain('approve-and-release');
    expect(run.effects.some((e) => e.what === 'release-lock')).toBe(true);
  });
});
