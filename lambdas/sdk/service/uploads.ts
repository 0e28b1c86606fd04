/**
 * The upload API's logic (`lambdas/handlers/sdk-upload-api.ts`).
 *
 * Providers authenticate with a bearer token whose credential has the `provider` role and lists the SDKs they may
 * push (see `credentials.ts`); uploads by IAM go straight to the SDK host bucket with `s3:PutObject` instead and
 * are taken in by the S3 event or the poll.
 *
 * - `POST /sdk/uploads` `{ name, version, metadataFile, batch?: { id, members: ["name@version", ...] } }` ->
 *   201 `{ uploadId, expiresAt, artifacts: { key, url }, metadata: { key, url } }`: presigned PUT URLs valid for
 *   `UPLOAD_URL_TTL_SECONDS`. A batch is declared with all its members by the first upload that names it; later
 *   uploads must name the same members.
 * - `POST /sdk/uploads/{uploadId}/complete` -> 202 `{ uploadId, execution, started, reason? }` once both objects
 *   are there (409 naming what is missing otherwise). Completing twice answers the same.
 * - `GET /sdk/status[?name=&version=]` -> 200 `{ versions: [...] }`: status, reason, history, tests, intakes, of
 *   the SDKs the provider's token may push only (403 for a `name` outside them).
 */
import { randomUUID } from 'node:crypto';
import semver from 'semver';
import { z } from 'zod';
import { isStrictSemver, METADATA_FILE_NAMES } from '../metadata';
import type { SdkVersionRef } from '../model';
import { checkMayPush } from './credentials';
import type { SdkServiceDependencies } from './dependencies';
import { SdkConcurrentUpdateError } from './errors';
import { HttpError } from '../../core/errors';
import { intakeVersion } from './intake';
import { artifactsKey, isSafeSegment, metadataKey, parseRefLabel, refLabel } from './keys';
import type { Credential, IntakeRecord, UploadRecord, VersionRecord } from '../records/records';

/** How long presigned upload URLs (and the upload itself) stay valid. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;

const requestSchema = z.strictObject({
  name: z.string().refine(isSafeSegment, { message: 'is not an SDK name (lower-case letters, digits and "-")' }),
  version: z.string().refine((v) => isStrictSemver(v) && isSafeSegment(v), {
    message: 'is not a semantic version such as 6.2.0 or 6.2.0+build.5',
  }),
  metadataFile: z.string().refine((f) => METADATA_FILE_NAMES[f] !== undefined, {
    message: `must be one of ${Object.keys(METADATA_FILE_NAMES).join(', ')}`,
  }),
  batch: z
    .strictObject({
      id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
        message: 'is not a batch id (letters, digits, ".", "_", "-", up to 64)',
      }),
      members: z.array(z.string()).min(1),
    })
    .optional(),
});

export type UploadRequest = z.infer<typeof requestSchema>;

export interface UploadGrant {
  readonly uploadId: string;
  readonly expiresAt: string;
  readonly artifacts: { readonly key: string; readonly url: string };
  readonly metadata: { readonly key: string; readonly url: string };
  readonly batchId?: string;
}

/** @throws HttpError 400 (bad request, every problem listed), 403, 409 (version published or in flight, batch mismatch) */
export async function createUpload(
  deps: SdkServiceDependencies,
  provider: Credential,
  body: unknown,
): Promise<UploadGrant> {
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(
      400,
      `The upload request has problems: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}`,
    );
  }
  const request = parsed.data;
  checkMayPush(provider, request.name);
  const ref: SdkVersionRef = { name: request.name, version: request.version };
  const existing = await deps.store.getVersion(ref);
  if (existing !== undefined && ['TESTING', 'READY', 'WITHDRAWN'].includes(existing.status)) {
    throw new HttpError(
      409,
      `${request.name} ${request.version} is ${existing.status.toLowerCase()}; push a new version (a published version may only be withdrawn, by pushing its metadata with supported: false)`,
    );
  }
  // Build metadata gives no precedence: 1.2.3+build.6 next to 1.2.3+build.5 would be two versions no range tells apart.
  const samePrecedence =
    existing === undefined
      ? (await deps.store.listVersions()).find(
          (v) => v.name === ref.name && semver.valid(v.version) !== null && semver.eq(v.version, ref.version),
        )
      : undefined;
  if (samePrecedence !== undefined) {
    throw new HttpError(
      409,
      `${request.name} ${request.version} differs from ${samePrecedence.version} (${samePrecedence.status.toLowerCase()}) only by build metadata, which semver ignores; push a new version number`,
    );
  }

  const now = deps.clock();
  let batchId: string | undefined;
  if (request.batch !== undefined) {
    const members = request.batch.members.map((label) => {
      const member = parseRefLabel(label);
      if (member === undefined || !isSafeSegment(member.name) || !isStrictSemver(member.version)) {
        throw new HttpError(400, `batch.members: "${label}" is not name@version, e.g. maps@2.0.0`);
      }
      return member;
    });
    if (!members.some((m) => m.name === ref.name && m.version === ref.version)) {
      throw new HttpError(400, `batch.members must include ${refLabel(ref)} itself`);
    }
    const labels = members.map(refLabel).sort();
    for (const member of members) checkMayPush(provider, member.name);
    const batch = await deps.store.getBatch(request.batch.id);
    if (batch === undefined) {
      const at = new Date(now).toISOString();
      await deps.store
        .saveBatch(
          {
            id: request.batch.id,
            members: members.sort((a, b) => (refLabel(a) < refLabel(b) ? -1 : 1)),
            state: 'OPEN',
            reason: 'collecting members',
            createdAt: at,
            updatedAt: at,
          },
          undefined,
        )
        .catch(async (error: unknown) => {
          // Two members opened the batch at once: fine when both declared the same members (checked below).
          if ((await deps.store.getBatch(request.batch!.id)) === undefined) throw error;
        });
    }
    const stored = (await deps.store.getBatch(request.batch.id))!;
    const storedLabels = stored.members.map(refLabel).sort();
    if (stored.state !== 'OPEN' || storedLabels.join(',') !== labels.join(',')) {
      throw new HttpError(
        409,
        `Batch ${stored.id} is ${stored.state.toLowerCase()} with members ${storedLabels.join(', ')}; use a new batch id for a different release`,
      );
    }
    for (const member of members) await deps.store.putBatchMembership(member, stored.id);
    batchId = stored.id;
  } else {
    await deps.store.deleteBatchMembership(ref);
  }

  const uploadId = randomUUID();
  const expiresAt = new Date(now + UPLOAD_URL_TTL_SECONDS * 1000).toISOString();
  const archive = artifactsKey(ref);
  const meta = metadataKey(ref, request.metadataFile);
  const [archiveUrl, metadataUrl] = await Promise.all([
    deps.objects.presignPut(deps.config.hostBucket, archive, UPLOAD_URL_TTL_SECONDS),
    deps.objects.presignPut(deps.config.hostBucket, meta, UPLOAD_URL_TTL_SECONDS),
  ]);
  await deps.store.saveUpload(
    {
      id: uploadId,
      name: ref.name,
      version: ref.version,
      metadataFileName: request.metadataFile,
      ...(batchId !== undefined ? { batchId } : {}),
      provider: provider.id,
      createdAt: new Date(now).toISOString(),
      expiresAt,
    },
    undefined,
  );
  return {
    uploadId,
    expiresAt,
    artifacts: { key: archive, url: archiveUrl },
    metadata: { key: meta, url: metadataUrl },
    ...(batchId !== undefined ? { batchId } : {}),
  };
}

export interface UploadCompletion {
  readonly uploadId: string;
  readonly name: string;
  readonly version: string;
  readonly execution?: string;
  readonly started: boolean;
  readonly reason?: string;
}

/** @throws HttpError 404 (unknown upload or another provider's), 409 (objects missing), 410 (expired) */
export async function completeUpload(
  deps: SdkServiceDependencies,
  provider: Credential,
  uploadId: string,
): Promise<UploadCompletion> {
  const upload = await deps.store.getUpload(uploadId);
  // Another provider's upload answers like an unknown one: ids are not a way to learn what others push.
  if (upload?.provider !== provider.id) throw new HttpError(404, `No upload ${uploadId} of yours exists`);
  const base = { uploadId, name: upload.name, version: upload.version };
  if (upload.completedAt !== undefined)
    return {
      ...base,
      started: false,
      reason: 'completed before',
      ...(upload.execution !== undefined ? { execution: upload.execution } : {}),
    };
  if (Date.parse(upload.expiresAt) <= deps.clock())
    throw new HttpError(410, `Upload ${uploadId} expired at ${upload.expiresAt}; ask for new upload URLs`);

  const outcome = await intakeVersion(deps, upload);
  if (!outcome.started && outcome.execution === undefined)
    throw new HttpError(409, `Upload ${uploadId} is ${outcome.reason}`);
  const { rev, ...rest } = upload;
  const completed: Omit<UploadRecord, 'rev'> = {
    ...rest,
    completedAt: new Date(deps.clock()).toISOString(),
    ...(outcome.execution !== undefined ? { execution: outcome.execution } : {}),
  };
  await deps.store.saveUpload(completed, rev).catch((error: unknown) => {
    // A concurrent completion recorded the same upload (it started the same execution); anything else must surface.
    if (!(error instanceof SdkConcurrentUpdateError)) throw error;
  });
  return {
    ...base,
    started: outcome.started,
    ...(outcome.execution !== undefined ? { execution: outcome.execution } : {}),
    ...(outcome.started ? {} : { reason: outcome.reason }),
  };
}

export interface VersionStatus {
  readonly name: string;
  readonly version: string;
  readonly status: VersionRecord['status'] | 'REJECTED' | 'RECEIVED';
  readonly reason: string;
  readonly tier?: string;
  readonly batchId?: string;
  readonly updatedAt?: string;
  readonly history: VersionRecord['history'];
  readonly tests?: VersionRecord['tests'];
  readonly intakes: readonly IntakeRecord[];
}

/** May this caller read the status (reasons, tests, intakes) of `sdk`? Only of the SDKs its token may push. */
export function mayReadStatus(caller: Credential, sdk: string): boolean {
  return caller.sdks.includes('*') || caller.sdks.includes(sdk);
}

/**
 * Status of every version the caller may see (optionally one SDK, or one version), newest change first. A
 * provider sees the SDKs its token may push and nothing else: other SDKs' names, tiers, rejection reasons and
 * test logs are theirs.
 * @throws HttpError 403 when the filter names an SDK the caller may not see (whether or not it exists)
 */
export async function sdkStatus(
  deps: SdkServiceDependencies,
  caller: Credential,
  filter: { name?: string; version?: string },
): Promise<VersionStatus[]> {
  if (filter.name !== undefined && !mayReadStatus(caller, filter.name)) {
    throw new HttpError(
      403,
      `Provider ${caller.id} may not see the status of ${filter.name} (its token covers: ${caller.sdks.join(', ') || 'no SDK'})`,
    );
  }
  const versions = (await deps.store.listVersions()).filter(
    (v) =>
      mayReadStatus(caller, v.name) &&
      (filter.name === undefined || v.name === filter.name) &&
      (filter.version === undefined || v.version === filter.version),
  );
  const out: VersionStatus[] = [];
  for (const v of versions) {
    out.push({
      name: v.name,
      version: v.version,
      status: v.status,
      reason: v.reason,
      tier: v.metadata.tier,
      ...(v.batchId !== undefined ? { batchId: v.batchId } : {}),
      updatedAt: v.updatedAt,
      history: v.history,
      ...(v.tests !== undefined ? { tests: v.tests } : {}),
      intakes: await deps.store.listIntakes(v),
    });
  }
  // A version refused before conversion has intakes but no record.
  if (filter.name !== undefined && filter.version !== undefined && out.length === 0) {
    const intakes = await deps.store.listIntakes({ name: filter.name, version: filter.version });
    const last = intakes.at(-1);
    if (last !== undefined) {
      out.push({
        name: filter.name,
        version: filter.version,
        status: last.state === 'REJECTED' ? 'REJECTED' : 'RECEIVED',
        reason: last.reason,
        history: [],
        intakes,
      });
    }
  }
  // Without a version, the refused versions that never got a record are listed too, each with its last reason.
  if (filter.version === undefined) {
    const known = new Set(versions.map(refLabel));
    const refused = new Map<string, IntakeRecord[]>();
    for (const intake of await deps.store.listRejectedIntakes()) {
      if (
        !mayReadStatus(caller, intake.name) ||
        (filter.name !== undefined && intake.name !== filter.name) ||
        known.has(refLabel(intake))
      )
        continue;
      refused.set(refLabel(intake), [...(refused.get(refLabel(intake)) ?? []), intake]);
    }
    for (const intakes of refused.values()) {
      const last = intakes.at(-1)!;
      out.push({
        name: last.name,
        version: last.version,
        status: 'REJECTED',
        reason: last.reason,
        updatedAt: last.at,
        history: [],
        intakes,
      });
    }
  }
  return out.sort((a, b) => ((a.updatedAt ?? '') < (b.updatedAt ?? '') ? 1 : -1));
}
