/**
 * What Lockstep knows about itself as an npm package: its version, where its assets are (state machines, local-mode
 * files, the console's static files, prebuilt Lambda bundles) and which `aws-cdk-lib` it supports. The same code
 * runs from a clone (`lib/*.ts` through tsx or Jest) and from an installed package (`dist/lib/*.js`): the build
 * copies the assets into `dist/` with the repository's layout, so a path relative to this file is right in both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { LockstepError } from '../lambdas/core/errors';

/** The folder that holds `lib/`, `lambdas/`, `statemachines/` ...: the clone's root, or `dist/` in the package. */
const ASSET_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Absolute path of an asset shipped with Lockstep, by its path in the repository. Use it instead of a path relative
 * to `process.cwd()`, which is the user's folder once Lockstep is installed.
 *
 * @example
 * assetPath('statemachines', 'promotion.asl.json');
 * assetPath('console'); // the console's static files
 */
export function assetPath(...segments: string[]): string {
  return join(ASSET_ROOT, ...segments);
}

/**
 * Folder of the prebuilt Lambda bundles (`bundles/<handler>/index.mjs`, `bundles/sdk-tester/tester.mjs`). Only an
 * installed package has it: `npm run build` writes it into `dist/`; a clone bundles from source at synth instead.
 */
export const PREBUILT_BUNDLES_DIR = assetPath('bundles');

/** Thrown when Lockstep's own package is incomplete or its peers do not fit; the message says what to run. */
export class LockstepPackageError extends LockstepError {}

/** Lockstep's `package.json`: the nearest one up from this file that is named `lockstep`. */
function ownPackageJson(): { name: string; version: string; peerDependencies?: Record<string, string> } {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (json.name === 'lockstep' && typeof json.version === 'string')
        return json as ReturnType<typeof ownPackageJson>;
    }
    if (dirname(dir) === dir) {
      throw new LockstepPackageError(
        `Lockstep cannot find its own package.json above ${fileURLToPath(import.meta.url)}; reinstall it (npm install lockstep)`,
      );
    }
  }
}

const PACKAGE = ownPackageJson();

/** Lockstep's version (semver), as `lockstep --version` prints it. */
export const LOCKSTEP_VERSION: string = PACKAGE.version;

/** The `aws-cdk-lib` versions this Lockstep release supports (its peer dependency range). */
export const SUPPORTED_CDK_RANGE: string = PACKAGE.peerDependencies?.['aws-cdk-lib'] ?? '^2.0.0';

/**
 * The problem with an `aws-cdk-lib` version, or undefined when it is in `range`. Prereleases of a supported
 * version count as supported, so a CDK release candidate can be tried.
 *
 * @example
 * cdkVersionProblem('2.100.0', '^2.276.0'); // 'Lockstep 0.1.0 needs aws-cdk-lib ^2.276.0, but this app has 2.100.0. ...'
 */
export function cdkVersionProblem(found: string, range: string = SUPPORTED_CDK_RANGE): string | undefined {
  if (semver.satisfies(found, range, { includePrerelease: true })) return undefined;
  const minimum = semver.minVersion(range)?.version ?? range;
  return (
    `Lockstep ${LOCKSTEP_VERSION} needs aws-cdk-lib ${range}, but this app has ${found}. ` +
    `Upgrade it with: npm install aws-cdk-lib@^${minimum} (and aws-cdk, the CLI, to a release that reads its output)`
  );
}

/**
 * Throws `LockstepPackageError` when the `aws-cdk-lib` that the importing app resolves is outside the supported
 * range. npm only warns about an unmet peer dependency (or refuses the install with ERESOLVE, which is easy to
 * override with --force); synth with an older CDK would fail later on a missing API, far from the cause.
 */
export function assertSupportedCdk(): void {
  const cdk = createRequire(import.meta.url)('aws-cdk-lib/package.json') as { version: string };
  const problem = cdkVersionProblem(cdk.version);
  if (problem) throw new LockstepPackageError(problem, { details: { found: cdk.version, range: SUPPORTED_CDK_RANGE } });
}
