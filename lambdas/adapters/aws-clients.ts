/**
 * The AWS SDK v3 clients. Lambda builds one set per cold start (`defaultAwsClients`), on first use, with endpoints
 * from the SDK's standard variables (`AWS_ENDPOINT_URL_DYNAMODB`, ...). Local mode and tests build their own set
 * with `createAwsClients`, so importing a handler module reads no environment and two sets can live in one process.
 */
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

export interface AwsClients {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly codebuild: CodeBuildClient;
  readonly codecommit: CodeCommitClient;
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
  readonly secretsManager: SecretsManagerClient;
}

export interface AwsClientOptions {
  /** One endpoint per service. @default the SDK's own resolution (`AWS_ENDPOINT_URL_<SERVICE>`, then AWS) */
  readonly endpoints?: Partial<Record<keyof AwsClients, string>>;
  /** @default the SDK's own resolution (`AWS_REGION`) */
  readonly region?: string;
  /** @default the SDK's default credential chain */
  readonly credentials?: AwsCredentialIdentity;
  /** Path-style S3 URLs (s3rver serves no virtual hosts). @default false */
  readonly s3ForcePathStyle?: boolean;
  /**
   * S3 checksums only where an operation requires them. s3rver stores the aws-chunked framing of a streaming
   * PutObject that carries the SDK's default checksums, so local mode turns them off; on AWS the SDK's default
   * integrity checks stay on. @default false
   */
  readonly s3ChecksumsWhenRequired?: boolean;
}

export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const common = (service: keyof AwsClients) => ({
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.endpoints?.[service] !== undefined ? { endpoint: options.endpoints[service] } : {}),
  });
  return {
    dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient(common('dynamodb')), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    s3: new S3Client({
      ...common('s3'),
      forcePathStyle: options.s3ForcePathStyle ?? false,
      ...(options.s3ChecksumsWhenRequired
        ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
        : {}),
    }),
    codebuild: new CodeBuildClient(common('codebuild')),
    codecommit: new CodeCommitClient(common('codecommit')),
    sfn: new SFNClient(common('sfn')),
    sns: new SNSClient(common('sns')),
    secretsManager: new SecretsManagerClient(common('secretsManager')),
  };
}

let defaults: AwsClients | undefined;

/**
 * The clients of this Lambda cold start, built on first use. `LOCKSTEP_S3_FORCE_PATH_STYLE=true` asks for
 * path-style S3 (the tester CLI runs inside local mode's CodeBuild against s3rver; local mode also sets the SDK's
 * standard `AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED` there, which the SDK reads by itself).
 */
export function defaultAwsClients(env: NodeJS.ProcessEnv = process.env): AwsClients {
  defaults ??= createAwsClients({ s3ForcePathStyle: env.LOCKSTEP_S3_FORCE_PATH_STYLE === 'true' });
  return defaults;
}
