/**
 * The tester's entry point in CodeBuild (bundled by esbuild as `tester.mjs`, see `buildspec.ts`; local mode runs
 * the same bundle in its buildspec runner). Reads the plan named by `LOCKSTEP_SDK_TEST_PLAN` (`s3://bucket/key`),
 * runs it (`tester.ts`), writes the results where the plan says, and exits 1 when a package failed, so the build
 * and the state machine's tester Task fail with it.
 */
import { defaultAwsClients } from '../../adapters/aws-clients';
import { requireEnv } from '../../core/errors';
import { S3ObjectStore } from '../service/adapters/s3-object-store';
import { archiveLimitsFromEnv } from '../service/archive-limits';
import { parseS3Uri, testPlanSchema } from './plan';
import { testResultsSchema } from './results';
import { runTester } from './tester';

async function main(): Promise<number> {
  const uri = requireEnv('LOCKSTEP_SDK_TEST_PLAN');
  const archiveLimits = archiveLimitsFromEnv();
  const location = parseS3Uri(uri);
  if (location === undefined) throw new Error(`LOCKSTEP_SDK_TEST_PLAN must be an s3://bucket/key URI, not "${uri}"`);
  const objects = new S3ObjectStore(defaultAwsClients().s3);
  const bytes = await objects.getBytes(location.bucket, location.key, 16 * 1024 * 1024);
  if (bytes === undefined) throw new Error(`The test plan ${uri} does not exist`);
  const plan = testPlanSchema.parse(JSON.parse(bytes.toString('utf8')));
  console.log(`[tester] plan ${plan.planId}: ${plan.members.map((m) => `${m.name} ${m.version}`).join(', ')} with ${plan.packages.length} packages`);
  const results = await runTester(plan, objects, { workDir: process.env.LOCKSTEP_SDK_TESTER_WORK_DIR || 'lockstep-tester-work', archiveLimits });
  // The same schema the record-test step reads with: a results file this writes is one it accepts.
  await objects.put(plan.results.bucket, plan.results.key, JSON.stringify(testResultsSchema.parse(results), null, 2), 'application/json');
  for (const pkg of results.packages) {
    console.log(`[tester] ${pkg.name} ${pkg.version}: ${pkg.passed ? 'passed' : 'FAILED'}`);
    for (const check of pkg.checks) console.log(`[tester]   ${check.skipped ? 'skip' : check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.message}`);
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
