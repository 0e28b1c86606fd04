/**
 * The AWS SDK v3 clients, created once per cold start. Endpoints come from the SDK's standard variables
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_S3`, ...), which is how local mode points the same code at its
 * emulators; handlers never branch on "local".
 */
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});

export const s3 = new S3Client({
  // s3rver serves path-style only.
  forcePathStyle: process.env.LOCKSTEP_S3_FORCE_PATH_STYLE === 'true',
  // Default checksums make a streaming PutObject store aws-chunked framing on s3rver; real S3 does not need them.
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

export const codebuild = new CodeBuildClient({});
export const codecommit = new CodeCommitClient({});
export const sfn = new SFNClient({});
export const sns = new SNSClient({});
export const secretsManager = new SecretsManagerClient({});
