/**
 * The environment the SDK handler tests run in: the SDK table on dynalite (real conditional writes), S3, Step
 * Functions, SNS and Secrets Manager as aws-sdk-client-mock mocks (the shared `mocks` of test/support), a real
 * CloudFront key pair and access policy. Call `startSdkEnv()` before importing an SDK handler.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import dynalite from 'dynalite';
import { SDK_TABLES } from '../../../lambdas/core/tables';
import { DynamoSdkStore } from '../../../lambdas/adapters/dynamo-sdk-store';
import { ensureTables } from '../../../local/dynamodb';
import { mocks } from '../../support/runtime-env';

export { mocks };

export const SDK_ENV = {
  hostBucket: 'sdk-host',
  stagingBucket: 'sdk-staging',
  packageHostBucket: 'package-host',
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:lockstep-sdk-publishing',
  topicArn: 'arn:aws:sns:us-east-1:123456789012:lockstep-sdk-notifications',
  keySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cloudfront-key',
  keyPairId: 'K2TESTKEYPAIR1',
  cdn: 'https://d111111abcdef8.cloudfront.net',
} as const;

export interface SdkEnv {
  readonly store: DynamoSdkStore;
  readonly publicKeyPem: string;
  close(): Promise<void>;
}

export async function startSdkEnv(): Promise<SdkEnv> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tables = await ensureTables(endpoint, SDK_TABLES);
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-sdk-handlers-'));
  const policyFile = join(dir, 'access-policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      groups: { employees: { ipRanges: ['10.0.0.0/8'] }, partners: {} },
      tiers: { private: ['employees'], 'early-access': ['employees', 'partners'] },
    }),
  );
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    LOCKSTEP_SDK_TABLE: tables.Sdk,
    LOCKSTEP_SDK_HOST_BUCKET: SDK_ENV.hostBucket,
    LOCKSTEP_SDK_STAGING_BUCKET: SDK_ENV.stagingBucket,
    LOCKSTEP_PACKAGE_HOST_BUCKET: SDK_ENV.packageHostBucket,
    LOCKSTEP_SDK_STATE_MACHINE_ARN: SDK_ENV.stateMachineArn,
    LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN: SDK_ENV.topicArn,
    LOCKSTEP_SDK_TESTER_PROJECT: 'lockstep-sdk-tester',
    LOCKSTEP_SDK_PROVIDER_CODE_PROJECT: 'lockstep-sdk-provider-code',
    LOCKSTEP_SDK_PROVIDER_RUNNER_BUNDLE: 's3://staging/tester/provider-runner.mjs',
    LOCKSTEP_CDN_BASE_URL: SDK_ENV.cdn,
    LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID: SDK_ENV.keyPairId,
    LOCKSTEP_CLOUDFRONT_PRIVATE_KEY_SECRET_ARN: SDK_ENV.keySecretArn,
    LOCKSTEP_SDK_ACCESS_POLICY_FILE: policyFile,
    POWERTOOLS_SERVICE_NAME: 'lockstep-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  mocks.secrets.on(GetSecretValueCommand, { SecretId: SDK_ENV.keySecretArn }).resolves({ SecretString: privateKeyPem });
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
  return {
    store: new DynamoSdkStore(client, tables.Sdk!),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An API Gateway v2 event as the HTTP API sends it. */
export function httpEvent(
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    query?: Record<string, string>;
    sourceIp?: string;
    pathParameters?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: {
      ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
      'content-type': 'application/json',
    },
    ...(options.query !== undefined ? { queryStringParameters: options.query } : {}),
    ...(options.pathParameters !== undefined ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: options.sourceIp ?? '10.1.2.3', userAgent: 'test' },
      requestId: 'r1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    isBase64Encoded: false,
  };
}

export const lambdaContext = {
  awsRequestId: 'test-request',
  functionName: 'test',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;
