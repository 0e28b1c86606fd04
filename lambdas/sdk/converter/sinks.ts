/**
 * Where a converted package is written. A sink makes output visible only on `commit()`; until then what was
 * written is invisible to readers (a temp file, or an incomplete multipart upload), and `abort()` discards it. That
 * is what lets the converter refuse a hostile archive halfway through the stream with nothing left behind.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PackageSinkError } from './errors';

export interface PackageSink {
  /** The stream the package is written to. Called once, only after the input passed its central-directory checks. */
  open(): Writable;
  /** Makes the output visible. Called once, after the stream has finished. */
  commit(): Promise<void>;
  /** Discards whatever was written. Safe before `open()`, after a failed `commit()`, and more than once. */
  abort(): Promise<void>;
}

/**
 * Writes to a temp file next to `path` (`.<name>.<random>.partial`, same folder so the rename is atomic) and renames
 * it to `path` on commit.
 * @example const sink = new LocalFileSink('/tmp/out/acme-maps-6.2.0.zip');
 */
export class LocalFileSink implements PackageSink {
  private readonly tempPath: string;
  private stream: Writable | undefined;

  constructor(readonly path: string) {
    this.tempPath = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  }

  open(): Writable {
    if (this.stream !== undefined) throw new PackageSinkError(`LocalFileSink for ${this.path} was opened twice`);
    this.stream = createWriteStream(this.tempPath, { flags: 'wx' });
    return this.stream;
  }

  async commit(): Promise<void> {
    if (this.stream === undefined)
      throw new PackageSinkError(`LocalFileSink for ${this.path} was committed before it was opened`);
    try {
      if (!this.stream.closed) await finished(this.stream);
      await rename(this.tempPath, this.path);
    } catch (error) {
      await this.abort();
      throw new PackageSinkError(`Could not write ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async abort(): Promise<void> {
    if (this.stream === undefined) return;
    if (!this.stream.closed) {
      this.stream.destroy();
      // destroy() makes finished() reject (premature close): we only wait for the file to be closed.
      await finished(this.stream).catch(() => undefined);
    }
    await unlink(this.tempPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}

export interface S3MultipartSinkOptions {
  /** Created once per cold start by the caller (`lambdas/adapters/aws-clients.ts`), not here. */
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Bytes per part; S3 needs at least 5 MiB for every part but the last. @default 8 MiB */
  readonly partSize?: number;
  /** Parts uploading at once; memory is about (queueSize + 1) x partSize. @default 2 */
  readonly queueSize?: number;
  /** @default 'application/zip' */
  readonly contentType?: string;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * Streams to S3 with a multipart upload, completed on `commit()` and aborted on `abort()`; an output smaller than
 * one part is held and written with one PutObject on commit. Either way no object exists under `key` until commit.
 */
export class S3MultipartSink implements PackageSink {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly contentType: string;
  private stream: Writable | undefined;
  private uploadId: Promise<string> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  private nextPartNumber = 1;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private small: Buffer | undefined;
  private done = false;

  constructor(options: S3MultipartSinkOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.key = options.key;
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    this.queueSize = options.queueSize ?? 2;
    this.contentType = options.contentType ?? 'application/zip';
    if (this.partSize < MIN_PART_SIZE)
      throw new PackageSinkError(`partSize ${this.partSize} is below the S3 minimum of ${MIN_PART_SIZE} bytes`);
  }

  open(): Writable {
    if (this.stream !== undefined)
      throw new PackageSinkError(`S3MultipartSink for s3://${this.bucket}/${this.key} was opened twice`);
    this.stream = new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        if (this.pendingBytes < this.partSize) return callback();
        this.uploadFullParts().then(() => callback(), callback);
      },
      final: (callback) => {
        this.finish().then(() => callback(), callback);
      },
    });
    return this.stream;
  }

  private takeBytes(count: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const taken = all.subarray(0, count);
    const rest = all.subarray(count);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return taken;
  }

  private async uploadFullParts(): Promise<void> {
    while (this.pendingBytes >= this.partSize) {
      // Wait for a free slot first: that wait is the back-pressure that bounds memory.
      while (this.inFlight.size >= this.queueSize) await Promise.race(this.inFlight);
      this.startPart(this.takeBytes(this.partSize));
    }
  }

  private startPart(body: Buffer): void {
    const partNumber = this.nextPartNumber++;
    this.uploadId ??= this.client
      .send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: this.contentType }))
      .then((r) => {
        if (r.UploadId === undefined) throw new PackageSinkError('CreateMultipartUpload returned no UploadId');
        return r.UploadId;
      });
    const upload = this.uploadId
      .then((UploadId) =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.key,
            UploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
          }),
        ),
      )
      .then((r) => {
        if (r.ETag === undefined) throw new PackageSinkError(`UploadPart ${partNumber} returned no ETag`);
        this.parts.push({ PartNumber: partNumber, ETag: r.ETag });
      });
    const tracked: Promise<void> = upload.finally(() => this.inFlight.delete(tracked));
    // Awaited by the next write, by final() or by abort(); marked handled so a failure between those is not "unhandled".
    tracked.catch(() => undefined);
    this.inFlight.add(tracked);
  }

  private async finish(): Promise<void> {
    if (this.uploadId === undefined) {
      this.small = this.takeBytes(this.pendingBytes);
      return;
    }
    if (this.pendingBytes > 0) this.startPart(this.takeBytes(this.pendingBytes));
    await Promise.all(this.inFlight);
  }

  async commit(): Promise<void> {
    if (this.stream === undefined)
      throw new PackageSinkError(
        `S3MultipartSink for s3://${this.bucket}/${this.key} was committed before it was opened`,
      );
    try {
      if (!this.stream.writableFinished) await finished(this.stream);
      if (this.small !== undefined) {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key,
            Body: this.small,
            ContentLength: this.small.length,
            ContentType: this.contentType,
          }),
        );
      } else {
        const UploadId = await this.uploadId!;
        const Parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key,
            UploadId,
            MultipartUpload: { Parts },
          }),
        );
      }
      this.done = true;
    } catch (error) {
      await this.abort();
      throw new PackageSinkError(
        `Could not complete the upload to s3://${this.bucket}/${this.key}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stream?.destroy();
    this.pending = [];
    this.pendingBytes = 0;
    this.small = undefined;
    // Parts still uploading would otherwise survive the abort as storage that is billed.
    await Promise.allSettled(this.inFlight);
    if (this.uploadId === undefined) return;
    // CreateMultipartUpload failed (and the write that awaited it reported why): there is no upload to abort.
    const UploadId = await this.uploadId.catch(() => undefined);
    if (UploadId === undefined) return;
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId }));
  }
}
