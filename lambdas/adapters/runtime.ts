/**
 * Composition root: the adapters each handler needs, built once per cold start from the environment (variables
 * listed in ARCHITECTURE.md, read with `requireEnv`, so a missing one fails the cold start naming it). Each getter
 * builds on first use, so a handler only needs the variables of what it uses.
 */
import { requireEnv } from '../core/errors';
import { ApprovalLinkSigner, parseSecrets } from '../promotion/approval-link';
import type { AgentDependencies } from '../promotion/agents';
import type { ApprovalDependencies } from '../promotion/approvals';
import type { StepDependencies } from '../promotion/steps';
import { codebuild, codecommit, dynamodb, s3, secretsManager, sfn, sns } from './aws-clients';
import { now } from './clock';
import { CodeBuildRunner } from './codebuild-runner';
import { CodeCommitRepositoryReader } from './codecommit-reader';
import { DynamoApprovalStore } from './dynamo-approval-store';
import { DynamoBuildStore } from './dynamo-build-store';
import { DynamoDeliveryStore } from './dynamo-delivery-store';
import { DynamoEnvironmentStore } from './dynamo-environment-store';
import { DynamoEventStore } from './dynamo-event-store';
import { DynamoExecutionStore } from './dynamo-execution-store';
import { DynamoLockStore } from './dynamo-lock-store';
import { DynamoRevisionStore } from './dynamo-revision-store';
import { GitRepositoryReader } from './git-repository-reader';
import { pipelineFromEnv } from './pipeline-file';
import { S3ArtifactStore } from './s3-artifact-store';
import { SecretsManagerReader } from './secrets-manager-reader';
import { StepFunctionsOrchestrator } from './sfn-orchestrator';
import { SnsNotifier } from './sns-notifier';

function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

/** Through the clock port, so local mode can run every handler on one manual clock. */
export const clock = () => now();

export const revisionStore = once(() => new DynamoRevisionStore(dynamodb, requireEnv('LOCKSTEP_TABLE_REVISIONS')));
export const buildStore = once(() => new DynamoBuildStore(dynamodb, requireEnv('LOCKSTEP_TABLE_REVISIONS')));
export const environmentStore = once(() => new DynamoEnvironmentStore(dynamodb, requireEnv('LOCKSTEP_TABLE_ENVIRONMENTS')));
export const approvalStore = once(() => new DynamoApprovalStore(dynamodb, requireEnv('LOCKSTEP_TABLE_ENVIRONMENTS')));
export const executionStore = once(() => new DynamoExecutionStore(dynamodb, requireEnv('LOCKSTEP_TABLE_ENVIRONMENTS')));
export const lockStore = once(() => new DynamoLockStore(dynamodb, requireEnv('LOCKSTEP_TABLE_LOCKS')));
export const eventStore = once(() => new DynamoEventStore(dynamodb, requireEnv('LOCKSTEP_TABLE_EVENTS')));
export const deliveryStore = once(() => new DynamoDeliveryStore(dynamodb, requireEnv('LOCKSTEP_TABLE_IDEMPOTENCY')));
export const secretReader = once(() => new SecretsManagerReader(secretsManager));
export const notifier = once(() => new SnsNotifier(sns, requireEnv('LOCKSTEP_NOTIFICATION_TOPIC_ARN')));
export const approvalNotifier = once(() => new SnsNotifier(sns, requireEnv('LOCKSTEP_APPROVAL_TOPIC_ARN')));
export const orchestrator = once(() => new StepFunctionsOrchestrator(sfn, requireEnv('LOCKSTEP_PROMOTION_STATE_MACHINE_ARN')));
/** SendTaskSuccess/Failure need no state machine ARN: the approval API only decides tasks. */
export const taskOrchestrator = once(() => new StepFunctionsOrchestrator(sfn));

/** LOCKSTEP_APPROVAL_LINK_TTL_SECONDS is optional (local mode leaves it out); a value that is set must be a positive number. */
function linkTtl(value: string | undefined): { linkTtlSeconds?: number } {
  if (value === undefined || value === '') return {};
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RangeError(`LOCKSTEP_APPROVAL_LINK_TTL_SECONDS must be a positive number of seconds, not "${value}"`);
  }
  return { linkTtlSeconds: seconds };
}

export const approvalDependencies = once((): ApprovalDependencies => {
  const secretArn = requireEnv('LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN');
  const reader = secretReader();
  return {
    pipelineName: pipelineFromEnv().pipeline.name,
    approvals: approvalStore(),
    revisions: revisionStore(),
    environments: environmentStore(),
    events: eventStore(),
    approvalNotifier: approvalNotifier(),
    notifier: notifier(),
    orchestrator: taskOrchestrator(),
    signer: async () => new ApprovalLinkSigner(parseSecrets(await reader.get(secretArn))),
    baseUrl: requireEnv('LOCKSTEP_APPROVAL_BASE_URL'),
    clock,
    ...linkTtl(process.env.LOCKSTEP_APPROVAL_LINK_TTL_SECONDS),
  };
});

export const stepDependencies = once(
  (): StepDependencies => ({
    pipeline: pipelineFromEnv(),
    revisions: revisionStore(),
    environments: environmentStore(),
    locks: lockStore(),
    events: eventStore(),
    notifier: notifier(),
    clock,
  }),
);

/** What the agents need (webhook, CodeCommit and reconcile handlers). */
export const agentDependencies = once(
  (): AgentDependencies => ({
    pipeline: pipelineFromEnv(),
    artifactsBucket: requireEnv('LOCKSTEP_ARTIFACTS_BUCKET'),
    revisions: revisionStore(),
    environments: environmentStore(),
    locks: lockStore(),
    events: eventStore(),
    builds: buildStore(),
    executions: executionStore(),
    artifacts: new S3ArtifactStore(s3),
    runner: new CodeBuildRunner(codebuild),
    notifier: notifier(),
    orchestrator: orchestrator(),
    // By source kind: CodeCommit through its API; `local:` sources (local mode only) through git on their folder.
    repositories: { codecommit: new CodeCommitRepositoryReader(codecommit), local: new GitRepositoryReader() },
    executionControl: orchestrator(),
    clock,
  }),
);
