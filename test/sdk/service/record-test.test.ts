/**
 * The `record-test` step reads what the tester wrote under staging `tests/<plan>/`, a place the tester's role (and
 * so whatever runs in the tester) can write: it must check the files, not trust them.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { testPlanKey, testResultsKey } from '../../../lambdas/sdk/service/keys';
import type { TestResults, VersionRecord } from '../../../lambdas/sdk/records/records';
import { runSdkStep } from '../../../lambdas/sdk/service/steps';
import type { TestPlan } from '../../../lambdas/sdk/records/test-plan';
import { sdkMetadata } from '../converter/fixtures';
import { stepHarness, type StepHarness } from './step-fakes';

const SDK = { name: 'acme-maps', version: '6.2.0' };
const PLAN_ID = 'exec-1';

let h: StepHarness;

beforeEach(async () => {
  h = stepHarness();
  const record: Omit<VersionRecord, 'rev'> = {
    ...SDK,
    status: 'TESTING',
    reason: 'resolved; the tester builds a sample app',
    metadata: sdkMetadata({ dependencies: {} }),
    upload: { artifactsKey: 'a', metadataKey: 'm', etag: 'e' },
    package: {
      key: 'packages/acme-maps/6.2.0/acme-maps-6.2.0.zip',
      fileName: 'acme-maps-6.2.0.zip',
      sha256: '0'.repeat(64),
      size: 1,
    },
    contentsKey: 'contents/acme-maps/6.2.0.json',
    updatedAt: '2025-01-01T00:00:00.000Z',
    history: [],
  };
  await h.store.saveVersion(record, undefined);
  const plan: TestPlan = {
    planId: PLAN_ID,
    members: [SDK],
    packages: [],
    results: { bucket: 'staging', key: testResultsKey(PLAN_ID) },
  };
  await h.objects.put('staging', testPlanKey(PLAN_ID), JSON.stringify(plan));
});

async function recordTest(results: unknown): Promise<{ passed: boolean; reason: string }> {
  await h.objects.put(
    'staging',
    testResultsKey(PLAN_ID),
    typeof results === 'string' ? results : JSON.stringify(results),
  );
  return (await runSdkStep(h.deps, {
    action: 'record-test',
    execution: PLAN_ID,
    sdk: SDK,
    planId: PLAN_ID,
    buildFailed: false,
    error: null,
  })) as { passed: boolean; reason: string };
}

const status = async () => (await h.store.getVersion(SDK))!;

describe('record-test', () => {
  it('fails the version with the reason when results.json is not JSON, instead of throwing a SyntaxError', async () => {
    const outcome = await recordTest('{"planId": "exec-1", "passed": tr');
    expect(outcome.passed).toBe(false);
    expect((await status()).status).toBe('TEST_FAILED');
    expect((await status()).reason).toMatch(/^the tester wrote unreadable results: results\.json is not JSON/);
  });

  it('fails the version naming the field when results.json has the wrong shape', async () => {
    await recordTest({
      planId: PLAN_ID,
      passed: true,
      packages: [{ ...SDK, passed: true, checks: [{ name: 'sample-app', passed: 'yes' }] }],
    });
    expect((await status()).status).toBe('TEST_FAILED');
    expect((await status()).reason).toContain(
      'the tester wrote unreadable results: results.json does not match the results schema (packages.0.checks.0.passed',
    );
  });

  it('fails the version when results.json answers another plan or leaves a member out', async () => {
    await recordTest({
      planId: 'someone-else',
      passed: true,
      packages: [{ ...SDK, passed: true, checks: [{ name: 'sample-app', passed: true, message: 'ok' }] }],
    });
    expect((await status()).reason).toBe(
      'the tester wrote unreadable results: results.json is for plan someone-else, not exec-1',
    );
  });

  it('fails the version when plan.json was overwritten with something that is not a plan', async () => {
    await h.objects.put('staging', testPlanKey(PLAN_ID), JSON.stringify({ planId: PLAN_ID, members: [] }));
    await recordTest({
      planId: PLAN_ID,
      passed: true,
      packages: [{ ...SDK, passed: true, checks: [{ name: 'sample-app', passed: true, message: 'ok' }] }],
    });
    expect((await status()).status).toBe('TEST_FAILED');
    expect((await status()).reason).toMatch(
      /^the tester wrote unreadable results: plan\.json does not match the plan schema \(members/,
    );
  });

  it('ignores a top-level and per-package passed: true when a check failed', async () => {
    const lying: TestResults = {
      planId: PLAN_ID,
      passed: true,
      packages: [
        { ...SDK, passed: true, checks: [{ name: 'checks-script', passed: false, message: 'exited with 3' }] },
      ],
    };
    expect((await recordTest(lying)).passed).toBe(false);
    expect((await status()).reason).toBe('tests failed: checks-script: exited with 3');
    expect((await status()).tests?.passed).toBe(false);
  });

  it('fails a package that claims to pass with no checks', async () => {
    expect(
      (await recordTest({ planId: PLAN_ID, passed: true, packages: [{ ...SDK, passed: true, checks: [] }] })).passed,
    ).toBe(false);
    expect((await status()).reason).toBe('tests failed: the tester recorded no checks for acme-maps 6.2.0');
  });

  it('passes when every check passed, whatever the top-level flag says', async () => {
    const modest = {
      planId: PLAN_ID,
      passed: false,
      packages: [{ ...SDK, passed: false, checks: [{ name: 'manifest', passed: true, message: 'all match' }] }],
    };
    expect((await recordTest(modest)).passed).toBe(true);
    expect((await status()).status).toBe('READY');
  });
});

describe('a sample app the tester could not build', () => {
  const notBuilt = 'sample app not built: acme-maps targets ios arm64; the tester builds linux x86_64';
  const results: TestResults = {
    planId: PLAN_ID,
    passed: true,
    packages: [
      {
        ...SDK,
        passed: true,
        checks: [
          { name: 'manifest', passed: true, message: 'all match' },
          { name: 'sample-app', passed: true, skipped: true, message: notBuilt },
        ],
      },
    ],
  };

  it('still lets the version pass, and its status and the publish notification say the sample app was not built', async () => {
    expect((await recordTest(results)).passed).toBe(true);
    expect((await status()).status).toBe('READY');
    expect((await status()).reason).toBe(`tests passed (2 checks); ${notBuilt}`);
    expect((await status()).tests?.packages[0]?.checks[1]?.message).toBe(notBuilt);

    await h.objects.put('staging', (await status()).package.key, 'zip');
    await runSdkStep(h.deps, { action: 'publish', execution: PLAN_ID, sdk: SDK });
    expect((await status()).status).toBe('PUBLISHED');
    expect((await status()).reason).toBe(`published to the public tier; ${notBuilt}`);
    await runSdkStep(h.deps, { action: 'notify', execution: PLAN_ID, sdk: SDK, event: 'published' });
    expect(h.notifications.map((n) => n.text).join('\n')).toContain(notBuilt);
  });
});
