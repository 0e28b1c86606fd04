/**
 * How the SDK tester CLI is bundled for its CodeBuild project: one ESM file (`TESTER_BUNDLE_FILE`) holding
 * everything, the AWS SDK included, because the build image has no node_modules. `SdkPublisher` bundles with these
 * options at synth; local mode can call the same function so both run the same bundle. An installed package ships
 * the bundle prebuilt (`PREBUILT_TESTER_DIR`), so neither needs esbuild there.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { PROVIDER_RUNNER_BUNDLE_FILE, TESTER_BUNDLE_FILE } from '../lambdas/sdk/tester/buildspec';
import { ESM_REQUIRE_BANNER } from './handlers';
import { PREBUILT_BUNDLES_DIR } from './package-info';

/** Folder of the prebuilt tester bundle in an installed package (`npm run build` writes it). */
export const PREBUILT_TESTER_DIR = join(PREBUILT_BUNDLES_DIR, 'sdk-tester');

/** The prebuilt tester bundle file, or undefined where there is none (a clone: bundle from source). */
export function prebuiltTesterBundle(): string | undefined {
  const file = join(PREBUILT_TESTER_DIR, TESTER_BUNDLE_FILE);
  return existsSync(file) ? file : undefined;
}

/** The prebuilt provider-code runner bundle file, or undefined where there is none (a clone: bundle from source). */
export function prebuiltProviderRunnerBundle(): string | undefined {
  const file = join(PREBUILT_TESTER_DIR, PROVIDER_RUNNER_BUNDLE_FILE);
  return existsSync(file) ? file : undefined;
}

/** Folder of the tester sources (the asset's source path). */
export const TESTER_DIR = fileURLToPath(new URL('../lambdas/sdk/tester/', import.meta.url));
/** The tester's CLI entry. */
export const TESTER_ENTRY = join(TESTER_DIR, 'cli.ts');
/** The provider-code runner's entry (the untrusted half). */
export const PROVIDER_RUNNER_ENTRY = join(TESTER_DIR, 'provider-runner-cli.ts');

/**
 * esbuild options that write the tester bundle into `outputDir`.
 *
 * @example
 * await build(testerBundleOptions(dir)); // dir/tester.mjs
 */
export function testerBundleOptions(outputDir: string): BuildOptions {
  return bundleOptions(TESTER_ENTRY, join(outputDir, TESTER_BUNDLE_FILE));
}

/** esbuild options that write the provider-code runner bundle (`provider-runner.mjs`) into `outputDir`. */
export function providerRunnerBundleOptions(outputDir: string): BuildOptions {
  return bundleOptions(PROVIDER_RUNNER_ENTRY, join(outputDir, PROVIDER_RUNNER_BUNDLE_FILE));
}

function bundleOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
  };
}
