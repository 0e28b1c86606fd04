import { describe, expect, it } from '@jest/globals';
import { checkPipelineObject } from '../../lambdas/core/config/load';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { applicationsAt, promotionsOf, validatePipeline } from '../../lambdas/core/config/validate';
import { basePipeline, byRule, problemsAfter } from './fixtures';

const environment = (name: string) => ({ name, deploy: { commands: [`./deploy.sh ${name}`] } });

describe('the base pipeline used by these tests', () => {
  it('has no problems', () => {
    expect(checkPipelineObject(basePipeline()).problems).toEqual([]);
  });
});

describe('duplicate names', () => {
  it('reports a package, application, stage and environment defined twice, each at the second definition', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.packages.push({ ...p.packages[0]! });
        p.applications.push({ name: 'web', packages: ['web'] });
        p.stages.push({ name: 'Beta', environments: [environment('beta')] });
      }),
      'duplicate-name',
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      'packages[2].name',
      'applications[1].name',
      'stages[2].name',
      'stages[2].environments[0].name',
    ]);
    expect(problems[3]!.message).toContain('environment name "beta" is already used by stages[0].environments[0]');
    expect(problems[3]!.fix).toContain('unique across all stages');
  });

  it('reports two test steps with one name in an environment, since each becomes a CodeBuild project', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.stages[0]!.environments[0]!.approval = {
          tests: [
            { name: 'smoke', commands: ['curl -f http://beta/health'] },
            { name: 'smoke', commands: ['npm test'] },
          ],
        };
      }),
      'duplicate-name',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('stages[0].environments[0].approval.tests[1].name');
  });

  it('accepts the same name used for a package and an application', () => {
    expect(
      byRule(
        problemsAfter(() => undefined),
        'duplicate-name',
      ),
    ).toEqual([]);
  });
});

describe('unknown references', () => {
  it('reports an application listing an undefined package, suggesting the likely one', () => {
    const [problem, ...rest] = byRule(
      problemsAfter((p) => (p.applications[0]!.packages = ['web', 'libb'])),
      'unknown-reference',
    );
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: 'applications[0].packages[1]' });
    expect(problem!.message).toBe('application "web" lists package "libb", which is not defined');
    expect(problem!.fix).toContain('did you mean "lib"?');
  });

  it('reports promotions from an undefined application or environment and to an undefined environment', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.promotions = [
          { from: { application: ['web', 'mobile'] }, to: 'beta' },
          { from: { environment: 'staging' }, to: 'production' },
        ];
      }),
      'unknown-reference',
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      'promotions[0].from.application[1]',
      'promotions[1].from.environment',
      'promotions[1].to',
    ]);
    expect(problems[1]!.fix).toContain('defined environments: beta, prod');
    expect(problems[2]!.fix).toContain('did you mean "prod"?');
  });

  it('accepts references to defined names', () => {
    expect(
      byRule(
        problemsAfter(() => undefined),
        'unknown-reference',
      ),
    ).toEqual([]);
  });
});

describe('promotion graph', () => {
  it('reports an environment that is the destination of two promotions', () => {
    const problems = byRule(
      problemsAfter((p) => p.promotions!.push({ from: { application: 'web' }, to: 'prod' })),
      'duplicate-destination',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('promotions[2].to');
    expect(problems[0]!.message).toContain('already the destination of promotions[1] (beta-to-prod)');
  });

  it('names the path of a promotion cycle', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.stages[1]!.environments.push(environment('prod-eu'));
        p.promotions = [
          { from: { application: 'web' }, to: 'beta' },
          { from: { environment: 'prod-eu' }, to: 'prod' },
          { from: { environment: 'prod' }, to: 'prod-eu' },
        ];
      }),
      'promotion-cycle',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe('promotions form a cycle: prod -> prod-eu -> prod');
  });

  it('finds no cycle in a fan-out from one environment', () => {
    const problems = problemsAfter((p) => {
      p.stages[1]!.environments.push(environment('prod-eu'));
      p.promotions!.push({ from: { environment: 'beta' }, to: 'prod-eu' });
    });
    expect(problems).toEqual([]);
  });

  it('reports an environment no promotion reaches and suggests the promotion to add', () => {
    const problems = byRule(
      problemsAfter((p) => p.stages[1]!.environments.push(environment('prod-fe'))),
      'unreachable-environment',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('stages[1].environments[1]');
    expect(problems[0]!.message).toContain('environment "prod-fe" is not the destination of any promotion');
    expect(problems[0]!.fix).toContain('{ from: { environment: beta }, to: prod-fe }');
  });

  it('suggests a promotion from an application for an unreachable environment in the first stage', () => {
    const problems = byRule(
      problemsAfter((p) => (p.promotions = p.promotions!.slice(1))),
      'unreachable-environment',
    );
    expect(problems[0]!.fix).toContain('{ from: { application: web }, to: beta }');
  });

  it('reports a promotion from an environment to itself', () => {
    const problems = byRule(
      problemsAfter((p) => (p.promotions![1] = { from: { environment: 'prod' }, to: 'prod' })),
      'self-promotion',
    );
    expect(problems.map((problem) => problem.path)).toEqual(['promotions[1]']);
  });

  it('reports a promotion back to an earlier stage', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.stages[0]!.environments.push(environment('beta-2'));
        p.promotions!.push({ from: { environment: 'prod' }, to: 'beta-2' });
      }),
      'promotion-direction',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('from stage "Prod" (prod) to the earlier stage "Beta" (beta-2)');
  });
});

describe('stages', () => {
  it('reports an empty stage', () => {
    const problems = byRule(
      problemsAfter((p) => p.stages.push({ name: 'Gamma', environments: [] })),
      'empty-stage',
    );
    expect(problems).toEqual([
      expect.objectContaining({ path: 'stages[2].environments', message: 'stage "Gamma" has no environments' }),
    ]);
  });
});

describe('time windows', () => {
  it('reports an invalid time zone and suggests the intended one', () => {
    const problems = byRule(
      problemsAfter((p) => (p.stages[1]!.environments[0]!.windows![0]!.timeZone = 'Europe/Londn')),
      'time-zone',
    );
    expect(problems).toEqual([
      expect.objectContaining({ path: 'stages[1].environments[0].windows[0].timeZone', fix: 'use "Europe/London"' }),
    ]);
  });

  it('suggests the zone for a city written with a space', () => {
    const problems = byRule(
      problemsAfter((p) => (p.stages[1]!.environments[0]!.windows![0]!.timeZone = 'New York')),
      'time-zone',
    );
    expect(problems[0]!.fix).toBe('use "America/New_York"');
  });

  it('reports a window that opens and closes at the same time', () => {
    const problems = byRule(
      problemsAfter((p) => Object.assign(p.stages[1]!.environments[0]!.windows![0]!, { start: '03:00', end: '03:00' })),
      'time-window',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('empty');
    expect(problems[0]!.fix).toContain('"00:00" and end "24:00"');
  });

  it('reports a window that starts at 24:00', () => {
    const problems = byRule(
      problemsAfter((p) => (p.stages[1]!.environments[0]!.windows![0]!.start = '24:00')),
      'time-window',
    );
    expect(problems.map((problem) => problem.path)).toEqual(['stages[1].environments[0].windows[0].start']);
  });

  it('accepts a window crossing midnight and a whole-day window', () => {
    const problems = problemsAfter((p) =>
      p.stages[1]!.environments[0]!.windows!.push({
        days: ['sat', 'sun'],
        start: '00:00',
        end: '24:00',
        timeZone: 'Asia/Tokyo',
      }),
    );
    expect(problems).toEqual([]);
  });
});

describe('manual approvals', () => {
  it('reports a manual promotion that nobody can approve', () => {
    const problems = byRule(
      problemsAfter((p) => (p.promotions![1]!.approval = 'manual')),
      'manual-approvers',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('promotions[1].approval');
    expect(problems[0]!.fix).toContain('approval.manual.approvers to environment "prod"');
  });

  it('accepts a manual promotion with its own approvers, or with approvers on the destination', () => {
    expect(
      problemsAfter((p) =>
        Object.assign(p.promotions![1]!, { approval: 'manual', approvers: ['release@example.com'] }),
      ),
    ).toEqual([]);
    expect(
      problemsAfter((p) => {
        p.promotions![1]!.approval = 'manual';
        p.stages[1]!.environments[0]!.approval = { manual: { approvers: ['release@example.com'] } };
      }),
    ).toEqual([]);
  });

  it('reports an environment that requires more approvals than it has distinct approvers', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.stages[1]!.environments[0]!.approval = {
          manual: { approvers: ['ann@example.com', 'ANN@example.com', 'bob@example.com'], required: 3 },
        };
      }),
      'manual-approvers',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'stages[1].environments[0].approval.manual.required',
        message:
          'environment "prod" requires 3 approvals but lists 2 distinct approvers, so no revision could ever be approved',
        fix: 'list at least 3 approvers, or lower required to 2',
      }),
    ]);
    expect(
      problemsAfter((p) => {
        p.stages[1]!.environments[0]!.approval = {
          manual: { approvers: ['ann@example.com', 'bob@example.com'], required: 2 },
        };
      }),
    ).toEqual([]);
  });

  it('reports approvers on an automatic promotion, who would never be asked', () => {
    const problems = byRule(
      problemsAfter((p) => (p.promotions![1]!.approvers = ['release@example.com'])),
      'manual-approvers',
    );
    expect(problems.map((problem) => problem.path)).toEqual(['promotions[1].approvers']);
  });
});

describe('unused definitions', () => {
  it('reports a package no application includes and an application no promotion deploys', () => {
    const problems = byRule(
      problemsAfter((p) => {
        p.packages.push({
          name: 'docs',
          source: { github: { owner: 'example', repo: 'docs' } },
          build: { commands: ['make'] },
        });
        p.applications.push({ name: 'admin', packages: ['web'] });
      }),
      'unused-definition',
    );
    expect(problems.map((problem) => problem.path)).toEqual(['packages[2]', 'applications[1]']);
    expect(problems[1]!.fix).toContain('{ from: { application: admin }, to: beta }');
  });
});

describe('accounts', () => {
  it('reports a deploy role in another account than the environment', () => {
    const problems = byRule(
      problemsAfter((p) =>
        Object.assign(p.stages[1]!.environments[0]!, {
          account: '111111111111',
          roleArn: 'arn:aws:iam::222222222222:role/deploy',
        }),
      ),
      'role-account',
    );
    expect(problems.map((problem) => problem.path)).toEqual(['stages[1].environments[0].roleArn']);
  });

  it('accepts a role in the same account', () => {
    const problems = problemsAfter((p) =>
      Object.assign(p.stages[1]!.environments[0]!, {
        account: '111111111111',
        roleArn: 'arn:aws:iam::111111111111:role/deploy',
      }),
    );
    expect(problems).toEqual([]);
  });
});

describe('notifications', () => {
  it('accepts notifications for any listed event', () => {
    const problems = problemsAfter(
      (p) => (p.notifications = [{ events: ['approval-requested', 'rollback-done'], emails: ['ops@example.com'] }]),
    );
    expect(problems).toEqual([]);
  });
});

describe('applicationsAt', () => {
  it('carries applications through environment promotions, and a list of applications into a shared stage', () => {
    const input = basePipeline();
    input.packages.push({
      name: 'api',
      source: { github: { owner: 'example', repo: 'api' } },
      build: { commands: ['npm ci'] },
    });
    input.applications.push({ name: 'api', packages: ['api', 'lib'] });
    input.promotions![0] = { from: { application: ['api', 'web'] }, to: 'beta' };
    const pipeline = pipelineSchema.parse(input);
    expect(validatePipeline(pipeline)).toEqual([]);
    const reached = applicationsAt(pipeline);
    expect(reached.get('beta')).toEqual(['web', 'api']);
    expect(reached.get('prod')).toEqual(['web', 'api']);
  });

  it('lists every environment, with nothing for one no promotion reaches', () => {
    const input = basePipeline();
    input.stages[1]!.environments.push(environment('prod-eu'));
    expect(applicationsAt(pipelineSchema.parse(input)).get('prod-eu')).toEqual([]);
  });
});

describe('promotionsOf', () => {
  it('gives each promotion its id and index', () => {
    const promotions = promotionsOf(pipelineSchema.parse(basePipeline()));
    expect(promotions.map((p) => [p.id, p.index, p.strategy])).toEqual([
      ['web-to-beta', 0, 'latest'],
      ['beta-to-prod', 1, 'latest'],
    ]);
  });
});
