/**
 * Lockstep's S3 buckets, made one way: `DeploymentSystem` (artifacts) and `SdkPublisher` (SDK host, staging,
 * package host) both call these factories, so every data bucket is encrypted, TLS only, private, versioned, logged
 * and retained unless the caller says otherwise.
 *
 * Server access logs are delivered through a bucket policy rather than the legacy log-delivery ACL: call
 * `useBucketPolicyForAccessLogs(scope)` on the construct before it creates any bucket.
 */
import { Duration, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge } from './nag';

/** Makes `s3.Bucket` deliver server access logs through a bucket policy in `scope` (set before any child exists). */
export function useBucketPolicyForAccessLogs(scope: Construct): void {
  scope.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
}

export interface AccessLogsBucketOptions {
  readonly removalPolicy: RemovalPolicy;
  /** Names what logs here, for the acknowledgement of its own missing access log (AwsSolutions-S1). */
  readonly logsOf: string;
  /**
   * Keep ACLs enabled (object writer may own its objects) so CloudFront standard logs can be delivered: CloudFront
   * writes them through the awslogsdelivery account's ACL grant.
   * @default false - ACLs disabled (bucket owner enforced)
   */
  readonly acceptsCloudFrontLogs?: boolean;
}

/**
 * A bucket that receives access logs: SSE-S3 (S3 server access logging delivers only to SSE-S3 buckets), TLS only,
 * public access blocked, versioned, logs kept a year.
 */
export function createAccessLogsBucket(scope: Construct, id: string, options: AccessLogsBucketOptions): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: options.acceptsCloudFrontLogs
      ? s3.ObjectOwnership.BUCKET_OWNER_PREFERRED
      : s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    removalPolicy: options.removalPolicy,
  });
  acknowledge(bucket, {
    id: 'AwsSolutions-S1',
    reason: `This bucket receives the ${options.logsOf} access logs; logging it into itself would loop`,
  });
  return bucket;
}

export interface DataBucketOptions {
  /**
   * Key for SSE-KMS (with an S3 Bucket Key).
   * @default - SSE-S3 (S3-managed keys)
   */
  readonly encryptionKey?: kms.IKey;
  readonly accessLogs: s3.IBucket;
  /** Prefix of this bucket's server access logs in `accessLogs`, e.g. `artifacts/`. */
  readonly accessLogsPrefix: string;
  readonly removalPolicy: RemovalPolicy;
  /**
   * Send object events to EventBridge.
   * @default false
   */
  readonly eventBridgeEnabled?: boolean;
  /**
   * Days after which noncurrent object versions expire.
   * @default 90
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Create the bucket with S3 Object Lock enabled (no default retention: objects are locked one by one, e.g. the
   * history archive of `retention.objectLock`). Enabling it on an existing bucket needs S3 support to replace it.
   * @default false
   */
  readonly objectLockEnabled?: boolean;
}

/**
 * A data bucket: encrypted, TLS 1.2+ only, public access blocked, ACLs disabled, versioned, server access logs to
 * `accessLogs`, noncurrent versions expired and incomplete multipart uploads aborted after 7 days.
 */
export function createDataBucket(scope: Construct, id: string, options: DataBucketOptions): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    ...(options.encryptionKey
      ? {
          encryption: s3.BucketEncryption.KMS,
          encryptionKey: options.encryptionKey,
          // One data key per bucket rather than per object: far fewer KMS requests for the same protection.
          bucketKeyEnabled: true,
        }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    ...(options.objectLockEnabled ? { objectLockEnabled: true } : {}),
    serverAccessLogsBucket: options.accessLogs,
    serverAccessLogsPrefix: options.accessLogsPrefix,
    lifecycleRules: [
      { noncurrentVersionExpiration: Duration.days(options.noncurrentVersionExpirationDays ?? 90) },
      { abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
    removalPolicy: options.removalPolicy,
  });
  if (options.eventBridgeEnabled) {
    // Set on the CloudFormation resource itself: the L2 `eventBridgeEnabled` goes through a custom resource whose
    // Lambda function carries the account-wide basic execution policy and an older runtime.
    (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
  }
  return bucket;
}

/** A bucket kept by an earlier deploy, adopted by name, and the bucket policy made for it in this deploy. */
export interface AdoptedBucket {
  readonly bucket: s3.IBucket;
  readonly policy: s3.BucketPolicy;
}

/**
 * Adopts a bucket that `cdk destroy` kept (data stores are retained). Its encryption, versioning, lifecycle, logging
 * and event settings are properties of the bucket and were kept with it; its bucket policy was a resource of its own
 * and went with the old stack, so a new one is made here: TLS only, as `createDataBucket` has it, plus `statements`.
 */
export function adoptBucket(
  scope: Construct,
  id: string,
  bucketName: string,
  options: { readonly encryptionKey?: kms.IKey; readonly statements?: readonly iam.PolicyStatement[] } = {},
): AdoptedBucket {
  const bucket = s3.Bucket.fromBucketAttributes(scope, id, {
    bucketName,
    ...(options.encryptionKey ? { encryptionKey: options.encryptionKey } : {}),
  });
  const policy = new s3.BucketPolicy(scope, `${id}Policy`, { bucket });
  policy.document.addStatements(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:*'],
      resources: [bucket.bucketArn, bucket.arnForObjects('*')],
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
    ...(options.statements ?? []),
  );
  return { bucket, policy };
}

/** What an adopted access logs bucket's policy needs: S3 server access log delivery from this account's buckets. */
export function accessLogDeliveryStatement(scope: Construct, bucket: s3.IBucket): iam.PolicyStatement {
  return new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [bucket.arnForObjects('*')],
    conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
  });
}
