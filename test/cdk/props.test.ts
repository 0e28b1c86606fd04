/**
 * Prop mistakes are reported together, in one synth, each naming the prop and the fix. Every case here throws
 * before any function is bundled, so no synthesis cost.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from '@jest/globals';
import type { Pipeline } from '../../lambdas/core/config/schema';
import { DeploymentSystem, DeploymentSystemPropsError } from '../../lib/deployment-system';
import { fixtureInput, fixturePipeline } from './fixtures';

function attempt(props: Partial<ConstructorParameters<typeof DeploymentSystem>[2]>): DeploymentSystemPropsError {
  const stack = new Stack(new App(), 'Props');
  try {
    new DeploymentSystem(stack, 'System', { pipeline: fixturePipeline, ...props });
  } catch (error) {
    expect(error).toBeInstanceOf(DeploymentSystemPropsError);
    return error as DeploymentSystemPropsError;
  }
  throw new Error('expected DeploymentSystem to refuse the props');
}

describe('DeploymentSystem props', () => {
  it('reports two bad props in one error', () => {
    const error = attempt({ reconcileInterval: Duration.seconds(30), approvalLinkTtl: Duration.days(90) });
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('reconcileInterval: EventBridge schedules run in whole minutes');
    expect(error.message).toContain('approvalLinkTtl: use between Duration.minutes(1) and Duration.days(30)');
  });

  it('reports pipeline problems beside prop problems, with their paths', () => {
    const pipeline = {
      ...fixtureInput,
      packages: [
        {
          name: 'api',
          source: { local: { path: '.' } },
          build: { commands: ['make'], variables: { 'NOT-A-NAME': 'x' } },
        },
        fixtureInput.packages[1],
      ],
    } as unknown as Pipeline;
    const error = attempt({ pipeline, apiThrottle: { rateLimit: 0 } });
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('pipeline.packages[0].source: "api" uses a local source'),
        expect.stringContaining('pipeline.packages[0].build.variables.NOT-A-NAME'),
        expect.stringContaining('apiThrottle.rateLimit'),
      ]),
    );
  });

  it('refuses a pipeline naming a compliance policy the runtime cannot evaluate', () => {
    const [beta, prod] = fixtureInput.stages;
    const pipeline = {
      ...fixtureInput,
      stages: [
        beta,
        {
          ...prod,
          environments: [{ ...prod!.environments[0], approval: { compliance: { policy: 'no-such-policy' } } }],
        },
      ],
    } as unknown as Pipeline;
    const error = attempt({ pipeline });
    expect(error.problems).toEqual([
      expect.stringContaining(
        'stages[1].environments[0].approval.compliance.policy: "no-such-policy" is not an allowed value',
      ),
    ]);
  });

  it('runs the cross-reference checks on pipelines written as objects', () => {
    const pipeline = {
      ...fixtureInput,
      promotions: [{ from: { environment: 'nowhere' }, to: 'beta' }],
    } as unknown as Pipeline;
    const error = attempt({ pipeline });
    expect(error.problems.join('\n')).toContain('nowhere');
  });
});
