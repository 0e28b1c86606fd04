// The CDK app of a team that installed Lockstep with `npm install lockstep`: one stack with Lockstep's promotion
// system for the team's pipeline (lockstep.config.yaml) and its SDK publisher, sharing one HTTP API. Plain
// JavaScript, so `cdk synth` runs it with node alone; a TypeScript app imports the same names with their types.
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { readFileSync } from 'node:fs';
import { applyNagChecks, DeploymentSystem, SdkPublisher } from 'lockstep';

const app = new App();
const stack = new Stack(app, 'ShopDelivery', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

// `-c pipeline=<file>` tries another definition; a missing or invalid one fails synth with every problem listed.
const deploys = new DeploymentSystem(stack, 'Deploys', {
  pipeline: app.node.tryGetContext('pipeline') ?? 'lockstep.config.yaml',
  alarmEmails: ['ops@example.com'],
});

new SdkPublisher(stack, 'Sdks', {
  // Replace with the public half of your own key pair; its private half goes into the secret below.
  cloudFrontPublicKey: readFileSync('sdk-cloudfront-public-key.pem', 'utf8'),
  signingKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'SigningKey', 'shop/sdk/cloudfront-private-key'),
  accessPolicy: 'sdk-access-policy.yaml',
  httpApi: deploys.httpApi,
  httpApiStage: deploys.httpStage,
});

// The same cdk-nag AwsSolutions checks Lockstep's own app runs: findings fail synth.
applyNagChecks(app);
