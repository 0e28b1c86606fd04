/**
 * What the tester writes to `tests/<plan id>/results.json`, as one schema shared by the writer (`cli.ts`) and the
 * reader (the `record-test` step). The tester writes it through a presigned PUT that provider code in the same
 * build must not reach, but the reader trusts nothing in the file anyway: it validates it, checks that it answers the plan, and works out `passed` from the
 * per-package checks itself (`readTestResults`); the top-level `passed` is for the build log only.
 */
import { z } from 'zod';
import type { SdkVersionRef } from '../model';
import type { PackageTestResult, TestCheck, TestResults } from './records';
import { testPlanSchema, type TestPlan } from './test-plan';

/** Name of the check that builds and runs the sample app. */
export const SAMPLE_APP_CHECK = 'sample-app';
/** Every message of a `sample-app` check that did not build starts with this. */
export const SAMPLE_APP_NOT_BUILT = 'sample app not built: ';

export const testCheckSchema = z.object({
  name: z.string().min(1),
  passed: z.boolean(),
  skipped: z.boolean().optional(),
  message: z.string(),
});

export const packageTestResultSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  passed: z.boolean(),
  checks: z.array(testCheckSchema),
});

export const testResultsSchema = z.object({
  planId: z.string().min(1),
  passed: z.boolean(),
  packages: z.array(packageTestResultSchema),
  log: z.array(z.string()).optional(),
});

/** A package passes when it ran at least one check and every check passed (a skipped check is written passed). */
export function packagePassed(checks: readonly TestCheck[]): boolean {
  return checks.length > 0 && checks.every((c) => c.passed);
}

/**
 * "sample app not built: <reason>" when the package's sample app was skipped (a platform the tester cannot
 * build), for the status reason and the notifications; undefined when it was built or failed.
 */
export function sampleAppNotBuilt(pkg: Pick<PackageTestResult, 'checks'> | undefined): string | undefined {
  const check = pkg?.checks.find((c) => c.name === SAMPLE_APP_CHECK && c.skipped === true);
  if (check === undefined) return undefined;
  return check.message.startsWith(SAMPLE_APP_NOT_BUILT) ? check.message : `${SAMPLE_APP_NOT_BUILT}${check.message}`;
}

export type ReadResults =
  | { readonly ok: true; readonly results: TestResults; readonly passed: boolean }
  | { readonly ok: false; readonly problem: string };

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Parses the plan the stage step wrote (the tester's role can overwrite it, so it is checked like the results).
 * @returns the plan, or what is wrong with it
 */
export function readTestPlan(bytes: Buffer): { ok: true; plan: TestPlan } | { ok: false; problem: string } {
  let tree: unknown;
  try {
    tree = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, problem: `plan.json is not JSON (${(error as Error).message})` };
  }
  const parsed = testPlanSchema.safeParse(tree);
  return parsed.success
    ? { ok: true, plan: parsed.data }
    : { ok: false, problem: `plan.json does not match the plan schema (${issues(parsed.error)})` };
}

/**
 * Reads `results.json` for a plan: valid JSON of the schema, for this plan, with a result for every member.
 * `passed` (overall and per package) is recomputed from the checks.
 * @returns the results with recomputed `passed`, or what is wrong with the file
 */
export function readTestResults(bytes: Buffer, planId: string, members: readonly SdkVersionRef[]): ReadResults {
  let tree: unknown;
  try {
    tree = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, problem: `results.json is not JSON (${(error as Error).message})` };
  }
  const parsed = testResultsSchema.safeParse(tree);
  if (!parsed.success)
    return { ok: false, problem: `results.json does not match the results schema (${issues(parsed.error)})` };
  if (parsed.data.planId !== planId)
    return { ok: false, problem: `results.json is for plan ${parsed.data.planId}, not ${planId}` };
  const missing = members.filter(
    (m) => !parsed.data.packages.some((p) => p.name === m.name && p.version === m.version),
  );
  if (missing.length > 0)
    return {
      ok: false,
      problem: `results.json has no result for ${missing.map((m) => `${m.name} ${m.version}`).join(', ')}`,
    };
  const packages = parsed.data.packages.map((p) => ({ ...p, passed: packagePassed(p.checks) }));
  const passed = members.every((m) => packages.find((p) => p.name === m.name && p.version === m.version)!.passed);
  return { ok: true, results: { ...parsed.data, packages, passed }, passed };
}
