/**
 * `npm run build`: Lockstep as an npm package, in `dist/` (docs/ARCHITECTURE.md, "Lockstep as an npm package").
 *
 * 1. tsc (tsconfig.build.json) compiles bin/, lib/, lambdas/ and local/ to JavaScript with declaration files, and
 *    tsc-alias adds the `.js` extensions plain Node.js needs to the relative imports (the source omits them, as
 *    the bundler-style resolution of the clone allows);
 * 2. the files the code reads at run time are copied into `dist/` at the same paths as in the repository, so every
 *    `new URL('../statemachines/...', import.meta.url)` resolves the same from `dist/lib/` as from `lib/`;
 * 3. esbuild prebuilds every Lambda handler (`lambdas/handlers/*.ts`) and the SDK tester into `dist/bundles/`,
 *    with the options the constructs use, so synth in a user's app needs no esbuild and is deterministic.
 *
 * A clean build each time: a stale file from a removed source must not ship.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { handlerBuildOptions, prebuiltBundleDir } from '../lib/lockstep-function';
import { providerRunnerBundleOptions, testerBundleOptions } from '../lib/sdk-tester-bundle';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const BUNDLES = join(DIST, 'bundles');

/**
 * Files and folders read at run time, by repository path: the ASL of both state machines; local mode's default
 * pipeline and the sample app it pushes; the example CloudFront key and access policy; the console's static files
 * (when that folder exists). Add a path here when code starts reading a new file relative to `import.meta.url`.
 */
const RUNTIME_ASSETS: readonly string[] = [
  'statemachines',
  'examples/quickstart',
  'examples/sample-app',
  'examples/sdk-cloudfront-public-key.pem',
  'examples/sdk-access-policy.json',
  'console',
];

function run(command: string, args: string[]): void {
  execFileSync(join(ROOT, 'node_modules', '.bin', command), args, { cwd: ROOT, stdio: 'inherit' });
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  run('tsc', ['-p', 'tsconfig.build.json']);
  run('tsc-alias', ['-p', 'tsconfig.build.json']);

  for (const asset of RUNTIME_ASSETS) {
    const source = join(ROOT, asset);
    // Only TypeScript sources are left out: tsc compiled them already, next to the copies.
    if (existsSync(source)) cpSync(source, join(DIST, asset), { recursive: true, filter: (f) => !f.endsWith('.ts') });
  }

  const handlersDir = join(ROOT, 'lambdas', 'handlers');
  const handlers = readdirSync(handlersDir).filter((f) => f.endsWith('.ts'));
  await Promise.all([
    ...handlers.map((file) => {
      const entry = join(handlersDir, file);
      return build(handlerBuildOptions(entry, prebuiltBundleDir(entry, BUNDLES)));
    }),
    build(testerBundleOptions(join(BUNDLES, 'sdk-tester'))),
    build(providerRunnerBundleOptions(join(BUNDLES, 'sdk-tester'))),
  ]);
  console.log(
    `dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${handlers.length} handler bundles and the SDK tester`,
  );
}

await main();
