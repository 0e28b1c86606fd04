/**
 * `lockstep local` (what `npm start` runs): the whole deployment system on this machine, no AWS account needed.
 * See local/assembly/system.ts for what it starts and in which order.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, DEFAULT_PIPELINE_FILE, formatProblems } from '../../lambdas/core/config/load';
import { LocalModeError } from '../../local/errors';
import { QUICKSTART_CONFIG, startLocalSystem } from '../../local/assembly/system';

/** `lockstep local` found no pipeline to run; the message says what to create. */
export class NoLocalPipelineError extends LocalModeError {}

/** Lockstep's own checkout, where `npm start` runs the quickstart (in an installed package: its `dist/`). */
const LOCKSTEP_ROOT = dirname(dirname(dirname(QUICKSTART_CONFIG)));

/**
 * The pipeline file `lockstep local` runs: `--config`; else `--quickstart`'s sample pipeline; else
 * `lockstep.config.yaml` in `cwd`; else, in Lockstep's own checkout, the quickstart (what `npm start` shows).
 * Anywhere else without a file it throws `NoLocalPipelineError`, naming the file to create and `lockstep init`.
 */
export function localPipelineFile(options: { config?: string; quickstart?: boolean }, cwd: string): string {
  if (options.config !== undefined) return resolve(cwd, options.config);
  if (options.quickstart) return QUICKSTART_CONFIG;
  const here = join(cwd, DEFAULT_PIPELINE_FILE);
  if (existsSync(here)) return here;
  if (resolve(cwd) === LOCKSTEP_ROOT) return QUICKSTART_CONFIG;
  throw new NoLocalPipelineError(
    `there is no ${DEFAULT_PIPELINE_FILE} in ${resolve(cwd)}. Create one: \`npx lockstep init\` writes a starter ` +
      `pipeline that builds the git repository in this folder; or pass --config <file>; or run the bundled sample ` +
      `with \`npx lockstep local --quickstart\``,
  );
}

interface LocalOptions {
  dataDir: string;
  config?: string;
  quickstart?: boolean;
  port?: string;
  dynamodb: 'auto' | 'java' | 'dynalite';
  firstPush: boolean;
  sdk: boolean;
}

export function register(program: Command): void {
  program
    .command('local')
    .description('run the whole deployment system on this machine: services, handlers, state machine, sample app')
    .option('--data-dir <dir>', 'where state lives; starting again on it resumes', '.lockstep')
    .option('--config <file>', `pipeline definition (default: ${DEFAULT_PIPELINE_FILE} in this folder)`)
    .option('--quickstart', "run Lockstep's sample pipeline and app (what `npm start` runs in a clone)")
    .option('--port <port>', "port of the webhook and approval pages (default: the previous run's, else a free one)")
    .option('--dynamodb <backend>', 'auto (DynamoDB Local when Java works), java or dynalite', 'auto')
    .option('--no-first-push', 'do not push the sample repository when the data folder is new')
    .option('--no-sdk', 'leave out the SDK-publishing half')
    .action(async (options: LocalOptions) => {
      let system;
      const configFile = localPipelineFile(options, process.cwd());
      try {
        system = await startLocalSystem({
          dataDir: options.dataDir,
          configFile,
          javaPreference: options.dynamodb,
          firstPush: options.firstPush,
          sdkPublishing: options.sdk,
          ...(options.port ? { httpPort: Number(options.port) } : {}),
        });
      } catch (error) {
        if (error instanceof ConfigError) {
          console.error(formatProblems(error.problems, options.config ?? configFile));
          process.exit(1);
        }
        throw error;
      }
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`\n${signal}: stopping Lockstep; promotions in flight resume on the next start.`);
        await system.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
