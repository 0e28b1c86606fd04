/**
 * The environment handler tests run in: DynamoDB is dynalite in-process (real conditional writes, so "exactly one
 * winner" is tested, not assumed); SNS, Step Functions, CodeBuild, CodeCommit, S3 and Secrets Manager are aws-sdk-client-mock
 * mocks. `startRuntimeEnv()` returns a runtime on those tables; tests create handlers from it with their
 * `createHandler` factories. Only the Powertools switches (log level, metrics) go into `process.env`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  BranchDoesNotExistException,
  CodeCommitClient,
  GetBranchCommand,
  GetCommitCommand,
} from '@aws-sdk/client-codecommit';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import dynalite from 'dynalite';
import { createAwsClients } from '../../lambdas/adapters/aws-clients';
import { createRuntime, type Runtime } from '../../lambdas/adapters/runtime';
import { TABLES } from '../../lambdas/core/tables';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { ensureTables } from '../../local/dynamodb';

export const WEBHOOK_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook';
export const SIGNING_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:signing';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:promotion';

export const TEST_PIPELINE: PipelineInput = {
  pipeline: { name: 'shop', buildDebounce: '1s' },
  packages: [
    {
      name: 'web',
      source: { github: { owner: 'acme', repo: 'web', branch: 'main' } },
      build: { commands: ['npm ci'] },
    },
    { name: 'ops', source: { codecommit: { repository: 'ops', branch: 'main' } }, build: { commands: ['make'] } },
  ],
  applications: [
    { name: 'web', packages: ['web'] },
    { name: 'ops', packages: ['ops'] },
  ],
  stages: [
    {
      name: 'Beta',
      environments: [
        {
          name: 'Beta',
          deploy: { commands: ['./deploy.sh'] },
          approval: {
            tests: [{ name: 'smoke', commands: ['./smoke.sh'] }],
            manual: { approvers: ['ann@example.com', 'bob@example.com'], timeout: '1h' },
          },
        },
      ],
    },
    { name: 'Ops', environments: [{ name: 'Ops', deploy: { commands: ['./deploy.sh'] } }] },
  ],
  promotions: [
    { from: { application: 'web' }, to: 'Beta' },
    { from: { application: 'ops' }, to: 'Ops' },
  ],
};

export const mocks = {
  sns: mockClient(SNSClient),
  sfn: mockClient(SFNClient),
  codebuild: mockClient(CodeBuildClient),
  codecommit: mockClient(CodeCommitClient),
  s3: mockClient(S3Client),
  secrets: mockClient(SecretsManagerClient),
};

export interface RuntimeEnv {
  readonly tables: Record<string, string>;
  /** Every variable the handlers read, as Lambda would have them. */
  readonly variables: Readonly<Record<string, string | undefined>>;
  /** The adapters on these tables, with the clock given (default: `Date.now`, which fake timers move). */
  readonly runtime: Runtime;
  close(): Promise<void>;
}

/** Starts dynalite, creates the tables, writes the pipeline file and builds a runtime on them. */
export async function startRuntimeEnv(
  secrets: { webhook?: string; signing?: string } = {},
  pipeline: PipelineInput = TEST_PIPELINE,
  options: { clock?: () => number; variables?: Readonly<Record<string, string>> } = {},
): Promise<RuntimeEnv> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tables = await ensureTables(endpoint, TABLES);
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-handlers-'));
  const pipelineFile = join(dir, 'pipeline.json');
  writeFileSync(pipelineFile, JSON.stringify(pipeline));
  const variables = {
    LOCKSTEP_TABLE_REVISIONS: tables.Revisions,
    LOCKSTEP_TABLE_ENVIRONMENTS: tables.Environments,
    LOCKSTEP_TABLE_LOCKS: tables.Locks,
    LOCKSTEP_TABLE_EVENTS: tables.Events,
    LOCKSTEP_TABLE_IDEMPOTENCY: tables.Idempotency,
    LOCKSTEP_ARTIFACTS_BUCKET: 'artifacts',
    LOCKSTEP_APPROVAL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:approvals',
    LOCKSTEP_NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:notifications',
    LOCKSTEP_PROMOTION_STATE_MACHINE_ARN: STATE_MACHINE_ARN,
    LOCKSTEP_WEBHOOK_SECRET_ARN: WEBHOOK_SECRET_ARN,
    LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN: SIGNING_SECRET_ARN,
    LOCKSTEP_APPROVAL_BASE_URL: 'https://lockstep.example.com/approvals',
    LOCKSTEP_PIPELINE_FILE: pipelineFile,
    ...options.variables,
  };
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'lockstep-test',
    POWERTOOLS_METRICS_NAMESPACE: 'LockstepTest',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const clients = createAwsClients({
    endpoints: { dynamodb: endpoint },
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  // CodeCommit: each commit is a root commit by dev@example.com, and no branch exists (so reconcile recovers
  // nothing); tests about the push's commits configure their own history.
  mocks.codecommit.on(GetCommitCommand).callsFake((input: { commitId: string }) => ({
    commit: {
      commitId: input.commitId,
      parents: [],
      message: `commit ${input.commitId}`,
      author: { name: 'Dev', email: 'dev@example.com', date: '1893456000 +0000' },
    },
  }));
  mocks.codecommit
    .on(GetBranchCommand)
    .rejects(new BranchDoesNotExistException({ message: 'no such branch', $metadata: {} }));
  mocks.secrets
    .on(GetSecretValueCommand, { SecretId: WEBHOOK_SECRET_ARN })
    .resolves({ SecretString: secrets.webhook ?? JSON.stringify({ current: 'webhook-secret' }) });
  mocks.secrets
    .on(GetSecretValueCommand, { SecretId: SIGNING_SECRET_ARN })
    .resolves({ SecretString: secrets.signing ?? JSON.stringify({ current: 'signing-secret' }) });
  return {
    tables,
    variables,
    runtime: createRuntime({ env: variables, clients, clock: options.clock ?? (() => Date.now()) }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
