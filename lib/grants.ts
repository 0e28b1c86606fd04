/**
 * Least-privilege grants for data encrypted with a customer-managed key.
 *
 * The CDK's own helpers (`table.grantReadWriteData`, `topic.grantPublish`, `bucket.grantPut`) add
 * `kms:GenerateDataKey*` and `kms:ReEncrypt*` to the grantee, which widens what a role can do with the key and
 * needs a cdk-nag acknowledgement on every role. These helpers name the exact KMS actions each data-plane call
 * needs instead, so the policies stay free of wildcard actions.
 */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';

const TABLE_READ = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const TABLE_WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/**
 * How a function may use a table: `read` (items and queries), `append` (put items only, as the timeline does),
 * `read-write` (items, no table management).
 */
export type TableAccess = 'read' | 'append' | 'read-write';

const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  read: TABLE_READ,
  append: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DescribeTable'],
  'read-write': [...TABLE_READ, ...TABLE_WRITE],
};

export interface TableGrantOptions {
  /**
   * Only items whose partition key matches one of these patterns (`*` is a wildcard), through the
   * `dynamodb:LeadingKeys` condition. Scan and DescribeTable name no key, so they are left out.
   * @default - every item
   */
  readonly partitionKeys?: readonly string[];
}

/** Uses the table's items (no table management) as `access` says, and its key for exactly that. */
export function grantTableData(
  table: dynamodb.ITable,
  grantee: iam.IGrantable,
  access: TableAccess,
  options: TableGrantOptions = {},
): void {
  const actions = TABLE_ACTIONS[access];
  if (options.partitionKeys) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: actions.filter((action) => action !== 'dynamodb:Scan' && action !== 'dynamodb:DescribeTable'),
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...options.partitionKeys] } },
      }),
    );
  } else {
    table.grant(grantee, ...actions);
  }
  table.encryptionKey?.grant(
    grantee,
    'kms:Decrypt',
    'kms:DescribeKey',
    ...(access === 'read' ? [] : ['kms:Encrypt', 'kms:GenerateDataKey']),
  );
}

/** `sns:Publish` on the topic, plus the two key actions SNS needs to encrypt the message. */
export function grantTopicPublish(topic: sns.ITopic, key: kms.IKey | undefined, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }),
  );
  key?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
}

/** Reads objects under one key pattern (e.g. `revisions/web/*`). */
export function grantObjectsRead(bucket: s3.IBucket, keyPattern: string, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      // GetObjectVersion: CodeBuild reads S3 sources by version when the bucket is versioned.
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [bucket.arnForObjects(keyPattern)],
    }),
  );
  bucket.encryptionKey?.grant(grantee, 'kms:Decrypt');
}

/** Writes objects under one key pattern; `kms:Decrypt` too because multipart uploads read back their parts. */
export function grantObjectsWrite(bucket: s3.IBucket, keyPattern: string, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [bucket.arnForObjects(keyPattern)],
    }),
  );
  bucket.encryptionKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
}

/**
 * `s3:ListBucket` on the bucket, limited to keys under `prefix` when given. Besides listing, it is what makes S3
 * answer 404 rather than 403 for an object that does not exist (a prefix condition does not count for that).
 */
export function grantBucketList(bucket: s3.IBucket, grantee: iam.IGrantable, prefix?: string): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      ...(prefix !== undefined ? { conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
    }),
  );
}

/** Deletes objects under one key pattern (`DeleteObjects` is authorised per key with `s3:DeleteObject`). */
export function grantObjectsDelete(bucket: s3.IBucket, keyPattern: string, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [bucket.arnForObjects(keyPattern)] }),
  );
}
