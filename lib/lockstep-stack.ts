/**
 * The stack `cdk deploy` creates: Lockstep's deployment system for one pipeline and, when `sdkPublisher` is given,
 * the SDK publisher beside it. Constructs that extend the system read what they need from `stack.deploymentSystem`.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { TableDefinition } from '../lambdas/core/tables';
import {
  checkProps as checkDeploymentSystemProps,
  DeploymentSystem,
  DeploymentSystemPropsError,
  type DeploymentSystemProps,
} from './deployment-system';
import { dependOnAllOf } from './deletion-notice';
import { SdkPublisher, type SdkPublisherProps } from './sdk-publisher';

/**
 * `SdkPublisherProps` as the stack takes them: the signing key secret may be named by name or ARN (the stack
 * imports it), and the routes join the deployment system's HTTP API unless `httpApi` says otherwise.
 */
export interface LockstepSdkPublisherProps extends Omit<SdkPublisherProps, 'signingKeySecret' | 'certificate'> {
  /** The secret holding the CloudFront private key PEM: a secret, or the name or full ARN of an existing one. */
  readonly signingKeySecret: secretsmanager.ISecret | string;
  /**
   * The custom domain's certificate: a certificate, or the ARN of one in us-east-1 (the stack imports it).
   * @default - CloudFront's default certificate (see `SdkPublisherProps.certificate`)
   */
  readonly certificate?: acm.ICertificate | string;
}

/**
 * Data stores a new deploy adopts by name instead of creating empty ones, after `cdk destroy` kept them (the
 * default removal policy retains tables, buckets, the key, secrets and log groups).
 */
export interface AdoptedResources {
  /** ARN of the kept KMS key; required with `tables`, which it encrypts. */
  readonly encryptionKeyArn?: string;
  /** Kept table names by logical name (`Revisions`, `Environments`, `Locks`, `Events`, `Idempotency`). */
  readonly tables?: Partial<Record<TableDefinition['logicalName'], string>>;
  /** Name of the kept artifacts bucket. */
  readonly artifactsBucketName?: string;
}

export interface LockstepStackProps extends StackProps {
  /** Props of the deployment system; `pipeline` is the only one required. */
  readonly deploymentSystem: DeploymentSystemProps;
  /**
   * Kept data stores to adopt by name (see `AdoptedResources`).
   * @default - create new ones
   */
  readonly adopt?: AdoptedResources;
  /**
   * Props of the SDK publisher.
   * @default - no SDK publisher in this stack
   */
  readonly sdkPublisher?: LockstepSdkPublisherProps;
}

export class LockstepStack extends Stack {
  readonly deploymentSystem: DeploymentSystem;
  readonly sdkPublisher?: SdkPublisher;

  constructor(scope: Construct, id: string, props: LockstepStackProps) {
    // Before super: the pipeline name becomes the stack name, and a name CloudFormation refuses should get
    // Lockstep's own message (pipeline.name), not the CDK's ValidationError on the stack.
    const name = checkDeploymentSystemProps(props.deploymentSystem).pipeline.name;
    super(scope, id, {
      description: `Lockstep continuous deployment for pipeline ${name}${props.sdkPublisher ? ', with SDK publishing' : ''}`,
      ...props,
    });
    this.deploymentSystem = new DeploymentSystem(this, 'DeploymentSystem', {
      ...props.deploymentSystem,
      ...adopted(this, props.adopt),
    });
    if (props.sdkPublisher) {
      const { signingKeySecret, certificate, ...rest } = props.sdkPublisher;
      this.sdkPublisher = new SdkPublisher(this, 'SdkPublisher', {
        httpApi: this.deploymentSystem.httpApi,
        httpApiStage: this.deploymentSystem.httpStage,
        ...rest,
        signingKeySecret:
          typeof signingKeySecret === 'string' ? importSecret(this, signingKeySecret) : signingKeySecret,
        ...(certificate === undefined
          ? {}
          : {
              certificate:
                typeof certificate === 'string'
                  ? acm.Certificate.fromCertificateArn(this, 'SdkCertificate', certificate)
                  : certificate,
            }),
      });
      this.deploymentSystem.showSdksOf(this.sdkPublisher.table);
      // The deletion notice is created last, so a create that rolls back never sends it.
      dependOnAllOf(this.deploymentSystem.deletionNotice, this.sdkPublisher);
    }
  }
}

/** The deployment system props that import what `adopt` names. */
function adopted(scope: Construct, adopt: AdoptedResources | undefined): Partial<DeploymentSystemProps> {
  if (!adopt) return {};
  const tables = Object.entries(adopt.tables ?? {});
  if (tables.length > 0 && !adopt.encryptionKeyArn) {
    throw new DeploymentSystemPropsError([
      'adopt.tables: give adopt.encryptionKeyArn too, the kept key that encrypts those tables',
    ]);
  }
  const encryptionKey = adopt.encryptionKeyArn
    ? kms.Key.fromKeyArn(scope, 'AdoptedKey', adopt.encryptionKeyArn)
    : undefined;
  return {
    ...(encryptionKey ? { encryptionKey } : {}),
    ...(tables.length > 0
      ? {
          existingTables: Object.fromEntries(
            tables.map(([logicalName, tableName]) => [
              logicalName,
              dynamodb.Table.fromTableAttributes(scope, `Adopted${logicalName}Table`, { tableName, encryptionKey }),
            ]),
          ),
        }
      : {}),
    ...(adopt.artifactsBucketName
      ? {
          artifactsBucket: s3.Bucket.fromBucketAttributes(scope, 'AdoptedArtifactsBucket', {
            bucketName: adopt.artifactsBucketName,
            ...(encryptionKey ? { encryptionKey } : {}),
          }),
        }
      : {}),
  };
}

function importSecret(scope: Construct, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'SdkSigningKeySecret', nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, 'SdkSigningKeySecret', nameOrArn);
}
