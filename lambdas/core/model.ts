/**
 * Runtime state of a pipeline: what the stores hold and what the decision core reads. Plain data, no behaviour,
 * so the same shapes travel through DynamoDB, Step Functions payloads, the CLI and tests.
 *
 * Times are epoch milliseconds (numbers) everywhere in state; ISO strings only at the edges (UI, ASL Wait).
 */

/** package name -> version (a commit id) that a revision was built from. */
export type VersionSet = Record<string, string>;

export interface Commit {
  readonly id: string;
  readonly message: string;
  readonly author: string;
  readonly timestamp: number;
  /**
   * Who pushed it, named as approvers are (an email where the source allows: see `identities` in the pipeline
   * schema). Absent on commits recorded before pushers were, and on commits no push delivery reported (found by the
   * reconcile pass): then only the author counts for self-approval.
   */
  readonly pushedBy?: string;
}

/** An immutable, numbered build of an application. Numbers start at 1 per application. */
export interface Revision {
  readonly application: string;
  readonly number: number;
  readonly versionSet: VersionSet;
  readonly commits: readonly Commit[];
  readonly authors: readonly string[];
  /** S3 URI (or local-mode equivalent) of the built artifact. */
  readonly artifact: string;
  readonly buildId: string;
  readonly createdAt: number;
  /** Flagged revisions go first under the `priority` strategy. */
  readonly priority: boolean;
  /** environment -> tests passed / failed in that environment's approval workflow. */
  readonly testResults: Record<string, { readonly passed: number; readonly failed: number }>;
}

/** A revision of one application as deployed at an environment. */
export interface DeployedRevision {
  readonly application: string;
  readonly number: number;
  readonly versionSet: VersionSet;
  readonly deployedAt: number;
}

/** One application's slot in an environment. */
export interface ApplicationAtEnvironment {
  readonly current?: DeployedRevision;
  readonly previous?: DeployedRevision;
  /** Revision numbers whose approval workflow passed at this environment. */
  readonly approved: readonly number[];
  /**
   * A `current` revision that was never approved here, which an operator allowed automated deploys over
   * (`lockstep unlock <environment> --allow-deploy`). Without it, an environment whose current revision is
   * unapproved and that has no approved revision to roll back to takes no automated deploy.
   */
  readonly cleared?: number;
  /** Revision numbers whose approval workflow failed here and were rolled back (waves stop on them). @default none */
  readonly failed?: readonly number[];
  /** The latest approval here: which revision and when (a wave's `bakeAfter` counts from it). @default none */
  readonly lastApproval?: { readonly revision: number; readonly at: number };
}

export interface LockState {
  readonly environment: string;
  /** Who holds it: a promotion execution name, or `manual:<user>`. */
  readonly owner: string;
  readonly acquiredAt: number;
  readonly leaseExpiresAt: number;
  /** Grows with every grant, never reset: a holder whose lease expired carries a stale token and is refused. */
  readonly fencingToken: number;
}

export interface EnvironmentState {
  readonly name: string;
  /** application -> its slot at this environment. */
  readonly applications: Readonly<Record<string, ApplicationAtEnvironment>>;
  /** Null when free. An expired lease counts as free (stores do not delete expired items themselves). */
  readonly lock: LockState | null;
}

/** A manual go-ahead for one revision on one promotion (promotions with `approval: manual`). */
export interface PromotionApproval {
  readonly promotion: string;
  readonly application: string;
  readonly revision: number;
  readonly decision: 'approved' | 'rejected' | 'pending';
  readonly decidedBy?: string;
  readonly decidedAt?: number;
}

/**
 * An operator's request (`lockstep retry <environment>`) to promote a revision again after its execution failed:
 * the decision core then names the execution for `attempt`, so it is new to Step Functions yet still starts once.
 */
export interface RetryRequest {
  readonly promotion: string;
  readonly application: string;
  readonly revision: number;
  /** 2 for the first retry; one more than the attempt that failed. */
  readonly attempt: number;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly reason?: string;
}

/** Pipeline-wide switches as they are now (the config holds their initial values; operators flip them). */
export interface PipelineSwitches {
  readonly enabled: boolean;
  readonly automation: boolean;
}

/**
 * An operator's pin (`lockstep pin <environment> <revision>`): automation leaves the application at the environment
 * alone (no promotion, no recovery) until someone unpins it. Operators' own actions (rollback) are not automation.
 */
export interface EnvironmentPin {
  readonly environment: string;
  readonly application: string;
  /** The revision the environment runs and keeps. */
  readonly revision: number;
  readonly pinnedBy: string;
  readonly pinnedAt: number;
  readonly reason?: string;
}

/**
 * The one operator rollback allowed per (environment, application, deployment): written conditionally before the
 * rollback execution starts, so of two operators rolling back at once exactly one wins and the other is told by
 * whom. A claim stops counting once the environment runs another deployment or its execution has ended.
 */
export interface RollbackClaim {
  readonly environment: string;
  readonly application: string;
  /** The revision being rolled back from, and when it was deployed (identifies the deployment). */
  readonly from: number;
  readonly fromDeployedAt: number;
  readonly to: number;
  readonly executionName: string;
  readonly requestedBy: string;
  readonly requestedAt: number;
}
