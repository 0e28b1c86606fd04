/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads the pipeline definition named by the LOCKSTEP_CONFIG
 * environment variable or, without it, the context value `lockstep:config` (cdk.json), validates it (every problem
 * reported at once) and creates one stack for the pipeline, with cdk-nag's AwsSolutions checks running in synth.
 *
 * `lockstep:alarmEmails` (comma-separated) subscribes operators to Lockstep's own alarms. `lockstep:adopt` names a
 * JSON file `{ "encryptionKeyArn", "tables": { "Revisions": "<name>", ... }, "artifactsBucketName" }` of data
 * stores kept by `cdk destroy` that a new deploy uses instead of creating empty ones.
 *
 * The stack includes the SDK publisher unless `-c lockstep:sdk=false`. Its settings, as context values:
 * - `lockstep:sdk:publicKey`: PEM file of the CloudFront public key (default: the example key in examples/, whose
 *   private half nobody has: a synth warning says so, and private packages cannot be downloaded until you replace it);
 * - `lockstep:sdk:signingKeySecret`: name or ARN of the Secrets Manager secret holding the matching private key PEM
 *   (default `lockstep/sdk/cloudfront-private-key`);
 * - `lockstep:sdk:accessPolicy`: JSON or YAML access policy file (default examples/sdk-access-policy.json);
 * - `lockstep:sdk:notificationEmails`: comma-separated SDK owner addresses to subscribe (default none);
 * - `lockstep:sdk:domainName`, `lockstep:sdk:certificateArn` and optionally `lockstep:sdk:domainAliases`
 *   (comma-separated): serve the package host on your own domain with TLS 1.2 or later (default: the distribution's
 *   `*.cloudfront.net` name, which CloudFront serves with TLS 1.0 allowed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, App } from 'aws-cdk-lib';
import { ConfigError, loadPipeline } from '../lambdas/core/config/load';
import { DeploymentSystemPropsError } from '../lib/deployment-system';
import { LockstepStack, type AdoptedResources, type LockstepSdkPublisherProps } from '../lib/lockstep-stack';
import { applyNagChecks } from '../lib/nag';
import { SdkPublisherPropsError } from '../lib/sdk-publisher';

const EXAMPLE_PUBLIC_KEY = fileURLToPath(new URL('../examples/sdk-cloudfront-public-key.pem', import.meta.url));
const EXAMPLE_ACCESS_POLICY = fileURLToPath(new URL('../examples/sdk-access-policy.json', import.meta.url));

const app = new App();
// The environment variable wins, so one checkout can deploy several pipelines without editing cdk.json.
const configPath = process.env.LOCKSTEP_CONFIG ?? (app.node.tryGetContext('lockstep:config') as string | undefined);

try {
  if (!configPath) {
    throw new ConfigError([
      {
        path: '',
        message: 'no pipeline definition was named',
        fix: 'set LOCKSTEP_CONFIG, or the context value lockstep:config in cdk.json',
      },
    ]);
  }
  const pipeline = loadPipeline(resolve(configPath));
  const sdkPublisher = sdkPublisherProps(app);
  const adoptFile = app.node.tryGetContext('lockstep:adopt') as string | undefined;
  const alarmEmails = String(app.node.tryGetContext('lockstep:alarmEmails') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const stack = new LockstepStack(app, `Lockstep-${pipeline.pipeline.name}`, {
    deploymentSystem: { pipeline, ...(alarmEmails.length > 0 ? { alarmEmails } : {}) },
    ...(adoptFile ? { adopt: JSON.parse(readFileSync(resolve(adoptFile), 'utf8')) as AdoptedResources } : {}),
    ...(sdkPublisher ? { sdkPublisher: sdkPublisher.props } : {}),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  if (stack.sdkPublisher && sdkPublisher?.exampleKey) {
    Annotations.of(stack.sdkPublisher).addWarningV2(
      'lockstep:sdk:exampleKey',
      'The SDK publisher uses the example CloudFront public key, whose private half is not available: private and early-access packages cannot be downloaded. Pass your own with -c lockstep:sdk:publicKey=<public.pem>',
    );
  }
  applyNagChecks(app);
  app.synth();
} catch (error) {
  // Definition and prop mistakes are the user's to fix: their list, without a stack trace.
  if (
    error instanceof ConfigError ||
    error instanceof DeploymentSystemPropsError ||
    error instanceof SdkPublisherPropsError
  ) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

/** The SDK publisher's props from context, or undefined when `lockstep:sdk` is `false`. */
function sdkPublisherProps(scope: App): { props: LockstepSdkPublisherProps; exampleKey: boolean } | undefined {
  const context = (key: string): string | undefined => {
    const value: unknown = scope.node.tryGetContext(`lockstep:sdk${key}`);
    // A context value given with -c is a string; one from cdk.json may be a number, a boolean or an object.
    return value === undefined || value === null
      ? undefined
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
  };
  if (['false', 'off', 'no', '0'].includes((context('') ?? 'true').toLowerCase())) return undefined;
  const publicKeyFile = context(':publicKey');
  const keyPath = publicKeyFile ? resolve(publicKeyFile) : EXAMPLE_PUBLIC_KEY;
  if (!existsSync(keyPath)) {
    throw new SdkPublisherPropsError([
      `cloudFrontPublicKey: the file ${keyPath} (context lockstep:sdk:publicKey) does not exist; give the PEM file made by openssl rsa -in private.pem -pubout`,
    ]);
  }
  const list = (key: string): string[] =>
    (context(key) ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
  const emails = list(':notificationEmails');
  const domainName = context(':domainName');
  const certificateArn = context(':certificateArn');
  const aliases = list(':domainAliases');
  return {
    props: {
      cloudFrontPublicKey: readFileSync(keyPath, 'utf8'),
      signingKeySecret: context(':signingKeySecret') ?? 'lockstep/sdk/cloudfront-private-key',
      accessPolicy: resolve(context(':accessPolicy') ?? EXAMPLE_ACCESS_POLICY),
      ...(emails.length > 0 ? { notificationEmails: emails } : {}),
      ...(domainName !== undefined ? { domainName } : {}),
      ...(certificateArn !== undefined ? { certificate: certificateArn } : {}),
      ...(aliases.length > 0 ? { domainAliases: aliases } : {}),
    },
    exampleKey: publicKeyFile === undefined,
  };
}
