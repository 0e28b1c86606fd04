/**
 * What the SDK table holds (one item kind per interface; keys in `adapters/dynamo-sdk-store.ts`). Plain data.
 */
import type { SdkMetadata, SdkVersionRef, StagingStatus } from '../model';
import type { InvolvedSdk } from '../staging/decide';

/** Where an (SDK, version) came from in the SDK host bucket. */
export interface UploadSource {
  readonly artifactsKey: string;
  readonly metadataKey: string;
  /** Hash of both objects' ETags: a new upload of the same version gets a new intake. */
  readonly etag: string;
}

/** The converted package in the staging bucket. */
export interface StagedPackageFile {
  readonly key: string;
  /** File name on the package host, `<name>-<version>.zip`. */
  readonly fileName: string;
  readonly sha256: string;
  readonly size: number;
  /**
   * SwiftPM binary target zips (`<Bundle>.xcframework.zip`) staged next to the package as objects of their own;
   * published and listed in the index with it. @default none
   */
  readonly binaryTargets?: readonly Omit<StagedPackageFile, 'binaryTargets'>[];
}

/** One check the tester ran on one package. */
export interface TestCheck {
  /** `manifest`, `metadata`, `architectures:<file>`, `sample-app`, `checks-script`. */
  readonly name: string;
  readonly passed: boolean;
  /** `true` when the check could not run here (no C compiler, a platform this machine cannot build for). */
  readonly skipped?: boolean;
  readonly message: string;
}

export interface PackageTestResult {
  readonly name: string;
  readonly version: string;
  readonly passed: boolean;
  readonly checks: readonly TestCheck[];
}

/** What the tester writes to `tests/<plan>/results.json`. */
export interface TestResults {
  readonly planId: string;
  readonly passed: boolean;
  readonly packages: readonly PackageTestResult[];
  /** Output lines of the sample app build when it failed. */
  readonly log?: readonly string[];
  /**
   * What the trusted tester expects the provider-code build to report (issue 9 item 20): whether it builds and
   * runs the sample app, and which members ship a checks script. The judge (`record-test`) takes exactly these
   * checks from the provider-code output and nothing else. Absent in results of testers that ran provider code
   * themselves.
   */
  readonly providerCode?: ProviderCodeExpectation;
}

export interface ProviderCodeExpectation {
  readonly sampleApp: boolean;
  readonly checksScripts: readonly { readonly name: string; readonly version: string }[];
}

export interface HistoryEntry {
  readonly at: string;
  readonly status: StagingStatus;
  readonly reason: string;
}

/** One (SDK, version) from conversion on. */
export interface VersionRecord {
  readonly name: string;
  readonly version: string;
  readonly status: StagingStatus;
  /** Why it has this status, in words a provider acts on. */
  readonly reason: string;
  readonly metadata: SdkMetadata;
  readonly upload: UploadSource;
  readonly batchId?: string;
  readonly package: StagedPackageFile;
  /** Staging-bucket key of the files and symbols used for duplicate-library detection. */
  readonly contentsKey: string;
  /** The set the tester builds with (TESTING, READY). */
  readonly resolved?: readonly SdkVersionRef[];
  /**
   * The execution that put it to TESTING (its test plan's id). The intake poll describes it: one that ended without
   * recording the test (stopped, timed out, failed outside its Catch) would otherwise leave it TESTING for good.
   */
  readonly testedBy?: string;
  /** SDKs (with owners) named in a conflict. */
  readonly involved?: readonly InvolvedSdk[];
  readonly tests?: {
    readonly planId: string;
    readonly passed: boolean;
    readonly packages: readonly PackageTestResult[];
  };
  readonly publishedAt?: string;
  /**
   * The tier a PUBLISHED version is moving away from (its metadata names the new one): publication copies the
   * package to the new tier's key, then deletes and invalidates the old one, and clears this.
   */
  readonly movedFrom?: SdkMetadata['tier'];
  /** Execution that made the commit write (single SDKs): a second publisher finds it and stays quiet. */
  readonly publishedBy?: string;
  /** Optimistic concurrency: every write adds one and is conditional on the value read. */
  readonly rev: number;
  readonly updatedAt: string;
  /** The last status changes, oldest first (at most 20). */
  readonly history: readonly HistoryEntry[];
}

/** A presigned upload handed out by the upload API. */
export interface UploadRecord {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly metadataFileName: string;
  readonly batchId?: string;
  /** Credential id of the provider who asked. */
  readonly provider: string;
  readonly createdAt: string;
  /** Presigned URLs stop working then; completing later is refused. */
  readonly expiresAt: string;
  readonly completedAt?: string;
  readonly execution?: string;
  readonly rev: number;
}

export type BatchState = 'OPEN' | 'TESTING' | 'READY' | 'PUBLISHED' | 'FAILED';

/**
 * Several SDK versions released together: checked, tested and published together or not at all. The batch's
 * `state` flip to PUBLISHED is the one write that makes the whole release visible (see `publish.ts`).
 */
export interface BatchRecord {
  readonly id: string;
  /** Every member, declared when the batch was opened: staging holds the batch until all have converted. */
  readonly members: readonly SdkVersionRef[];
  readonly state: BatchState;
  readonly reason: string;
  /** Execution that claimed the batch for testing and publication. */
  readonly owner?: string;
  /** Execution that made the commit write (the flip to PUBLISHED). */
  readonly publishedBy?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly rev: number;
}

export type CredentialRole = 'consumer' | 'provider';

/**
 * A bearer token's grant. The table stores only the token's SHA-256 (the key), never the token: a leaked table
 * does not leak tokens, and a token cannot be recovered, only replaced.
 */
export interface Credential {
  /** Consumer or provider id, for logs and messages. */
  readonly id: string;
  /** Groups of the access policy (consumers); providers may hold groups too, to download what they publish. */
  readonly groups: readonly string[];
  readonly roles: readonly CredentialRole[];
  /** SDK names a provider may push; `*` for any. */
  readonly sdks: readonly string[];
  readonly createdAt: string;
  /** ISO time after which the token is refused; absent: no expiry. */
  readonly expiresAt?: string;
}

/** One intake attempt of an (SDK, version) upload, kept for `lockstep sdk status`. */
export interface IntakeRecord {
  readonly name: string;
  readonly version: string;
  readonly etag: string;
  readonly execution: string;
  readonly state: 'STARTED' | 'REJECTED';
  readonly reason: string;
  readonly at: string;
  /** Where intake moved the upload (`received/...`); absent on records from before uploads were moved. */
  readonly received?: UploadSource;
}
