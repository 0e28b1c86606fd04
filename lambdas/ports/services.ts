/**
 * Ports for the AWS services Lockstep drives. One AWS SDK v3 adapter each in `lambdas/adapters/`; local mode points
 * the same adapters at its emulators through the SDK's standard endpoint variables.
 */
import type { NotificationEvent } from '../core/config/schema';
import { LockstepError } from '../core/errors';

export interface BuildRequest {
  readonly projectName: string;
  /** `s3://bucket/key` of a zip to build from; omitted: the project's own source. */
  readonly sourceLocation?: string;
  /** Per-package source versions (`packageName -> commit`), as secondary sources of the build project. */
  readonly sourceVersions?: Readonly<Record<string, string>>;
  readonly environment: Readonly<Record<string, string>>;
  /** Where the artifact goes: `s3://bucket/prefix/name`. */
  readonly artifactLocation?: string;
  /** Makes a retried StartBuild for the same request start one build only (CodeBuild `idempotencyToken`). */
  readonly idempotencyToken?: string;
}

export type BuildStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'STOPPED' | 'TIMED_OUT';

export interface BuildInfo {
  readonly id: string;
  readonly status: BuildStatus;
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** S3 location of the primary artifact as CodeBuild reports it. */
  readonly artifactLocation?: string;
  /** The phase that failed and its message, for notifications. */
  readonly failure?: string;
  readonly logUrl?: string;
}

export interface BuildRunner {
  start(request: BuildRequest): Promise<{ buildId: string }>;
  /** Unknown ids are left out of the result. */
  get(buildIds: readonly string[]): Promise<BuildInfo[]>;
}

export interface Notification {
  readonly event: NotificationEvent;
  readonly subject: string;
  readonly text: string;
  /** Copied into SNS message attributes so subscriptions can filter (`event`, `pipeline`, `environment`, ...). */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface Notifier {
  publish(notification: Notification): Promise<void>;
}

export interface StartExecutionResult {
  readonly executionArn?: string;
  /** False when an execution with that name existed already (nothing new started). */
  readonly started: boolean;
}

/** How an execution stands, as Step Functions' DescribeExecution reports it. */
export interface ExecutionOutcome {
  readonly status: ExecutionStatus;
  readonly error?: string;
  readonly cause?: string;
  readonly stoppedAt?: number;
  /** The execution's input (JSON), as it was started. */
  readonly input?: unknown;
}

export interface Orchestrator {
  /** Idempotent by name: an existing execution of that name is not an error. */
  start(name: string, input: unknown): Promise<StartExecutionResult>;
  succeed(taskToken: string, output: unknown): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/** The promotion orchestrator also tells how an execution ended (the reconcile pass recovers stranded locks). */
export interface PromotionOrchestrator extends Orchestrator {
  /** How the execution of that name stands; undefined when no execution has that name. */
  describe(name: string): Promise<ExecutionOutcome | undefined>;
}

/** How a Step Functions execution stands (DescribeExecution's status). */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface ExecutionStatusReader {
  /** The execution's status; undefined when Step Functions does not know the execution (expired, or never ran). */
  status(executionArn: string): Promise<ExecutionStatus | undefined>;
}

/** One commit as a source repository reports it. */
export interface SourceCommit {
  readonly id: string;
  readonly message: string;
  /** The commit author's email, else name. */
  readonly author: string;
  /** Author date, epoch ms. */
  readonly timestamp: number;
  readonly parents: readonly string[];
}

/**
 * Reads a source repository's branches and commits. One adapter per source kind: CodeCommit through its API
 * (`GetBranch`, `GetCommit`), GitHub through its REST API (`source.github.tokenSecret`), and the `local:` source
 * kind through git on the local repository.
 */
export interface RepositoryReader {
  /** The branch's head commit id; undefined when the branch does not exist. */
  branchHead(repository: string, branch: string): Promise<string | undefined>;
  /**
   * One commit. Throws `CommitNotFoundError` when the repository answers that it has no such commit (or no such
   * repository); any other failure (no access, throttled, unreachable) as it is.
   */
  commit(repository: string, commitId: string): Promise<SourceCommit>;
}

/**
 * The repository has no such commit: the push that named it was force-overwritten, or the repository was replaced
 * or deleted. A build of it cannot succeed, so it is failed with this message instead of the source tool's own.
 */
export class CommitNotFoundError extends LockstepError {
  constructor(
    readonly repository: string,
    readonly commitId: string,
    options: { cause?: unknown } = {},
  ) {
    super(`commit ${commitId} is not in ${repository}: was the push force-overwritten or the repository replaced?`, {
      ...options,
      details: { repository, commitId },
    });
  }
}

/** A running promotion execution, with the input it was started with. */
export interface RunningExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly input: unknown;
}

export interface ExecutionController {
  /** Every running execution of the promotion state machine. */
  running(): Promise<RunningExecution[]>;
  /** Stops an execution, recording `error` and `cause` as its failure (a stopped one is left as it is). */
  stop(executionArn: string, error: string, cause: string): Promise<void>;
}

export interface SecretReader {
  /** The secret's string value, cached for a short time per cold start; `fresh` reads it again past the cache. */
  get(secretId: string, options?: { readonly fresh?: boolean }): Promise<string>;
}

/** CloudWatch's three alarm states. */
export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** Where an environment's alarms live: its own account and region, read through its role when cross-account. */
export interface AlarmScope {
  /** Region of the environment's alarms; omitted: the pipeline's own region. */
  readonly region?: string;
  /** Role assumed to read alarms in another account; omitted: the function's own credentials. */
  readonly roleArn?: string;
}

export interface AlarmState {
  /** The alarm's name (an ARN in the configuration is resolved to the name it ends with). */
  readonly name: string;
  readonly state: AlarmStateValue;
  /** CloudWatch's `StateReason`, shown in the timeline and notifications. */
  readonly reason: string;
  /** When the alarm last changed state (ISO 8601). */
  readonly updatedAt: string;
}

/** One transition of an alarm into ALARM, from its history. */
export interface AlarmFiring {
  readonly name: string;
  /** When it went into ALARM (ISO 8601). */
  readonly at: string;
  readonly reason: string;
}

/**
 * CloudWatch alarms as the alarm-watched bake reads them (DescribeAlarms, DescribeAlarmHistory). Polling reads the
 * history as well as the current state so an alarm that went into ALARM and back between two polls still counts.
 */
export interface AlarmReader {
  /** The current state of each named alarm. Names that are not alarms are left out of the result. */
  states(scope: AlarmScope, names: readonly string[]): Promise<AlarmState[]>;
  /** Every transition of the named alarms into ALARM at or after `since` (ISO 8601), oldest first. */
  firingsSince(scope: AlarmScope, names: readonly string[], since: string): Promise<AlarmFiring[]>;
}
