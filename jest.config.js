// Jest runs the TypeScript sources as native ES modules (the package is "type": "module", and the sources use
// import.meta.url); @swc/jest strips the types per file without type checking, which `npm run typecheck` does once.
/** @type {import('jest').Config} */
export default {
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript' },
          target: 'es2022',
          keepClassNames: true,
          experimental: { keepImportAttributes: true },
        },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  setupFiles: ['<rootDir>/test/setup.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup-after-env.ts'],
  testTimeout: 30_000,
  // Each test file runs in a worker process: a crash in one (a killed child process) cannot take the rest down.
  maxWorkers: 2,
  // `npm run coverage` (or `npm test -- --coverage`): V8's own coverage, which needs no instrumenting transform and
  // so sees the same code that runs. Only in-process code counts: what the end-to-end tests run in child processes
  // (`lockstep local`) does not.
  coverageProvider: 'v8',
  collectCoverageFrom: ['lambdas/**/*.ts'],
  coverageReporters: ['text-summary', 'json-summary', 'html'],
  coverageThreshold: {
    // Just below what the suite measured when the report was added (92.7 / 85.5 / 95.6 / 92.7 %, see the README's
    // "Tests and tooling"); raise them as tests are added, never lower them to make a change pass.
    './lambdas/': { statements: 92, branches: 85, functions: 95, lines: 92 },
  },
  modulePathIgnorePatterns: ['<rootDir>/cdk.out/', '<rootDir>/.lockstep/', '<rootDir>/dist/'],
  watchPathIgnorePatterns: ['<rootDir>/cdk.out/', '<rootDir>/.lockstep/', '<rootDir>/dist/'],
};
