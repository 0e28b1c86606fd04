/**
 * `lockstep retry <environment>`: run a failed promotion again without a new commit. Records the request (audited:
 * who, when, why) as the next attempt of the revision whose execution failed; the next reconcile pass starts it
 * under the usual windows, lock and switches.
 */
import type { Command } from 'commander';
import { requestRetry } from '../../lambdas/promotion/retry';
import { adapters, connect, DATA_DIR_OPTION, operator } from './connect';

interface RetryOptions {
  application?: string;
  reason?: string;
  as?: string;
  dataDir: string;
}

export function register(program: Command): void {
  program
    .command('retry')
    .description('start the next attempt of the failed promotion into an environment')
    .argument('<environment>', 'the environment whose last promotion failed')
    .option('--application <name>', 'which application, when several failed there')
    .option('--reason <text>', 'why, for the audit record')
    .option('--as <who>', 'who retries, for the audit record (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (environment: string, options: RetryOptions) => {
      connect(options.dataDir);
      const runtime = await adapters();
      const { request, failed } = await requestRetry(runtime.retryDependencies(), {
        environment,
        by: await operator(options.as),
        ...(options.application ? { application: options.application } : {}),
        ...(options.reason ? { reason: options.reason } : {}),
      });
      console.log(
        `Retrying ${request.application} r${request.revision} in ${environment} as attempt ${request.attempt} ` +
          `(${failed.executionName} ended ${failed.status}); the next reconcile pass starts it when the window and lock allow.`,
      );
    });
}
