/**
 * `lockstep unlock <environment> --reason "..."`: an operator releases an environment's lock (for example one held
 * by an execution that is stuck), audited with the holder and the reason and announced. With `--allow-deploy`, also
 * allows automated deploys over a current revision that was never approved there, which otherwise leaves the
 * environment with no safe revision and takes no automated deploy.
 */
import type { Command } from 'commander';
import { unlockEnvironment, type UnlockOutcome } from '../../lambdas/promotion/switches';
import { adapters, connect, DATA_DIR_OPTION, operator } from './connect';

export interface UnlockOptions {
  reason: string;
  allowDeploy?: boolean;
  as?: string;
  dataDir: string;
}

/** What `lockstep unlock` prints for an outcome. */
export function describeUnlock(environment: string, outcome: UnlockOutcome): string[] {
  const lines = [
    outcome.holder
      ? `Released the lock of ${environment} held by ${outcome.holder} (token ${outcome.fencingToken}).`
      : `${environment} was not locked; nothing to release.`,
  ];
  for (const c of outcome.cleared)
    lines.push(
      `Automated deploys may replace ${c.application} r${c.revision} in ${environment} again, although it was never approved there.`,
    );
  return lines;
}

export async function unlock(environment: string, options: UnlockOptions): Promise<string[]> {
  connect(options.dataDir);
  const runtime = await adapters();
  const deps = runtime.agentDependencies();
  const outcome = await unlockEnvironment(deps, {
    environment,
    reason: options.reason,
    by: await operator(options.as),
    ...(options.allowDeploy ? { allowDeploy: true } : {}),
  });
  return describeUnlock(environment, outcome);
}

export function register(program: Command): void {
  program
    .command('unlock')
    .description("release an environment's lock (audited, with the holder and your reason)")
    .argument('<environment>', 'the environment to unlock')
    .requiredOption('--reason <text>', 'why, for the audit record and the notification')
    .option('--allow-deploy', 'also allow automated deploys over a current revision that was never approved there')
    .option('--as <who>', 'who unlocks it, for the audit record (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (environment: string, options: UnlockOptions) => {
      for (const line of await unlock(environment, options)) console.log(line);
    });
}
