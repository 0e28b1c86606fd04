// A small CDK app that Lockstep deploys with `deploy.cdk` (see lockstep.config.yaml): one stack holding a reports
// bucket. Plain JavaScript (CommonJS), so `cdk synth` runs it with node alone, in about a second.
//
// Its first deploy broadens no permission: the bucket policy that `enforceSSL` adds is a Deny, which the CDK CLI's
// security diff does not count as broadening. A commit that adds an Allow statement (a role, a grant) does, and
// Lockstep then waits for a permissions-broadening approval before it deploys (test/e2e/cdk-permissions-gate.test.ts).
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: plain node runs it, and it finds
   aws-cdk-lib through NODE_PATH where the app has no node_modules of its own (the end-to-end test) */
const { App, RemovalPolicy, Stack } = require('aws-cdk-lib');
const s3 = require('aws-cdk-lib/aws-s3');

const app = new App();
const stack = new Stack(app, 'ReportsStack');

new s3.Bucket(stack, 'Reports', {
  encryption: s3.BucketEncryption.S3_MANAGED,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  removalPolicy: RemovalPolicy.RETAIN,
});
