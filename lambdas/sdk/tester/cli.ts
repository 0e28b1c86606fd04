/**
 * The tester's entry point in CodeBuild (bundled by esbuild as `tester.mjs`, see `buildspec.ts`; local mode runs
 * the same bundle in its buildspec runner). Reads the plan from the presigned URL in `LOCKSTEP_SDK_TEST_PLAN`,
 * downloads each package from its presigned URL, runs the plan (`tester.ts`), PUTs the results to the plan's one
 * presigned results URL, and exits 1 when a package failed, so the build and the state machine's tester Task fail
 * with it. It holds no AWS credentials that reach an object: its role has no S3 access (issue 9, item 20).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { requireEnv } from '../../core/errors';
import { archiveLimitsFromEnv } from '../service/archive-limits';
import { testPlanSchema } from '../records/test-plan';
import { testResultsSchema } from '../records/test-results';
import { runTester } from './tester';

/** A plan (with its JSON) is small; anything larger is not one the stage step wrote. */
const MAX_PLAN_BYTES = 16 * 1024 * 1024;

async function fetchOk(url: string, init: RequestInit, what: string): Promise<Response> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response;
}

async function main(): Promise<number> {
  const uri = requireEnv('LOCKSTEP_SDK_TEST_PLAN');
  if (!/^https?:\/\//.test(uri))
    throw new Error('LOCKSTEP_SDK_TEST_PLAN must be the presigned URL of the plan that the stage step wrote');
  const archiveLimits = archiveLimitsFromEnv();
  const text = await (await fetchOk(uri, {}, 'The test plan could not be read')).text();
  if (text.length > MAX_PLAN_BYTES) throw new Error(`The test plan is over ${MAX_PLAN_BYTES} bytes`);
  const plan = testPlanSchema.parse(JSON.parse(text));
  console.log(
    `[tester] plan ${plan.planId}: ${plan.members.map((m) => `${m.name} ${m.version}`).join(', ')} with ${plan.packages.length} packages`,
  );
  const storage = {
    download: async (bucket: string, key: string, path: string) => {
      const url = plan.packages.find((p) => p.bucket === bucket && p.key === key)?.url;
      if (url === undefined) throw new Error(`the plan has no presigned URL for s3://${bucket}/${key}`);
      const response = await fetchOk(url, {}, `s3://${bucket}/${key} could not be downloaded`);
      await pipeline(Readable.fromWeb(response.body!), createWriteStream(path));
    },
  };
  const results = await runTester(plan, storage, {
    workDir: process.env.LOCKSTEP_SDK_TESTER_WORK_DIR || 'lockstep-tester-work',
    archiveLimits,
  });
  if (plan.results.url === undefined) throw new Error('the plan has no presigned URL for its results');
  // The same schema the record-test step reads with: a results file this writes is one it accepts.
  const body = JSON.stringify(testResultsSchema.parse(results), null, 2);
  await fetchOk(
    plan.results.url,
    { method: 'PUT', body, headers: { 'content-type': 'application/json' } },
    'The results could not be written',
  );
  for (const pkg of results.packages) {
    console.log(`[tester] ${pkg.name} ${pkg.version}: ${pkg.passed ? 'passed' : 'FAILED'}`);
    for (const check of pkg.checks)
      console.log(
        `[tester]   ${check.skipped ? 'skip' : check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.message}`,
      );
  }
  return results.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[tester] ${(error as Error).message}`);
    process.exit(2);
  },
);
