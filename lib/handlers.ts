/**
 * The Lambda handlers of ARCHITECTURE.md and how they are bundled. Shared by `DeploymentSystem` (which hands
 * these settings to NodejsFunction) and `bench/handler-bundles.bench.ts` (which bundles the same way to measure).
 */
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';

export type HandlerName =
  | 'github-webhook'
  | 'codecommit-push'
  | 'approval-api'
  | 'reconcile'
  | 'promotion-steps'
  | 'approval-request'
  | 'console-api';

export interface HandlerSettings {
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
}

export const HANDLERS: Readonly<Record<HandlerName, HandlerSettings>> = {
  'github-webhook': {
    description: 'Verifies GitHub push deliveries and records them for AutoBuild',
    timeout: Duration.seconds(10),
    memorySize: 512,
  },
  'codecommit-push': {
    description: 'Records CodeCommit pushes for AutoBuild',
    timeout: Duration.seconds(30),
    memorySize: 512,
  },
  'approval-api': {
    description: 'Approval pages (GET shows) and decisions (POST decides)',
    timeout: Duration.seconds(10),
    memorySize: 512,
  },
  // Under the one-minute schedule, so one pass ends before the next starts.
  reconcile: {
    description: 'Reconcile pass: AutoBuild flush, build completion, AutoDeploy, AutoPromote',
    timeout: Duration.seconds(50),
    memorySize: 1024,
  },
  'promotion-steps': {
    description: 'Tasks of the promotion state machine (gates, locks, records, notifications)',
    timeout: Duration.seconds(30),
    memorySize: 512,
  },
  'approval-request': {
    description: 'Stores an approval task token and emails a signed approval link',
    timeout: Duration.seconds(30),
    memorySize: 512,
  },
  // The pipeline page runs decide() over the whole pipeline; more memory is more CPU for it.
  'console-api': {
    description: 'Web console: front end, page data (ETag polling) and operator actions',
    timeout: Duration.seconds(15),
    memorySize: 1024,
  },
};

/** Folders copied next to a handler's bundle, by handler: the console's static front end (no build step). */
export const BUNDLED_FOLDERS: Readonly<Partial<Record<HandlerName, Readonly<Record<string, string>>>>> = {
  'console-api': { console: fileURLToPath(new URL('../console', import.meta.url)) },
};

export const HANDLER_NAMES = Object.keys(HANDLERS) as HandlerName[];

/** Source file of a handler (fixed by ARCHITECTURE.md). */
export function handlerEntry(name: HandlerName): string {
  return fileURLToPath(new URL(`../lambdas/handlers/${name}.ts`, import.meta.url));
}

/**
 * ESM bundles still meet CommonJS dependencies that call `require`; esbuild's ESM output has none, so one is
 * created from `import.meta.url`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __lockstepCreateRequire } from 'node:module';const require = __lockstepCreateRequire(import.meta.url);";

/** AWS SDK v3 ships with the Node.js Lambda runtimes; leaving it out keeps bundles small. */
export const HANDLER_EXTERNALS = ['@aws-sdk/*'];

/** Where `pipeline.json` lands next to each bundle in the Lambda runtime (`LAMBDA_TASK_ROOT`). */
export const PIPELINE_FILE_IN_BUNDLE = '/var/task/pipeline.json';
