/**
 * The untrusted half of the tester: the only Lockstep code in the provider-code CodeBuild project, whose role may
 * write its own log group and nothing else (bundled as `provider-runner.mjs`; the buildspec fetches it through a
 * presigned URL, since the role cannot read S3). Reads its plan from the presigned URL in
 * `LOCKSTEP_SDK_PROVIDER_RUN` (the plan's packages only, and one presigned PUT for
 * `tests/<plan>/provider-output.json`), builds and runs the sample app and the checks scripts as `nobody`
 * (`runProviderCode`), PUTs what they did, and exits 1 when one failed. The judge (`record-test`) reads that output
 * as untrusted input.
 */
import { archiveLimitsFromEnv } from '../service/archive-limits';
import { providerOutputSchema } from '../records/test-results';
import { presignedStorage, putResults, readPlanFrom } from './plan-io';
import { runProviderCode } from './tester';

async function main(): Promise<number> {
  const archiveLimits = archiveLimitsFromEnv();
  const plan = await readPlanFrom('LOCKSTEP_SDK_PROVIDER_RUN');
  console.log(`[provider code] plan ${plan.planId}: ${plan.members.map((m) => `${m.name} ${m.version}`).join(', ')}`);
  const output = await runProviderCode(plan, presignedStorage(plan), {
    workDir: process.env.LOCKSTEP_SDK_TESTER_WORK_DIR || 'lockstep-provider-work',
    archiveLimits,
  });
  // The judge's own schema: output this writes is output it accepts.
  await putResults(plan, JSON.stringify(providerOutputSchema.parse(output)));
  let failed = false;
  for (const pkg of output.packages)
    for (const check of pkg.checks) {
      failed ||= !check.passed;
      console.log(
        `[provider code] ${pkg.name} ${pkg.version} ${check.skipped ? 'skip' : check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.message}`,
      );
    }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[provider code] ${(error as Error).message}`);
    process.exit(2);
  },
);
