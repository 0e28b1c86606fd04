/**
 * Composition root: the adapters the promotion handlers need, built from a runtime context (the variables listed
 * in ARCHITECTURE.md, a set of AWS clients and a clock). Lambda uses `defaultRuntime()`, built once per cold start
 * from `process.env`; local mode and tests call `createRuntime` with their own context, so one process can hold
 * several runtimes that never share a table or a client. Variables are read with `requireEnv` when a getter first
 * needs them, so a handler needs only the variables of what it uses, and a missing one names itself.
 */
import { requireEnv } from '../core/errors';
import { ApprovalLinkSigner, parseSecrets } from '../promotion/approval-link';
import type { AgentDependencies } from '../promotion/agents';
import { githubTokenSecret } from '../promotion/source-commits';
import type { ApprovalDependencies } from '../promotion/approvals';
import type { AuditExportDependencies } from '../promotion/audit-export';
import type { ArchiverDependencies } from '../promotion/history-archiver';
import type { OperatorDependencies } from '../promotion/operator-actions';
import type { RetryDependencies } from '../promotion/retry';
import type { StepDependencies } from '../promotion/steps';
import type { AlarmReader } from '../ports/services';
import { defaultAwsClients, type AwsClients } from './aws-clients';
import { CloudWatchAlarmReader } from './cloudwatch-alarm-reader';
import { CodeBuildRunner } from './codebuild-runner';
import { CodeCommitRepositoryReader } from './codecommit-reader';
import { DynamoApprovalStore } from './dynamo-approval-store';
import { DynamoBuildStore } from './dynamo-build-store';
import { DynamoDeliveryStore } from './dynamo-delivery-store';
import { DynamoEnvironmentStore } from './dynamo-environment-store';
import { DynamoEventStore } from './dynamo-event-store';
import { DynamoExecutionStore } from './dynamo-execution-store';
import { DynamoHistoryStore } from './dynamo-history-store';
import { DynamoLockStore } from './dynamo-lock-store';
import { DynamoOperatorStore } from './dynamo-operator-store';
import { DynamoRevisionStore } from './dynamo-revision-store';
import { GitRepositoryReader } from './git-repository-reader';
import { GitHubRepositoryReader } from './github-repository-reader';
import { traceAwsClients } from './observability';
import { pipelineFromEnv } from './pipeline-file';
import { S3ArtifactStore } from './s3-artifact-store';
import { S3HistoryArchive } from './s3-history-archive';
import { SecretsManagerReader } from './secrets-manager-reader';
import { StepFunctionsOrchestrator } from './sfn-orchestrator';
import { SnsNotifier } from './sns-notifier';

/** What a runtime is built from. */
export interface RuntimeContext {
  /** `LOCKSTEP_*` variables (ARCHITECTURE.md). On Lambda, `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clients: AwsClients;
  /** Epoch milliseconds as every handler of this runtime sees them (local mode: its manual or system clock). */
  readonly clock: () => number;
  /**
   * CloudWatch alarms for the alarm-watched bake, read in each environment's region and through its role. Local
   * mode passes the same adapter with clients bound to its CloudWatch stand-in.
   * @default a `CloudWatchAlarmReader` with the SDK's own region, endpoint and credentials, assuming roles through STS
   */
  readonly alarmReader?: AlarmReader;
}

/** Builds `build` on first call and returns the same value after. */
export function once<T>(build: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: build() }).v;
}

/** LOCKSTEP_APPROVAL_LINK_TTL_SECONDS is optional (local mode leaves it out); a value that is set must be a positive number. */
function linkTtl(value: string | undefined): { linkTtlSeconds?: number } {
  if (value === undefined || value === '') return {};
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RangeError(`LOCKSTEP_APPROVAL_LINK_TTL_SECONDS must be a positive number of seconds, not "${value}"`);
  }
  return { linkTtlSeconds: seconds };
}

export function createRuntime({ env, clients, clock, alarmReader }: RuntimeContext) {
  const need = (name: string) => requireEnv(name, env);
  const { dynamodb } = clients;
  const revisionStore = once(() => new DynamoRevisionStore(dynamodb, need('LOCKSTEP_TABLE_REVISIONS')));
  const buildStore = once(() => new DynamoBuildStore(dynamodb, need('LOCKSTEP_TABLE_REVISIONS')));
  const environmentStore = once(() => new DynamoEnvironmentStore(dynamodb, need('LOCKSTEP_TABLE_ENVIRONMENTS')));
  const approvalStore = once(() => new DynamoApprovalStore(dynamodb, need('LOCKSTEP_TABLE_ENVIRONMENTS')));
  const executionStore = once(() => new DynamoExecutionStore(dynamodb, need('LOCKSTEP_TABLE_ENVIRONMENTS')));
  const lockStore = once(() => new DynamoLockStore(dynamodb, need('LOCKSTEP_TABLE_LOCKS')));
  const operatorStore = once(() => new DynamoOperatorStore(dynamodb, need('LOCKSTEP_TABLE_ENVIRONMENTS')));
  const eventStore = once(() => new DynamoEventStore(dynamodb, need('LOCKSTEP_TABLE_EVENTS')));
  const deliveryStore = once(() => new DynamoDeliveryStore(dynamodb, need('LOCKSTEP_TABLE_IDEMPOTENCY')));
  const secretReader = once(() => new SecretsManagerReader(clients.secretsManager));
  const notifier = once(() => new SnsNotifier(clients.sns, need('LOCKSTEP_NOTIFICATION_TOPIC_ARN')));
  const approvalNotifier = once(() => new SnsNotifier(clients.sns, need('LOCKSTEP_APPROVAL_TOPIC_ARN')));
  const orchestrator = once(
    () => new StepFunctionsOrchestrator(clients.sfn, need('LOCKSTEP_PROMOTION_STATE_MACHINE_ARN')),
  );
  /** SendTaskSuccess/Failure need no state machine ARN: the approval API only decides tasks. */
  const taskOrchestrator = once(() => new StepFunctionsOrchestrator(clients.sfn));
  const pipeline = () => pipelineFromEnv(env);
  const alarms = once((): AlarmReader => alarmReader ?? new CloudWatchAlarmReader());
  /**
   * By source kind: CodeCommit through its API; GitHub through its REST API with each package's `tokenSecret`
   * (LOCKSTEP_GITHUB_API_URL for GitHub Enterprise Server); `local:` sources (local mode only) through git.
   */
  const repositoryReaders = once(() => ({
    codecommit: new CodeCommitRepositoryReader(clients.codecommit),
    github: new GitHubRepositoryReader({
      token: async (repository) => {
        const secret = githubTokenSecret(pipeline(), repository);
        if (!secret) throw new RangeError(`No package from GitHub repository ${repository} names a tokenSecret`);
        return secretReader().get(secret);
      },
      ...(env.LOCKSTEP_GITHUB_API_URL ? { baseUrl: env.LOCKSTEP_GITHUB_API_URL } : {}),
    }),
    local: new GitRepositoryReader(),
  }));

  const approvalDependencies = once((): ApprovalDependencies => {
    const secretArn = need('LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN');
    const reader = secretReader();
    return {
      pipelineName: pipeline().pipeline.name,
      approvals: approvalStore(),
      revisions: revisionStore(),
      environments: environmentStore(),
      events: eventStore(),
      approvalNotifier: approvalNotifier(),
      notifier: notifier(),
      orchestrator: taskOrchestrator(),
      signer: async () => new ApprovalLinkSigner(parseSecrets(await reader.get(secretArn))),
      baseUrl: need('LOCKSTEP_APPROVAL_BASE_URL'),
      clock,
      ...linkTtl(env.LOCKSTEP_APPROVAL_LINK_TTL_SECONDS),
    };
  });

  const stepDependencies = once((): StepDependencies => ({
    pipeline: pipeline(),
    revisions: revisionStore(),
    environments: environmentStore(),
    locks: lockStore(),
    events: eventStore(),
    notifier: notifier(),
    operators: operatorStore(),
    alarms: alarms(),
    artifacts: new S3ArtifactStore(clients.s3),
    clock,
  }));

  /** What the agents need (webhook, CodeCommit and reconcile handlers). */
  const agentDependencies = once((): AgentDependencies => ({
    pipeline: pipeline(),
    artifactsBucket: need('LOCKSTEP_ARTIFACTS_BUCKET'),
    revisions: revisionStore(),
    environments: environmentStore(),
    locks: lockStore(),
    events: eventStore(),
    builds: buildStore(),
    executions: executionStore(),
    artifacts: new S3ArtifactStore(clients.s3),
    runner: new CodeBuildRunner(clients.codebuild),
    notifier: notifier(),
    orchestrator: orchestrator(),
    repositories: repositoryReaders(),
    executionControl: orchestrator(),
    operators: operatorStore(),
    clock,
  }));

  /**
   * The agents with the approval settings when the pipeline has approval work (go-ahead requests of manual
   * promotions, decisions on manual approval steps that the approval API stored but could not deliver).
   */
  const reconcileDependencies = once((): AgentDependencies => {
    const base = agentDependencies();
    const needsApprovals =
      base.pipeline.promotions.some((p) => p.approval === 'manual') ||
      base.pipeline.stages.some((stage) =>
        stage.environments.some((environment) => environment.approval.manual !== undefined),
      );
    return needsApprovals ? { ...base, approvals: approvalDependencies() } : base;
  });

  /** `lockstep retry`: the executions and their status in Step Functions. */
  const retryDependencies = once((): RetryDependencies => ({
    pipeline: pipeline(),
    executions: executionStore(),
    events: eventStore(),
    statuses: orchestrator(),
    clock,
  }));

  /** Operators' rollback, pin and unpin (`lambdas/promotion/operator-actions.ts`), for the CLI and the console. */
  const operatorDependencies = once((): OperatorDependencies => ({
    pipeline: pipeline(),
    revisions: revisionStore(),
    environments: environmentStore(),
    operators: operatorStore(),
    locks: lockStore(),
    events: eventStore(),
    notifier: notifier(),
    orchestrator: orchestrator(),
    executionControl: orchestrator(),
    clock,
  }));

  /** The GitHub webhook: the agents, the delivery ids seen, and its signing secret. */
  const webhookDependencies = once(() => ({
    agents: agentDependencies(),
    deliveries: deliveryStore(),
    secrets: secretReader(),
    webhookSecretId: need('LOCKSTEP_WEBHOOK_SECRET_ARN'),
  }));

  const historyStore = once(
    () =>
      new DynamoHistoryStore(dynamodb, {
        events: need('LOCKSTEP_TABLE_EVENTS'),
        revisions: need('LOCKSTEP_TABLE_REVISIONS'),
      }),
  );
  const historyArchive = once(() => new S3HistoryArchive(clients.s3, need('LOCKSTEP_ARTIFACTS_BUCKET')));

  /** The history archiver (`retention:`): old entries in the tables, the archive, and what environments still run. */
  const archiverDependencies = once((): ArchiverDependencies => ({
    pipeline: pipeline(),
    history: historyStore(),
    archive: historyArchive(),
    environments: environmentStore(),
    clock,
  }));

  /** `lockstep audit export`: the table and the archive. */
  const auditDependencies = once((): AuditExportDependencies => ({
    history: historyStore(),
    archive: historyArchive(),
    clock,
  }));

  return {
    clock,
    clients,
    revisionStore,
    buildStore,
    environmentStore,
    approvalStore,
    executionStore,
    lockStore,
    operatorStore,
    eventStore,
    deliveryStore,
    secretReader,
    notifier,
    approvalNotifier,
    orchestrator,
    taskOrchestrator,
    repositoryReaders,
    alarmReader: alarms,
    approvalDependencies,
    stepDependencies,
    agentDependencies,
    reconcileDependencies,
    retryDependencies,
    operatorDependencies,
    webhookDependencies,
    archiverDependencies,
    auditDependencies,
  };
}

export type Runtime = ReturnType<typeof createRuntime>;

/** The runtime of this Lambda cold start: `process.env`, the default clients (traced), the wall clock. */
export const defaultRuntime = once(() =>
  createRuntime({ env: process.env, clients: traceAwsClients(defaultAwsClients()), clock: () => Date.now() }),
);

// The default runtime's getters, for the operator CLI (`bin/commands`), which points process.env at its target.
export const agentDependencies = () => defaultRuntime().agentDependencies();
export const approvalDependencies = () => defaultRuntime().approvalDependencies();
export const approvalStore = () => defaultRuntime().approvalStore();
export const retryDependencies = () => defaultRuntime().retryDependencies();
export const operatorDependencies = () => defaultRuntime().operatorDependencies();
export const secretReader = () => defaultRuntime().secretReader();
export const auditDependencies = () => defaultRuntime().auditDependencies();
