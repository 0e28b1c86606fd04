// The S3 adapters against s3rver (local mode's S3): what they read and write, what "missing" means, size limits,
// keys that need encoding, and listings that follow every page.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { S3ArtifactStore } from '../../lambdas/adapters/s3-artifact-store';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { SdkInputError } from '../../lambdas/sdk/service/errors';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';

let dir: string;
let s3: LocalS3;
let client: S3Client;
const clients: S3Client[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockstep-s3-adapters-'));
  s3 = await startLocalS3({ dataDir: dir, buckets: ['host', 'staging', 'artifacts'] });
  client = localS3Client(s3.endpoint);
  clients.push(client);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A client whose listings return `pageSize` keys a page (the adapter must follow the continuation token). */
function pagedClient(pageSize: number): S3Client {
  const paged = localS3Client(s3.endpoint);
  clients.push(paged);
  paged.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ListObjectsV2Command') (args.input as { MaxKeys?: number }).MaxKeys = pageSize;
      return next(args);
    },
    { step: 'initialize', name: 'pageEveryListing' },
  );
  return paged;
}

const text = async (bucket: string, key: string) =>
  (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString();

describe('S3ObjectStore', () => {
  it('puts, heads and reads an object, and reads a missing one as undefined', async () => {
    const objects = new S3ObjectStore(client);
    await objects.put('host', 'incoming/maps/1.0.0/lockstep-sdk.yaml', 'name: maps\n', 'text/yaml');
    expect(await objects.head('host', 'incoming/maps/1.0.0/lockstep-sdk.yaml')).toEqual({
      key: 'incoming/maps/1.0.0/lockstep-sdk.yaml',
      etag: expect.stringMatching(/^[0-9a-f]{32}$/),
      size: 11,
    });
    expect((await objects.getBytes('host', 'incoming/maps/1.0.0/lockstep-sdk.yaml'))?.toString()).toBe('name: maps\n');
    expect(await objects.head('host', 'incoming/none')).toBeUndefined();
    expect(await objects.getBytes('host', 'incoming/none')).toBeUndefined();
  });

  it('refuses to read an object over the size limit, with an error naming it', async () => {
    const objects = new S3ObjectStore(client);
    await objects.put('host', 'big.bin', Buffer.alloc(2048, 1));
    const read = objects.getBytes('host', 'big.bin', 1024);
    await expect(read).rejects.toBeInstanceOf(SdkInputError);
    await expect(read).rejects.toThrow('s3://host/big.bin is 2048 bytes, over the limit of 1024');
    expect((await objects.getBytes('host', 'big.bin', 2048))?.length).toBe(2048);
  });

  it('copies between buckets a key that needs encoding', async () => {
    const objects = new S3ObjectStore(client);
    // s3rver decodes CopySource with decodeURI, which leaves %2B, %23, %3F encoded: spaces and non-ASCII only.
    const key = 'packages/acme maps/1.0.0/acme maps-1.0.0-ü.zip';
    await objects.put('staging', key, 'zip bytes');
    await objects.copy('staging', key, 'artifacts', 'public/acme maps/1.0.0.zip');
    expect(await text('artifacts', 'public/acme maps/1.0.0.zip')).toBe('zip bytes');
  });

  it('lists every key under a prefix past the first page, and deletes them', async () => {
    const objects = new S3ObjectStore(pagedClient(2));
    const keys = Array.from({ length: 5 }, (_, i) => `tests/plan-1/file-${i}.json`);
    for (const key of keys) await objects.put('staging', key, key);
    await objects.put('staging', 'tests/plan-2/other.json', 'x');
    const listed = await objects.list('staging', 'tests/plan-1/');
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(listed.every((o) => o.size === keys[0]!.length && /^[0-9a-f]{32}$/.test(o.etag))).toBe(true);
    await objects.delete('staging', keys);
    expect(await objects.list('staging', 'tests/plan-1/')).toEqual([]);
    expect((await objects.list('staging', 'tests/')).map((o) => o.key)).toEqual(['tests/plan-2/other.json']);
  });

  it('presigns a PUT that stores what is sent to it', async () => {
    const objects = new S3ObjectStore(client);
    const url = await objects.presignPut('host', 'incoming/geo/2.0.0/artifacts.zip', 300);
    expect(url).toContain('X-Amz-Expires=300');
    const response = await fetch(url, { method: 'PUT', body: 'archive' });
    expect(response.status).toBe(200);
    expect(await text('host', 'incoming/geo/2.0.0/artifacts.zip')).toBe('archive');
  });

  it('downloads an object to a file', async () => {
    const objects = new S3ObjectStore(client);
    await objects.put('staging', 'tester/source.zip', Buffer.from([1, 2, 3, 4]));
    const path = join(dir, 'source.zip');
    await objects.download('staging', 'tester/source.zip', path);
    expect([...(await readFile(path))]).toEqual([1, 2, 3, 4]);
  });

  it('writes a package through its sink, visible only after commit', async () => {
    const objects = new S3ObjectStore(client);
    const sink = objects.openSink('staging', 'packages/maps/1.0.0/maps-1.0.0.zip');
    const stream = sink.open();
    await new Promise<void>((resolve, reject) =>
      stream.end(Buffer.from('package bytes'), (error?: Error | null) => (error ? reject(error) : resolve())),
    );
    await sink.commit();
    expect(await text('staging', 'packages/maps/1.0.0/maps-1.0.0.zip')).toBe('package bytes');
  });
});

describe('S3ArtifactStore', () => {
  it('copies an artifact between s3:// URIs, keys with spaces included', async () => {
    const objects = new S3ObjectStore(client);
    await objects.put('artifacts', 'builds/web/build 1/artifact.zip', 'built');
    await new S3ArtifactStore(client).copy(
      's3://artifacts/builds/web/build 1/artifact.zip',
      's3://artifacts/revisions/web/1.zip',
    );
    expect(await text('artifacts', 'revisions/web/1.zip')).toBe('built');
  });

  it('reads a security diff as text, leaves one over the limit unread, and says when there is none', async () => {
    const objects = new S3ObjectStore(client);
    const diff = JSON.stringify({ broadening: true, stacks: ['Shop'], diff: '│ + │ iam:* │\n' });
    await objects.put('artifacts', 'revisions/web/2/security-diff/prod.json', diff);
    const store = new S3ArtifactStore(client);
    const uri = 's3://artifacts/revisions/web/2/security-diff/prod.json';
    expect(await store.readText(uri, 1_000)).toEqual({ size: Buffer.byteLength(diff), text: diff });
    expect(await store.readText(uri, 10)).toEqual({ size: Buffer.byteLength(diff), text: undefined });
    expect(await store.readText('s3://artifacts/revisions/web/3/security-diff/prod.json', 1_000)).toBeUndefined();
  });

  it('refuses a URI without a key', async () => {
    await expect(new S3ArtifactStore(client).copy('s3://artifacts', 's3://artifacts/x')).rejects.toThrow(
      'Not an s3:// URI with a key: s3://artifacts',
    );
  });
});
