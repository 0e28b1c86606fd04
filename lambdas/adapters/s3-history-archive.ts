/**
 * The history archive in the artifacts bucket (`LOCKSTEP_ARTIFACTS_BUCKET`): JSON Lines objects under `history/`,
 * written once by the history archiver and read by `lockstep audit export`.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ArchiveLock, HistoryArchive } from '../ports/history';

export class S3HistoryArchive implements HistoryArchive {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: string, lock?: ArchiveLock): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/x-ndjson',
        ...(lock
          ? {
              ObjectLockMode: lock.mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE',
              ObjectLockRetainUntilDate: new Date(lock.retainUntil),
              // Object Lock requires an integrity checksum on the request.
              ChecksumAlgorithm: 'SHA256',
            }
          : {}),
      }),
    );
  }

  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async get(key: string): Promise<string> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return (await object.Body?.transformToString('utf8')) ?? '';
  }
}
