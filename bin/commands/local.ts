/**
 * `lockstep local` (what `npm start` runs): the whole deployment system on this machine, no AWS account needed.
 * See local/assembly/system.ts for what it starts and in which order.
 */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, formatProblems } from '../../lambdas/core/config/load';
import { QUICKSTART_CONFIG, startLocalSystem } from '../../local/assembly/system';

interface LocalOptions {
  dataDir: string;
  config: string;
  port?: string;
  dynamodb: 'auto' | 'java' | 'dynalite';
  firstPush: boolean;
  sdk: boolean;
  consoleUser?: string;
  consoleGroups?: string;
}

export function register(program: Command): void {
  program
    .command('local')
    .description('run the whole deployment system on this machine: services, handlers, state machine, sample app')
    .option('--data-dir <dir>', 'where state lives; starting again on it resumes', '.lockstep')
    .option('--config <file>', 'pipeline definition', relative(process.cwd(), QUICKSTART_CONFIG) || QUICKSTART_CONFIG)
    .option('--port <port>', "port of the webhook and approval pages (default: the previous run's, else a free one)")
    .option('--dynamodb <backend>', 'auto (DynamoDB Local when Java works), java or dynalite', 'auto')
    .option('--no-first-push', 'do not push the sample repository when the data folder is new')
    .option('--no-sdk', 'leave out the SDK-publishing half')
    .option('--console-user <name>', "who the console URL signs in (default: the pipeline's first approver)")
    .option('--console-groups <groups>', 'their console groups: viewers,operators,approvers (default: all three)')
    .action(async (options: LocalOptions) => {
      let system;
      try {
        system = await startLocalSystem({
          dataDir: options.dataDir,
          configFile: options.config,
          javaPreference: options.dynamodb,
          firstPush: options.firstPush,
          sdkPublishing: options.sdk,
          ...(options.consoleUser ? { consoleUser: options.consoleUser } : {}),
          ...(options.consoleGroups ? { consoleGroups: options.consoleGroups } : {}),
          ...(options.port ? { httpPort: Number(options.port) } : {}),
        });
      } catch (error) {
        if (error instanceof ConfigError) {
          console.error(formatProblems(error.problems, options.config));
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
