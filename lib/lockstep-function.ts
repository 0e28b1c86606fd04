/**
 * One way to make a Lockstep Lambda function, for `DeploymentSystem` and the constructs that join it later
 * (`SdkPublisher`): NodejsFunction with the shared bundling settings (`handlers.ts`), the newest Node.js runtime,
 * ARM64, active tracing, a role without managed policies, a log group with retention, and data files (such as
 * `pipeline.json`) copied next to the bundle.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ESM_REQUIRE_BANNER, HANDLER_EXTERNALS } from './handlers';
import { acknowledge } from './nag';

export interface LockstepFunctionOptions {
  /** Handler source file (exports `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Readonly<Record<string, string>>;
  /** Files written next to the bundle, by name, as JSON (read at cold start, e.g. `pipeline.json`). @default none */
  readonly bundledJson?: Readonly<Record<string, unknown>>;
  /** Folders copied next to the bundle, by name -> source path (e.g. the console's front end). @default none */
  readonly bundledFolders?: Readonly<Record<string, string>>;
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

  const fn = new nodejs.NodejsFunction(scope, id, {
    entry: options.entry,
    handler: 'handler',
    description: options.description,
    runtime: lambda.Runtime.NODEJS_24_X,
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
    bundling: {
      format: nodejs.OutputFormat.ESM,
      minify: true,
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      externalModules: HANDLER_EXTERNALS,
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (_inputDir: string, outputDir: string) => [
          ...files.map(([name]) => `cp ${JSON.stringify(join(folder, name))} ${JSON.stringify(join(outputDir, name))}`),
          ...Object.entries(options.bundledFolders ?? {}).map(
            ([name, source]) => `cp -R ${JSON.stringify(source)} ${JSON.stringify(join(outputDir, name))}`,
          ),
        ],
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
  /** Folders copied next to a function's bundle (name -> source path). @default none */
  readonly bundledFolders?: (name: Name) => Readonly<Record<string, string>> | undefined;
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
      ...(options.bundledFolders?.(name) ? { bundledFolders: options.bundledFolders(name)! } : {}),
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
