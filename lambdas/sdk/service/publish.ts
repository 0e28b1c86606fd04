/**
 * Publication: single SDKs and atomic batches, without transactions.
 *
 * Readers (the download API, `lockstep sdk install`) trust only `index.json`; objects on the package host that
 * the index does not list are invisible to them (the download API signs only keys the index lists). So:
 *
 * 1. every member's package is copied from staging to its tier key on the package host (idempotent copies);
 * 2. one conditional write is the commit point: the version READY -> PUBLISHED (single), or the batch record
 *    READY -> PUBLISHED (batch). Before it nothing is visible; after it everything is, because
 * 3. the members are rolled forward to PUBLISHED (a member still READY in a PUBLISHED batch already counts as
 *    published, see `isPublished`), and
 * 4. the index is rebuilt from the table under a lease (so two publications never overwrite each other's index
 *    with a stale one) and withdrawn versions' objects are deleted.
 *
 * A crash before 2 leaves unlisted objects that the retry overwrites; a crash after 2 is finished by the retry
 * (every step is idempotent) or by the next intake poll (`finishPublications`).
 */
import semver from 'semver';
import { packageKey, INDEX_KEY } from '../host/keys';
import { buildIndex, type PackageIndex, type PublishedPackage } from '../host/package-index';
import type { SdkVersionRef } from '../model';
import { sampleAppNotBuilt } from '../records/test-results';
import type { SdkServiceDependencies } from './dependencies';
import type { ObjectStore } from '../../ports/sdk';
import { IndexBusyError, SdkNotFoundError } from './errors';
import { refLabel } from './keys';
import type { BatchRecord, VersionRecord } from '../records/records';
import { batchesOf, findVersion, isPublished } from './staging-area';
import { withStatus } from './transitions';

/** How long an index writer may hold the lease before another may take over. */
export const INDEX_LEASE_MS = 60_000;

export type PublishOutcome =
  | { readonly published: true; readonly refs: readonly SdkVersionRef[]; readonly withdrawn: boolean }
  | {
      readonly published: false;
      readonly refs: readonly SdkVersionRef[];
      readonly reason: string;
      readonly waitingFor: readonly SdkVersionRef[];
    };

const refOf = (r: VersionRecord): SdkVersionRef => ({ name: r.name, version: r.version });

/** "; sample app not built: <reason>" when the tester could not build this version's platform, so the status and the notification say so. */
function untested(r: VersionRecord): string {
  const note = sampleAppNotBuilt(r.tests?.packages.find((p) => p.name === r.name && p.version === r.version));
  return note === undefined ? '' : `; ${note}`;
}

/**
 * Publishes the (tested) package `ref`, or its whole batch; withdraws it when its metadata now says unsupported.
 *
 * @throws SdkNotFoundError, SdkConcurrentUpdateError, IndexBusyError (all retryable by the state machine)
 */
export async function publishPackage(
  deps: SdkServiceDependencies,
  ref: SdkVersionRef,
  owner: string,
): Promise<PublishOutcome> {
  const record = await deps.store.getVersion(ref);
  if (record === undefined)
    throw new SdkNotFoundError(`${refLabel(ref)} is not in the SDK table`, { details: { ...ref } });

  const publishedKey = (tier: VersionRecord['metadata']['tier']) =>
    packageKey(tier, record.name, record.version, record.package.fileName);
  if ((record.status === 'PUBLISHED' && !record.metadata.supported) || record.status === 'WITHDRAWN') {
    // WITHDRAWN already: a retried or resumed step, which repeats the index and the invalidation (both idempotent).
    const withdrawn =
      record.status === 'WITHDRAWN'
        ? record
        : await deps.store.saveVersion(
            withStatus(record, 'WITHDRAWN', 'withdrawn: its metadata says it is no longer supported', deps.clock()),
            record.rev,
          );
    await rebuildIndex(deps, owner);
    const keys = [
      publishedKey(withdrawn.metadata.tier),
      ...(withdrawn.movedFrom !== undefined ? [publishedKey(withdrawn.movedFrom)] : []),
    ];
    await deps.cdn?.invalidate(keys, invalidationReference(owner, ref, 'withdrawn'));
    return { published: true, refs: [ref], withdrawn: true };
  }
  if (record.status === 'PUBLISHED' && record.movedFrom !== undefined) {
    // A tier change: the new key first, then the index that lists it, then the old key goes and its cached copies.
    const from = record.movedFrom;
    // The index lists the record's (new) tier already; `movedFrom` is cleared last, so a retry repeats every step.
    await deps.objects.copy(
      deps.config.stagingBucket,
      record.package.key,
      deps.config.packageHostBucket,
      publishedKey(record.metadata.tier),
    );
    await rebuildIndex(deps, owner);
    await deps.objects.delete(deps.config.packageHostBucket, [publishedKey(from)]);
    await deps.cdn?.invalidate([publishedKey(from)], invalidationReference(owner, ref, `moved-from-${from}`));
    await deps.store.saveVersion(
      withStatus(record, 'PUBLISHED', `moved from the ${from} tier to the ${record.metadata.tier} tier`, deps.clock(), {
        movedFrom: undefined,
      }),
      record.rev,
    );
    return { published: true, refs: [ref], withdrawn: false };
  }

  const versions = await deps.store.listVersions();
  const batch = record.batchId !== undefined ? await deps.store.getBatch(record.batchId) : undefined;
  const members = batch !== undefined ? batch.members.map((m) => findVersion(versions, m)) : [record];
  if (members.some((m) => m === undefined))
    throw new SdkNotFoundError(`A member of batch ${record.batchId} is missing from the SDK table`);
  const memberRecords = members as VersionRecord[];
  const batches = await batchesOf(deps, versions);

  const committed = batch !== undefined ? batch.state === 'PUBLISHED' : record.status === 'PUBLISHED';
  const committedBy = batch !== undefined ? batch.publishedBy : record.publishedBy;
  if (committed && committedBy !== owner) {
    // Another execution published it (two publishers raced, e.g. a recheck and the package's own run): finish
    // the work idempotently, and leave the announcement to the one that committed.
    await rollForward(deps, memberRecords.map(refOf));
    await rebuildIndex(deps, owner);
    return {
      published: false,
      refs: memberRecords.map(refOf),
      reason: `published already by ${committedBy ?? 'another execution'}`,
      waitingFor: [],
    };
  }
  if (!committed) {
    const notReady = memberRecords.filter((m) => m.status !== 'READY');
    if (notReady.length > 0) {
      return {
        published: false,
        refs: memberRecords.map(refOf),
        reason: `not ready to publish: ${notReady.map((m) => `${refLabel(m)} is ${m.status}`).join(', ')}`,
        waitingFor: [],
      };
    }
    // Dependencies outside the release must be published first: the tester may have used staged ones.
    const memberKeys = new Set(memberRecords.map(refLabel));
    const unpublished = [
      ...new Map(
        memberRecords
          .flatMap((m) => m.resolved ?? [])
          .filter((r) => !memberKeys.has(refLabel(r)))
          .filter((r) => {
            const v = findVersion(versions, r);
            return v === undefined || !isPublished(v, batches);
          })
          .map((r) => [refLabel(r), r] as const),
      ).values(),
    ];
    if (unpublished.length > 0) {
      const reason = `tested; waiting for ${unpublished.map((r) => `${r.name} ${r.version}`).join(', ')} to be published first`;
      for (const m of memberRecords)
        if (m.reason !== reason) await deps.store.saveVersion(withStatus(m, 'READY', reason, deps.clock()), m.rev);
      return { published: false, refs: memberRecords.map(refOf), reason, waitingFor: unpublished };
    }

    for (const m of memberRecords) {
      for (const file of [m.package, ...(m.package.binaryTargets ?? [])]) {
        await deps.objects.copy(
          deps.config.stagingBucket,
          file.key,
          deps.config.packageHostBucket,
          packageKey(m.metadata.tier, m.name, m.version, file.fileName),
        );
      }
    }
    const at = new Date(deps.clock()).toISOString();
    if (batch !== undefined) {
      await deps.store.saveBatch(
        { ...withoutRev(batch), state: 'PUBLISHED', reason: `published at ${at}`, publishedBy: owner, updatedAt: at },
        batch.rev,
      );
    } else {
      await deps.store.saveVersion(
        withStatus(
          record,
          'PUBLISHED',
          `published to the ${record.metadata.tier} tier${untested(record)}`,
          deps.clock(),
          { publishedAt: at, publishedBy: owner },
        ),
        record.rev,
      );
    }
  }

  await rollForward(deps, memberRecords.map(refOf));
  await rebuildIndex(deps, owner);
  return { published: true, refs: memberRecords.map(refOf), withdrawn: false };
}

/** CloudFront's CallerReference (at most 128 characters): the same step of the same execution names the same invalidation. */
function invalidationReference(owner: string, ref: SdkVersionRef, what: string): string {
  return `${owner}:${refLabel(ref)}:${what}`.slice(0, 128);
}

function withoutRev(batch: BatchRecord): Omit<BatchRecord, 'rev'> {
  const { rev: _rev, ...rest } = batch;
  return rest;
}

/** Members of a committed publication still READY become PUBLISHED (idempotent). */
async function rollForward(deps: SdkServiceDependencies, refs: readonly SdkVersionRef[]): Promise<void> {
  for (const ref of refs) {
    const current = await deps.store.getVersion(ref);
    if (current?.status !== 'READY') continue;
    const at = new Date(deps.clock()).toISOString();
    await deps.store.saveVersion(
      withStatus(
        current,
        'PUBLISHED',
        `${`published to the ${current.metadata.tier} tier with batch ${current.batchId ?? ''}`.trim()}${untested(current)}`,
        deps.clock(),
        { publishedAt: at },
      ),
      current.rev,
    );
  }
}

/**
 * Finishes publications cut short after their commit point (the intake poll calls this): READY members of
 * PUBLISHED batches are rolled forward and the index rebuilt. @returns the refs rolled forward
 */
export async function finishPublications(deps: SdkServiceDependencies, owner: string): Promise<SdkVersionRef[]> {
  const versions = await deps.store.listVersions();
  const batches = await batchesOf(deps, versions);
  const pending = versions.filter((v) => v.status === 'READY' && isPublished(v, batches)).map(refOf);
  if (pending.length === 0) return [];
  await rollForward(deps, pending);
  await rebuildIndex(deps, owner);
  return pending;
}

/**
 * Writes `index.json` from the SDK table (every published and withdrawn version) and deletes withdrawn versions'
 * objects. @throws IndexBusyError while another writer holds the lease
 */
export async function rebuildIndex(deps: SdkServiceDependencies, owner: string): Promise<PackageIndex> {
  if (!(await deps.store.acquireIndexLease(owner, deps.clock(), INDEX_LEASE_MS))) {
    throw new IndexBusyError('Another publication is writing the package index; retrying shortly', {
      details: { owner },
    });
  }
  try {
    const versions = await deps.store.listVersions();
    const batches = await batchesOf(deps, versions);
    const published: PublishedPackage[] = versions
      .filter((v) => isPublished(v, batches) || v.status === 'WITHDRAWN')
      .map((v) => ({
        metadata: v.status === 'WITHDRAWN' ? { ...v.metadata, supported: false } : v.metadata,
        files: [v.package, ...(v.package.binaryTargets ?? [])].map((f) => ({
          name: f.fileName,
          sha256: f.sha256,
          size: f.size,
        })),
      }))
      .sort((a, b) =>
        a.metadata.name === b.metadata.name
          ? semver.compare(a.metadata.version, b.metadata.version)
          : a.metadata.name < b.metadata.name
            ? -1
            : 1,
      );
    const index = buildIndex(published, { generatedAt: new Date(deps.clock()).toISOString() });
    await deps.objects.put(
      deps.config.packageHostBucket,
      INDEX_KEY,
      `${JSON.stringify(index, null, 2)}\n`,
      'application/json',
    );
    const withdrawnKeys = index.sdks.flatMap((s) => s.withdrawn.flatMap((w) => w.keys));
    if (withdrawnKeys.length > 0) await deps.objects.delete(deps.config.packageHostBucket, withdrawnKeys);
    return index;
  } finally {
    await deps.store.releaseIndexLease(owner);
  }
}

/** The published index, or an empty one before anything was published. */
export async function readIndex(objects: ObjectStore, packageHostBucket: string, now: number): Promise<PackageIndex> {
  const bytes = await objects.getBytes(packageHostBucket, INDEX_KEY, 64 * 1024 * 1024);
  if (bytes === undefined) return { formatVersion: 1, generatedAt: new Date(now).toISOString(), sdks: [] };
  return JSON.parse(bytes.toString('utf8')) as PackageIndex;
}
