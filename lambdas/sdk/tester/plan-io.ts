/**
 * How both halves of the tester reach their objects: only through the presigned URLs the stage step signed. The
 * plan comes from the URL in an environment variable, each package from its URL in the plan, and the one output
 * goes to the plan's results URL. Neither build holds credentials that reach an object (issue 9 item 20).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { requireEnv } from '../../core/errors';
import { testPlanSchema, type TestPlan } from '../records/test-plan';
import type { TesterStorage } from './tester';

/** A plan (with its JSON) is small; anything larger is not one the stage step wrote. */
const MAX_PLAN_BYTES = 16 * 1024 * 1024;

async function fetchOk(url: string, init: RequestInit, what: string): Promise<Response> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response;
}

/** Reads the plan whose presigned URL is in `variable`. Never prints the URL: it is a bearer credential. */
export async function readPlanFrom(variable: string): Promise<TestPlan> {
  const uri = requireEnv(variable);
  if (!/^https?:\/\//.test(uri))
    throw new Error(`${variable} must be the presigned URL of the plan that the stage step wrote`);
  const text = await (await fetchOk(uri, {}, 'The test plan could not be read')).text();
  if (text.length > MAX_PLAN_BYTES) throw new Error(`The test plan is over ${MAX_PLAN_BYTES} bytes`);
  return testPlanSchema.parse(JSON.parse(text));
}

/** Downloads the plan's packages through their presigned URLs, and nothing else. */
export function presignedStorage(plan: TestPlan): TesterStorage {
  return {
    download: async (bucket, key, path) => {
      const url = plan.packages.find((p) => p.bucket === bucket && p.key === key)?.url;
      if (url === undefined) throw new Error(`the plan has no presigned URL for s3://${bucket}/${key}`);
      const response = await fetchOk(url, {}, `s3://${bucket}/${key} could not be downloaded`);
      await pipeline(Readable.fromWeb(response.body!), createWriteStream(path));
    },
  };
}

/** PUTs `body` to the plan's one results URL (a key the stage step chose). */
export async function putResults(plan: TestPlan, body: string): Promise<void> {
  if (plan.results.url === undefined) throw new Error('the plan has no presigned URL for its results');
  await fetchOk(
    plan.results.url,
    { method: 'PUT', body, headers: { 'content-type': 'application/json' } },
    'The results could not be written',
  );
}
