/** Revision artifacts in S3 (`LOCKSTEP_ARTIFACTS_BUCKET`). */
import type { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri, type ArtifactReader, type ArtifactStore } from '../ports/artifacts';

export class S3ArtifactStore implements ArtifactStore, ArtifactReader {
  constructor(private readonly client: S3Client) {}

  async copy(from: string, to: string): Promise<void> {
    const source = parseS3Uri(from);
    const target = parseS3Uri(to);
    await this.client.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`,
      }),
    );
  }

  async readText(uri: string, maxBytes: number): Promise<{ size: number; text: string | undefined } | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    let result;
    try {
      result = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
    const size = result.ContentLength ?? 0;
    if (size > maxBytes) {
      // Not read: the caller reports the size; the stream is closed so the connection is not held open.
      (result.Body as Readable | undefined)?.destroy();
      return { size, text: undefined };
    }
    return { size, text: (await result.Body?.transformToString('utf-8')) ?? '' };
  }
}
