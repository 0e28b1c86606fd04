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
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true, experimental: { keepImportAttributes: true } },
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
  modulePathIgnorePatterns: ['<rootDir>/cdk.out/', '<rootDir>/.lockstep/'],
  watchPathIgnorePatterns: ['<rootDir>/cdk.out/', '<rootDir>/.lockstep/'],
};
