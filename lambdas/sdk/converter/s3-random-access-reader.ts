/**
 * Lets yauzl read a zip straight from S3 with ranged GETs, so a Lambda converts an archive of any size without
 * downloading it first.
 *
 * Reads go through fixed-size blocks held in a small LRU cache: the central directory's many small reads become a
 * few GETs, and while one block streams out the next is already being fetched (read-ahead). Memory is about
 * `maxCachedBlocks x blockSize` whatever the archive size. Every GET carries `IfMatch` with the ETag seen when the
 * reader opened, so an object replaced mid-conversion fails the read instead of mixing two archives.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import yauzl from 'yauzl';
import { InvalidArchiveError } from './errors';

export interface S3RandomAccessReaderOptions {
  /** Created by the caller, once per cold start. */
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Bytes per ranged GET. @default 4 MiB */
  readonly blockSize?: number;
  /** Blocks kept in memory, the read-ahead block included; at least 2. @default 4 */
  readonly maxCachedBlocks?: number;
}

export class S3RandomAccessReader extends yauzl.RandomAccessReader {
  /** GETs issued so far (for tests and metrics). */
  requests = 0;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private readonly blockSize: number;
  private readonly maxCachedBlocks: number;
  private readonly cache = new Map<number, Promise<Buffer>>();

  /**
   * Reads the object's size and ETag with HeadObject and returns a reader for `convertSdkPackage`'s `source`.
   * @example
   * const source = await S3RandomAccessReader.open({ client: s3, bucket: 'sdk-host', key: 'acme-maps/6.2.0/artifacts.zip' });
   * await convertSdkPackage({ source, metadata, sink });
   */
  static async open(options: S3RandomAccessReaderOptions): Promise<{ reader: S3RandomAccessReader; size: number }> {
    const head = await options.client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: options.key }));
    if (head.ContentLength === undefined)
      throw new InvalidArchiveError(`s3://${options.bucket}/${options.key} reports no size`);
    return {
      reader: new S3RandomAccessReader({ ...options, size: head.ContentLength, etag: head.ETag }),
      size: head.ContentLength,
    };
  }

  readonly size: number;
  private readonly etag: string | undefined;

  constructor(options: S3RandomAccessReaderOptions & { readonly size: number; readonly etag?: string | undefined }) {
    super();
    this.client = options.client;
    this.bucket = options.bucket;
    this.key = options.key;
    this.size = options.size;
    this.etag = options.etag;
    this.blockSize = options.blockSize ?? 4 * 1024 * 1024;
    this.maxCachedBlocks = Math.max(2, options.maxCachedBlocks ?? 4);
  }

  private block(index: number): Promise<Buffer> {
    const cached = this.cache.get(index);
    if (cached !== undefined) {
      // Refresh its place in the LRU order.
      this.cache.delete(index);
      this.cache.set(index, cached);
      return cached;
    }
    const start = index * this.blockSize;
    const end = Math.min(this.size, start + this.blockSize);
    this.requests++;
    const fetched = this.client
      .send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Range: `bytes=${start}-${end - 1}`,
          ...(this.etag !== undefined ? { IfMatch: this.etag } : {}),
        }),
      )
      .then(async (response) => {
        if (response.Body === undefined) throw new Error('empty response body');
        const bytes = await response.Body.transformToByteArray();
        if (bytes.byteLength !== end - start)
          throw new Error(`expected ${end - start} bytes at ${start}, got ${bytes.byteLength}`);
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      })
      .catch((error: unknown) => {
        this.cache.delete(index);
        throw new InvalidArchiveError(
          `Reading s3://${this.bucket}/${this.key} at ${start}: ${(error as Error).message}`,
          { cause: error },
        );
      });
    this.cache.set(index, fetched);
    fetched.catch(() => undefined); // a failed read-ahead is reported when (and if) the block is wanted
    while (this.cache.size > this.maxCachedBlocks) this.cache.delete(this.cache.keys().next().value!);
    return fetched;
  }

  private prefetch(index: number): void {
    if (index * this.blockSize < this.size && !this.cache.has(index)) void this.block(index);
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // Byte mode with a small high-water mark: at most one block slice waits in the stream besides the cache.
    return Readable.from(this.slices(start, end), { objectMode: false, highWaterMark: 64 * 1024 });
  }

  private async *slices(start: number, end: number): AsyncGenerator<Buffer> {
    let position = start;
    while (position < end) {
      const index = Math.floor(position / this.blockSize);
      const data = this.block(index);
      if ((index + 1) * this.blockSize < end) this.prefetch(index + 1);
      const buffer = await data;
      const from = position - index * this.blockSize;
      const to = Math.min(buffer.length, end - index * this.blockSize);
      yield buffer.subarray(from, to);
      position += to - from;
    }
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null, bytesRead?: number) => void,
  ): void {
    const copy = async () => {
      let done = 0;
      while (done < length) {
        const at = position + done;
        const index = Math.floor(at / this.blockSize);
        const block = await this.block(index);
        const from = at - index * this.blockSize;
        const count = Math.min(length - done, block.length - from);
        if (count <= 0) throw new InvalidArchiveError(`Read past the end of s3://${this.bucket}/${this.key}`);
        block.copy(buffer, offset + done, from, from + count);
        done += count;
      }
    };
    copy().then(
      () => callback(null, length),
      (error: Error) => callback(error),
    );
  }

  override close(callback: (err: Error | null) => void): void {
    this.cache.clear();
    setImmediate(() => callback(null));
  }
}
