/**
 * `npx tsx bench/run.ts synth-scale`: synthesizes the stack `cdk deploy` makes (deployment system and SDK
 * publisher) for pipelines of 5, 40 and 100 environments (four stages, one account and deploy role per stage, a
 * deploy step and three tests per environment) and prints its resources and template bytes against
 * CloudFormation's limits, beside the estimate `lockstep validate` makes, so the growth with environments is
 * visible. Function bundling is skipped (it does not change the template's size class, only asset hashes).
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { estimateStackSize, MAX_STACK_RESOURCES, MAX_TEMPLATE_BYTES } from '../lambdas/core/config/limits';
import { LockstepStack } from '../lib/lockstep-stack';
import { largePipeline } from '../test/support/large-pipeline';

const SIZES = [5, 40, 100];

export default async function bench(): Promise<void> {
  console.log('environments  steps  projects  resources (limit)  template bytes (limit)  estimate  synth ms');
  for (const environments of SIZES) {
    const pipeline = largePipeline({ environments });
    const started = Date.now();
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new LockstepStack(app, `Scale${environments}`, {
      deploymentSystem: { pipeline },
      sdkPublisher: {
        cloudFrontPublicKey: readFileSync('examples/sdk-cloudfront-public-key.pem', 'utf8'),
        signingKeySecret: 'lockstep/sdk/cloudfront-private-key',
        accessPolicy: 'examples/sdk-access-policy.json',
      },
    });
    const template = app.synth().getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string }>;
    };
    const ms = Date.now() - started;
    const resources = Object.keys(template.Resources).length;
    const projects = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CodeBuild::Project').length;
    const bytes = Buffer.byteLength(JSON.stringify(template), 'utf8');
    const estimate = estimateStackSize(pipeline);
    const steps = pipeline.stages.reduce(
      (n, s) => n + s.environments.reduce((m, e) => m + 1 + e.approval.tests.length, 0),
      0,
    );
    console.log(
      [
        String(environments).padStart(12),
        String(steps).padStart(5),
        String(projects).padStart(8),
        `${resources} (${MAX_STACK_RESOURCES})`.padStart(17),
        `${bytes.toLocaleString('en-US')} (${MAX_TEMPLATE_BYTES.toLocaleString('en-US')})`.padStart(22),
        `${estimate.resources}/${estimate.templateBytes.toLocaleString('en-US')}`.padStart(9),
        String(ms).padStart(8),
      ].join('  '),
    );
  }
}
