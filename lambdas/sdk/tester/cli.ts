/**
 * The trusted half of the tester in CodeBuild (bundled by esbuild as `tester.mjs`, see `buildspec.ts`; local mode
 * runs the same bundle in its buildspec runner). Reads the plan from the presigned URL in `LOCKSTEP_SDK_TEST_PLAN`,
 * downloads and verifies each package through its presigned URL, checks manifests, metadata and architectures
 * (`runTester`), PUTs the results (with what the provider-code build must run) to the plan's one presigned results
 * URL, and exits 1 when a package failed, so the state machine skips the provider-code build and records the
 * failure. It runs no provider code and holds no credentials that reach an object (issue 9, item 20).
 */
import { archiveLimitsFromEnv } from '../service/archive-limits';
import { testResultsSchema } from '../records/test-results';
import { presignedStorage, putResults, readPlanFrom } from './plan-io';
import { runTester } from './tester';

async function main(): Promise<number> {
  const archiveLimits = archiveLimitsFromEnv();
  const plan = await readPlanFrom('LOCKSTEP_SDK_TEST_PLAN');
  console.log(
    `[tester] plan ${plan.planId}: ${plan.members.map((m) => `${m.name} ${m.version}`).join(', ')} with ${plan.packages.length} packages`,
  );
  const results = await runTester(plan, presignedStorage(plan), {
    workDir: process.env.LOCKSTEP_SDK_TESTER_WORK_DIR || 'lockstep-tester-work',
    archiveLimits,
  });
  // The same schema the record-test step reads with: a results file this writes is one it accepts.
  await putResults(plan, JSON.stringify(testResultsSchema.parse(results), null, 2));
  for (const pkg of results.packages) {
    console.log(`[tester] ${pkg.name} ${pkg.version}: ${pkg.passed ? 'verified' : 'FAILED'}`);
    for (const check of pkg.checks)
      console.log(
        `[tester]   ${check.skipped ? 'skip' : check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.message}`,
      );
  }
  const expected = results.providerCode;
  if (expected !== undefined && results.passed)
    console.log(
      `[tester] the provider-code build runs: ${[...(expected.sampleApp ? ['the sample app'] : []), ...expected.checksScripts.map((s) => `${s.name}'s checks script`)].join(', ') || 'nothing'}`,
    );
  return results.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[tester] ${(error as Error).message}`);
    process.exit(2);
  },
);
