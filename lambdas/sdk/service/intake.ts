/**
 * Intake: one SDK publishing execution per (SDK, version) upload present in the SDK host and not yet converted.
 *
 * Three ways in, one function: S3 `ObjectCreated` events (EventBridge), the completion signal of the upload API,
 * and the scheduled poll (which also re-checks waiting packages and finishes publications cut short, so a lost
 * event or a crash only delays). The execution name is derived from (name, version, ETags of the archive and the
 * metadata): the two events of one upload, a retry and the poll all name the same execution, which starts once.
 */
import { createHash } from 'node:crypto';
import { METADATA_FILE_NAMES } from '../metadata';
import type { SdkVersionRef } from '../model';
import type { SdkServiceDependencies } from './dependencies';
import type { SdkExecutionInput } from './execution-input';
import { artifactsKey, executionNameFor, INCOMING_PREFIX, incomingPrefix, parseIncomingKey, refLabel } from './keys';
import { finishPublications } from './publish';
import { recheck } from './steps';

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
  const metadata = METADATA_PREFERENCE.map((name) => objects.find((o) => o.key === `${incomingPrefix(ref)}${name}`)).find((o) => o !== undefined);
  if (archive === undefined || metadata === undefined) {
    const missing = [archive === undefined ? 'artifacts.zip' : undefined, metadata === undefined ? 'a metadata file (lockstep-sdk.json, .yaml or .xml)' : undefined].filter(Boolean);
    return { ref, started: false, reason: `incomplete: ${missing.join(' and ')} not uploaded under ${incomingPrefix(ref)}` };
  }
  const etag = createHash('sha256').update(`${archive.etag}\n${metadata.key}\n${metadata.etag}`).digest('hex').slice(0, 16);
  const execution = executionNameFor([ref.name, ref.version, 'intake', etag]);

  const existing = await deps.store.getVersion(ref);
  if (existing?.upload.etag === etag) {
    return { ref, started: false, execution, reason: `this upload was converted already (${existing.status})` };
  }
  const earlier = (await deps.store.listIntakes(ref)).find((i) => i.etag === etag);
  if (earlier !== undefined) {
    return { ref, started: false, execution: earlier.execution, reason: earlier.state === 'REJECTED' ? `this upload was refused: ${earlier.reason}` : 'this upload was taken in already' };
  }

  const batchId = await deps.store.getBatchMembership(ref);
  const input: SdkExecutionInput = {
    mode: 'intake',
    sdk: ref,
    upload: { artifactsKey: archive.key, metadataKey: metadata.key, etag },
    batchId: batchId ?? null,
    testerProject: deps.config.testerProject,
  };
  const result = await deps.orchestrator.start(execution, input);
  await deps.store.recordIntake({ ...ref, etag, execution, state: 'STARTED', reason: `intake started from ${metadata.key.split('/').pop()}`, at: new Date(deps.clock()).toISOString() });
  return result.started ? { ref, started: true, execution } : { ref, started: false, execution, reason: 'the execution for this upload exists already' };
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
}

/**
 * The scheduled pass: every upload in the SDK host, then the re-check of waiting packages and the roll-forward of
 * committed publications.
 */
export async function pollSdkHost(deps: SdkServiceDependencies, owner: string): Promise<PollResult> {
  const objects = await deps.objects.list(deps.config.hostBucket, INCOMING_PREFIX);
  const intakes: IntakeOutcome[] = [];
  for (const ref of refsOfKeys(objects.map((o) => o.key))) intakes.push(await intakeVersion(deps, ref));
  const finished = await finishPublications(deps, owner);
  const { started } = await recheck(deps, finished);
  return { intakes, released: started, finished };
}
