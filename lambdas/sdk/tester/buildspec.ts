/**
 * The buildspecs of the tester's two CodeBuild projects, as plain objects: the `SdkPublisher` construct renders
 * them to YAML, and local mode registers the same objects with its buildspec runner.
 *
 * - The tester project (`<stack>-sdk-tester`, trusted): its source is a zip holding `tester.mjs`, the esbuild
 *   bundle of `cli.ts` (the AWS SDK included: the build image has no node_modules). Each build gets
 *   `LOCKSTEP_SDK_TEST_PLAN` (a presigned URL of the plan the stage step wrote) from the state machine; it PUTs the
 *   results to the plan's presigned results URL and exits non-zero when a package fails verification.
 * - The provider-code project (`<stack>-sdk-provider-code`, untrusted): no source, because its role reads nothing.
 *   Each build gets `LOCKSTEP_SDK_PROVIDER_RUNNER` (a presigned URL of `provider-runner.mjs`, the bundle of
 *   `provider-runner-cli.ts`) and `LOCKSTEP_SDK_PROVIDER_RUN` (a presigned URL of its plan). The commands name the
 *   variables and never print their values: CodeBuild logs each command as written, not expanded.
 */

/** File name of the tester bundle at the root of the tester project's source. */
export const TESTER_BUNDLE_FILE = 'tester.mjs';
/** File name of the provider-code runner bundle (beside the tester bundle; fetched by the provider-code build). */
export const PROVIDER_RUNNER_BUNDLE_FILE = 'provider-runner.mjs';

export const TESTER_BUILDSPEC = {
  version: '0.2',
  env: {
    variables: {
      // The build image's default; local mode runs with its own PATH.
      LOCKSTEP_SDK_TESTER_WORK_DIR: 'lockstep-tester-work',
    },
  },
  phases: {
    build: {
      commands: [`node ${TESTER_BUNDLE_FILE}`],
    },
  },
} as const;

/** Fetches the runner through its presigned URL with Node's own fetch (no curl in every image), then runs it. */
const FETCH_RUNNER = [
  'node -e "fetch(process.env.LOCKSTEP_SDK_PROVIDER_RUNNER)',
  ".then(async (r) => { if (!r.ok) throw new Error('the provider-code runner could not be fetched: HTTP ' + r.status);",
  `require('fs').writeFileSync('${PROVIDER_RUNNER_BUNDLE_FILE}', Buffer.from(await r.arrayBuffer())); })`,
  '.catch((e) => { console.error(e.message); process.exit(2); })"',
].join('');

export const PROVIDER_CODE_BUILDSPEC = {
  version: '0.2',
  env: {
    variables: {
      LOCKSTEP_SDK_TESTER_WORK_DIR: 'lockstep-provider-work',
    },
  },
  phases: {
    build: {
      commands: [FETCH_RUNNER, `node ${PROVIDER_RUNNER_BUNDLE_FILE}`],
    },
  },
} as const;
