/**
 * CodeBuild projects, made one way by both constructs: encrypted with the construct's key, logging to their own
 * log group, no report groups, one hour at most, and allowed to look up the bucket their source comes from. The
 * caller grants the object reads and writes each project needs (`grants.ts`).
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge, resourceFinding } from './nag';

/**
 * The image every Lockstep project runs on unless the construct's props say otherwise: Amazon Linux 2 standard 3.0
 * for ARM (aarch64), not privileged.
 */
export const DEFAULT_BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2_STANDARD_3_0;

export interface LockstepProjectOptions {
  readonly projectName: string;
  readonly description: string;
  readonly buildspec: Record<string, unknown>;
  readonly source: codebuild.ISource;
  /** @default none */
  readonly secondarySources?: codebuild.ISource[];
  /** @default none */
  readonly artifacts?: codebuild.IArtifacts;
  /** @default - `DEFAULT_BUILD_IMAGE` with `defaultComputeType`, not privileged */
  readonly environment?: codebuild.BuildEnvironment;
  readonly defaultComputeType: codebuild.ComputeType;
  readonly environmentVariables: Record<string, codebuild.BuildEnvironmentVariable>;
  readonly encryptionKey: kms.IKey;
  /** Names the key in the acknowledgement of the CDK's KMS grant (`the system key`). */
  readonly keyDescription: string;
  readonly logGroup: logs.ILogGroup;
  /** The bucket the source zip is downloaded from: CodeBuild checks its location and ACL first. */
  readonly sourceBucket: s3.IBucket;
}

/** The project `id` in `scope`. */
export function buildProject(scope: Construct, id: string, options: LockstepProjectOptions): codebuild.Project {
  const project = new codebuild.Project(scope, id, {
    projectName: options.projectName,
    description: options.description,
    buildSpec: codebuild.BuildSpec.fromObjectToYaml(options.buildspec),
    source: options.source,
    ...(options.secondarySources ? { secondarySources: options.secondarySources } : {}),
    ...(options.artifacts ? { artifacts: options.artifacts } : {}),
    environment: options.environment ?? {
      buildImage: DEFAULT_BUILD_IMAGE,
      computeType: options.defaultComputeType,
      privileged: false,
    },
    environmentVariables: options.environmentVariables,
    encryptionKey: options.encryptionKey,
    logging: { cloudWatch: { logGroup: options.logGroup } },
    // No test reports: results travel as build status or result files, so no report-group permissions are needed.
    grantReportGroupPermissions: false,
    timeout: Duration.hours(1),
  });
  // CodeBuild checks the bucket's location and ACL before it downloads a source or uploads an artifact.
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetBucketAcl', 's3:GetBucketLocation'],
      resources: [options.sourceBucket.bucketArn],
    }),
  );
  acknowledge(
    project,
    {
      id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      reason: `CodeBuild encrypts build output with ${options.keyDescription} through the CDK grant, which adds ReEncrypt* on that one key`,
    },
    {
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: `CodeBuild encrypts build output with ${options.keyDescription} through the CDK grant, which adds GenerateDataKey* on that one key`,
    },
    {
      // The statement CodeBuild adds for its default log group, whatever the logging settings.
      id: `AwsSolutions-IAM5[${resourceFinding(scope, `${Stack.of(scope).formatArn({ service: 'logs', resource: 'log-group', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `/aws/codebuild/${project.projectName}` })}:*`)}]`,
      reason: `CodeBuild always grants its default log group /aws/codebuild/${options.projectName}; ":*" covers the log streams of that one group`,
    },
  );
  return project;
}
