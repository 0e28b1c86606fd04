/**
 * The staging area as the pure staging decisions see it (`StagingArea`), built from the SDK table's versions and
 * the contents objects in the staging bucket.
 */
import type { SdkMetadata, SdkVersionRef } from '../model';
import { contentsKey, type StagedPackage, type StagingArea } from '../staging/decide';
import type { PackageContents } from '../staging/duplicates';
import type { SdkServiceDependencies } from './dependencies';
import type { BatchRecord, VersionRecord } from '../records/records';

/** Largest contents object read (a package with 50,000 files and their symbols stays well below). */
const MAX_CONTENTS_BYTES = 64 * 1024 * 1024;

/**
 * Is this version published, as readers of the index see it? PUBLISHED, or READY in a batch whose record was
 * flipped to PUBLISHED (the batch's commit point) before its members were rolled forward.
 */
export function isPublished(record: VersionRecord, batches: ReadonlyMap<string, BatchRecord>): boolean {
  if (record.status === 'PUBLISHED') return true;
  return (
    record.status === 'READY' && record.batchId !== undefined && batches.get(record.batchId)?.state === 'PUBLISHED'
  );
}

/** Every batch that a version names, by id. */
export async function batchesOf(
  deps: SdkServiceDependencies,
  versions: readonly VersionRecord[],
): Promise<Map<string, BatchRecord>> {
  const ids = [...new Set(versions.map((v) => v.batchId).filter((id): id is string => id !== undefined))];
  const batches = await Promise.all(ids.map((id) => deps.store.getBatch(id)));
  return new Map(batches.filter((b): b is BatchRecord => b !== undefined).map((b) => [b.id, b]));
}

export interface LoadedArea {
  readonly area: StagingArea;
  readonly versions: readonly VersionRecord[];
  readonly batches: ReadonlyMap<string, BatchRecord>;
}

/**
 * Reads the staging area. Contents (for duplicate detection) are read for every staged package that can still be
 * published and every published version, since a clash with either matters.
 */
export async function loadStagingArea(
  deps: SdkServiceDependencies,
  options: { withContents: boolean | 'when-any-open' },
): Promise<LoadedArea> {
  const versions = await deps.store.listVersions();
  const batches = await batchesOf(deps, versions);
  const published: SdkMetadata[] = [];
  const staged: StagedPackage[] = [];
  for (const v of versions) {
    if (isPublished(v, batches)) {
      if (v.metadata.supported) published.push(v.metadata);
    } else if (v.status !== 'PUBLISHED' && v.status !== 'WITHDRAWN') {
      staged.push({
        metadata: v.metadata,
        status: v.status,
        ...(v.batchId !== undefined ? { batchId: v.batchId } : {}),
      });
    }
  }
  let contents: Map<string, PackageContents> | undefined;
  // 'when-any-open': only a WAITING or CONFLICT version is decided again, so without one the contents are not needed.
  const open = versions.some((v) => v.status === 'WAITING' || v.status === 'CONFLICT');
  if (options.withContents === true || (options.withContents === 'when-any-open' && open)) {
    contents = new Map();
    const wanted = versions.filter((v) => v.status !== 'WITHDRAWN' && v.status !== 'TEST_FAILED');
    const loaded = await Promise.all(
      wanted.map(async (v) => {
        const bytes = await deps.objects.getBytes(deps.config.stagingBucket, v.contentsKey, MAX_CONTENTS_BYTES);
        return [v, bytes] as const;
      }),
    );
    for (const [v, bytes] of loaded) {
      if (bytes === undefined) continue;
      const parsed = JSON.parse(bytes.toString('utf8')) as PackageContents;
      contents.set(contentsKey(v), {
        files: parsed.files,
        ...(parsed.symbols !== undefined ? { symbols: parsed.symbols } : {}),
      });
    }
  }
  return { area: { published, staged, ...(contents !== undefined ? { contents } : {}) }, versions, batches };
}

export function findVersion(versions: readonly VersionRecord[], ref: SdkVersionRef): VersionRecord | undefined {
  return versions.find((v) => v.name === ref.name && v.version === ref.version);
}
