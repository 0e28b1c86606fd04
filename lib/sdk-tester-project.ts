/**
 * The SDK tester: a CodeBuild project running `TESTER_BUILDSPEC` over the tester CLI bundled by esbuild at synth
 * (an S3 asset), reading staged and published packages and writing `tests/<plan>/results.json` to staging.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import type * as esbuild from 'esbuild';
import { ARCHIVE_LIMITS_ENV } from '../lambdas/sdk/service/archive-limits';
import { TESTER_BUILDSPEC } from '../lambdas/sdk/tester/buildspec';
import { buildProject } from './codebuild-projects';
import { S3ObjectSource } from './codebuild-sources';
import { buildLogGroup, type LogGroupDefaults } from './log-groups';
import { prebuiltTesterBundle, TESTER_DIR, testerBundleOptions } from './sdk-tester-bundle';

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
      // An unprivileged CodeBuild container cannot create network namespaces. Provider code still runs as nobody
      // (it cannot read the build's environment, hence no credentials URI nor the presigned URLs), and this
      // project's role can touch no SDK bucket, so the network it keeps leads to nothing of Lockstep's.
      LOCKSTEP_SDK_SANDBOX_NETWORK: { value: 'shared' },
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
  // presigned URLs the stage step puts in the plan. Provider code in the build (run as nobody, see tester.ts)
  // could at most reach this role, which can touch no package and choose no results path.
  return project;
}
