/**
 * What each SDK handler may do (see `lambdas/sdk/service/`), in one place, and nothing more. `s3:ListBucket` is
 * granted where a handler reads an object that may not exist yet: without it S3 answers 403 instead of 404.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { INDEX_KEY } from '../lambdas/sdk/host/keys';
import {
  grantBucketList,
  grantObjectsDelete,
  grantObjectsRead,
  grantObjectsWrite,
  grantTableData,
  grantTopicPublish,
} from './grants';
import { acknowledge, resourceFinding } from './nag';
import type { SdkHandlerName } from './sdk-handlers';

export interface SdkGrantsOptions {
  readonly functions: Readonly<Record<SdkHandlerName, nodejs.NodejsFunction>>;
  readonly table: dynamodb.ITable;
  readonly sdkHostBucket: s3.IBucket;
  readonly stagingBucket: s3.IBucket;
  readonly packageHostBucket: s3.IBucket;
  readonly notificationTopic: sns.ITopic;
  readonly encryptionKey: kms.IKey;
  readonly stateMachineArn: string;
  readonly signingKeySecret: secretsmanager.ISecret;
  /** Withdrawals and tier changes invalidate the package's old path on it. */
  readonly distribution: cloudfront.IDistribution;
}

export function grantSdkHandlerPermissions(scope: Construct, options: SdkGrantsOptions): void {
  const fns = options.functions;
  const startExecution = new iam.PolicyStatement({
    actions: ['states:StartExecution'],
    resources: [options.stateMachineArn],
  });
  const incoming = 'incoming/*';
  // Intake moves what it took in out of incoming/ to received/<name>/<version>/<etag>/, which executions read.
  const received = 'received/*';
  const everything = '*';
  const finding = (bucket: s3.IBucket, pattern: string): string =>
    `AwsSolutions-IAM5[${resourceFinding(scope, bucket.arnForObjects(pattern))}]`;
  const incomingReason = 'names and versions under incoming/<name>/<version>/ are chosen by providers at run time';

  // Upload API: checks the provider's token, hands out presigned PUTs under incoming/<name>/<version>/ (signed
  // with this role, so the role must be allowed to put there), and on completion lists what arrived and starts
  // the execution.
  const upload = fns['sdk-upload-api'];
  grantTableData(options.table, upload, 'read-write');
  grantObjectsWrite(options.sdkHostBucket, incoming, upload);
  grantIntakeMove(options.sdkHostBucket, upload);
  upload.addToRolePolicy(startExecution);
  acknowledge(
    upload.role!,
    {
      id: finding(options.sdkHostBucket, incoming),
      reason: `Presigned uploads of SDK versions, moved out once taken in: ${incomingReason}`,
    },
    {
      id: finding(options.sdkHostBucket, received),
      reason: `Completing an upload moves it to received/<name>/<version>/<etag>/: ${incomingReason}`,
    },
  );

  // Intake: lists incoming/ (events and the poll) and starts one execution per new (SDK, version); the poll also
  // finishes publications cut short after their commit point (index.json, deleting withdrawn versions).
  const intake = fns['sdk-intake'];
  grantTableData(options.table, intake, 'read-write');
  grantIntakeMove(options.sdkHostBucket, intake);
  intake.addToRolePolicy(startExecution);
  // The poll describes the execution of each version left TESTING, to fail the test of one that ended outside its
  // Catch (stopped, timed out); execution names are made at run time.
  const executions = `${options.stateMachineArn.replace(':stateMachine:', ':execution:')}:*`;
  intake.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }));
  acknowledge(intake.role!, {
    id: `AwsSolutions-IAM5[${resourceFinding(scope, executions)}]`,
    reason: 'The poll describes the executions that tested versions; their names are made at run time',
  });
  grantObjectsWrite(options.packageHostBucket, INDEX_KEY, intake);
  grantObjectsDelete(options.packageHostBucket, everything, intake);
  acknowledge(
    intake.role!,
    {
      id: finding(options.packageHostBucket, everything),
      reason:
        'The poll finishes interrupted publications, which deletes the objects of withdrawn versions at <tier>/<name>/<version>/ keys known only from the index',
    },
    {
      id: finding(options.sdkHostBucket, incoming),
      reason: `Intake reads an upload and deletes it from incoming/ once moved: ${incomingReason}`,
    },
    {
      id: finding(options.sdkHostBucket, received),
      reason: `Intake moves an upload to received/<name>/<version>/<etag>/: ${incomingReason}`,
    },
  );

  // Steps: validate and convert the upload, stage (packages/, contents/, tests/ plans), read test results,
  // publish to the package host (copies, index.json, deleting withdrawn versions), notify owners, and start
  // executions for waiting packages that an arrival releases.
  const steps = fns['sdk-steps'];
  grantTableData(options.table, steps, 'read-write');
  grantObjectsRead(options.sdkHostBucket, incoming, steps);
  grantObjectsRead(options.sdkHostBucket, received, steps);
  grantBucketList(options.sdkHostBucket, steps);
  grantObjectsRead(options.stagingBucket, everything, steps);
  grantObjectsWrite(options.stagingBucket, everything, steps);
  grantBucketList(options.stagingBucket, steps);
  grantObjectsWrite(options.packageHostBucket, everything, steps);
  grantObjectsDelete(options.packageHostBucket, everything, steps);
  grantTopicPublish(options.notificationTopic, options.encryptionKey, steps);
  steps.addToRolePolicy(startExecution);
  // Withdrawals and tier changes invalidate the package's old path (CachingOptimized keeps objects for 24 h).
  options.distribution.grantCreateInvalidation(steps);
  acknowledge(
    steps.role!,
    {
      id: finding(options.sdkHostBucket, incoming),
      reason: `Validation and conversion read the upload the execution names: ${incomingReason}`,
    },
    {
      id: finding(options.sdkHostBucket, received),
      reason: `Validation and conversion read the upload the execution names, moved by intake: ${incomingReason}`,
    },
    {
      id: finding(options.stagingBucket, everything),
      reason:
        'Staging holds packages/, contents/ and tests/ objects of SDK versions and test plans that exist only at run time',
    },
    {
      id: finding(options.packageHostBucket, everything),
      reason:
        'Publication writes <tier>/<name>/<version>/ and index.json and deletes withdrawn versions, for SDKs known only at run time',
    },
  );

  // Download API: checks the consumer's token, reads the index, signs URLs with the operator's key. Listing
  // tells "nothing published yet" (404) apart from a denial.
  const download = fns['sdk-download-api'];
  grantTableData(options.table, download, 'read');
  grantObjectsRead(options.packageHostBucket, INDEX_KEY, download);
  grantBucketList(options.packageHostBucket, download);
  options.signingKeySecret.grantRead(download);
}

/**
 * Intake's move of an upload out of incoming/: read it, copy it to received/, delete it from incoming/. Listing
 * the SDK host without a prefix condition, so a missing object answers 404 (a prefix condition does not count).
 */
function grantIntakeMove(sdkHostBucket: s3.IBucket, fn: nodejs.NodejsFunction): void {
  grantObjectsRead(sdkHostBucket, 'incoming/*', fn);
  grantObjectsWrite(sdkHostBucket, 'received/*', fn);
  grantObjectsDelete(sdkHostBucket, 'incoming/*', fn);
  grantBucketList(sdkHostBucket, fn);
}
