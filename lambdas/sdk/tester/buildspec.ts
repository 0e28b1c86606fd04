/**
 * The tester project's buildspec, as a plain object: the `SdkPublisher` construct renders it to YAML for the
 * CodeBuild project (`lockstep-sdk-tester`), and local mode registers the same object with its buildspec runner.
 *
 * The project's source is a zip holding `tester.mjs`, the esbuild bundle of `cli.ts` (the AWS SDK included: the
 * build image has no node_modules). Each build gets `LOCKSTEP_SDK_TEST_PLAN` (a presigned URL of the plan the
 * stage step wrote) from the state machine; the tester PUTs the results to the plan's presigned results URL and exits non-zero when a
 * package fails, which fails the build and so the state machine's tester Task.
 */

/** File name of the tester bundle at the root of the tester project's source. */
export const TESTER_BUNDLE_FILE = 'tester.mjs';

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
