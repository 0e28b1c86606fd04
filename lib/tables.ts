/**
 * One way to make a Lockstep DynamoDB table from its definition in `lambdas/core/tables.ts` (shared by
 * `DeploymentSystem` and `SdkPublisher`): on demand, point-in-time recovery, customer-managed encryption, deletion
 * protection and retention unless the removal policy is `DESTROY`.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { TableDefinition } from '../lambdas/core/tables';

export interface LockstepTableOptions {
  readonly encryptionKey: kms.IKey;
  /** With `DESTROY`, deletion protection is off too, so a stack deletion can complete. */
  readonly removalPolicy: RemovalPolicy;
}

/** Creates the table `definition.logicalName` in `scope` (the logical name is its construct id). */
export function createLockstepTable(
  scope: Construct,
  definition: Omit<TableDefinition, 'logicalName'> & { readonly logicalName: string },
  options: LockstepTableOptions,
): dynamodb.Table {
  return new dynamodb.Table(scope, definition.logicalName, {
    partitionKey: { name: definition.partitionKey, type: dynamodb.AttributeType.STRING },
    ...(definition.sortKey ? { sortKey: { name: definition.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
    ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: options.removalPolicy !== RemovalPolicy.DESTROY,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: options.encryptionKey,
    removalPolicy: options.removalPolicy,
  });
}
