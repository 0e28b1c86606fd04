/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads the pipeline definition named by the LOCKSTEP_CONFIG
 * environment variable or, without it, the context value `lockstep:config` (cdk.json), validates it (every problem
 * reported at once) and creates one stack for the pipeline, with cdk-nag's AwsSolutions checks running in synth.
 */
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ConfigError, loadPipeline } from '../lambdas/core/config/load';
import { DeploymentSystemPropsError } from '../lib/deployment-system';
import { LockstepStack } from '../lib/lockstep-stack';
import { applyNagChecks } from '../lib/nag';

const app = new App();
// The environment variable wins, so one checkout can deploy several pipelines without editing cdk.json.
const configPath = process.env.LOCKSTEP_CONFIG ?? (app.node.tryGetContext('lockstep:config') as string | undefined);

try {
  if (!configPath) {
    throw new ConfigError([
      { path: '', message: 'no pipeline definition was named', fix: 'set LOCKSTEP_CONFIG, or the context value lockstep:config in cdk.json' },
    ]);
  }
  const pipeline = loadPipeline(resolve(configPath));
  new LockstepStack(app, `Lockstep-${pipeline.pipeline.name}`, {
    deploymentSystem: { pipeline },
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  applyNagChecks(app);
  app.synth();
} catch (error) {
  // Definition and prop mistakes are the user's to fix: their list, without a stack trace.
  if (error instanceof ConfigError || error instanceof DeploymentSystemPropsError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
