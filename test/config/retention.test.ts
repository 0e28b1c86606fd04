import { describe, expect, it } from '@jest/globals';
import { pipelineSchema, retentionSchema } from '../../lambdas/core/config/schema';
import { problemsAfter } from './fixtures';

describe('retention: in the pipeline', () => {
  it('keeps everything when left out, and says so in its description', () => {
    expect(pipelineSchema.shape.retention.description ?? retentionSchema.description).toMatch(
      /keep everything in the tables/,
    );
    expect(problemsAfter(() => undefined)).toEqual([]);
  });

  it('accepts an archive age with an optional Object Lock', () => {
    expect(
      problemsAfter((p) => {
        p.retention = { archiveAfterDays: 365, objectLock: { mode: 'compliance', days: 2555 } };
      }),
    ).toEqual([]);
  });

  it('refuses an archive age that is not a whole number of days, saying how to keep everything instead', () => {
    const zero = problemsAfter((p) => {
      p.retention = { archiveAfterDays: 0 };
    });
    expect(zero.map((problem) => [problem.path, problem.message].join(': ')).join('\n')).toContain(
      'retention.archiveAfterDays',
    );
    expect(JSON.stringify(zero)).toContain('leave `retention` out to keep everything in the table');
    const fraction = problemsAfter((p) => {
      p.retention = { archiveAfterDays: 1.5 };
    });
    expect(JSON.stringify(fraction)).toContain('use a whole number of days, e.g. 365');
    expect(JSON.stringify(fraction)).toContain('must be a whole number, not 1.5');
  });

  it('refuses an Object Lock mode S3 does not have and names the two it does', () => {
    const problems = problemsAfter((p) => {
      p.retention = { archiveAfterDays: 30, objectLock: { mode: 'legal-hold' as never, days: 30 } };
    });
    expect(problems.map((problem) => problem.path)).toContain('retention.objectLock.mode');
    expect(JSON.stringify(problems)).toMatch(/governance.*compliance/);
  });
});
