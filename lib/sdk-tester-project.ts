/**
 * The SDK tester's two CodeBuild projects (issue 9 item 20):
 * - the tester (trusted): `TESTER_BUILDSPEC` over the tester CLI bundled by esbuild at synth (an S3 asset), which
 *   verifies the plan's packages and writes `tests/<plan>/results.json` through presigned URLs;
 * - the provider-code project (untrusted): `PROVIDER_CODE_BUILDSPEC`, no source; it fetches the runner bundle (a
 *   second asset, presigned by the stage step) and runs the sample app and checks scripts. Its role can write its
 *   own log group and nothing else, so leaked credentials reach nothing.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { ArnFormat, AssetHashType, BundlingOutput, DockerImage, Duration, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import type * as esbuild from 'esbuild';
import { ARCHIVE_LIMITS_ENV } from '../lambdas/sdk/service/archive-limits';
import { PROVIDER_CODE_BUILDSPEC, TESTER_BUILDSPEC } from '../lambdas/sdk/tester/buildspec';
import { buildProject, DEFAULT_BUILD_IMAGE } from './codebuild-projects';
import { S3ObjectSource } from './codebuild-sources';
import { buildLogGroup, type LogGroupDefaults } from './log-groups';
import { acknowledge, resourceFinding } from './nag';
import {
  prebuiltProviderRunnerBundle,
  prebuiltTesterBundle,
  providerRunnerBundleOptions,
  TESTER_DIR,
  testerBundleOptions,
} from './sdk-tester-bundle';

export interface TesterProjectOptions {
  readonly projectName: string;
  /** @default - `DEFAULT_BUILD_IMAGE`, medium compute */
  readonly environment?: codebuild.BuildEnvironment;
  /** `LOCKSTEP_SDK_ARCHIVE_LIMITS` as JSON. */
  readonly archiveLimits: string;
  readonly stagingBucket: s3.IBucket;
  readonly packageHostBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  readonly logDefaults: LogGroupDefaults;
}

/** The asset `TesterSource`, the log group `TesterLogs` and the project `TesterProject` in `scope`. */
export function buildTesterProject(scope: Construct, options: TesterProjectOptions): codebuild.Project {
  const { stagingBucket, packageHostBucket } = options;
  const prebuilt = prebuiltTesterBundle();
  const source = prebuilt
    ? new s3assets.Asset(scope, 'TesterSource', { path: dirname(prebuilt) })
    : new s3assets.Asset(scope, 'TesterSource', {
        path: TESTER_DIR,
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never pulled: local bundling with esbuild always succeeds or throws.
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:20-slim'),
          local: {
            tryBundle(outputDir: string): boolean {
              // Loaded here, not imported: an installed package has the prebuilt bundle and no esbuild.
              const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof esbuild;
              buildSync(testerBundleOptions(outputDir));
              return true;
            },
          },
        },
      });
  const project = buildProject(scope, 'TesterProject', {
    projectName: options.projectName,
    description: 'Lockstep SDK tester: builds a sample app against the staged set and checks every package',
    buildspec: TESTER_BUILDSPEC,
    source: new S3ObjectSource(source.bucket, source.s3ObjectKey),
    ...(options.environment ? { environment: options.environment } : {}),
    defaultComputeType: codebuild.ComputeType.MEDIUM,
    environmentVariables: {
      LOCKSTEP_SDK_STAGING_BUCKET: { value: stagingBucket.bucketName },
      LOCKSTEP_PACKAGE_HOST_BUCKET: { value: packageHostBucket.bucketName },
      [ARCHIVE_LIMITS_ENV]: { value: options.archiveLimits },
    },
    encryptionKey: options.encryptionKey,
    keyDescription: 'the SDK key',
    logGroup: buildLogGroup(scope, 'TesterLogs', options.logDefaults),
    sourceBucket: source.bucket,
  });
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [source.bucket.arnForObjects(source.s3ObjectKey)],
    }),
  );
  // No object access at all: the tester reads its plan and packages, and writes its one results key, through
  // presigned URLs the stage step puts in the plan. It runs no provider code: that is the provider-code project's.
  return project;
}

export interface ProviderCodeProjectOptions {
  readonly projectName: string;
  /** @default - `DEFAULT_BUILD_IMAGE`, medium compute (the tester's: both must decide alike what they can build) */
  readonly environment?: codebuild.BuildEnvironment;
  /** `LOCKSTEP_SDK_ARCHIVE_LIMITS` as JSON. */
  readonly archiveLimits: string;
  readonly logDefaults: LogGroupDefaults;
}

/** The provider-code project and the runner bundle the stage step presigns for it. */
export interface ProviderCodeProject {
  readonly project: codebuild.Project;
  /** The runner bundle (`provider-runner.mjs`, one file) on the assets bucket. */
  readonly runner: s3assets.Asset;
}

/**
 * The asset `ProviderRunnerBundle`, the log group `ProviderCodeLogs` and the project `ProviderCodeProject` in
 * `scope`. The project has no source, no artifacts, no cache and no KMS key, and its role gets only what CodeBuild
 * adds for logging to its own log groups: it reads its inputs and writes its one output through presigned URLs.
 */
export function buildProviderCodeProject(scope: Construct, options: ProviderCodeProjectOptions): ProviderCodeProject {
  const prebuilt = prebuiltProviderRunnerBundle();
  const runner = prebuilt
    ? new s3assets.Asset(scope, 'ProviderRunnerBundle', { path: prebuilt })
    : new s3assets.Asset(scope, 'ProviderRunnerBundle', {
        path: TESTER_DIR,
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:20-slim'),
          // One plain file, not a zip: the build fetches and runs it as it is.
          outputType: BundlingOutput.SINGLE_FILE,
          local: {
            tryBundle(outputDir: string): boolean {
              const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof esbuild;
              buildSync(providerRunnerBundleOptions(outputDir));
              return true;
            },
          },
        },
      });
  const project = new codebuild.Project(scope, 'ProviderCodeProject', {
    projectName: options.projectName,
    description:
      'Lockstep SDK provider code: builds and runs the sample app and the checks scripts, as nobody; its role can only write its logs',
    buildSpec: codebuild.BuildSpec.fromObjectToYaml(PROVIDER_CODE_BUILDSPEC),
    environment: options.environment ?? {
      buildImage: DEFAULT_BUILD_IMAGE,
      computeType: codebuild.ComputeType.MEDIUM,
      privileged: false,
    },
    environmentVariables: {
      [ARCHIVE_LIMITS_ENV]: { value: options.archiveLimits },
      // An unprivileged CodeBuild container cannot create network namespaces. Provider code still runs as nobody
      // (it cannot read the runner's environment: no credentials URI, no presigned URLs), and this project's
      // credentials can only write its logs, so the network it keeps leads to nothing of Lockstep's.
      LOCKSTEP_SDK_SANDBOX_NETWORK: { value: 'shared' },
    },
    logging: { cloudWatch: { logGroup: buildLogGroup(scope, 'ProviderCodeLogs', options.logDefaults) } },
    grantReportGroupPermissions: false,
    timeout: Duration.hours(1),
  });
  acknowledge(
    project,
    {
      id: 'AwsSolutions-CB4',
      reason:
        'The provider-code project has no source, artifacts or cache to encrypt; a KMS key would need a grant in a role meant to reach nothing but its logs',
    },
    {
      // The statement CodeBuild adds for its default log group, whatever the logging settings.
      id: `AwsSolutions-IAM5[${resourceFinding(scope, `${Stack.of(scope).formatArn({ service: 'logs', resource: 'log-group', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `/aws/codebuild/${project.projectName}` })}:*`)}]`,
      reason: `CodeBuild always grants its default log group /aws/codebuild/${options.projectName}; ":*" covers the log streams of that one group`,
    },
  );
  return { project, runner };
}
