/** S3 as the SDK service's object store (SDK host, staging and package host buckets). */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3MultipartSink, S3RandomAccessReader, type ArchiveSource, type PackageSink } from '../sdk/converter';
import { SdkInputError } from '../sdk/service/errors';
import type { ObjectInfo, ObjectStore } from '../ports/sdk';

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const result = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, etag: (result.ETag ?? '').replace(/"/g, ''), size: result.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async getBytes(bucket: string, key: string, maxBytes?: number): Promise<Buffer | undefined> {
    let body: Readable;
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (maxBytes !== undefined && (result.ContentLength ?? 0) > maxBytes) {
        (result.Body as Readable | undefined)?.destroy();
        throw new SdkInputError(
          `s3://${bucket}/${key} is ${result.ContentLength} bytes, over the limit of ${maxBytes}`,
          { details: { bucket, key } },
        );
      }
      body = result.Body as Readable;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (maxBytes !== undefined && size > maxBytes) {
        body.destroy();
        throw new SdkInputError(`s3://${bucket}/${key} is over the limit of ${maxBytes} bytes`, {
          details: { bucket, key },
        });
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async put(
    bucket: string,
    key: string,
    body: string | Buffer,
    contentType = 'application/octet-stream',
  ): Promise<void> {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: data,
        ContentLength: data.length,
        ContentType: contentType,
      }),
    );
  }

  async copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        Bucket: toBucket,
        Key: toKey,
        CopySource: `${fromBucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`,
      }),
    );
  }

  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
    }
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined)
          out.push({ key: object.Key, etag: (object.ETag ?? '').replace(/"/g, ''), size: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async listPage(
    bucket: string,
    prefix: string,
    options: { readonly startAfter?: string; readonly maxKeys: number },
  ): Promise<{ objects: ObjectInfo[]; truncated: boolean }> {
    const page = await this.client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: options.maxKeys,
        ...(options.startAfter !== undefined ? { StartAfter: options.startAfter } : {}),
      }),
    );
    const objects = (page.Contents ?? []).flatMap((o) =>
      o.Key === undefined ? [] : [{ key: o.Key, etag: (o.ETag ?? '').replace(/"/g, ''), size: o.Size ?? 0 }],
    );
    return { objects, truncated: page.IsTruncated === true };
  }

  presignPut(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new PutObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  presignGet(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  async download(bucket: string, key: string, path: string): Promise<void> {
    const result = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(result.Body as Readable, createWriteStream(path));
  }

  async openArchive(bucket: string, key: string): Promise<ArchiveSource> {
    return S3RandomAccessReader.open({ client: this.client, bucket, key });
  }

  openSink(bucket: string, key: string): PackageSink {
    return new S3MultipartSink({ client: this.client, bucket, key });
  }
}
