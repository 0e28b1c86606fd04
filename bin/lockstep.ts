#!/usr/bin/env -S npx tsx
/**
 * The `lockstep` command line. Each command lives in `bin/commands/<name>.ts` and exports `register(program)`.
 */
import '../local/polyfills';
import { Command } from 'commander';
import { commands } from './commands';

const program = new Command()
  .name('lockstep')
  .description('Serverless continuous deployment and SDK publishing for AWS')
  .showHelpAfterError();

for (const register of commands) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? `error: ${err.message}` : err);
  process.exit(1);
});
