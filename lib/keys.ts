/**
 * The customer-managed key each construct creates when none is given.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** A key with yearly rotation, construct id `Key`. */
export function buildKey(scope: Construct, description: string, removalPolicy: RemovalPolicy): kms.Key {
  return new kms.Key(scope, 'Key', { description, enableKeyRotation: true, removalPolicy });
}
