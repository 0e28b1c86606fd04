// Mutation testing of the code whose mistakes cost the most: the decision core (what gets promoted where) and the
// GitHub webhook (who may trigger a build). `npm run mutate`; the HTML report lands in reports/mutation/.
// It is not part of `npm test`: all of it (about 1,060 mutants) takes hours on 2 cores; `--mutate <file>` runs one file.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['lambdas/core/decide/*.ts', 'lambdas/handlers/github-webhook.ts'],
  testRunner: 'jest',
  // The suite runs as native ES modules, as in `npm test`.
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  jest: {
    configFile: 'jest.config.js',
    // Only the tests that exercise the mutated files: the rest of the suite (CDK synth, local end-to-end runs)
    // would add minutes per mutant and kill none of these.
    config: {
      testMatch: ['<rootDir>/test/decide/**/*.test.ts', '<rootDir>/test/handlers/github-webhook.test.ts'],
      maxWorkers: 1,
    },
  },
  // Each mutant runs only the tests that cover it.
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants) would need the whole test set per mutant; they are few here and the
  // run stays within the time a shared 2-core machine allows without them.
  ignoreStatic: true,
  // The machine has 2 cores shared by everyone: one test runner at a time.
  concurrency: 1,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
