/**
 * `lockstep pipeline enable|disable` and `lockstep automation on|off`: flip the run-time switches in the store,
 * record who did it, and send the notifications for it (pipeline disabled / re-enabled, automation switched).
 * A disabled pipeline starts nothing new (executions in flight pause at their next gate check); with automation
 * off, agents say what they would do and start nothing.
 */
import type { Command } from 'commander';
import { setSwitches } from '../../lambdas/promotion/switches';
import type { PipelineSwitches } from '../../lambdas/core/model';
import { adapters, connect, DATA_DIR_OPTION, operator } from './connect';

async function flip(change: Partial<PipelineSwitches>, options: { as?: string; dataDir: string }): Promise<void> {
  connect(options.dataDir);
  const runtime = await adapters();
  const deps = runtime.agentDependencies();
  const outcome = await setSwitches(deps, change, await operator(options.as));
  const describe = (s: PipelineSwitches) =>
    `pipeline ${s.enabled ? 'enabled' : 'disabled'}, automation ${s.automation ? 'on' : 'off'}`;
  if (outcome.notified.length === 0) console.log(`Nothing to change: ${describe(outcome.after)}.`);
  else console.log(`Now ${describe(outcome.after)} (notified: ${outcome.notified.join(', ')}).`);
}

export function register(program: Command): void {
  program
    .command('pipeline')
    .description('enable or disable the whole pipeline')
    .argument('<state>', 'enable | disable')
    .option('--as <who>', 'who switches it, for the audit record (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (state: string, options: { as?: string; dataDir: string }) => {
      if (state !== 'enable' && state !== 'disable')
        program.error(`lockstep pipeline: use enable or disable, not ${state}`);
      await flip({ enabled: state === 'enable' }, options);
    });
  program
    .command('automation')
    .description("switch the agents' automation on or off")
    .argument('<state>', 'on | off')
    .option('--as <who>', 'who switches it, for the audit record (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (state: string, options: { as?: string; dataDir: string }) => {
      if (state !== 'on' && state !== 'off') program.error(`lockstep automation: use on or off, not ${state}`);
      await flip({ automation: state === 'on' }, options);
    });
}
