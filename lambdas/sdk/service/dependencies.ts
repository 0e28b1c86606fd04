import type { ExecutionOutcome, Orchestrator } from '../../ports/services';
import type { ArchiveLimits } from '../converter';
import type { CdnInvalidator, ObjectStore, SdkNotifier, SdkStore } from '../../ports/sdk';

/** Buckets and names of one SDK publishing installation (from the environment, ARCHITECTURE.md). */
export interface SdkServiceConfig {
  /** `LOCKSTEP_SDK_HOST_BUCKET`: where providers upload. */
  readonly hostBucket: string;
  /** `LOCKSTEP_SDK_STAGING_BUCKET`: converted packages, contents, tester plans and results. */
  readonly stagingBucket: string;
  /** `LOCKSTEP_PACKAGE_HOST_BUCKET`: published packages by tier, and `index.json`. */
  readonly packageHostBucket: string;
  /** `LOCKSTEP_SDK_TESTER_PROJECT`: the tester CodeBuild project, put in every execution input. */
  readonly testerProject: string;
  /**
   * `LOCKSTEP_SDK_PROVIDER_CODE_PROJECT`: the CodeBuild project that runs provider code (sample app, checks
   * scripts), whose role can do nothing; the stage step passes its name to the state machine.
   */
  readonly providerCodeProject: string;
  /**
   * `LOCKSTEP_SDK_PROVIDER_RUNNER_BUNDLE` (`s3://<bucket>/<key>`): the provider-code runner bundle, which the stage
   * step presigns for the provider-code build (its role cannot read S3).
   */
  readonly providerRunner: { readonly bucket: string; readonly key: string };
  /**
   * `LOCKSTEP_CDN_BASE_URL`: the package host's base URL (`https://<distribution domain>`). The convert step writes
   * absolute URLs under it into the podspec (`source.http`) and the SwiftPM binary targets.
   * @default none: bare file names (tests that do not look at the podspec)
   */
  readonly cdnBaseUrl?: string;
}

/** What the service logic is given; the handlers build it from the adapters, tests from theirs. */
export interface SdkServiceDependencies {
  readonly config: SdkServiceConfig;
  readonly store: SdkStore;
  readonly objects: ObjectStore;
  readonly notifier: SdkNotifier;
  /** Starts SDK publishing executions (idempotent by name). */
  readonly orchestrator: Orchestrator;
  /**
   * Tells how an SDK publishing execution stands (DescribeExecution), so the intake poll finds versions left
   * TESTING by an execution that ended outside its Catch. @default - none: such versions are not looked for
   */
  readonly executions?: { describe(name: string): Promise<ExecutionOutcome | undefined> };
  readonly clock: () => number;
  /** Hostile-archive limits of the convert step (`LOCKSTEP_SDK_ARCHIVE_LIMITS`). @default DEFAULT_ARCHIVE_LIMITS */
  readonly archiveLimits?: ArchiveLimits;
  /**
   * Invalidates withdrawn and moved packages' paths on the CDN (`LOCKSTEP_CDN_DISTRIBUTION_ID`).
   * @default - none: local mode's edge keeps no cache
   */
  readonly cdn?: CdnInvalidator;
  /** Scratch space for binary inspection. @default os.tmpdir() */
  readonly scratchDir?: string;
}
