/**
 * Intake: one SDK publishing execution per (SDK, version) upload present in the SDK host and not yet converted.
 *
 * Three ways in, one function: S3 `ObjectCreated` events (EventBridge), the completion signal of the upload API,
 * and the scheduled poll (which also re-checks waiting packages and finishes publications cut short, so a lost
 * event or a crash only delays). The execution name is derived from (name, version, ETags of the archive and the
 * metadata): the two events of one upload, a retry and the poll all name the same execution, which starts once.
 *
 * An upload taken in is moved out of `incoming/` (copied to `received/<name>/<version>/<etag>/`, which the
 * execution reads, then deleted from `incoming/` if it is still the same object), so `incoming/` holds only what is
 * still to take in. The poll reads it a page at a time and keeps its place in the SDK table (`INTAKE-CURSOR`),
 * so however many uploads wait, one invocation does a bounded amount of work and the next goes on from there.
 */
import { createHash } from 'node:crypto';
import { METADATA_FILE_NAMES } from '../metadata';
import type { SdkVersionRef } from '../model';
import type { SdkServiceDependencies } from './dependencies';
import type { SdkExecutionInput } from './execution-input';
import {
  ARTIFACTS_FILE,
  artifactsKey,
  executionNameFor,
  INCOMING_PREFIX,
  incomingPrefix,
  parseIncomingKey,
  RECEIVED_PREFIX,
  receivedKey,
  refLabel,
} from './keys';
import type { ObjectInfo } from '../../ports/sdk';
import type { UploadSource } from '../records/records';
import { finishPublications } from './publish';
import { isRestageable, recheck, startFor } from './steps';
import { failStrandedTests } from './stranded-tests';

export type IntakeOutcome =
  | { readonly ref: SdkVersionRef; readonly started: true; readonly execution: string }
  | { readonly ref: SdkVersionRef; readonly started: false; readonly execution?: string; readonly reason: string };

/** Metadata file names in the order one is chosen when several were uploaded. */
const METADATA_PREFERENCE = Object.keys(METADATA_FILE_NAMES);

/**
 * Starts the execution for one (SDK, version) when both its archive and a metadata file are in the SDK host and
 * this upload (by ETags) was not taken in before.
 */
export async function intakeVersion(deps: SdkServiceDependencies, ref: SdkVersionRef): Promise<IntakeOutcome> {
  const objects = await deps.objects.list(deps.config.hostBucket, incomingPrefix(ref));
  const archive = objects.find((o) => o.key === artifactsKey(ref));
  const metadata = METADATA_PREFERENCE.map((name) =>
    objects.find((o) => o.key === `${incomingPrefix(ref)}${name}`),
  ).find((o) => o !== undefined);
  if (archive === undefined || metadata === undefined) {
    const missing = [
      archive === undefined ? 'artifacts.zip' : undefined,
      metadata === undefined ? 'a metadata file (lockstep-sdk.json, .yaml or .xml)' : undefined,
    ].filter(Boolean);
    return {
      ref,
      started: false,
      reason: `incomplete: ${missing.join(' and ')} not uploaded under ${incomingPrefix(ref)}`,
    };
  }
  const etag = createHash('sha256')
    .update(`${archive.etag}\n${metadata.key}\n${metadata.etag}`)
    .digest('hex')
    .slice(0, 16);
  const execution = executionNameFor([ref.name, ref.version, 'intake', etag]);

  const files = [archive, metadata];
  const received: UploadSource = {
    artifactsKey: receivedKey(ref, etag, ARTIFACTS_FILE),
    metadataKey: receivedKey(ref, etag, metadata.key.split('/').pop()!),
    etag,
  };
  const targets = [received.artifactsKey, received.metadataKey];

  const existing = await deps.store.getVersion(ref);
  if (existing?.upload.etag === etag) {
    // Converted from its copy in received/ (an upload taken in before the move existed was converted from incoming/).
    if (existing.upload.artifactsKey.startsWith(RECEIVED_PREFIX)) await clearIncoming(deps, files);
    if (isRestageable(existing) && existing.status !== 'CONVERTED') {
      // The same bytes again for a version held back (WAITING, CONFLICT, or a failed test): nothing to convert,
      // but the provider asks for another decision, and gets one, so a re-push is never a dead end.
      const restage = await startFor(deps, existing, 'restage');
      return restage.started
        ? { ref, started: true, execution: restage.name }
        : {
            ref,
            started: false,
            execution: restage.name,
            reason: `this upload was converted already and is being decided again (${existing.status}: ${existing.reason})`,
          };
    }
    return { ref, started: false, execution, reason: `this upload was converted already (${existing.status})` };
  }
  const earlier = (await deps.store.listIntakes(ref)).find((i) => i.etag === etag);
  if (earlier !== undefined) {
    if (earlier.received !== undefined) await clearIncoming(deps, files);
    return {
      ref,
      started: false,
      execution: earlier.execution,
      reason:
        earlier.state === 'REJECTED'
          ? `this upload was refused: ${earlier.reason}`
          : 'this upload was taken in already',
    };
  }

  const batchId = await deps.store.getBatchMembership(ref);
  // Copied before the start, deleted after the intake record: a crash in between leaves the upload in incoming/,
  // where the next pass finds it taken in already and finishes the move.
  for (const [i, file] of files.entries())
    await deps.objects.copy(deps.config.hostBucket, file.key, deps.config.hostBucket, targets[i]!);
  const input: SdkExecutionInput = {
    mode: 'intake',
    sdk: ref,
    upload: received,
    batchId: batchId ?? null,
    testerProject: deps.config.testerProject,
  };
  const result = await deps.orchestrator.start(execution, input);
  await deps.store.recordIntake({
    ...ref,
    etag,
    execution,
    state: 'STARTED',
    reason: `intake started from ${metadata.key.split('/').pop()}`,
    at: new Date(deps.clock()).toISOString(),
    received,
  });
  await clearIncoming(deps, files);
  return result.started
    ? { ref, started: true, execution }
    : { ref, started: false, execution, reason: 'the execution for this upload exists already' };
}

/**
 * Deletes an upload's objects from `incoming/` (their copies in `received/` exist: the caller knows), only objects
 * that are still the ones taken in (same ETag): a provider who uploads again meanwhile keeps the new upload.
 */
async function clearIncoming(deps: SdkServiceDependencies, files: readonly ObjectInfo[]): Promise<void> {
  const unchanged: string[] = [];
  for (const file of files)
    if ((await deps.objects.head(deps.config.hostBucket, file.key))?.etag === file.etag) unchanged.push(file.key);
  if (unchanged.length > 0) await deps.objects.delete(deps.config.hostBucket, unchanged);
}

/** The (SDK, version) pairs that object keys belong to (keys outside `incoming/<name>/<version>/` are ignored). */
export function refsOfKeys(keys: readonly string[]): SdkVersionRef[] {
  const refs = new Map<string, SdkVersionRef>();
  for (const key of keys) {
    const parsed = parseIncomingKey(key);
    if (parsed !== undefined) refs.set(refLabel(parsed.ref), parsed.ref);
  }
  return [...refs.values()];
}

export interface PollResult {
  readonly intakes: readonly IntakeOutcome[];
  /** Executions started for waiting or tested packages that can move on. */
  readonly released: readonly string[];
  /** Members of committed batch publications rolled forward. */
  readonly finished: readonly SdkVersionRef[];
  /** Versions left TESTING by an execution that ended without recording their test, now TEST_FAILED. */
  readonly failed: readonly SdkVersionRef[];
  /** Where the next poll goes on listing `incoming/`; undefined: this pass reached the end. */
  readonly cursor?: string;
}

export interface PollLimits {
  /** Keys per listing page. @default 200 */
  readonly pageKeys?: number;
  /** Pages one pass reads at most; the rest is the next pass's. @default 5 */
  readonly pages?: number;
}

export const DEFAULT_POLL_LIMITS = { pageKeys: 200, pages: 5 } as const;

/**
 * The scheduled pass: the uploads of up to `pages` pages of `incoming/`, from where the previous pass stopped
 * (wrapping to the start once it reaches the end), then the re-check of waiting packages and the roll-forward of
 * committed publications.
 */
export async function pollSdkHost(
  deps: SdkServiceDependencies,
  owner: string,
  limits: PollLimits = {},
): Promise<PollResult> {
  const pageKeys = limits.pageKeys ?? DEFAULT_POLL_LIMITS.pageKeys;
  const pages = limits.pages ?? DEFAULT_POLL_LIMITS.pages;
  const intakes: IntakeOutcome[] = [];
  let cursor = await deps.store.getIntakeCursor();
  for (let page = 0; page < pages; page++) {
    const listed = await deps.objects.listPage(deps.config.hostBucket, INCOMING_PREFIX, {
      ...(cursor !== undefined ? { startAfter: cursor } : {}),
      maxKeys: pageKeys,
    });
    for (const ref of refsOfKeys(listed.objects.map((o) => o.key))) intakes.push(await intakeVersion(deps, ref));
    cursor = listed.truncated ? listed.objects.at(-1)?.key : undefined;
    if (cursor === undefined) break;
  }
  await deps.store.setIntakeCursor(cursor);
  const failed = await failStrandedTests(deps);
  const finished = await finishPublications(deps, owner);
  const { started } = await recheck(deps, finished);
  return { intakes, released: started, finished, failed, ...(cursor !== undefined ? { cursor } : {}) };
}
