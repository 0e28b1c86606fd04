import { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAwsClients } from '../../../lambdas/adapters/aws-clients';
import { createHandler as createDownloadApi } from '../../../lambdas/handlers/sdk-download-api';
import { createHandler as createIntake } from '../../../lambdas/handlers/sdk-intake';
import { createHandler as createUploadApi } from '../../../lambdas/handlers/sdk-upload-api';
import { buildIndex, type PublishedPackage } from '../../../lambdas/sdk/host/package-index';
import { createSdkRuntime } from '../../../lambdas/adapters/sdk-runtime';
import { CloudFrontUrlVerifier } from '../../../lambdas/sdk/host/verify';
import type { SdkMetadata } from '../../../lambdas/sdk/model';
import { issueToken } from '../../../lambdas/sdk/service/credentials';
import { httpEvent, lambdaContext, mocks, SDK_ENV, startSdkEnv, type SdkEnv } from './sdk-env';

type Http = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let env: SdkEnv;
let uploadApi: Http;
let downloadApi: Http;
let intake: (
  event: unknown,
  context: unknown,
) => Promise<{ started: string[]; skipped: { sdk: string; reason: string }[] }>;
const tokens: Record<string, string> = {};

const metadata = (name: string, version: string, tier: SdkMetadata['tier'], supported = true): SdkMetadata => ({
  name,
  version,
  publicName: `Acme ${name}`,
  summary: 'Short.',
  description: 'A longer description.',
  homepage: 'https://example.com',
  authors: ['Acme'],
  contact: `${name}@example.com`,
  license: 'MIT',
  dependencies: {},
  platform: { name: 'linux', minimumVersion: '5', architectures: ['x86_64'] },
  deprecated: false,
  tier,
  supported,
});
const file = (name: string, version: string) => [{ name: `${name}-${version}.zip`, sha256: 'a'.repeat(64), size: 10 }];
const published: PublishedPackage[] = [
  { metadata: metadata('analytics', '5.0.0', 'public', false), files: file('analytics', '5.0.0') },
  { metadata: metadata('analytics', '6.1.0', 'public'), files: file('analytics', '6.1.0') },
  { metadata: metadata('geo', '1.0.0', 'early-access'), files: file('geo', '1.0.0') },
  { metadata: metadata('maps', '2.0.0', 'private'), files: file('maps', '2.0.0') },
];
const index = buildIndex(published, { generatedAt: '2030-01-01T00:00:00Z' });

const body = <T>(response: APIGatewayProxyStructuredResultV2): T => JSON.parse(String(response.body)) as T;

beforeAll(async () => {
  env = await startSdkEnv();
  const now = new Date();
  tokens.provider = (
    await issueToken(env.store, { id: 'maps-team', roles: ['provider'], sdks: ['maps', 'geo'], now })
  ).token;
  tokens.employee = (
    await issueToken(env.store, { id: 'app-1', roles: ['consumer'], groups: ['employees'], now })
  ).token;
  tokens.partner = (
    await issueToken(env.store, { id: 'partner-1', roles: ['consumer'], groups: ['partners'], now })
  ).token;
  tokens.expired = (
    await issueToken(env.store, {
      id: 'old',
      roles: ['consumer'],
      groups: ['employees'],
      now,
      expiresAt: new Date(now.getTime() - 1000),
    })
  ).token;
  // The handlers' own runtime on the variables startSdkEnv() set, with clients bound to its dynalite.
  const runtime = createSdkRuntime({
    env: process.env,
    clients: createAwsClients({ endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB! } }),
    clock: () => Date.now(),
  });
  uploadApi = createUploadApi(runtime.serviceDependencies()) as never;
  downloadApi = createDownloadApi(runtime.downloadDependencies()) as never;
  intake = createIntake(runtime.serviceDependencies()) as never;
});
afterAll(() => env.close());
beforeEach(() => {
  mocks.s3.reset();
  mocks.sfn.reset();
  // Intake moves what it takes in to received/: the copies are not read back in these tests.
  mocks.s3.on(CopyObjectCommand).resolves({});
  mocks.s3.on(HeadObjectCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound' }));
  // Contents objects of staged versions (the poll's re-check reads them): none in these tests.
  mocks.s3
    .on(GetObjectCommand, { Bucket: SDK_ENV.stagingBucket })
    .rejects(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
  mocks.s3
    .on(GetObjectCommand, { Bucket: SDK_ENV.packageHostBucket, Key: 'index.json' })
    .callsFake(() => ({ Body: Readable.from([Buffer.from(JSON.stringify(index))]) }));
});

function incoming(name: string, version: string, etags: { archive?: string; metadata?: string }) {
  mocks.s3.on(ListObjectsV2Command, { Bucket: SDK_ENV.hostBucket, Prefix: `incoming/${name}/${version}/` }).resolves({
    Contents: [
      ...(etags.archive
        ? [{ Key: `incoming/${name}/${version}/artifacts.zip`, ETag: `"${etags.archive}"`, Size: 100 }]
        : []),
      ...(etags.metadata
        ? [{ Key: `incoming/${name}/${version}/lockstep-sdk.yaml`, ETag: `"${etags.metadata}"`, Size: 10 }]
        : []),
    ],
  });
}

describe('upload API', () => {
  it('refuses requests without a provider token', async () => {
    const anonymous = await uploadApi(
      httpEvent('POST', '/sdk/uploads', {
        body: { name: 'maps', version: '2.0.0', metadataFile: 'lockstep-sdk.yaml' },
      }),
      lambdaContext,
    );
    expect(anonymous.statusCode).toBe(401);
    const consumer = await uploadApi(
      httpEvent('POST', '/sdk/uploads', {
        token: tokens.employee,
        body: { name: 'maps', version: '2.0.0', metadataFile: 'lockstep-sdk.yaml' },
      }),
      lambdaContext,
    );
    expect(consumer.statusCode).toBe(403);
    const other = await uploadApi(
      httpEvent('POST', '/sdk/uploads', {
        token: tokens.provider,
        body: { name: 'social', version: '1.0.0', metadataFile: 'lockstep-sdk.yaml' },
      }),
      lambdaContext,
    );
    expect(other.statusCode).toBe(403);
    expect(String(other.body)).toContain('may not push social');
  });

  it('lists every problem of a bad upload request at once', async () => {
    const response = await uploadApi(
      httpEvent('POST', '/sdk/uploads', {
        token: tokens.provider,
        body: { name: 'maps', version: 'v2', metadataFile: 'meta.txt' },
      }),
      lambdaContext,
    );
    expect(response.statusCode).toBe(400);
    expect(String(response.body)).toContain('version');
    expect(String(response.body)).toContain('metadataFile');
  });

  it('hands out presigned PUT URLs for the archive and the metadata under incoming/<name>/<version>/', async () => {
    const response = await uploadApi(
      httpEvent('POST', '/sdk/uploads', {
        token: tokens.provider,
        body: { name: 'maps', version: '2.0.0', metadataFile: 'lockstep-sdk.yaml' },
      }),
      lambdaContext,
    );
    expect(response.statusCode).toBe(201);
    const grant = body<{
      uploadId: string;
      artifacts: { key: string; url: string };
      metadata: { key: string; url: string };
    }>(response);
    expect(grant.artifacts.key).toBe('incoming/maps/2.0.0/artifacts.zip');
    expect(grant.metadata.key).toBe('incoming/maps/2.0.0/lockstep-sdk.yaml');
    for (const url of [new URL(grant.artifacts.url), new URL(grant.metadata.url)]) {
      expect(url.pathname).toContain('incoming/maps/2.0.0/');
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(900);
    }
  });

  it('completes an upload once both objects are there, starting one execution however often it is signalled', async () => {
    const grant = body<{ uploadId: string }>(
      await uploadApi(
        httpEvent('POST', '/sdk/uploads', {
          token: tokens.provider,
          body: { name: 'geo', version: '1.0.0', metadataFile: 'lockstep-sdk.yaml' },
        }),
        lambdaContext,
      ),
    );
    incoming('geo', '1.0.0', { metadata: 'm1' });
    const early = await uploadApi(
      httpEvent('POST', `/sdk/uploads/${grant.uploadId}/complete`, { token: tokens.provider }),
      lambdaContext,
    );
    expect(early.statusCode).toBe(409);
    expect(String(early.body)).toContain('artifacts.zip');

    incoming('geo', '1.0.0', { archive: 'a1', metadata: 'm1' });
    mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution' });
    const done = await uploadApi(
      httpEvent('POST', `/sdk/uploads/${grant.uploadId}/complete`, { token: tokens.provider }),
      lambdaContext,
    );
    expect(done.statusCode).toBe(202);
    const first = body<{ execution: string; started: boolean }>(done);
    expect(first.started).toBe(true);
    const again = body<{ execution: string; started: boolean }>(
      await uploadApi(
        httpEvent('POST', `/sdk/uploads/${grant.uploadId}/complete`, { token: tokens.provider }),
        lambdaContext,
      ),
    );
    expect(again).toMatchObject({ execution: first.execution, started: false });
    const starts = mocks.sfn.commandCalls(StartExecutionCommand);
    expect(starts).toHaveLength(1);
    expect(starts[0]!.args[0].input).toMatchObject({ stateMachineArn: SDK_ENV.stateMachineArn, name: first.execution });
    expect(JSON.parse(starts[0]!.args[0].input.input!)).toMatchObject({
      mode: 'intake',
      sdk: { name: 'geo', version: '1.0.0' },
      batchId: null,
      testerProject: 'lockstep-sdk-tester',
    });
  });

  it("answers another provider's upload id as unknown", async () => {
    const other = (await issueToken(env.store, { id: 'other-team', roles: ['provider'], sdks: ['*'], now: new Date() }))
      .token;
    const grant = body<{ uploadId: string }>(
      await uploadApi(
        httpEvent('POST', '/sdk/uploads', {
          token: tokens.provider,
          body: { name: 'maps', version: '2.0.1', metadataFile: 'lockstep-sdk.yaml' },
        }),
        lambdaContext,
      ),
    );
    const response = await uploadApi(
      httpEvent('POST', `/sdk/uploads/${grant.uploadId}/complete`, { token: other }),
      lambdaContext,
    );
    expect(response.statusCode).toBe(404);
  });
});

describe('status API: every read scoped to what the token may see (issue 14, item 19)', () => {
  const statusOf = async (token: string | undefined, query?: Record<string, string>) =>
    uploadApi(
      httpEvent('GET', '/sdk/status', {
        ...(token !== undefined ? { token } : {}),
        ...(query !== undefined ? { query } : {}),
      }),
      lambdaContext,
    );
  const names = (response: APIGatewayProxyStructuredResultV2) =>
    [...new Set(body<{ versions: { name: string }[] }>(response).versions.map((v) => v.name))].sort();

  beforeAll(async () => {
    const at = new Date().toISOString();
    for (const [name, version, tier, status, reason] of [
      ['maps', '9.0.0', 'private', 'WAITING', 'waiting for geo ^9'],
      ['social', '9.0.0', 'private', 'CONFLICT', 'conflict: social embeds the secret-sauce library'],
      ['payments', '9.0.0', 'public', 'TEST_FAILED', 'tests failed: card vault leaked in the log'],
    ] as const) {
      await env.store.saveVersion(
        {
          name,
          version,
          status,
          reason,
          metadata: metadata(name, version, tier),
          upload: {
            artifactsKey: `incoming/${name}/${version}/artifacts.zip`,
            metadataKey: `incoming/${name}/${version}/lockstep-sdk.yaml`,
            etag: 'e1',
          },
          package: {
            key: `packages/${name}/${version}/${name}-${version}.zip`,
            fileName: `${name}-${version}.zip`,
            sha256: 'a'.repeat(64),
            size: 10,
          },
          contentsKey: `contents/${name}/${version}.json`,
          updatedAt: at,
          history: [{ at, status, reason }],
        },
        undefined,
      );
      await env.store.recordIntake({
        name,
        version,
        etag: 'e1',
        execution: `${name}-intake`,
        state: 'STARTED',
        reason: 'intake started',
        at,
      });
    }
    await env.store.recordIntake({
      name: 'social',
      version: '9.1.0',
      etag: 'e2',
      execution: 'social-intake-2',
      state: 'REJECTED',
      reason: 'license: secret reason',
      at,
    });
    tokens.everything = (
      await issueToken(env.store, { id: 'release-team', roles: ['provider'], sdks: ['*'], now: new Date() })
    ).token;
  });

  it('answers an anonymous caller 401 and a consumer 403', async () => {
    expect((await statusOf(undefined)).statusCode).toBe(401);
    expect((await statusOf(tokens.employee)).statusCode).toBe(403);
  });

  it('shows a provider only the SDKs its token may push, without a filter', async () => {
    const response = await statusOf(tokens.provider);
    expect(response.statusCode).toBe(200);
    expect(names(response)).toEqual(['maps']);
    expect(String(response.body)).not.toContain('secret-sauce');
    expect(String(response.body)).not.toContain('card vault');
  });

  it('refuses a provider the status of another SDK, existing or not, and its refused intakes', async () => {
    for (const query of [{ name: 'social' }, { name: 'social', version: '9.1.0' }, { name: 'nothing-here' }] as Record<
      string,
      string
    >[]) {
      const response = await statusOf(tokens.provider, query);
      expect(response.statusCode).toBe(403);
      expect(String(response.body)).not.toContain('secret');
    }
    expect(names(await statusOf(tokens.provider, { name: 'maps' }))).toEqual(['maps']);
  });

  it('shows a provider whose token may push any SDK everything, refused intakes included', async () => {
    expect(names(await statusOf(tokens.everything))).toEqual(expect.arrayContaining(['maps', 'payments', 'social']));
    const refused = body<{ versions: { status: string; reason: string }[] }>(
      await statusOf(tokens.everything, { name: 'social', version: '9.1.0' }),
    );
    expect(refused.versions).toMatchObject([{ status: 'REJECTED', reason: 'license: secret reason' }]);
  });
});

describe('intake', () => {
  it('starts one execution for the two S3 events of one upload, and a new one when the archive changes', async () => {
    incoming('maps', '3.0.0', { archive: 'a1', metadata: 'm1' });
    mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution' });
    const event = (key: string) => ({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: { bucket: { name: SDK_ENV.hostBucket }, object: { key } },
    });
    const first = await intake(event('incoming/maps/3.0.0/artifacts.zip'), lambdaContext);
    const second = await intake(event('incoming/maps/3.0.0/lockstep-sdk.yaml'), lambdaContext);
    expect(first.started).toHaveLength(1);
    expect(second.started).toHaveLength(0);
    expect(second.skipped[0]!.reason).toContain('taken in already');

    incoming('maps', '3.0.0', { archive: 'a2', metadata: 'm1' });
    const replaced = await intake(event('incoming/maps/3.0.0/artifacts.zip'), lambdaContext);
    expect(replaced.started).toHaveLength(1);
    expect(replaced.started[0]).not.toBe(first.started[0]);
    expect(mocks.sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });

  it('ignores objects outside incoming/<name>/<version>/', async () => {
    const result = await intake(
      { source: 'aws.s3', 'detail-type': 'Object Created', detail: { object: { key: 'incoming/maps/notes.txt' } } },
      lambdaContext,
    );
    expect(result.started).toEqual([]);
    expect(mocks.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('polls the whole SDK host and starts only uploads it has not taken in', async () => {
    mocks.s3.on(ListObjectsV2Command, { Bucket: SDK_ENV.hostBucket, Prefix: 'incoming/' }).resolves({
      Contents: [
        { Key: 'incoming/maps/3.0.0/artifacts.zip', ETag: '"a2"' },
        { Key: 'incoming/maps/3.0.0/lockstep-sdk.yaml', ETag: '"m1"' },
        { Key: 'incoming/social/1.0.0/artifacts.zip', ETag: '"s1"' },
        { Key: 'incoming/social/1.0.0/lockstep-sdk.json', ETag: '"s2"' },
      ],
    });
    incoming('maps', '3.0.0', { archive: 'a2', metadata: 'm1' });
    mocks.s3.on(ListObjectsV2Command, { Bucket: SDK_ENV.hostBucket, Prefix: 'incoming/social/1.0.0/' }).resolves({
      Contents: [
        { Key: 'incoming/social/1.0.0/artifacts.zip', ETag: '"s1"' },
        { Key: 'incoming/social/1.0.0/lockstep-sdk.json', ETag: '"s2"' },
      ],
    });
    mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution' });
    const result = await intake({ 'detail-type': 'Scheduled Event' }, lambdaContext);
    expect(result.started).toHaveLength(1);
    expect(result.started[0]).toMatch(/^social-1_0_0-intake-/);
  });
});

describe('download API', () => {
  const download = (name: string, version: string, token?: string, sourceIp = '10.1.2.3') =>
    downloadApi(
      httpEvent('GET', `/sdk/download/${name}/${version}`, {
        ...(token !== undefined ? { token } : {}),
        sourceIp,
        pathParameters: { name, version },
      }),
      lambdaContext,
    );

  it('shows each consumer only the versions its groups may download, withdrawn versions without keys', async () => {
    const seen = async (token?: string) =>
      body<{
        sdks: { name: string; versions: { version: string }[]; withdrawn: { version: string; keys: string[] }[] }[];
      }>(await downloadApi(httpEvent('GET', '/sdk/index', token !== undefined ? { token } : {}), lambdaContext));
    expect((await seen()).sdks.map((s) => s.name)).toEqual(['analytics']);
    expect((await seen(tokens.partner)).sdks.map((s) => s.name)).toEqual(['analytics', 'geo']);
    const employee = await seen(tokens.employee);
    expect(employee.sdks.map((s) => s.name)).toEqual(['analytics', 'geo', 'maps']);
    expect(employee.sdks[0]!.withdrawn).toEqual([{ version: '5.0.0', keys: [] }]);
  });

  it('gives public packages a plain URL, even without a token', async () => {
    const response = await download('analytics', '6.1.0');
    expect(response.statusCode).toBe(200);
    expect(body<{ url: string; policy: string }>(response)).toMatchObject({
      url: `${SDK_ENV.cdn}/public/analytics/6.1.0/analytics-6.1.0.zip`,
      policy: 'public',
    });
  });

  it("signs a private package for its group, bound to the group's range; the edge refuses it expired, tampered, for another path or from another address", async () => {
    const response = await download('maps', '2.0.0', tokens.employee);
    expect(response.statusCode).toBe(200);
    const { url, policy, expiresAt } = body<{ url: string; policy: string; expiresAt: string }>(response);
    expect(policy).toBe('custom');
    const verifier = new CloudFrontUrlVerifier({ [SDK_ENV.keyPairId]: env.publicKeyPem });
    const now = new Date();
    expect(verifier.verify(url, { now, sourceIp: '10.9.9.9' })).toMatchObject({ ok: true });
    expect(verifier.verify(url, { now: new Date(Date.parse(expiresAt) + 1000), sourceIp: '10.9.9.9' })).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    const signature = new URL(url).searchParams.get('Signature')!;
    const tampered = url.replace(
      `Signature=${encodeURIComponent(signature)}`,
      `Signature=${encodeURIComponent(signature.slice(0, -4) + 'AAAA')}`,
    );
    expect(verifier.verify(tampered, { now, sourceIp: '10.9.9.9' })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifier.verify(url.replace('/maps/2.0.0/', '/maps/2.0.1/'), { now, sourceIp: '10.9.9.9' })).toMatchObject({
      ok: false,
      reason: 'resource-mismatch',
    });
    expect(verifier.verify(url, { now, sourceIp: '203.0.113.9' })).toMatchObject({
      ok: false,
      reason: 'ip-not-allowed',
    });
  });

  it("refuses a consumer calling from outside its group's range, or of another group, with the reason", async () => {
    const outside = await download('maps', '2.0.0', tokens.employee, '203.0.113.9');
    expect(outside.statusCode).toBe(403);
    expect(body<{ code: string; message: string }>(outside)).toMatchObject({ code: 'ip-not-allowed' });
    const partner = await download('maps', '2.0.0', tokens.partner);
    expect(partner.statusCode).toBe(403);
    expect(body<{ code: string; message: string }>(partner).message).toContain('maps is private');
    const anonymous = await download('geo', '1.0.0');
    expect(anonymous.statusCode).toBe(403);
  });

  it('answers 410 for a withdrawn version, 404 for an unknown one, 401 for an unknown or expired token', async () => {
    expect((await download('analytics', '5.0.0', tokens.employee)).statusCode).toBe(410);
    expect((await download('analytics', '9.9.9', tokens.employee)).statusCode).toBe(404);
    expect((await download('analytics', '6.1.0', 'lst_not-a-real-token')).statusCode).toBe(401);
    const expired = await download('analytics', '6.1.0', tokens.expired);
    expect(expired.statusCode).toBe(401);
    expect(String(expired.body)).toContain('expired');
  });
});
