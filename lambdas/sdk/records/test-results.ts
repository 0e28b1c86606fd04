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

const refSchema = z.object({ name: z.string().min(1), version: z.string().min(1) });

export const testResultsSchema = z.object({
  planId: z.string().min(1),
  passed: z.boolean(),
  packages: z.array(packageTestResultSchema),
  log: z.array(z.string()).optional(),
  providerCode: z.object({ sampleApp: z.boolean(), checksScripts: z.array(refSchema) }).optional(),
});

/** Checks the provider-code build reports; any other name in its output is ignored. */
export const PROVIDER_CODE_CHECKS = [SAMPLE_APP_CHECK, 'checks-script'] as const;

/** Bounds of the provider-code output: it is written by a build that runs provider code, so it is hostile input. */
export const PROVIDER_OUTPUT_LIMITS = {
  /** Bytes of the whole file; the judge reads no more. */
  maxBytes: 1024 * 1024,
  maxMessageChars: 4000,
  maxPackages: 500,
  maxChecksPerPackage: 10,
  maxLogLines: 200,
  maxLogLineChars: 1000,
} as const;

const L = PROVIDER_OUTPUT_LIMITS;

/**
 * What the provider-code build (`provider-runner.ts`) PUTs to `tests/<plan>/provider-output.json`: the sample
 * app's and each checks script's outcome per member, and the last output lines. Strict and bounded: unknown keys,
 * long messages or too many entries make the whole file unreadable, so the member fails.
 */
export const providerOutputSchema = z
  .object({
    planId: z.string().min(1).max(200),
    packages: z
      .array(
        z
          .object({
            name: z.string().min(1).max(200),
            version: z.string().min(1).max(200),
            checks: z
              .array(
                z
                  .object({
                    name: z.enum(PROVIDER_CODE_CHECKS),
                    passed: z.boolean(),
                    skipped: z.boolean().optional(),
                    message: z.string().max(L.maxMessageChars),
                  })
                  .strict(),
              )
              .max(L.maxChecksPerPackage),
          })
          .strict(),
      )
      .max(L.maxPackages),
    log: z.array(z.string().max(L.maxLogLineChars)).max(L.maxLogLines).optional(),
  })
  .strict();

export type ProviderOutput = z.infer<typeof providerOutputSchema>;

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

/** The provider-code output as read: the output, what is wrong with it, or undefined when there is none. */
export type ProviderOutputRead = { ok: true; output: ProviderOutput } | { ok: false; problem: string } | undefined;

/**
 * Reads the provider-code build's output for a plan: bounded JSON of `providerOutputSchema`, for this plan.
 * @returns the output, or what is wrong with it
 */
export function readProviderOutput(bytes: Buffer, planId: string): NonNullable<ProviderOutputRead> {
  if (bytes.length > L.maxBytes)
    return { ok: false, problem: `provider-output.json is over ${L.maxBytes} bytes (${bytes.length})` };
  let tree: unknown;
  try {
    tree = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, problem: `provider-output.json is not JSON (${(error as Error).message})` };
  }
  const parsed = providerOutputSchema.safeParse(tree);
  if (!parsed.success)
    return {
      ok: false,
      problem: `provider-output.json does not match the provider output schema (${issues(parsed.error).slice(0, 500)})`,
    };
  if (parsed.data.planId !== planId)
    return { ok: false, problem: `provider-output.json is for plan ${parsed.data.planId}, not ${planId}` };
  return { ok: true, output: parsed.data };
}

/**
 * The judge: adds to the trusted tester's results exactly the provider-code checks it expected
 * (`results.providerCode`), taken from the untrusted output. An expected check that the output lacks, or an output
 * that cannot be read, is a failed check saying so; checks the tester did not expect are dropped, and a skip is
 * not taken from provider code (only the trusted tester decides a sample app is not built). `passed` is worked
 * out again from the checks.
 */
export function judgeTestResults(
  results: TestResults,
  members: readonly SdkVersionRef[],
  provider: { read?: ProviderOutputRead; buildError?: string },
): { results: TestResults; passed: boolean } {
  const expected = results.providerCode;
  if (expected === undefined) {
    const passed = members.every((m) => results.packages.find((p) => same(p, m))?.passed === true);
    return { results, passed };
  }
  const missing = (what: string): string =>
    provider.read?.ok === false
      ? `the provider-code build wrote unreadable output: ${provider.read.problem}`
      : provider.buildError !== undefined
        ? `the provider-code build did not report the ${what} (${provider.buildError}); see the provider-code build log`
        : `the provider-code build did not report the ${what}`;
  const output = provider.read?.ok === true ? provider.read.output : undefined;
  const reported = (m: SdkVersionRef, name: string) => {
    const check = output?.packages.find((p) => same(p, m))?.checks.find((c) => c.name === name);
    return check === undefined ? undefined : { name, passed: check.passed, message: check.message };
  };
  const packages = results.packages.map((p) => {
    if (!members.some((m) => same(m, p))) return p;
    const checks: TestCheck[] = [...p.checks];
    if (expected.sampleApp)
      checks.push(
        reported(p, SAMPLE_APP_CHECK) ?? { name: SAMPLE_APP_CHECK, passed: false, message: missing('sample app') },
      );
    if (expected.checksScripts.some((s) => same(s, p)))
      checks.push(
        reported(p, 'checks-script') ?? { name: 'checks-script', passed: false, message: missing('checks script') },
      );
    return { ...p, checks, passed: packagePassed(checks) };
  });
  const log = [...(results.log ?? []), ...(output?.log ?? [])].slice(-40);
  const passed = members.every((m) => packages.find((p) => same(p, m))?.passed === true);
  return { results: { ...results, packages, passed, ...(log.length > 0 ? { log } : {}) }, passed };
}

function same(a: SdkVersionRef, b: SdkVersionRef): boolean {
  return a.name === b.name && a.version === b.version;
}
