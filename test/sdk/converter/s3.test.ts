import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  HostileArchiveError,
  LocalFileSink,
  PackageSinkError,
  S3MultipartSink,
  S3RandomAccessReader,
  convertSdkPackage,
} from '../../../lambdas/sdk/converter';
import { sampleSdkEntries, sdkMetadata } from './fixtures';
import { buildZip, readZip, sha256, type RawZipEntry } from './zip-helpers';

const MiB = 1024 * 1024;

describe('converting from S3 to S3 (s3rver)', () => {
  const bucket = 'sdk-host';
  let work: string;
  let server: S3rver;
  let s3: S3Client;
  // Big enough for a real multipart upload (two 5 MiB parts and a last one), still quick.
  const bigEntry: RawZipEntry = { name: 'AcmeMaps-6.2.0/resources/tiles.bin', data: randomBytes(11 * MiB), method: 0 };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lockstep-s3-'));
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(work, 's3'),
      configureBuckets: [{ name: bucket, configs: [] }],
    });
    const { port } = (await server.run()) as { port: number };
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      // s3rver stores the aws-chunked framing of checksummed uploads as the object's bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function put(key: string, body: Buffer) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  async function exists(key: string): Promise<boolean> {
    return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      (error: { name?: string }) => {
        if (error.name === 'NotFound' || error.name === 'NoSuchKey') return false;
        throw error;
      },
    );
  }

  it('reads with ranged GETs, writes with a multipart upload, and produces the same bytes as a local conversion', async () => {
    const archive = buildZip([...sampleSdkEntries(), bigEntry]);
    await put('acme-maps/6.2.0/artifacts.zip', archive);

    const source = await S3RandomAccessReader.open({
      client: s3,
      bucket,
      key: 'acme-maps/6.2.0/artifacts.zip',
      blockSize: MiB,
    });
    expect(source.size).toBe(archive.length);
    const result = await convertSdkPackage({
      metadata: sdkMetadata(),
      source,
      sink: new S3MultipartSink({ client: s3, bucket, key: 'staging/acme-maps/6.2.0/package.zip', partSize: 5 * MiB }),
    });

    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'staging/acme-maps/6.2.0/package.zip' }));
    const stored = Buffer.from(await object.Body!.transformToByteArray());
    expect(sha256(stored)).toBe(result.sha256);
    expect(stored.length).toBeGreaterThan(10 * MiB);
    const files = await readZip(stored);
    // Compared by digest: a deep equality over 11 MiB is far slower than the conversion itself.
    expect(sha256(files.get('acme-maps-6.2.0/resources/tiles.bin')!)).toBe(sha256(bigEntry.data!));

    // The same archive converted from a local file gives byte-identical output.
    writeFileSync(join(work, 'artifacts.zip'), archive);
    const local = await convertSdkPackage({
      metadata: sdkMetadata(),
      source: { path: join(work, 'artifacts.zip') },
      sink: new LocalFileSink(join(work, 'package.zip')),
    });
    expect(local.sha256).toBe(result.sha256);
    expect(sha256(readFileSync(join(work, 'package.zip')))).toBe(result.sha256);
    // The block cache turns the central directory's many small reads into a handful of GETs.
    expect(source.reader.requests).toBeLessThan(40);
  });

  it('writes a small package with one PutObject on commit', async () => {
    await put('small/artifacts.zip', buildZip(sampleSdkEntries()));
    const source = await S3RandomAccessReader.open({ client: s3, bucket, key: 'small/artifacts.zip' });
    const result = await convertSdkPackage({
      metadata: sdkMetadata(),
      source,
      sink: new S3MultipartSink({ client: s3, bucket, key: 'small/package.zip' }),
    });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'small/package.zip' }));
    expect(sha256(Buffer.from(await object.Body!.transformToByteArray()))).toBe(result.sha256);
  });

  it('refuses a hostile archive read from S3 and creates no object', async () => {
    await put(
      'hostile/artifacts.zip',
      buildZip([
        { name: 'lib/ok.h', data: Buffer.from('ok') },
        { name: '../../evil.sh', data: Buffer.from('rm -rf /') },
      ]),
    );
    const source = await S3RandomAccessReader.open({ client: s3, bucket, key: 'hostile/artifacts.zip' });
    const error = await convertSdkPackage({
      metadata: sdkMetadata(),
      source,
      sink: new S3MultipartSink({ client: s3, bucket, key: 'hostile/package.zip' }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostileArchiveError);
    expect((error as HostileArchiveError).entry).toBe('../../evil.sh');
    expect(await exists('hostile/package.zip')).toBe(false);
  });

  it('aborts the multipart upload when a lie is found after parts were uploaded, leaving no object', async () => {
    const liar: RawZipEntry = {
      name: 'AcmeMaps-6.2.0/resources/zz-liar.bin',
      data: randomBytes(64 * 1024),
      declaredSize: 100,
    };
    await put('liar/artifacts.zip', buildZip([...sampleSdkEntries(), bigEntry, liar]));
    const source = await S3RandomAccessReader.open({ client: s3, bucket, key: 'liar/artifacts.zip', blockSize: MiB });
    const error = await convertSdkPackage({
      metadata: sdkMetadata(),
      source,
      sink: new S3MultipartSink({ client: s3, bucket, key: 'liar/package.zip', partSize: 5 * MiB }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostileArchiveError);
    expect((error as HostileArchiveError).rule).toBe('size-mismatch');
    expect(await exists('liar/package.zip')).toBe(false);
  });
});

describe('S3MultipartSink', () => {
  function mockS3() {
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const mock = mockClient(s3);
    mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    mock.on(UploadPartCommand).callsFake((input: { PartNumber: number }) => ({ ETag: `"etag-${input.PartNumber}"` }));
    mock.on(CompleteMultipartUploadCommand).resolves({});
    mock.on(AbortMultipartUploadCommand).resolves({});
    mock.on(PutObjectCommand).resolves({});
    return { s3, mock };
  }

  async function write(sink: S3MultipartSink, bytes: number): Promise<void> {
    const stream = sink.open();
    for (let sent = 0; sent < bytes; sent += 256 * 1024) {
      if (!stream.write(Buffer.alloc(Math.min(256 * 1024, bytes - sent), 1)))
        await new Promise((r) => stream.once('drain', r));
    }
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }

  it('completes with every part in order on commit', async () => {
    const { s3, mock } = mockS3();
    const sink = new S3MultipartSink({ client: s3, bucket: 'b', key: 'k', partSize: 5 * MiB });
    await write(sink, 12 * MiB);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    await sink.commit();
    const parts = mock
      .commandCalls(UploadPartCommand)
      .map((c) => [c.args[0].input.PartNumber, (c.args[0].input.Body as Buffer).length]);
    expect(parts).toEqual([
      [1, 5 * MiB],
      [2, 5 * MiB],
      [3, 2 * MiB],
    ]);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input.MultipartUpload).toEqual({
      Parts: [
        { PartNumber: 1, ETag: '"etag-1"' },
        { PartNumber: 2, ETag: '"etag-2"' },
        { PartNumber: 3, ETag: '"etag-3"' },
      ],
    });
  });

  it('aborts the upload instead of completing it', async () => {
    const { s3, mock } = mockS3();
    const sink = new S3MultipartSink({ client: s3, bucket: 'b', key: 'k', partSize: 5 * MiB });
    await write(sink, 11 * MiB);
    await sink.abort();
    expect(mock.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'b', Key: 'k', UploadId: 'upload-1' },
    ]);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('writes nothing to S3 for a small output that is aborted', async () => {
    const { s3, mock } = mockS3();
    const sink = new S3MultipartSink({ client: s3, bucket: 'b', key: 'k' });
    await write(sink, MiB);
    await sink.abort();
    expect(mock.calls()).toHaveLength(0);
  });

  it('fails the conversion with PackageSinkError and aborts when a part upload fails', async () => {
    const { s3, mock } = mockS3();
    mock.on(UploadPartCommand).rejects(new Error('SlowDown'));
    const work = mkdtempSync(join(tmpdir(), 'lockstep-sinkfail-'));
    try {
      writeFileSync(
        join(work, 'in.zip'),
        buildZip([{ name: 'resources/big.bin', data: randomBytes(6 * MiB), method: 0 }]),
      );
      const error = await convertSdkPackage({
        metadata: sdkMetadata(),
        source: { path: join(work, 'in.zip') },
        sink: new S3MultipartSink({ client: s3, bucket: 'b', key: 'k', partSize: 5 * MiB }),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PackageSinkError);
      expect((error as Error).message).toContain('SlowDown');
      expect(mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
      expect(mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('refuses parts smaller than S3 accepts', () => {
    const { s3 } = mockS3();
    expect(() => new S3MultipartSink({ client: s3, bucket: 'b', key: 'k', partSize: MiB })).toThrow(PackageSinkError);
  });
});
