import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';
import { tempDataDir } from './helpers';

describe('local S3 (s3rver)', () => {
  let s3: LocalS3;
  let client: S3Client;
  let data: Awaited<ReturnType<typeof tempDataDir>>;

  beforeAll(async () => {
    data = await tempDataDir();
    s3 = await startLocalS3({ dataDir: data.dir, buckets: ['artifacts'] });
    client = localS3Client(s3.endpoint);
  });

  afterAll(async () => {
    client.destroy();
    await s3.stop();
    await data.cleanup();
  });

  it('stores and returns an object byte for byte', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'a/b.txt', Body: 'hello' }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
  });

  it('pages through ListObjectsV2 without the OpenSSL legacy provider', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `page/k${i}`);
    await Promise.all(keys.map((Key) => client.send(new PutObjectCommand({ Bucket: 'artifacts', Key, Body: Key }))));
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client, pageSize: 3 }, { Bucket: 'artifacts', Prefix: 'page/' })) {
      pages++;
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
    }
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
  });

  it('rejects a continuation token it did not issue', async () => {
    await expect(
      client.send(new ListObjectsV2Command({ Bucket: 'artifacts', ContinuationToken: 'bogus' })),
    ).rejects.toMatchObject({ name: 'InvalidArgument' });
  });

  it('keeps objects across a restart', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'keep.txt', Body: 'kept' }));
    await s3.stop();
    s3 = await startLocalS3({ dataDir: data.dir, buckets: ['artifacts'] });
    client.destroy();
    client = localS3Client(s3.endpoint);
    const got = await client.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'keep.txt' }));
    expect(await got.Body?.transformToString()).toBe('kept');
  });
});
