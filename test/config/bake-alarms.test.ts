/**
 * `approval.bakeTime` in its two forms: a duration, and `{ duration, alarms, acceptInsufficientData }`. What the
 * schema accepts, what `validate` refuses (alarms outside the environment's account or region, an alarm twice),
 * what it warns about, and that every existing use of the bake time (lock lease, execution input) reads both forms.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { checkPipelineObject, parsePipeline } from '../../lambdas/core/config/load';
import {
  alarmBake,
  bakeDuration,
  environmentSchema,
  lockLeaseMs,
  parseAlarmReference,
  type PipelineInput,
} from '../../lambdas/core/config/schema';
import { alarmHomeProblems } from '../../lambdas/core/config/validate';
import { configWarnings } from '../../lambdas/core/config/warnings';
import { environmentDefinition, executionInput } from '../../lambdas/promotion/execution-input';
import { summarize } from '../../bin/commands/validate';
import { basePipeline, byRule, problemsAfter } from './fixtures';
import { REVISION } from '../support/promotion-harness';

const HOUR = 3_600_000;

/** Sets prod's approval workflow in the fixture pipeline. */
function prod(approval: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return (pipeline: PipelineInput) => {
    Object.assign(pipeline.stages[1]!.environments[0]!, { approval, ...extra });
  };
}

describe('bakeTime with alarms', () => {
  it('accepts the plain duration as before', () => {
    expect(problemsAfter(prod({ bakeTime: '30m' }))).toEqual([]);
  });

  it('accepts names and ARNs, defaulting acceptInsufficientData to false', () => {
    const env = environmentSchema.parse({
      name: 'prod',
      deploy: { commands: ['./deploy.sh'] },
      approval: {
        bakeTime: { duration: '1h', alarms: ['web-5xx', 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web:p99'] },
      },
    });
    expect(alarmBake(env.approval)).toEqual({
      duration: '1h',
      alarms: ['web-5xx', 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web:p99'],
      acceptInsufficientData: false,
    });
    expect(bakeDuration(env.approval)).toBe('1h');
    expect(parseAlarmReference('arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web:p99')).toEqual({
      name: 'web:p99',
      account: '123456789012',
      region: 'eu-west-1',
    });
  });

  it('refuses an empty alarm list, saying to use a plain duration instead', () => {
    const problems = problemsAfter(prod({ bakeTime: { duration: '1h', alarms: [] } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'stages[1].environments[0].approval.bakeTime.alarms' });
    expect(`${problems[0]!.message} ${problems[0]!.fix}`).toContain(
      'list at least one alarm name or ARN, or write bakeTime as a plain duration such as "30m"',
    );
  });

  it('refuses an ARN that is not an alarm ARN, with an example of one', () => {
    const problems = problemsAfter(
      prod({ bakeTime: { duration: '1h', alarms: ['arn:aws:sns:eu-west-1:123456789012:alerts'] } }),
    );
    expect(problems[0]?.path).toBe('stages[1].environments[0].approval.bakeTime.alarms[0]');
    expect(JSON.stringify(problems)).toContain('arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-prod-5xx');
  });

  it('refuses a misspelt key with the accepted forms', () => {
    const problems = problemsAfter(prod({ bakeTime: { duration: '1h', alarm: ['web-5xx'] } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('stages[1].environments[0].approval.bakeTime');
    expect(`${problems[0]!.message} ${problems[0]!.fix}`).toContain('alarms');
  });

  it("refuses an alarm ARN in another account or region than the environment's, saying which and how to fix it", () => {
    const problems = byRule(
      problemsAfter(
        prod(
          {
            bakeTime: {
              duration: '1h',
              alarms: [
                'arn:aws:cloudwatch:eu-west-1:111111111111:alarm:web-5xx',
                'arn:aws:cloudwatch:us-east-1:222222222222:alarm:web-latency',
              ],
            },
          },
          { account: '222222222222', region: 'eu-west-1', roleArn: 'arn:aws:iam::222222222222:role/deploy' },
        ),
      ),
      'bake-alarm',
    );
    expect(problems.map((p) => [p.path, p.message, p.fix])).toEqual([
      [
        'stages[1].environments[0].approval.bakeTime.alarms[0]',
        'alarm arn:aws:cloudwatch:eu-west-1:111111111111:alarm:web-5xx is in account 111111111111, but environment "prod" is in account 222222222222: Lockstep reads an environment\'s alarms in its own account',
        'use an alarm of account 222222222222 (or just its name), or correct the environment\'s "account"',
      ],
      [
        'stages[1].environments[0].approval.bakeTime.alarms[1]',
        'alarm arn:aws:cloudwatch:us-east-1:222222222222:alarm:web-latency is in region us-east-1, but environment "prod" is in region eu-west-1: Lockstep reads an environment\'s alarms in its own region',
        'use an alarm of region eu-west-1 (or just its name), or correct the environment\'s "region"',
      ],
    ]);
  });

  it("takes the role's account when the environment names no account", () => {
    const problems = byRule(
      problemsAfter(
        prod(
          { bakeTime: { duration: '1h', alarms: ['arn:aws:cloudwatch:eu-west-1:111111111111:alarm:web-5xx'] } },
          { roleArn: 'arn:aws:iam::222222222222:role/deploy' },
        ),
      ),
      'bake-alarm',
    );
    expect(problems[0]!.message).toContain('but environment "prod" is in account 222222222222');
    expect(problems[0]!.fix).toContain('correct the environment\'s "roleArn"');
  });

  it("checks ARNs of environments without an account against Lockstep's own account, or against each other", () => {
    const definition = (alarms: string[]): PipelineInput => {
      const pipeline = basePipeline();
      prod({ bakeTime: { duration: '1h', alarms } })(pipeline);
      return pipeline;
    };
    const twoAccounts = definition([
      'arn:aws:cloudwatch:eu-west-1:111111111111:alarm:web-5xx',
      'arn:aws:cloudwatch:eu-west-1:999999999999:alarm:web-latency',
    ]);
    const problems = byRule(checkPipelineObject(twoAccounts).problems, 'bake-alarm');
    expect(problems.map((p) => p.message)).toEqual([
      'alarm arn:aws:cloudwatch:eu-west-1:999999999999:alarm:web-latency is in account 999999999999, but environment "prod" names no account, so its alarms are read in Lockstep\'s own account (111111111111, the account of alarm arn:aws:cloudwatch:eu-west-1:111111111111:alarm:web-5xx of environment "prod")',
    ]);

    const oneAccount = parsePipeline(JSON.stringify(definition(['arn:aws:cloudwatch:eu-west-1:111111111111:alarm:a'])));
    expect(alarmHomeProblems(oneAccount, { account: '111111111111', region: 'eu-west-1' })).toEqual([]);
    expect(
      alarmHomeProblems(oneAccount, { account: '555555555555', region: 'us-east-2' }).map((p) => p.message),
    ).toEqual([
      'alarm arn:aws:cloudwatch:eu-west-1:111111111111:alarm:a is in account 111111111111, but environment "prod" names no account, so its alarms are read in Lockstep\'s own account (555555555555, Lockstep\'s own account)',
      'alarm arn:aws:cloudwatch:eu-west-1:111111111111:alarm:a is in region eu-west-1, but environment "prod" names no region, so its alarms are read in Lockstep\'s own region (us-east-2, Lockstep\'s own region)',
    ]);
  });

  it('refuses, at synth, alarms of another account that Lockstep would have to read without a role', () => {
    const pipeline = basePipeline();
    prod({ bakeTime: { duration: '1h', alarms: ['web-5xx'] } }, { account: '222222222222' })(pipeline);
    const problems = alarmHomeProblems(parsePipeline(JSON.stringify(pipeline)), { account: '111111111111' });
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'stages[1].environments[0].roleArn',
        fix: 'set roleArn to a role in account 222222222222 that Lockstep may assume and that allows cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory',
      }),
    ]);
  });

  it('refuses an alarm listed twice, by name and by ARN', () => {
    const problems = byRule(
      problemsAfter(
        prod(
          {
            bakeTime: {
              duration: '1h',
              alarms: ['web-5xx', 'arn:aws:cloudwatch:eu-west-1:222222222222:alarm:web-5xx'],
            },
          },
          { account: '222222222222', region: 'eu-west-1', roleArn: 'arn:aws:iam::222222222222:role/deploy' },
        ),
      ),
      'bake-alarm',
    );
    expect(problems.map((p) => p.message)).toEqual([
      'alarm "web-5xx" is already listed at alarms[0] of environment "prod"',
    ]);
  });

  it('warns that a role read needs the two CloudWatch actions and a trust in Lockstep', () => {
    const pipeline = basePipeline();
    prod(
      { bakeTime: { duration: '1h', alarms: ['web-5xx'] } },
      { account: '222222222222', roleArn: 'arn:aws:iam::222222222222:role/deploy' },
    )(pipeline);
    const warnings = configWarnings(parsePipeline(JSON.stringify(pipeline)));
    expect(warnings).toContainEqual(
      expect.objectContaining({
        path: 'stages[1].environments[0].approval.bakeTime.alarms',
        message: expect.stringContaining(
          "through arn:aws:iam::222222222222:role/deploy, so the bake is blocked unless that role trusts Lockstep's promotion-steps function and allows cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory",
        ),
      }),
    );
  });
});

describe('every use of the bake time reads both forms', () => {
  it('counts an alarm bake in the default lock lease', () => {
    const env = environmentSchema.parse({
      name: 'prod',
      deploy: { commands: ['./deploy.sh'] },
      approval: { bakeTime: { duration: '3h', alarms: ['web-5xx'] } },
    });
    expect(lockLeaseMs(env)).toBe(5 * HOUR);
  });

  it('refuses a lock lease shorter than an alarm bake, naming its duration', () => {
    const problems = byRule(
      problemsAfter(prod({ bakeTime: { duration: '3h', alarms: ['web-5xx'] } }, { lockLease: '2h' })),
      'lock-lease',
    );
    expect(problems[0]!.message).toContain('the bake time (3h) alone take 3h');
  });

  it('puts the alarm names (ARNs resolved) and the flag in the execution input', () => {
    const pipeline = basePipeline();
    prod(
      {
        bakeTime: {
          duration: '45m',
          alarms: ['web-5xx', 'arn:aws:cloudwatch:eu-west-1:222222222222:alarm:web-latency'],
          acceptInsufficientData: true,
        },
      },
      { account: '222222222222', region: 'eu-west-1', roleArn: 'arn:aws:iam::222222222222:role/deploy' },
    )(pipeline);
    const parsed = parsePipeline(JSON.stringify(pipeline));
    const input = executionInput(parsed, {
      promotion: 'beta-to-prod',
      execution: 'beta-to-prod-web-r2',
      environment: 'prod',
      revision: REVISION,
    });
    expect(input.approval.bakeSeconds).toBe(2700);
    expect(input.approval.bakeAlarms).toEqual({ alarms: ['web-5xx', 'web-latency'], acceptInsufficientData: true });
    expect(environmentDefinition(parsed, 'beta')).toBeDefined();
  });

  it('lists the alarms in what lockstep validate prints about the approval workflow', () => {
    const pipeline = parsePipeline(
      JSON.stringify(
        (() => {
          const p = basePipeline();
          prod({ bakeTime: { duration: '1h', alarms: ['web-5xx', 'web-latency'] } })(p);
          return p;
        })(),
      ),
    );
    expect(summarize(pipeline).alarmBakes).toEqual([
      { environment: 'prod', duration: '1h', alarms: ['web-5xx', 'web-latency'], acceptInsufficientData: false },
    ]);
  });

  it('runs the three-stage example with alarm bakes on its Prod environments', () => {
    const pipeline = parsePipeline(readFileSync('examples/three-stage/lockstep.config.yaml', 'utf8'));
    const bakes = summarize(pipeline).alarmBakes;
    expect(bakes.map((b) => b.environment)).toEqual(['prod-na', 'prod-eu', 'prod-fe']);
    expect(bakes[1]!.alarms).toEqual(['storefront-prod-eu-5xx', 'storefront-prod-eu-latency']);
  });
});
