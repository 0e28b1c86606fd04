import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAwsClients } from '../../lambdas/adapters/aws-clients';
import { createHandler as createDownloadApi } from '../../lambdas/handlers/sdk-download-api';
import { createHandler as createUploadApi, MAX_REQUEST_BYTES } from '../../lambdas/handlers/sdk-upload-api';
import { issueToken } from '../../lambdas/sdk/service/credentials';
import { createSdkRuntime } from '../../lambdas/adapters/sdk-runtime';
import { httpEvent, lambdaContext, startSdkEnv, type SdkEnv } from '../sdk/service/sdk-env';

type Http = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let env: SdkEnv;
let upload: Http;
let download: Http;
let token: string;

beforeAll(async () => {
  env = await startSdkEnv();
  const runtime = createSdkRuntime({
    env: process.env,
    clients: createAwsClients({ endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB! } }),
    clock: () => Date.now(),
  });
  upload = createUploadApi(runtime.serviceDependencies()) as never;
  download = createDownloadApi(runtime.downloadDependencies()) as never;
  token = (await issueToken(env.store, { id: 'maps-team', roles: ['provider'], sdks: ['maps'], now: new Date() }))
    .token;
});
afterAll(() => env.close());

const raw = (event: APIGatewayProxyEventV2, body: string): APIGatewayProxyEventV2 => ({ ...event, body });

describe('SDK HTTP APIs: routing, bodies and headers', () => {
  it('checks the provider token before it reads the body or picks a route', async () => {
    expect((await upload(raw(httpEvent('POST', '/sdk/uploads'), '{"name": '), lambdaContext)).statusCode).toBe(401);
    expect((await upload(httpEvent('DELETE', '/sdk/uploads'), lambdaContext)).statusCode).toBe(401);
  });

  it('answers a body that is not JSON with 400 and what to send', async () => {
    const response = await upload(raw(httpEvent('POST', '/sdk/uploads', { token }), '{"name": '), lambdaContext);
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('not valid JSON');
    expect(response.body).not.toMatch(/SyntaxError|Unexpected/);
  });

  it('refuses a body over the limit with 413 before parsing it', async () => {
    const response = await upload(
      raw(httpEvent('POST', '/sdk/uploads', { token }), `{"pad": "${'x'.repeat(MAX_REQUEST_BYTES)}"}`),
      lambdaContext,
    );
    expect(response.statusCode).toBe(413);
  });

  it('answers 404 for a method or path no route has, on both APIs, with the security headers', async () => {
    const unknownUpload = await upload(httpEvent('PUT', '/sdk/uploads', { token }), lambdaContext);
    const unknownDownload = await download(httpEvent('POST', '/sdk/index'), lambdaContext);
    const elsewhere = await download(httpEvent('GET', '/sdk/download/maps'), lambdaContext);
    for (const response of [unknownUpload, unknownDownload, elsewhere]) {
      expect(response.statusCode).toBe(404);
      expect(response.headers?.['Strict-Transport-Security']).toMatch(/max-age=/);
      expect(response.headers?.['X-Content-Type-Options']).toBe('nosniff');
      expect(response.headers?.['Cache-Control']).toBe('no-store');
    }
  });

  it('routes the upload id of the completion path to the handler', async () => {
    const response = await upload(
      httpEvent('POST', '/sdk/uploads/not-an-upload-id/complete', { token }),
      lambdaContext,
    );
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('No upload not-an-upload-id of yours exists');
  });
});
