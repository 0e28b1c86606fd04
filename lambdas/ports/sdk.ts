/**
 * Ports of the SDK publishing service: what its logic needs from DynamoDB, S3 and SNS. One AWS SDK v3 adapter
 * each in `adapters/`; local mode points the same adapters at its emulators. Step Functions is the shared
 * `Orchestrator` port (`lambdas/ports/services.ts`).
 */
import type { ArchiveSource, PackageSink } from '../sdk/converter';
import type { SdkVersionRef } from '../sdk/model';
import type { BatchRecord, Credential, IntakeRecord, UploadRecord, VersionRecord } from '../sdk/records/records';

export interface SdkStore {
  getVersion(ref: SdkVersionRef): Promise<VersionRecord | undefined>;
  /** Every version of every SDK (the staging area and what was published). */
  listVersions(): Promise<VersionRecord[]>;
  /**
   * Writes a version. `expectedRev` undefined: only if none exists; a number: only if the stored `rev` is that.
   * The record written carries `rev` = expectedRev + 1 (or 1).
   * @throws SdkConcurrentUpdateError when the condition fails.
   */
  saveVersion(record: Omit<VersionRecord, 'rev'>, expectedRev: number | undefined): Promise<VersionRecord>;

  getUpload(id: string): Promise<UploadRecord | undefined>;
  saveUpload(record: Omit<UploadRecord, 'rev'>, expectedRev: number | undefined): Promise<UploadRecord>;

  getBatch(id: string): Promise<BatchRecord | undefined>;
  saveBatch(record: Omit<BatchRecord, 'rev'>, expectedRev: number | undefined): Promise<BatchRecord>;
  /** Records that `ref` is a member of batch `batchId`, so an upload that arrives by any way joins its batch. */
  putBatchMembership(ref: SdkVersionRef, batchId: string): Promise<void>;
  getBatchMembership(ref: SdkVersionRef): Promise<string | undefined>;
  /** The version is pushed on its own now: it leaves whatever batch it was declared in. */
  deleteBatchMembership(ref: SdkVersionRef): Promise<void>;

  /** @param tokenHash lower-case hex SHA-256 of the bearer token */
  getCredential(tokenHash: string): Promise<Credential | undefined>;
  putCredential(tokenHash: string, credential: Credential): Promise<void>;

  recordIntake(record: IntakeRecord): Promise<void>;
  listIntakes(ref: SdkVersionRef): Promise<IntakeRecord[]>;
  /** Every REJECTED intake of every version (what `sdk status` without a target lists for versions never converted). */
  listRejectedIntakes(): Promise<IntakeRecord[]>;

  /** Where the intake poll goes on listing `incoming/` (the last key it looked at), or undefined: from the start. */
  getIntakeCursor(): Promise<string | undefined>;
  setIntakeCursor(startAfter: string | undefined): Promise<void>;

  /** Takes the index lease when free or expired. @returns false when someone else holds it. */
  acquireIndexLease(owner: string, now: number, leaseMs: number): Promise<boolean>;
  releaseIndexLease(owner: string): Promise<void>;
}

export interface ObjectInfo {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

export interface ObjectStore {
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** The object's bytes, or undefined when it does not exist. @throws SdkInputError when larger than `maxBytes`. */
  getBytes(bucket: string, key: string, maxBytes?: number): Promise<Buffer | undefined>;
  put(bucket: string, key: string, body: string | Buffer, contentType?: string): Promise<void>;
  copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void>;
  delete(bucket: string, keys: readonly string[]): Promise<void>;
  /** Every object under `prefix` (all pages). */
  list(bucket: string, prefix: string): Promise<ObjectInfo[]>;
  /** One page of objects under `prefix`, in key order, after `startAfter`; `truncated` when more follow. */
  listPage(
    bucket: string,
    prefix: string,
    options: { readonly startAfter?: string; readonly maxKeys: number },
  ): Promise<{ objects: ObjectInfo[]; truncated: boolean }>;
  /** A presigned PUT URL for `key`. */
  presignPut(bucket: string, key: string, expiresInSeconds: number): Promise<string>;
  /** A presigned GET URL for `key`. */
  presignGet(bucket: string, key: string, expiresInSeconds: number): Promise<string>;
  /** Streams the object to a local file. */
  download(bucket: string, key: string, path: string): Promise<void>;
  /** A random-access source for the converter (ranged GETs). */
  openArchive(bucket: string, key: string): Promise<ArchiveSource>;
  /** A sink for the converter (multipart upload, visible only on commit). */
  openSink(bucket: string, key: string): PackageSink;
}

/** SDK notification kinds; the SNS message attribute `event`. */
export const SDK_NOTIFICATION_EVENTS = [
  'sdk-rejected',
  'sdk-waiting',
  'sdk-conflict',
  'sdk-test-failed',
  'sdk-published',
  'sdk-withdrawn',
] as const;
export type SdkNotificationEvent = (typeof SDK_NOTIFICATION_EVENTS)[number];

export interface SdkNotification {
  readonly event: SdkNotificationEvent;
  readonly subject: string;
  readonly text: string;
  /** Owner emails; one message each, with attribute `recipient` (lower case) so a subscription filters its own. */
  readonly recipients: readonly string[];
  readonly sdk: string;
  readonly version: string;
}

export interface SdkNotifier {
  publish(notification: SdkNotification): Promise<void>;
}

/** The CDN in front of the package host: its cached copies of removed or moved objects must go. */
export interface CdnInvalidator {
  /**
   * Invalidates the package host keys' paths. Idempotent per `reference` (at most 128 characters): the same
   * reference and keys again do not start another invalidation.
   */
  invalidate(keys: readonly string[], reference: string): Promise<void>;
}
