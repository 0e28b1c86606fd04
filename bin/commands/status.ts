/**
 * `lockstep status`: the console's status view, once: which revision runs in which environment, locks, windows,
 * what waits for approval (with the link), why promotions wait, recent failures with the line that failed.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { collectStatus, formatStatus } from '../../local/console/status';
import { adapters, connect, DATA_DIR_OPTION } from './connect';

export interface StatusOptions {
  /** Print the status as JSON (`SystemStatus`) instead of the console's text view. */
  json?: boolean;
  /** Data folder of the local system. */
  dataDir: string;
}

/**
 * The body of `lockstep status`: the status of the local system on `dataDir` (or the AWS account the environment
 * names), as the text to print.
 *
 * @example
 * const status = JSON.parse(await statusReport({ json: true, dataDir: '.lockstep' })) as SystemStatus;
 */
export async function statusReport(options: StatusOptions): Promise<string> {
  const target = connect(options.dataDir);
  const runtime = await adapters();
  const { pipelineFromEnv } = await import('../../lambdas/adapters/pipeline-file');
  const pipeline = pipelineFromEnv();
  const status = await collectStatus({
    pipeline,
    agent: runtime.agentDependencies(),
    approvals: runtime.approvalStore(),
    ...(target.kind === 'local'
      ? { outboxFile: target.connection.outboxFile, buildsDir: join(target.connection.dataDir, 'builds') }
      : {}),
  });
  return options.json ? JSON.stringify(status, null, 2) : formatStatus(status, pipeline).join('\n');
}

export function register(program: Command): void {
  program
    .command('status')
    .description('show where each revision is, locks, windows, pending approvals and recent failures')
    .option('--json', 'print the status as JSON')
    .option(...DATA_DIR_OPTION)
    .action(async (options: StatusOptions) => console.log(await statusReport(options)));
}
