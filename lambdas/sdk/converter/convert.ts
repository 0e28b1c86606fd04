/**
 * The converter: an accepted SDK version (artifacts zip + validated metadata) -> one package zip in the common
 * format (layout in `layout.ts`), streamed end to end.
 *
 * Memory stays bounded whatever the archive's size: entries are read one at a time from a random-access source
 * (local file or `S3RandomAccessReader`), each flows through a guard (byte counting, limits, SHA-256) into yazl and
 * on to the sink with back-pressure all the way; only the central directory's slim entries and the manifest's
 * digests are held, both capped by `maxEntries`.
 *
 * Nothing is written for a hostile archive: the whole central directory is checked before the sink is opened, and
 * a problem found while streaming (sizes in headers can lie) aborts the sink, which discards what it received.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import type { SdkMetadata } from '../model';
import { SdkError } from '../model';
import { HostileArchiveError, InvalidArchiveError, PackageSinkError } from './errors';
import { inspectArchive, openEntryStream, type ArchiveSource, type CheckedEntry } from './inspect-archive';
import { NestedArchiveSpool, spend, type ExpansionBudget } from './nested-archives';
import { planLayout, type PackageLayout } from './layout';
import { resolveLimits, type ArchiveLimits } from './limits';
import { buildPodspec, type Podspec, type PodspecOptions } from './podspec';
import type { PackageSink } from './sinks';

export interface ConvertSdkInput {
  /** Validated metadata (`parseSdkMetadata`). */
  readonly metadata: SdkMetadata;
  /** The artifacts zip: `{ path }` for a local file, or `S3RandomAccessReader.open(...)`'s result. */
  readonly source: ArchiveSource;
  /** Where the package zip goes; committed only when the whole conversion succeeded. */
  readonly sink: PackageSink;
  /** @default DEFAULT_ARCHIVE_LIMITS (50,000 entries, 2 GiB, ratio 200:1 above 1 MiB, 512-byte paths) */
  readonly limits?: Partial<ArchiveLimits>;
  readonly podspec?: PodspecOptions;
  /**
   * Absolute URL of the folder the package is published in on the package host, e.g.
   * `https://d111.cloudfront.net/public/acme-maps/6.2.0`: the podspec's `source.http` (CocoaPods needs an absolute
   * URL) and each SwiftPM binary target's `url` are this plus the file name. `podspec.packageUrl` wins for the
   * podspec. @default none: file names only, resolved by whoever serves the package
   */
  readonly publishedBaseUrl?: string;
  /**
   * Where each SwiftPM binary target zip (`<Bundle>.xcframework.zip`) is also written as an object of its own, for
   * `.binaryTarget(url:checksum:)`: the very bytes stored in the package, so the manifest's checksum holds for both.
   * Committed before the package, aborted with it. @default none (the zips exist only inside the package)
   */
  readonly binaryTargetSink?: (fileName: string) => PackageSink;
  /** Deflate level for compressible files (0-9). Already-compressed formats are always stored. @default 6 */
  readonly compressionLevel?: number;
  /** Where nested archives are spooled while they are inspected (one at a time, deleted after). @default os.tmpdir() */
  readonly scratchDir?: string;
}

export interface ManifestFile {
  /** Relative to the package root, e.g. `lib/libmaps.a`. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface SwiftBinaryTarget {
  /** The xcframework's name, e.g. `Maps`. */
  readonly name: string;
  /** The separate zip, relative to the package root, e.g. `Maps.xcframework.zip`. */
  readonly path: string;
  /** SHA-256 (hex) of that zip file: what `swift package compute-checksum` prints and `.binaryTarget(checksum:)` wants. */
  readonly checksum: string;
  readonly size: number;
  /** Where the zip is published on its own (`publishedBaseUrl` + file name), for `.binaryTarget(url:)`. */
  readonly url?: string;
}

/** `manifest.json`, the last file of the package. */
export interface PackageManifest {
  readonly schemaVersion: 1;
  readonly name: string;
  readonly version: string;
  /** The package root folder inside the zip, `<name>-<version>`. */
  readonly root: string;
  /** The platform as the metadata declares it, non-Apple ones included (the podspec lists Apple platforms only). */
  readonly platform: SdkMetadata['platform'];
  /** Every file of the package except `manifest.json` itself, sorted by path. */
  readonly files: readonly ManifestFile[];
  readonly swiftPackage?: { readonly binaryTargets: readonly SwiftBinaryTarget[] };
}

export interface ConvertedPackage {
  readonly manifest: PackageManifest;
  readonly podspec: Podspec;
  /** File name of the podspec inside the package root, `<name>.podspec.json`. */
  readonly podspecPath: string;
  /** SHA-256 (hex) and size of the output zip as written to the sink. */
  readonly sha256: string;
  readonly size: number;
  /** Decompressed input bytes read (the xcframework zips read their files a second time, not counted here). */
  readonly bytesRead: number;
}

// Generated files carry a fixed time so that the same input converts to byte-identical output (stable checksums).
const GENERATED_MTIME = new Date('2000-01-01T00:00:00Z');
const GENERATED_MODE = 0o100644;
const STORED = /\.(zip|jar|aar|gz|tgz|xz|bz2|7z|zst|png|jpe?g|gif|webp|heic|mp3|mp4|m4a|mov|car)$/i;

/**
 * An entry the provider's zip tool deflated without gaining 3% is random-like (encrypted, compressed or signed
 * binaries); deflating it again would cost most of the conversion's CPU for nothing, so it is stored. Depends only on
 * the input, so output stays deterministic.
 */
function alreadyIncompressible(entry: CheckedEntry): boolean {
  return (
    entry.zipEntry.compressionMethod === 8 &&
    entry.uncompressedSize >= 64 * 1024 &&
    entry.compressedSize >= entry.uncompressedSize * 0.97
  );
}

/**
 * Counts and hashes one entry's decompressed bytes, and enforces the limits on what is really there: the entry's
 * ratio, and (for entries of the input itself, which carry the budget) the total size and total ratio, with nested
 * archives inspected under the same budget. Sizes and CRC-32 are checked upstream by `openEntryStream`.
 */
class EntryGuard extends Transform {
  private readonly hash = createHash('sha256');
  private readonly spool: NestedArchiveSpool | undefined;
  bytes = 0;
  sha256 = '';

  constructor(
    private readonly entry: CheckedEntry,
    private readonly limits: ArchiveLimits,
    private readonly budget: ExpansionBudget | undefined,
    scratchDir: string,
  ) {
    super();
    this.spool = budget === undefined ? undefined : new NestedArchiveSpool(entry.storedName, 0, scratchDir);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const entry = this.entry;
    try {
      if (this.budget !== undefined) spend(this.budget, chunk.length, entry.storedName, this.limits);
      if (
        this.bytes > this.limits.ratioExemptBytes &&
        this.bytes > this.limits.maxCompressionRatio * entry.compressedSize
      ) {
        throw new HostileArchiveError(
          entry.storedName,
          'compression-ratio',
          `inflates beyond ${this.limits.maxCompressionRatio}:1`,
        );
      }
    } catch (error) {
      return callback(error as Error);
    }
    this.hash.update(chunk);
    if (this.spool === undefined) return callback(null, chunk);
    this.spool.write(chunk).then(() => callback(null, chunk), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    if (this.spool === undefined) return callback();
    this.spool.check(this.budget!, this.limits).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.spool === undefined) return callback(error);
    this.spool.discard().then(
      () => callback(error),
      () => callback(error),
    );
  }
}

/** Passes bytes through, keeping their count and SHA-256. */
class HashTap extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  sha256 = '';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    callback();
  }
}

declare module 'yazl' {
  /** yazl 3 API that @types/yazl (2.x) does not declare yet. */
  interface ZipFile {
    addReadStreamLazy(
      path: string,
      options: object,
      getStream: (callback: (error: Error | null, stream: Readable) => void) => void,
    ): void;
  }
}

/**
 * Adds a stream to a zip without yazl keeping it: yazl holds each entry's stream function until the zip ends, and a
 * plain `addReadStream` closure would keep every finished stream, with its pipeline and zlib buffers, alive for the
 * whole conversion (about 60 KB per entry, which many small files turn into hundreds of MB).
 */
function addStream(zip: yazl.ZipFile, path: string, options: object, stream: Readable): void {
  let handOver: Readable | undefined = stream;
  zip.addReadStreamLazy(path, options, (callback) => {
    const taken = handOver!;
    handOver = undefined;
    callback(null, taken);
  });
}

function wrapReadError(entry: CheckedEntry, error: unknown): Error {
  if (error instanceof SdkError) return error;
  return new InvalidArchiveError(
    `Cannot read entry "${entry.storedName}": ${(error as Error).message}. Fix: re-create the archive with a standard zip tool`,
    {
      cause: error,
      details: { entry: entry.storedName },
    },
  );
}

/**
 * Converts one SDK version into its package zip.
 * @throws HostileArchiveError, InvalidArchiveError, PackageLayoutError, MetadataError (a dependency range with no
 *   CocoaPods form) or PackageSinkError; in every case the sink was aborted, or never opened.
 * @example
 * const result = await convertSdkPackage({
 *   metadata,
 *   source: { path: '/tmp/acme-maps-6.2.0.zip' },
 *   sink: new LocalFileSink('/tmp/out/acme-maps-6.2.0.zip'),
 * });
 * console.log(result.sha256, result.manifest.swiftPackage?.binaryTargets);
 */
export async function convertSdkPackage(input: ConvertSdkInput): Promise<ConvertedPackage> {
  const limits = resolveLimits(input.limits);
  const level = input.compressionLevel ?? 6;
  const { metadata, sink } = input;

  // Everything that can refuse the input without reading entry data runs before the sink is opened.
  const archive = await inspectArchive(input.source, limits);
  let layout: PackageLayout;
  let podspec: Podspec;
  const baseUrl = input.publishedBaseUrl?.replace(/\/+$/, '');
  try {
    layout = planLayout(metadata.name, metadata.version, archive.entries);
    const packageUrl =
      input.podspec?.packageUrl ?? (baseUrl !== undefined ? `${baseUrl}/${layout.root}.zip` : undefined);
    podspec = buildPodspec(metadata, layout, { ...input.podspec, ...(packageUrl !== undefined ? { packageUrl } : {}) });
  } catch (error) {
    archive.zipfile.close();
    throw error;
  }

  const outer = new yazl.ZipFile();
  const tap = new HashTap();
  const ownSinks: PackageSink[] = [];
  // A failure anywhere (yazl, the sink) must also end whatever step is being awaited. Not Promise.race against one
  // long-lived promise: every race leaves a reaction on it, and each would keep its step's result (an entry stream
  // with its zlib buffers) alive until the conversion ends.
  let failure: Error | undefined;
  const waiting = new Set<(error: Error) => void>();
  const failed = (error: Error) => {
    failure ??= error;
    for (const reject of waiting) reject(failure);
  };
  const step = <T>(work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure !== undefined) return reject(failure);
      waiting.add(reject);
      work.then(resolve, reject).finally(() => waiting.delete(reject));
    });
  outer.on('error', (error: Error) => failed(error));

  try {
    const writable = sink.open();
    const written = pipeline(outer.outputStream, tap, writable).catch((error: unknown) => {
      const wrapped =
        error instanceof SdkError
          ? error
          : new PackageSinkError(`Writing the package failed: ${(error as Error).message}`, { cause: error });
      failed(wrapped);
      throw wrapped;
    });
    // Marked handled so a failure before step(written) awaits it is not an unhandled rejection; failed() saw it.
    written.catch(() => undefined);

    const root = layout.root;
    const files: ManifestFile[] = [];
    const addGenerated = (path: string, text: string) => {
      const data = Buffer.from(text, 'utf8');
      outer.addBuffer(data, `${root}/${path}`, { mtime: GENERATED_MTIME, mode: GENERATED_MODE, compress: true });
      files.push({ path, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    };

    const metadataJson = `${JSON.stringify(metadata, null, 2)}\n`;
    addGenerated('lockstep-sdk.json', metadataJson);
    const podspecPath = `${metadata.name}.podspec.json`;
    addGenerated(podspecPath, `${JSON.stringify(podspec, null, 2)}\n`);

    const budget: ExpansionBudget = { used: 0, compressedTotal: archive.compressedTotalBytes };
    const scratchDir = input.scratchDir ?? tmpdir();
    const pump = async (
      zip: yazl.ZipFile,
      entry: CheckedEntry,
      path: string,
      guardBudget: ExpansionBudget | undefined,
    ): Promise<EntryGuard> => {
      let source: Readable;
      try {
        source = await step(openEntryStream(archive.zipfile, entry));
      } catch (error) {
        throw wrapReadError(entry, error);
      }
      const guard = new EntryGuard(entry, limits, guardBudget, scratchDir);
      const compress = level > 0 && !STORED.test(path) && !alreadyIncompressible(entry);
      const options: Partial<yazl.ReadStreamOptions> & { compressionLevel?: number } = {
        mtime: entry.mtime,
        mode: entry.mode,
        compress,
        size: entry.uncompressedSize,
      };
      if (compress) options.compressionLevel = level;
      addStream(zip, path, options, guard);
      try {
        await step(Promise.all([pipeline(source, guard), finished(guard)]));
      } catch (error) {
        source.destroy();
        guard.destroy();
        throw wrapReadError(entry, error);
      }
      return guard;
    };

    const ordered = [...layout.files].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    for (const { entry, target } of ordered) {
      const guard = await pump(outer, entry, `${root}/${target}`, budget);
      files.push({ path: target, size: guard.bytes, sha256: guard.sha256 });
    }

    const binaryTargets: SwiftBinaryTarget[] = [];
    for (const bundle of layout.xcframeworks) {
      const inner = new yazl.ZipFile();
      inner.on('error', (error: Error) => failed(error));
      const innerTap = new HashTap();
      const path = `${bundle.name}.xcframework.zip`;
      let innerBytes: Readable = inner.outputStream.pipe(innerTap);
      let ownObject: Promise<void> | undefined;
      if (input.binaryTargetSink !== undefined) {
        const own = input.binaryTargetSink(path);
        ownSinks.push(own);
        const writable = own.open();
        writable.on('error', (error: Error) =>
          failed(new PackageSinkError(`Writing ${path} failed: ${error.message}`, { cause: error })),
        );
        ownObject = finished(innerTap.pipe(writable));
        // Its failure reaches every awaited step through failed() above, wrapped; this copy is only awaited later.
        ownObject.catch(() => undefined);
        // yazl starts reading the entry only when it gets to it; the PassThrough holds the bytes until then (the
        // pipe to the own object starts the flow at once), with back-pressure on both.
        innerBytes = innerTap.pipe(new PassThrough());
      }
      // Stored, not deflated again: it is a zip already, and the package host can serve it by range from the package.
      addStream(
        outer,
        `${root}/${path}`,
        { mtime: GENERATED_MTIME, mode: GENERATED_MODE, compress: false },
        innerBytes,
      );
      const innerFiles = [...bundle.files].sort((a, b) => (a.inner < b.inner ? -1 : a.inner > b.inner ? 1 : 0));
      for (const { entry, inner: innerPath } of innerFiles) await pump(inner, entry, innerPath, undefined);
      inner.end();
      await step(finished(innerTap));
      if (ownObject !== undefined) await step(ownObject);
      files.push({ path, size: innerTap.bytes, sha256: innerTap.sha256 });
      binaryTargets.push({
        name: bundle.name,
        path,
        checksum: innerTap.sha256,
        size: innerTap.bytes,
        ...(baseUrl !== undefined ? { url: `${baseUrl}/${path}` } : {}),
      });
    }

    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest: PackageManifest = {
      schemaVersion: 1,
      name: metadata.name,
      version: metadata.version,
      root,
      platform: metadata.platform,
      files,
      ...(binaryTargets.length > 0 ? { swiftPackage: { binaryTargets } } : {}),
    };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    outer.addBuffer(Buffer.from(manifestText, 'utf8'), `${root}/manifest.json`, {
      mtime: GENERATED_MTIME,
      mode: GENERATED_MODE,
      compress: true,
    });
    outer.end();
    await step(written);
    archive.zipfile.close();
    for (const own of ownSinks) await own.commit();
    await sink.commit();
    return { manifest, podspec, podspecPath, sha256: tap.sha256, size: tap.bytes, bytesRead: budget.used };
  } catch (error) {
    archive.zipfile.close();
    outer.outputStream.unpipe();
    tap.destroy();
    // The conversion's error is the one to report; a failed clean-up must not replace it.
    await sink.abort().catch(() => undefined);
    for (const own of ownSinks) await own.abort().catch(() => undefined);
    throw error;
  }
}
