/**
 * Attempts: a failed promotion can run again (`lockstep retry`) under a new execution name, while each attempt
 * still starts once. Names stay within Step Functions' 80 characters.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decide } from '../../lambdas/core/decide';
import { executionName } from '../../lambdas/core/names';
import type { RetryRequest } from '../../lambdas/core/model';
import { snapshot } from './fixtures';

const NOW = Date.parse('2024-03-04T12:00:00Z');
const retry = (attempt: number, revision = 2): RetryRequest => ({
  promotion: 'Beta-to-Prod',
  application: 'A',
  revision,
  attempt,
  requestedBy: 'ann@example.com',
  requestedAt: NOW - 1000,
});

describe('execution attempts', () => {
  it("keeps the first attempt's name as before and gives each later attempt its own", () => {
    expect(executionName('Beta-to-Prod', 'A', 2)).toBe('Beta-to-Prod-A-r2');
    expect(executionName('Beta-to-Prod', 'A', 2, 1)).toBe('Beta-to-Prod-A-r2');
    expect(executionName('Beta-to-Prod', 'A', 2, 2)).toBe('Beta-to-Prod-A-r2-a2');
    expect(() => executionName('Beta-to-Prod', 'A', 2, 0)).toThrow(RangeError);
  });

  it('keeps every name within 80 characters and distinct per attempt, however long the ids', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (promotion, application, revision, attempt) => {
          const name = executionName(promotion, application, revision, attempt);
          expect(name.length).toBeLessThanOrEqual(80);
          expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(executionName(promotion, application, revision, attempt + 1)).not.toBe(name);
        },
      ),
    );
  });

  it('starts the requested attempt of a revision whose first attempt already ran', () => {
    const started = [executionName('Beta-to-Prod', 'A', 2)];
    expect(decide(snapshot({ startedExecutions: started }), NOW)).toMatchObject({
      kind: 'already-started',
      reason: expect.stringContaining('lockstep retry Prod'),
    });
    const d = decide(snapshot({ startedExecutions: started, retries: [retry(2)] }), NOW);
    expect(d).toMatchObject({ kind: 'deploy', executionName: 'Beta-to-Prod-A-r2-a2' });
  });

  it('starts a given attempt once: a started attempt is already-started, the highest request wins', () => {
    const started = [executionName('Beta-to-Prod', 'A', 2), executionName('Beta-to-Prod', 'A', 2, 2)];
    expect(decide(snapshot({ startedExecutions: started, retries: [retry(2)] }), NOW)).toMatchObject({
      kind: 'already-started',
      executionName: 'Beta-to-Prod-A-r2-a2',
    });
    expect(decide(snapshot({ startedExecutions: started, retries: [retry(3), retry(2)] }), NOW)).toMatchObject({
      kind: 'deploy',
      executionName: 'Beta-to-Prod-A-r2-a3',
    });
  });

  it('ignores a retry of another revision than the one selected', () => {
    const d = decide(snapshot({ retries: [retry(2, 1)] }), NOW);
    expect(d).toMatchObject({ kind: 'deploy', executionName: 'Beta-to-Prod-A-r2' });
  });
});
