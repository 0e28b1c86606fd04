/**
 * The Tasks of the SDK publishing state machine, dispatched on `action` (the handler is
 * `lambdas/handlers/sdk-steps.ts`). Each is idempotent per execution, so a Retry or a resumed execution repeats
 * it safely; errors are typed so the ASL can Retry/Catch them by name.
 *
 * | action | does | result |
 * |---|---|---|
 * | `validate` | reads and checks the metadata file; refuses a version already published (unless it withdraws it or changes its tier: `withdraw`); `converted` when this very upload was converted before (a resumed execution goes on from staging) | `{ withdraw, converted, metadata }` |
 * | `convert` | streams the archive from the SDK host into a package in staging, reads its binaries; CONVERTED | `{ sha256, size }` |
 * | `stage` | decides WAITING / CONFLICT / TESTING (alone or with its batch) and writes the plans of the tester and the provider-code build; a version tested already (a resumed execution) goes on as TESTED or TEST_FAILED | `{ status, reason, planUri?, providerCode? }` |
 * | `record-test` | the judge: reads the tester's results and the provider-code build's output (untrusted); READY or TEST_FAILED | `{ passed, reason }` |
 * | `publish` | see `publish.ts` | `{ published, ... }` |
 * | `recheck-waiting` | starts executions for packages that can move on now | `{ started }` |
 * | `notify` | tells the owners (conflict, test failure, publication) | `{ sent }` |
 * | `reject` | records a refused upload and tells its owner | `{ reason }` |
 */
import { z } from 'zod';
import {
  checkMetadataSize,
  DEFAULT_MAX_METADATA_BYTES,
  MetadataError,
  parseMetadataDocument,
  parseSdkMetadata,
} from '../metadata';
import { packageKey } from '../host/keys';
import { convertSdkPackage } from '../converter';
import type { SdkMetadata, SdkVersionRef } from '../model';
import { decideBatch, decideStaging, recheckWaiting, type StagingDecision } from '../staging/decide';
import type { TestPlan } from '../records/test-plan';
import {
  judgeTestResults,
  PROVIDER_OUTPUT_LIMITS,
  readProviderOutput,
  readTestPlan,
  type ProviderOutputRead,
  readTestResults,
  sampleAppNotBuilt,
} from '../records/test-results';
import { readPackageContents } from './contents';
import type { SdkServiceDependencies } from './dependencies';
import { SdkInputError, SdkNotFoundError, VersionExistsError } from './errors';
import { uploadSourceSchema, type SdkExecutionInput } from './execution-input';
import {
  contentsObjectKey,
  executionNameFor,
  providerOutputKey,
  providerRunKey,
  RECEIVED_PREFIX,
  refLabel,
  stagedPackageKey,
  testPlanKey,
  testResultsKey,
} from './keys';
import {
  conflictNotification,
  publishedNotification,
  rejectedNotification,
  testFailedNotification,
} from './notifications';
import { publishPackage } from './publish';
import type { TestResults, VersionRecord } from '../records/records';
import { findVersion, isPublished, loadStagingArea } from './staging-area';
import { withStatus } from './transitions';

const ref = z.object({ name: z.string().min(1), version: z.string().min(1) });
const metadataSchema = z.custom<SdkMetadata>(
  (v) => typeof v === 'object' && v !== null && typeof (v as SdkMetadata).name === 'string',
);
const errorInfo = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough().nullish();

export const sdkStepInputSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('validate'), execution: z.string().min(1), sdk: ref, upload: uploadSourceSchema }),
  z.object({
    action: z.literal('convert'),
    execution: z.string().min(1),
    sdk: ref,
    upload: uploadSourceSchema,
    metadata: metadataSchema,
    batchId: z.string().nullish(),
  }),
  z.object({ action: z.literal('stage'), execution: z.string().min(1), sdk: ref }),
  z.object({
    action: z.literal('record-test'),
    execution: z.string().min(1),
    sdk: ref,
    planId: z.string().min(1),
    buildFailed: z.boolean(),
    error: errorInfo,
    /** Set by the provider-code Tasks: whether that build failed, and its error. Absent: the tester's Tasks. */
    providerCodeFailed: z.boolean().optional(),
    providerCodeError: errorInfo.optional(),
  }),
  z.object({ action: z.literal('publish'), execution: z.string().min(1), sdk: ref }),
  z.object({ action: z.literal('recheck-waiting'), execution: z.string().min(1), arrived: z.array(ref) }),
  z.object({
    action: z.literal('notify'),
    execution: z.string().min(1),
    sdk: ref,
    event: z.enum(['conflict', 'test-failed', 'published']),
  }),
  z.object({
    action: z.literal('reject'),
    execution: z.string().min(1),
    sdk: ref,
    upload: uploadSourceSchema,
    error: errorInfo,
  }),
]);

export type SdkStepInput = z.infer<typeof sdkStepInputSchema>;

export type StageResult =
  | { readonly status: 'WAITING' | 'CONFLICT' | 'HELD' | 'TESTED' | 'TEST_FAILED'; readonly reason: string }
  | {
      readonly status: 'TESTING';
      readonly reason: string;
      readonly planId: string;
      readonly planUri: string;
      readonly members: readonly SdkVersionRef[];
      /** What the RunProviderCode Task starts: the project, and its two presigned GET URLs. */
      readonly providerCode: ProviderCodeRun;
    };

/** The provider-code build of a plan, as the stage step signed it for the state machine. */
export interface ProviderCodeRun {
  readonly project: string;
  /** `LOCKSTEP_SDK_PROVIDER_RUN`: presigned GET of `tests/<plan>/provider-run.json`. */
  readonly runUri: string;
  /** `LOCKSTEP_SDK_PROVIDER_RUNNER`: presigned GET of the runner bundle. */
  readonly runnerUri: string;
}

/**
 * Runs one Task.
 * @throws SdkInputError for an input of the wrong shape; the action's own typed errors otherwise
 */
export async function runSdkStep(deps: SdkServiceDependencies, event: unknown): Promise<unknown> {
  const parsed = sdkStepInputSchema.safeParse(event);
  if (!parsed.success) {
    throw new SdkInputError(
      `Invalid SDK step input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const input = parsed.data;
  switch (input.action) {
    case 'validate':
      return validate(deps, input.sdk, input.upload);
    case 'convert':
      return convert(deps, input.sdk, input.upload, input.metadata, input.batchId ?? undefined);
    case 'stage':
      return stage(deps, input.sdk, input.execution);
    case 'record-test':
      return recordTest(deps, input.sdk, input.planId, {
        buildFailed: input.buildFailed,
        buildError: causeText(input.error),
        ...(input.providerCodeFailed === true ? { providerCodeError: causeText(input.providerCodeError) } : {}),
      });
    case 'publish':
      return publishPackage(deps, input.sdk, input.execution);
    case 'recheck-waiting':
      return recheck(deps, input.arrived);
    case 'notify':
      return notify(deps, input.sdk, input.event);
    case 'reject':
      return reject(deps, input.sdk, input.upload, input.execution, causeText(input.error));
  }
}

/** The message of a Catch's error: Lambda's JSON cause (`errorMessage`) or the cause as it is; never a stack. */
export function causeText(error: { Error?: string; Cause?: string } | null | undefined): string {
  if (error === null || error === undefined) return 'unknown error';
  const cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return cause !== '' ? cause : (error.Error ?? 'unknown error');
}

/** Statuses from which a version is decided again by `stage` (TEST_FAILED only outside a batch: a failed batch is pushed again with a new id). */
export function isRestageable(record: Pick<VersionRecord, 'status' | 'batchId'>): boolean {
  return (
    ['CONVERTED', 'WAITING', 'CONFLICT'].includes(record.status) ||
    (record.status === 'TEST_FAILED' && record.batchId === undefined)
  );
}

async function validate(
  deps: SdkServiceDependencies,
  sdk: SdkVersionRef,
  upload: z.infer<typeof uploadSourceSchema>,
): Promise<{ withdraw: boolean; converted: boolean; metadata: SdkMetadata }> {
  // The CLI's limit and message (DEFAULT_MAX_METADATA_BYTES), checked before the object is read.
  const head = await deps.objects.head(deps.config.hostBucket, upload.metadataKey);
  if (head !== undefined) checkMetadataSize(head.size);
  const bytes = await deps.objects.getBytes(deps.config.hostBucket, upload.metadataKey, DEFAULT_MAX_METADATA_BYTES);
  if (bytes === undefined)
    throw new SdkNotFoundError(`The metadata file ${upload.metadataKey} is gone from the SDK host; upload it again`, {
      details: { key: upload.metadataKey },
    });
  const versions = await deps.store.listVersions();
  const fileName = upload.metadataKey.split('/').pop()!;
  const metadata = parseSdkMetadata(bytes, {
    fileName,
    sdkExists: (name) => versions.some((v) => v.name === name && v.status !== 'WITHDRAWN'),
  });
  const problems = [];
  if (metadata.name !== sdk.name)
    problems.push({
      field: 'name',
      message: `is "${metadata.name}", but the upload is under incoming/${sdk.name}/`,
      fix: `upload to incoming/${metadata.name}/${metadata.version}/ or correct the name`,
    });
  if (metadata.version !== sdk.version)
    problems.push({
      field: 'version',
      message: `is "${metadata.version}", but the upload is under incoming/${sdk.name}/${sdk.version}/`,
      fix: `upload to incoming/${metadata.name}/${metadata.version}/ or correct the version`,
    });
  if (problems.length > 0) throw new MetadataError(problems, { details: { ...sdk } });

  const existing = findVersion(versions, sdk);
  if (existing !== undefined) {
    if (existing.status === 'PUBLISHED' && !metadata.supported) {
      // A withdrawal: only the supported flag changes; the published files stay what they were.
      if (existing.metadata.supported) {
        await deps.store.saveVersion(
          withStatus(
            existing,
            'PUBLISHED',
            'withdrawal requested: the new metadata says this version is no longer supported',
            deps.clock(),
            {
              metadata: { ...existing.metadata, supported: false },
            },
          ),
          existing.rev,
        );
      }
      return { withdraw: true, converted: false, metadata };
    }
    if (existing.status === 'PUBLISHED' && existing.metadata.supported && metadata.tier !== existing.metadata.tier) {
      // A tier change: the same files under the other tier's key; `Publish` moves them and invalidates the old path.
      if (existing.movedFrom === undefined) {
        await deps.store.saveVersion(
          withStatus(
            existing,
            'PUBLISHED',
            `moving from the ${existing.metadata.tier} tier to the ${metadata.tier} tier`,
            deps.clock(),
            {
              metadata: { ...existing.metadata, tier: metadata.tier },
              movedFrom: existing.metadata.tier,
            },
          ),
          existing.rev,
        );
      }
      return { withdraw: true, converted: false, metadata };
    }
    if (existing.upload.etag === upload.etag && existing.status !== 'WITHDRAWN') {
      // This very upload was converted before: the execution is a resumed or retried one (a restart cut it off).
      // It goes on from staging, where `stage` finds what it had done; refusing it here would strand the version.
      return { withdraw: false, converted: true, metadata };
    }
    if (existing.status === 'PUBLISHED' || existing.status === 'WITHDRAWN') {
      throw new VersionExistsError(
        `${sdk.name} ${sdk.version} is already ${existing.status.toLowerCase()}; a published version never changes: publish a new version`,
        { details: { ...sdk } },
      );
    }
    if (existing.status === 'TESTING' || existing.status === 'READY') {
      throw new VersionExistsError(
        `${sdk.name} ${sdk.version} is ${existing.status.toLowerCase()} right now; wait for its outcome (lockstep sdk status ${sdk.name}@${sdk.version}) before pushing it again`,
        { details: { ...sdk } },
      );
    }
  }
  if ((await deps.objects.head(deps.config.hostBucket, upload.artifactsKey)) === undefined) {
    throw new SdkNotFoundError(
      `The archive ${upload.artifactsKey} is missing from the SDK host; upload artifacts.zip next to the metadata`,
      { details: { key: upload.artifactsKey } },
    );
  }
  return { withdraw: false, converted: false, metadata };
}

async function convert(
  deps: SdkServiceDependencies,
  sdk: SdkVersionRef,
  upload: z.infer<typeof uploadSourceSchema>,
  metadata: SdkMetadata,
  batchId: string | undefined,
): Promise<{ sha256: string; size: number }> {
  const key = stagedPackageKey(sdk);
  const stagedNextToPackage = (fileName: string) => `${key.slice(0, key.lastIndexOf('/'))}/${fileName}`;
  const converted = await convertSdkPackage({
    metadata,
    source: await deps.objects.openArchive(deps.config.hostBucket, upload.artifactsKey),
    sink: deps.objects.openSink(deps.config.stagingBucket, key),
    // The URLs the published files will have on the package host, for the version's tier.
    ...(deps.config.cdnBaseUrl !== undefined
      ? {
          publishedBaseUrl: `${deps.config.cdnBaseUrl.replace(/\/+$/, '')}/${packageKey(metadata.tier, sdk.name, sdk.version, '')}`,
        }
      : {}),
    binaryTargetSink: (fileName) => deps.objects.openSink(deps.config.stagingBucket, stagedNextToPackage(fileName)),
    ...(deps.archiveLimits !== undefined ? { limits: deps.archiveLimits } : {}),
  });
  const contents = await readPackageContents(
    await deps.objects.openArchive(deps.config.stagingBucket, key),
    converted.manifest.files,
    deps.scratchDir,
  );
  const contentsKey = contentsObjectKey(sdk);
  await deps.objects.put(deps.config.stagingBucket, contentsKey, JSON.stringify(contents), 'application/json');

  const existing = await deps.store.getVersion(sdk);
  if (existing !== undefined && !['CONVERTED', 'WAITING', 'CONFLICT', 'TEST_FAILED'].includes(existing.status)) {
    throw new VersionExistsError(
      `${sdk.name} ${sdk.version} became ${existing.status.toLowerCase()} while this upload was converted; push a new version`,
      { details: { ...sdk } },
    );
  }
  const now = deps.clock();
  const base: Omit<VersionRecord, 'rev'> = {
    name: sdk.name,
    version: sdk.version,
    status: 'CONVERTED',
    reason: '',
    metadata,
    upload,
    ...(batchId !== undefined ? { batchId } : {}),
    package: {
      key,
      fileName: key.split('/').pop()!,
      sha256: converted.sha256,
      size: converted.size,
      ...(converted.manifest.swiftPackage !== undefined
        ? {
            binaryTargets: converted.manifest.swiftPackage.binaryTargets.map((t) => ({
              key: stagedNextToPackage(t.path),
              fileName: t.path,
              sha256: t.checksum,
              size: t.size,
            })),
          }
        : {}),
    },
    contentsKey,
    updatedAt: new Date(now).toISOString(),
    history: existing?.history ?? [],
  };
  const binaries = contents.binaries.length;
  await deps.store.saveVersion(
    withStatus(
      base,
      'CONVERTED',
      `converted: ${converted.manifest.files.length} files, ${binaries} binar${binaries === 1 ? 'y' : 'ies'}, package ${converted.size} bytes`,
      now,
    ),
    existing?.rev,
  );
  return { sha256: converted.sha256, size: converted.size };
}

async function stage(deps: SdkServiceDependencies, sdk: SdkVersionRef, execution: string): Promise<StageResult> {
  const { area, versions, batches } = await loadStagingArea(deps, { withContents: true });
  const record = findVersion(versions, sdk);
  if (record === undefined)
    throw new SdkNotFoundError(`${refLabel(sdk)} has not been converted; nothing to stage`, { details: { ...sdk } });
  if (record.status === 'TESTING') {
    // A retried or resumed stage of this execution: its plan exists, so the tester goes on with it.
    const planBytes = await deps.objects.getBytes(deps.config.stagingBucket, testPlanKey(execution), 16 * 1024 * 1024);
    if (planBytes !== undefined) {
      const read = readTestPlan(planBytes);
      if (!read.ok) {
        // Not the plan this step wrote: testing it would test something else, so the version fails and may be pushed again.
        const reason = `the tester wrote unreadable results: ${read.problem}`;
        await deps.store.saveVersion(withStatus(record, 'TEST_FAILED', reason, deps.clock()), record.rev);
        return { status: 'HELD', reason };
      }
      const plan = read.plan;
      if (plan.members.some((m) => m.name === sdk.name && m.version === sdk.version)) {
        // The URLs written before the interruption may have expired: the plan is signed again for this run.
        const { planUri, providerCode } = await writePlan(deps, plan);
        for (const member of plan.members) {
          const other = findVersion(versions, member);
          if (other !== undefined && ['CONVERTED', 'WAITING', 'CONFLICT'].includes(other.status)) {
            await deps.store.saveVersion(
              withStatus(other, 'TESTING', record.reason, deps.clock(), {
                resolved: record.resolved ?? [],
                testedBy: execution,
              }),
              other.rev,
            );
          }
        }
        return {
          status: 'TESTING',
          reason: record.reason,
          planId: plan.planId,
          planUri,
          members: plan.members,
          providerCode,
        };
      }
    }
  }
  // Tested already (a resumed execution, or a restage that lost a race): publication goes on, idempotently.
  if (record.status === 'READY' || record.status === 'PUBLISHED') return { status: 'TESTED', reason: record.reason };
  if (record.status === 'TEST_FAILED' && record.tests?.planId === execution)
    return { status: 'TEST_FAILED', reason: record.reason };
  if (!isRestageable(record)) {
    return { status: 'HELD', reason: `${refLabel(sdk)} is ${record.status} already; nothing to decide` };
  }
  const now = deps.clock();

  if (record.batchId === undefined) {
    const decision = decideStaging(area, sdk);
    return applyDecision(deps, [record], decision, execution, versions, batches);
  }

  const batch = batches.get(record.batchId);
  if (batch === undefined)
    throw new SdkNotFoundError(`Batch ${record.batchId} of ${refLabel(sdk)} does not exist`, {
      details: { batchId: record.batchId },
    });
  // The owner resumes a batch it claimed (a retry after the claim); anyone else finds it taken.
  const ownClaim = batch.state === 'TESTING' && batch.owner === execution;
  if (batch.state !== 'OPEN' && !ownClaim)
    return { status: 'HELD', reason: `batch ${batch.id} is ${batch.state} already` };
  const absent = batch.members.filter((m) => {
    const v = findVersion(versions, m);
    return (
      v?.batchId !== batch.id ||
      !['CONVERTED', 'WAITING', 'CONFLICT', ...(ownClaim ? ['TESTING'] : [])].includes(v.status)
    );
  });
  if (absent.length > 0) {
    const reason = `waiting for the rest of batch ${batch.id}: ${absent.map((m) => `${m.name} ${m.version}`).join(', ')} not converted yet`;
    if (record.status !== 'WAITING' || record.reason !== reason)
      await deps.store.saveVersion(withStatus(record, 'WAITING', reason, now), record.rev);
    return { status: 'WAITING', reason };
  }
  const members = batch.members.map((m) => findVersion(versions, m)!);
  const decided = decideBatch(area, batch.id);
  if (decided.decision.status === 'READY' && !ownClaim) {
    // One execution wins the batch: the conditional flip OPEN -> TESTING. The others end HELD.
    const at = new Date(now).toISOString();
    const { rev: _rev, ...rest } = batch;
    await deps.store.saveBatch(
      { ...rest, state: 'TESTING', owner: execution, reason: decided.decision.reason, updatedAt: at },
      batch.rev,
    );
  }
  return applyDecision(
    deps,
    members,
    decided.decision,
    execution,
    versions,
    batches,
    new Map(decided.members.map((m) => [refLabel(m.ref), m.reason])),
  );
}

async function applyDecision(
  deps: SdkServiceDependencies,
  records: readonly VersionRecord[],
  decision: StagingDecision,
  execution: string,
  versions: readonly VersionRecord[],
  batches: Parameters<typeof isPublished>[1],
  reasons: ReadonlyMap<string, string> = new Map(),
): Promise<StageResult> {
  const now = deps.clock();
  const reasonOf = (r: VersionRecord) => reasons.get(refLabel(r)) ?? decision.reason;
  if (decision.status === 'WAITING') {
    for (const r of records)
      if (r.status !== 'WAITING' || r.reason !== reasonOf(r))
        await deps.store.saveVersion(withStatus(r, 'WAITING', reasonOf(r), now), r.rev);
    return { status: 'WAITING', reason: decision.reason };
  }
  if (decision.status === 'CONFLICT') {
    for (const r of records)
      await deps.store.saveVersion(withStatus(r, 'CONFLICT', reasonOf(r), now, { involved: decision.involved }), r.rev);
    return { status: 'CONFLICT', reason: decision.reason };
  }

  const planId = execution;
  const members = records.map((r) => ({ name: r.name, version: r.version }));
  const packages = decision.resolved.map((ref) => {
    const v = findVersion(versions, ref);
    if (v === undefined) throw new SdkNotFoundError(`${refLabel(ref)} was resolved but is not in the SDK table`);
    const published = isPublished(v, batches);
    return {
      name: v.name,
      version: v.version,
      bucket: published ? deps.config.packageHostBucket : deps.config.stagingBucket,
      key: published ? packageKey(v.metadata.tier, v.name, v.version, v.package.fileName) : v.package.key,
      sha256: v.package.sha256,
      size: v.package.size,
    };
  });
  const plan: TestPlan = {
    planId,
    members,
    packages,
    results: { bucket: deps.config.stagingBucket, key: testResultsKey(planId) },
  };
  const { planUri, providerCode } = await writePlan(deps, plan);
  for (const r of records) {
    if (r.status === 'TESTING') continue;
    await deps.store.saveVersion(
      withStatus(r, 'TESTING', `${decision.reason}; the tester builds a sample app`, now, {
        resolved: decision.resolved,
        involved: undefined,
        testedBy: execution,
      }),
      r.rev,
    );
  }
  return { status: 'TESTING', reason: decision.reason, planId, planUri, members, providerCode };
}

/**
 * How long the presigned URLs of a plan work: the tester's build and then the provider-code build (one hour each
 * at most) and their time in CodeBuild's queue. Each URL reaches one object.
 */
export const TESTER_URL_TTL_SECONDS = 3 * 60 * 60;

/**
 * Signs the plans of a test and writes them (issue 9 item 20): the tester's (`plan.json`: a presigned GET per
 * package, a presigned PUT for `results.json`) and the provider-code build's (`provider-run.json`: the same
 * packages, a presigned PUT for `provider-output.json`), so neither build's role needs (or has) access to any
 * object and neither chooses where it writes. The provider-code build gets no URL of the tester's plan or results.
 * @returns the plans' own presigned GET URLs and the runner bundle's, which the state machine passes at StartBuild
 */
async function writePlan(
  deps: SdkServiceDependencies,
  plan: TestPlan,
): Promise<{ planUri: string; providerCode: ProviderCodeRun }> {
  const ttl = TESTER_URL_TTL_SECONDS;
  const staging = deps.config.stagingBucket;
  const packages = await Promise.all(
    plan.packages.map(async (p) => ({ ...p, url: await deps.objects.presignGet(p.bucket, p.key, ttl) })),
  );
  const signed: TestPlan = {
    ...plan,
    packages,
    results: { ...plan.results, url: await deps.objects.presignPut(plan.results.bucket, plan.results.key, ttl) },
  };
  const outputKey = providerOutputKey(plan.planId);
  const providerRun: TestPlan = {
    planId: plan.planId,
    members: plan.members,
    packages,
    results: { bucket: staging, key: outputKey, url: await deps.objects.presignPut(staging, outputKey, ttl) },
  };
  // A resumed execution runs the provider code again: output of an earlier run must not stand for this one.
  await deps.objects.delete(staging, [outputKey]);
  await deps.objects.put(staging, testPlanKey(plan.planId), JSON.stringify(signed, null, 2), 'application/json');
  await deps.objects.put(
    staging,
    providerRunKey(plan.planId),
    JSON.stringify(providerRun, null, 2),
    'application/json',
  );
  const runner = deps.config.providerRunner;
  return {
    planUri: await deps.objects.presignGet(staging, testPlanKey(plan.planId), ttl),
    providerCode: {
      project: deps.config.providerCodeProject,
      runUri: await deps.objects.presignGet(staging, providerRunKey(plan.planId), ttl),
      runnerUri: await deps.objects.presignGet(runner.bucket, runner.key, ttl),
    },
  };
}

/** The provider-code build's output, bounded: one over the size limit is unreadable output, not a step error. */
async function readProviderOutputOf(deps: SdkServiceDependencies, planId: string): Promise<ProviderOutputRead> {
  let bytes: Buffer | undefined;
  try {
    bytes = await deps.objects.getBytes(
      deps.config.stagingBucket,
      providerOutputKey(planId),
      PROVIDER_OUTPUT_LIMITS.maxBytes,
    );
  } catch (error) {
    if (error instanceof SdkInputError)
      return { ok: false, problem: `provider-output.json is over ${PROVIDER_OUTPUT_LIMITS.maxBytes} bytes` };
    throw error;
  }
  return bytes === undefined ? undefined : readProviderOutput(bytes, planId);
}

/** How the builds of a test ended, as the state machine's Catch saw them. */
interface BuildOutcomes {
  /** The tester's build failed (a package failed verification, or it did not finish); provider code did not run. */
  readonly buildFailed: boolean;
  readonly buildError: string;
  /** The provider-code build failed (provider code failed, or the build did not finish): its error. */
  readonly providerCodeError?: string;
}

async function recordTest(
  deps: SdkServiceDependencies,
  sdk: SdkVersionRef,
  planId: string,
  outcomes: BuildOutcomes,
): Promise<{ passed: boolean; reason: string }> {
  const { buildFailed, buildError } = outcomes;
  const planBytes = await deps.objects.getBytes(deps.config.stagingBucket, testPlanKey(planId), 16 * 1024 * 1024);
  const plan = planBytes === undefined ? undefined : readTestPlan(planBytes);
  const members = plan?.ok === true ? plan.plan.members : [sdk];
  const bytes = await deps.objects.getBytes(deps.config.stagingBucket, testResultsKey(planId), 16 * 1024 * 1024);
  // Written through presigned URLs by a build: nothing is trusted before it is checked.
  const read = plan?.ok === false ? plan : bytes === undefined ? undefined : readTestResults(bytes, planId, members);
  // The judge: the provider-code build's output is hostile input, bounded and checked, and counts only for the
  // checks the trusted tester expected. It is read only when the tester passed (otherwise provider code never ran).
  let judged: { results: TestResults; passed: boolean } | undefined;
  if (read?.ok === true) {
    const output =
      buildFailed || read.results.providerCode === undefined ? undefined : await readProviderOutputOf(deps, planId);
    judged = judgeTestResults(read.results, members, {
      ...(output !== undefined ? { read: output } : {}),
      ...(outcomes.providerCodeError !== undefined ? { buildError: outcomes.providerCodeError } : {}),
    });
  }
  const results = judged?.results;
  const passed = !buildFailed && outcomes.providerCodeError === undefined && judged?.passed === true;
  const now = deps.clock();
  let overall = '';
  for (const m of members) {
    const record = await deps.store.getVersion(m);
    if (record?.status !== 'TESTING') continue;
    const own = results?.packages.find((p) => p.name === m.name && p.version === m.version);
    const failures = (own?.checks ?? []).filter((c) => !c.passed).map((c) => `${c.name}: ${c.message}`);
    const notBuilt = sampleAppNotBuilt(own);
    let reason: string;
    if (passed)
      reason = `tests passed (${own?.checks.length ?? 0} checks)${notBuilt !== undefined ? `; ${notBuilt}` : ''}`;
    else if (read?.ok === false) reason = `the tester wrote unreadable results: ${read.problem}`;
    else if (failures.length > 0) reason = `tests failed: ${failures.join('; ')}`;
    else if (own !== undefined && !own.passed)
      reason = `tests failed: the tester recorded no checks for ${m.name} ${m.version}`;
    else if (results !== undefined && !results.passed)
      reason = `tests failed: ${(results.log ?? []).slice(-5).join(' | ') || 'another member of the set failed its tests'}`;
    else if (outcomes.providerCodeError !== undefined)
      reason = `tests failed: the provider-code build failed (${outcomes.providerCodeError}); see its build log`;
    else reason = `the tester did not finish (${buildError}); see the tester build log`;
    overall ||= reason;
    await deps.store.saveVersion(
      withStatus(record, passed ? 'READY' : 'TEST_FAILED', reason, now, {
        tests: { planId, passed, packages: results?.packages ?? [] },
      }),
      record.rev,
    );
  }
  const first = await deps.store.getVersion(sdk);
  if (first?.batchId !== undefined) {
    const batch = await deps.store.getBatch(first.batchId);
    if (batch?.state === 'TESTING') {
      const { rev: _rev, ...rest } = batch;
      await deps.store.saveBatch(
        { ...rest, state: passed ? 'READY' : 'FAILED', reason: overall, updatedAt: new Date(now).toISOString() },
        batch.rev,
      );
    }
  }
  return { passed, reason: overall };
}

/**
 * Starts the `restage` or `publish` execution of a version as it is now. The name includes the record's `rev`, so
 * every caller that sees the same state (a recheck pass twice, a re-push during a pass) starts it once.
 */
export async function startFor(
  deps: SdkServiceDependencies,
  record: VersionRecord,
  mode: 'restage' | 'publish',
): Promise<{ started: boolean; name: string }> {
  const name = executionNameFor([record.name, record.version, mode, String(record.rev)]);
  const input: SdkExecutionInput = {
    mode,
    sdk: { name: record.name, version: record.version },
    batchId: record.batchId ?? null,
    testerProject: deps.config.testerProject,
  };
  return { started: (await deps.orchestrator.start(name, input)).started, name };
}

/**
 * After packages arrived (staged or published): starts a `restage` execution for each waiting package that can
 * move on, and a `publish` execution for each tested package whose dependencies are all published now. Execution
 * names include the record's `rev`, so a pass that runs twice starts each once.
 */
export async function recheck(
  deps: SdkServiceDependencies,
  arrived: readonly SdkVersionRef[],
): Promise<{ started: string[] }> {
  // With contents: a CONFLICT over a duplicate library must not look cleared for want of the evidence.
  const { area, versions, batches } = await loadStagingArea(deps, { withContents: 'when-any-open' });
  const started: string[] = [];
  const start = async (record: VersionRecord, mode: 'restage' | 'publish') => {
    const result = await startFor(deps, record, mode);
    if (result.started) started.push(result.name);
  };
  for (const transition of recheckWaiting(area, arrived)) {
    // One execution per batch: the stage step decides every member together.
    const record = findVersion(versions, transition.refs[0]!);
    if (record !== undefined) await start(record, 'restage');
  }
  const seenBatches = new Set<string>();
  for (const record of versions) {
    if (record.status !== 'READY' || isPublished(record, batches)) continue;
    if (record.batchId !== undefined) {
      if (seenBatches.has(record.batchId) || batches.get(record.batchId)?.state !== 'READY') continue;
      seenBatches.add(record.batchId);
    }
    const ready = (record.resolved ?? []).every((r) => {
      if (r.name === record.name && r.version === record.version) return true;
      const v = findVersion(versions, r);
      return (
        v !== undefined && (isPublished(v, batches) || (record.batchId !== undefined && v.batchId === record.batchId))
      );
    });
    if (ready) await start(record, 'publish');
  }
  return { started };
}

async function notify(
  deps: SdkServiceDependencies,
  sdk: SdkVersionRef,
  event: 'conflict' | 'test-failed' | 'published',
): Promise<{ sent: boolean }> {
  const record = await deps.store.getVersion(sdk);
  if (record === undefined) throw new SdkNotFoundError(`${refLabel(sdk)} is not in the SDK table`);
  let records = [record];
  if (record.batchId !== undefined) {
    const batch = await deps.store.getBatch(record.batchId);
    const members = await Promise.all((batch?.members ?? []).map((m) => deps.store.getVersion(m)));
    records = members.filter((m): m is VersionRecord => m !== undefined);
  }
  const notification =
    event === 'conflict'
      ? conflictNotification(records)
      : event === 'test-failed'
        ? testFailedNotification(records)
        : publishedNotification(records);
  await deps.notifier.publish(notification);
  return { sent: true };
}

async function reject(
  deps: SdkServiceDependencies,
  sdk: SdkVersionRef,
  upload: z.infer<typeof uploadSourceSchema>,
  execution: string,
  reason: string,
): Promise<{ reason: string }> {
  await deps.store.recordIntake({
    ...sdk,
    etag: upload.etag,
    execution,
    state: 'REJECTED',
    reason,
    at: new Date(deps.clock()).toISOString(),
    // Kept, so the poll still clears the refused upload out of incoming/.
    ...(upload.artifactsKey.startsWith(RECEIVED_PREFIX) ? { received: upload } : {}),
  });
  // The owner's address from the metadata when it can be read at all (it may be what was refused).
  let contact: string | undefined;
  try {
    const bytes = await deps.objects.getBytes(deps.config.hostBucket, upload.metadataKey, 64 * 1024);
    const tree =
      bytes === undefined
        ? undefined
        : parseMetadataDocument(bytes, { fileName: upload.metadataKey.split('/').pop()! }).tree;
    const value = (tree as { contact?: unknown } | undefined)?.contact;
    if (typeof value === 'string' && /^[^@\s]+@[^@\s]+$/.test(value)) contact = value;
  } catch {
    contact = undefined;
  }
  const notification = rejectedNotification(sdk, reason, contact);
  if (notification !== undefined) await deps.notifier.publish(notification);
  return { reason };
}
