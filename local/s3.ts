import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver, { type KoaContext, type Middleware } from 's3rver';
import { LOCAL_REGION } from './constants';
import { LOCAL_CREDENTIALS } from './credentials';
import { LOCAL_HOST } from './net';

/**
 * S3 for local mode: s3rver with its files under `<dataDir>/s3`, the given buckets created on start.
 *
 * Traps (see FIELD-NOTES.md) and what local mode does about them:
 * - s3rver serves path-style URLs only: clients set `forcePathStyle` (handlers read `LOCKSTEP_S3_FORCE_PATH_STYLE`).
 * - with the SDK's default checksums a streaming PutObject stores the aws-chunked framing: clients set
 *   `requestChecksumCalculation: 'WHEN_REQUIRED'` (and `responseChecksumValidation: 'WHEN_REQUIRED'`).
 * - paginated ListObjectsV2: s3rver encrypts its continuation tokens with DES, which OpenSSL 3 only offers through
 *   the legacy provider (`--openssl-legacy-provider`). Instead of a Node flag, `continuationTokens` below answers
 *   V2 listings with its own tokens (base64url of bucket and last key) and hands s3rver a plain `start-after`, so
 *   s3rver never reaches its DES code.
 * - Prefix+Delimiter listings drop folders two or more levels down: list with a Prefix and no Delimiter.
 */
export interface LocalS3Options {
  readonly dataDir: string;
  readonly buckets: readonly string[];
}

export interface LocalS3 {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const directory = join(options.dataDir, 's3');
  await mkdir(directory, { recursive: true });
  const server = new S3rver({
    address: LOCAL_HOST,
    port: 0,
    silent: true,
    directory,
    resetOnClose: false,
    // Signatures are not part of what local mode verifies (a proxy or clock skew must not break it).
    allowMismatchedSignatures: true,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  // After the logger and the XML encoder (so the listing is still an object here), before the routes.
  server.middleware.splice(2, 0, continuationTokens);
  // First of all: any access key id is s3rver's own, so the AWS CLI works with whatever credentials the user has.
  server.middleware.unshift(anyCredentials);
  const { port } = await server.run();
  return { endpoint: `http://${LOCAL_HOST}:${port}`, stop: () => server.close() };
}

/** An S3 client configured for s3rver (the in-process services use it; handlers build theirs from the env). */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

// s3rver's own error class renders the XML error body S3 clients parse (`InvalidArgument`, 400).
const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

const TOKEN_PREFIX = 'lst1.';

function encodeToken(bucket: string, key: string): string {
  return TOKEN_PREFIX + Buffer.from(JSON.stringify([bucket, key])).toString('base64url');
}

function decodeToken(token: string): [string, string] | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((p) => typeof p === 'string'))
      return parsed as [string, string];
  } catch {
    // fall through: an unreadable token is answered like S3 answers one
  }
  return undefined;
}

/**
 * s3rver knows one account (`S3RVER`) and answers InvalidAccessKeyId for any other key id, so `aws s3 ls` with a
 * user's own profile failed. Signatures are not checked locally (`allowMismatchedSignatures`), so the key id is all
 * that has to match: it is rewritten to s3rver's in every place a request can carry one (SigV4 and SigV2, header
 * and presigned query).
 */
const anyCredentials: Middleware = async (ctx: KoaContext, next) => {
  const own = LOCAL_CREDENTIALS.accessKeyId;
  const authorization = ctx.get('authorization');
  if (authorization) {
    ctx.request.headers.authorization = authorization
      .replace(/(Credential=)[^/,\s]+\//, `$1${own}/`)
      .replace(/^AWS [^:\s]+:/, `AWS ${own}:`);
  }
  const query = ctx.querystring;
  if (query && /X-Amz-Credential=|AWSAccessKeyId=/i.test(query)) {
    ctx.querystring = query
      .replace(/(X-Amz-Credential=)[^%/&]+(%2F|\/)/i, `$1${own}$2`)
      .replace(/(AWSAccessKeyId=)[^&]+/i, `$1${own}`);
  }
  return next();
};

interface ListBucketResultBody {
  ListBucketResult: Record<string, unknown>;
}

const continuationTokens: Middleware = async (ctx: KoaContext, next) => {
  const bucket = /^\/([^/]+)\/?$/.exec(ctx.path)?.[1];
  if (ctx.method !== 'GET' || !bucket || ctx.query['list-type'] !== '2') return next();

  const query = { ...ctx.query };
  const token = query['continuation-token'];
  if (token !== undefined) {
    const decoded = decodeToken(token);
    if (decoded?.[0] !== decodeURIComponent(bucket)) {
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
        ArgumentName: 'continuation-token',
      });
    }
    delete query['continuation-token'];
    query['start-after'] = decoded[1];
    ctx.query = query;
  }

  // The listing runs untruncated as far as s3rver knows (so it never builds a DES token); we remember the truth.
  let lastKey: string | undefined;
  const store = ctx.store;
  ctx.store = Object.create(store, {
    listObjects: {
      value: async (name: string, listOptions: Record<string, unknown>) => {
        const result = await store.listObjects(name, listOptions);
        if (result.isTruncated) lastKey = result.objects[result.objects.length - 1]?.key;
        return { ...result, isTruncated: false };
      },
    },
  }) as typeof store;

  await next();

  const body = ctx.body as ListBucketResultBody | undefined;
  if (!body?.ListBucketResult) return;
  if (token !== undefined) {
    body.ListBucketResult.StartAfter = undefined;
    body.ListBucketResult.ContinuationToken = token;
  }
  if (lastKey !== undefined) {
    body.ListBucketResult.IsTruncated = true;
    body.ListBucketResult.NextContinuationToken = encodeToken(decodeURIComponent(bucket), lastKey);
  }
};
