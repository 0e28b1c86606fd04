#!/usr/bin/env -S npx tsx
/**
 * The `lockstep` command line. Each command lives in `bin/commands/<name>.ts` and exports `register(program)`.
 */
import '../local/polyfills';

// The AWS SDK warns on every run that releases after January 2027 need Node 22; package-lock.json pins releases
// that support the Node 20 this CLI declares, and the README says so once instead.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
