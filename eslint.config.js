import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.lockstep/**', 'coverage/**', 'reports/**', '.stryker-tmp/**'] },
  // The package `npm run build` writes: compiled output, checked through its sources.
  { ignores: ['dist/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      // The project service reads tsconfig.json for each file, so type-aware rules see the same types as `tsc`.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Both `T[]` and `Array<T>` are in use (about 40 of each kind of complex element type): either setting
      // rewrites dozens of lines in files that the open branches change, for no change in meaning.
      '@typescript-eslint/array-type': 'off',
      // An `async` function without `await` is how this code implements a Promise-returning port, fake or middy
      // handler: `async` turns a synchronous throw into a rejection, which is what the callers handle. Rewriting
      // each as `Promise.resolve(...)` would lose that and buy nothing.
      '@typescript-eslint/require-await': 'off',
      // For strings `||` is deliberate here: an empty environment variable, form field or region means "not given".
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
    },
  },
  {
    // Tests read JSON they did not type: synthesized CloudFormation templates (`Template.toJSON()` is `any` by
    // design), CLI output and HTTP bodies. The assertions are the check there; typing every template path would
    // only restate the template.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (configs, the sample app's scripts) is outside tsconfig.json: lint it without type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  // Last, so layout is Prettier's alone: no lint rule argues with the formatter.
  prettier,
);
