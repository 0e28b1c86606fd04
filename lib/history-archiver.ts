/**
 * The history archiver of `retention:` (`lambdas/handlers/history-archiver.ts`): one function on a daily schedule
 * that may read and expire the timeline and revision items, read the environments (what must be kept), and write
 * only under `history/` in the artifacts bucket (with `s3:PutObjectRetention` when archives are locked). Built only
 * when the pipeline sets `retention:`; without it nothing is ever archived or expired.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import type { Pipeline } from '../lambdas/core/config/schema';
import { HISTORY_PREFIX } from '../lambdas/promotion/history-archiver';
import { grantBucketList, grantObjectsRead, grantObjectsWrite, grantTableData } from './grants';
import { lockstepFunction } from './lockstep-function';
import { acknowledge, resourceFinding } from './nag';

export interface HistoryArchiverOptions {
  readonly pipeline: Pipeline;
  readonly environment: Record<string, string>;
  readonly tables: {
    readonly Events: dynamodb.ITable;
    readonly Revisions: dynamodb.ITable;
    readonly Environments: dynamodb.ITable;
  };
  readonly artifactsBucket: s3.IBucket;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The archiver function and its schedule, or undefined when the pipeline keeps everything (no `retention:`). */
export function buildHistoryArchiver(
  scope: Construct,
  options: HistoryArchiverOptions,
): nodejs.NodejsFunction | undefined {
  const retention = options.pipeline.retention;
  if (!retention) return undefined;
  const fn = lockstepFunction(scope, 'HistoryArchiver', {
    entry: fileURLToPath(new URL('../lambdas/handlers/history-archiver.ts', import.meta.url)),
    description: `Archives history older than ${retention.archiveAfterDays} days to the artifacts bucket, then expires it`,
    timeout: Duration.minutes(15),
    memorySize: 1024,
    environment: options.environment,
    bundledJson: { 'pipeline.json': options.pipeline },
    logRetention: options.logRetention,
    removalPolicy: options.removalPolicy,
  });
  grantTableData(options.tables.Events, fn, 'read-write');
  grantTableData(options.tables.Revisions, fn, 'read-write');
  grantTableData(options.tables.Environments, fn, 'read');
  grantObjectsWrite(options.artifactsBucket, `${HISTORY_PREFIX}*`, fn);
  grantObjectsRead(options.artifactsBucket, `${HISTORY_PREFIX}*`, fn);
  grantBucketList(options.artifactsBucket, fn, HISTORY_PREFIX);
  if (retention.objectLock) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObjectRetention'],
        resources: [options.artifactsBucket.arnForObjects(`${HISTORY_PREFIX}*`)],
      }),
    );
  }
  acknowledge(fn.role!, {
    id: `AwsSolutions-IAM5[${resourceFinding(scope, options.artifactsBucket.arnForObjects(`${HISTORY_PREFIX}*`))}]`,
    reason:
      'Archive object names are made from the date and first entry of each page, unknown until the pass runs; the prefix keeps the function inside history/',
  });
  new events.Rule(scope, 'HistoryArchiveSchedule', {
    description: `Lockstep ${options.pipeline.pipeline.name}: archive and expire old history`,
    schedule: events.Schedule.rate(Duration.days(1)),
    // A pass is idempotent (archive first, expire second), so a retried one only finishes what the first began.
    targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
  });
  return fn;
}
