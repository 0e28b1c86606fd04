/**
 * Log groups, made one way by both constructs: the retention and removal policy of the construct that owns them.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** What every log group of one construct shares. */
export interface LogGroupDefaults {
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The log group `id` in `scope`, with the construct's retention and removal policy.
 *
 * @param logGroupName - a fixed name, only where a service requires one (`/aws/vendedlogs/...`); it must be unique
 * per account and region, so derive it from the stack.
 */
export function buildLogGroup(
  scope: Construct,
  id: string,
  defaults: LogGroupDefaults,
  logGroupName?: string,
): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    ...(logGroupName ? { logGroupName } : {}),
    retention: defaults.logRetention,
    removalPolicy: defaults.removalPolicy,
  });
}
