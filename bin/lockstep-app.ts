/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads the pipeline definition named by the context value
 * `lockstep:config` (cdk.json) or the LOCKSTEP_CONFIG environment variable, which wins so one checkout can deploy
 * several pipelines, validates it (every problem reported at once) and creates one stack per pipeline with
 * cdk-nag's AwsSolutions checks running in synth.
 */
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadPipeline } from '../lambdas/core/config/load';
import { LockstepStack } from '../lib/lockstep-stack';
import { applyNagChecks } from '../lib/nag';

const app = new App();
const configPath = process.env.LOCKSTEP_CONFIG ?? (app.node.tryGetContext('lockstep:config') as string | undefined);
if (!configPath) {
  throw new Error('No pipeline definition: set the context value lockstep:config in cdk.json or LOCKSTEP_CONFIG');
}
const pipeline = loadPipeline(resolve(configPath));

new LockstepStack(app, `Lockstep-${pipeline.pipeline.name}`, {
  deploymentSystem: { pipeline },
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
applyNagChecks(app);
app.synth();
