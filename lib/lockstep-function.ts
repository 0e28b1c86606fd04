/**
 * One way to make a Lockstep Lambda function, for `DeploymentSystem` and the constructs that join it later
 * (`SdkPublisher`): NodejsFunction with the shared bundling settings (`handlers.ts`), the newest Node.js runtime,
 * ARM64, active tracing, a role without managed policies, a log group with retention, and data files (such as
 * `pipeline.json`) copied next to the bundle.
 *
 * Where the code comes from (docs/ARCHITECTURE.md, "Lockstep as an npm package"): an installed package ships every
 * handler prebuilt (`bundles/<name>/index.mjs`, written by `npm run build` with `handlerBuildOptions`), so a user
 * needs no esbuild and synth is deterministic; a clone has no prebuilt bundles and esbuild bundles the TypeScript
 * source at synth, with the same options. Every `lambdas/handlers/*.ts` file is prebuilt: a new handler needs no
 * change here or in the build.
 */
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
import { ESM_REQUIRE_BANNER, HANDLER_EXTERNALS } from './handlers';
import { acknowledge } from './nag';
import { LockstepPackageError, PREBUILT_BUNDLES_DIR } from './package-info';

/** The runtime of every Lockstep function; prebuilt bundles target the same Node.js version. */
const RUNTIME = lambda.Runtime.NODEJS_24_X;
/** File name of a bundle, as NodejsFunction names an ESM bundle. */
const BUNDLE_FILE = 'index.mjs';

/** Where the prebuilt bundle of a handler source file lives: `bundles/<file name without extension>/`. */
export function prebuiltBundleDir(entry: string, bundlesDir: string = PREBUILT_BUNDLES_DIR): string {
  return join(bundlesDir, basename(entry, extname(entry)));
}

/**
 * esbuild options that bundle `entry` into `outputDir/index.mjs` exactly as NodejsFunction does with the settings
 * below (`npm run build` uses them for the prebuilt bundles).
 */
export function handlerBuildOptions(entry: string, outputDir: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile: join(outputDir, BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    target: RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1'),
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    external: HANDLER_EXTERNALS,
    logLevel: 'error',
  };
}

export interface LockstepFunctionOptions {
  /** Handler source file (exports `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Readonly<Record<string, string>>;
  /** Files written next to the bundle, by name, as JSON (read at cold start, e.g. `pipeline.json`). @default none */
  readonly bundledJson?: Readonly<Record<string, unknown>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Creates the function `id` with its role `<id>Role` and log group `<id>Logs` in `scope`.
 *
 * @example
 * const fn = lockstepFunction(this, 'SdkSteps', { entry, description, timeout, memorySize, environment, logRetention, removalPolicy });
 */
export function lockstepFunction(
  scope: Construct,
  id: string,
  options: LockstepFunctionOptions,
): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: options.logRetention,
    removalPolicy: options.removalPolicy,
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Lockstep ${id} function`,
  });
  // Written here instead of AWSLambdaBasicExecutionRole, which would allow every log group in the account.
  logGroup.grantWrite(role);

  // Written once at synth; the files' content feeds the bundle's asset hash, so a changed pipeline redeploys.
  const files = Object.entries(options.bundledJson ?? {});
  const folder = files.length > 0 ? mkdtempSync(join(tmpdir(), 'lockstep-bundled-')) : '';
  for (const [name, content] of files) writeFileSync(join(folder, name), `${JSON.stringify(content, null, 2)}\n`);

  const common = {
    description: options.description,
    runtime: RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.memorySize,
    timeout: options.timeout,
    tracing: lambda.Tracing.ACTIVE,
    role,
    logGroup,
    // A published version stays when a newer one replaces it: state machine executions in flight still invoke it
    // (state-machine.ts). Only a create that rolls back removes it.
    currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE },
    environment: { ...options.environment },
  };
  const prebuilt = prebuiltBundleDir(options.entry);
  const fn = existsSync(join(prebuilt, BUNDLE_FILE))
    ? new nodejs.NodejsFunction(scope, id, {
        ...common,
        code: lambda.Code.fromAsset(withDataFiles(prebuilt, files, folder)),
        handler: 'index.handler',
      })
    : new nodejs.NodejsFunction(scope, id, {
        ...common,
        entry: sourceEntry(options.entry, prebuilt),
        handler: 'handler',
        bundling: {
          format: nodejs.OutputFormat.ESM,
          minify: true,
          mainFields: ['module', 'main'],
          banner: ESM_REQUIRE_BANNER,
          externalModules: HANDLER_EXTERNALS,
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir: string, outputDir: string) =>
              files.map(
                ([name]) => `cp ${JSON.stringify(join(folder, name))} ${JSON.stringify(join(outputDir, name))}`,
              ),
          },
        },
      });
  acknowledge(role, {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions',
  });
  return fn;
}

export interface LockstepFunctionsOptions<Name extends string> {
  readonly names: readonly Name[];
  readonly entry: (name: Name) => string;
  readonly settings: (name: Name) => {
    readonly description: string;
    readonly timeout: Duration;
    readonly memorySize: number;
  };
  readonly environment: Readonly<Record<string, string>>;
  readonly bundledJson: Readonly<Record<string, unknown>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** One `lockstepFunction` per handler name, construct id `pascal(name)`, all with the same environment and files. */
export function buildFunctions<Name extends string>(
  scope: Construct,
  options: LockstepFunctionsOptions<Name>,
): Record<Name, nodejs.NodejsFunction> {
  const entries = options.names.map((name) => {
    const fn = lockstepFunction(scope, pascal(name), {
      entry: options.entry(name),
      ...options.settings(name),
      environment: options.environment,
      bundledJson: options.bundledJson,
      logRetention: options.logRetention,
      removalPolicy: options.removalPolicy,
    });
    return [name, fn] as const;
  });
  return Object.fromEntries(entries) as Record<Name, nodejs.NodejsFunction>;
}

/** Construct id for a handler name: `promotion-steps` -> `PromotionSteps` (ids are a public contract: keep it stable). */
export function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _dash, letter: string) => letter.toUpperCase());
}

/** A prebuilt bundle with the data files beside it, in a folder of its own: the asset of one function. */
function withDataFiles(bundleDir: string, files: ReadonlyArray<readonly [string, unknown]>, folder: string): string {
  if (files.length === 0) return bundleDir;
  const assetDir = mkdtempSync(join(tmpdir(), 'lockstep-asset-'));
  cpSync(bundleDir, assetDir, { recursive: true });
  for (const [name] of files) cpSync(join(folder, name), join(assetDir, name));
  return assetDir;
}

/** The handler's TypeScript source, or a message naming both places that were looked at. */
function sourceEntry(entry: string, prebuilt: string): string {
  if (existsSync(entry)) return entry;
  throw new LockstepPackageError(
    `Lockstep has no code for the Lambda handler ${basename(entry)}: neither the prebuilt bundle ${join(prebuilt, BUNDLE_FILE)} ` +
      `nor the source ${entry} exists. In an installed package, reinstall lockstep; in a clone, run npm run build to prebuild, ` +
      'or restore the handler file',
  );
}
