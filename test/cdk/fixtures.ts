/**
 * A pipeline that exercises every branch of the construct: GitHub and CodeCommit sources, a two-package
 * application, an environment deployed with a cross-account role, test steps, manual approvers (on an
 * environment and on a manual promotion), alarm-watched bakes (read in Lockstep's account, and through the
 * cross-account role) and notification subscriptions.
 */
import { validatePipelineObject } from '../../lambdas/core/config/load';
import type { Pipeline, PipelineInput } from '../../lambdas/core/config/schema';

export const fixtureInput: PipelineInput = {
  pipeline: { name: 'shop' },
  packages: [
    {
      name: 'api',
      source: { github: { owner: 'example-org', repo: 'api', branch: 'main' } },
      build: { commands: ['npm ci', 'npm run build'], artifacts: ['dist/**'] },
    },
    {
      name: 'web',
      source: { codecommit: { repository: 'shop-web', branch: 'release' } },
      build: { commands: ['make'] },
    },
  ],
  applications: [
    { name: 'backend', packages: ['api'] },
    { name: 'storefront', packages: ['api', 'web'] },
  ],
  stages: [
    {
      name: 'Beta',
      environments: [
        {
          name: 'beta',
          deploy: { commands: ['./deploy.sh'] },
          approval: {
            tests: [{ name: 'smoke', commands: ['./smoke.sh'] }],
            manual: { approvers: ['lead@example.com'] },
            bakeTime: { duration: '30m', alarms: ['shop-beta-5xx', 'shop-beta-latency'] },
          },
        },
      ],
    },
    {
      name: 'Prod',
      environments: [
        {
          name: 'prod',
          account: '111122223333',
          region: 'eu-west-1',
          roleArn: 'arn:aws:iam::111122223333:role/lockstep-deployer',
          deploy: { commands: ['./deploy.sh'] },
          approval: {
            bakeTime: { duration: '1h', alarms: ['arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-prod-5xx'] },
          },
        },
      ],
    },
  ],
  promotions: [
    { from: { application: ['backend', 'storefront'] }, to: 'beta' },
    { from: { environment: 'beta' }, to: 'prod', approval: 'manual', approvers: ['release@example.com'] },
  ],
  notifications: [
    { events: ['deployment-failed', 'rollback-done'], emails: ['oncall@example.com'] },
    { events: ['revision-approved'], emails: ['oncall@example.com', 'team@example.com'] },
  ],
};

export const fixturePipeline: Pipeline = validatePipelineObject(fixtureInput, { source: 'test/cdk/fixtures.ts' });
