/**
 * The `lockstep` command line as a module: `createProgram()` builds it, `runCli(argv)` runs it. `bin/lockstep.ts`
 * is the executable (`npx lockstep`); the package exports this module as `lockstep/cli` for tools that embed it.
 * Each command lives in `bin/commands/<name>.ts` and exports `register(program)`.
 */
import '../local/polyfills';

// The AWS SDK warns on every run that releases after January 2027 need Node 22; package-lock.json pins releases
// that support the Node 20 this CLI declares, and the README says so once instead.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { Command } from 'commander';
import { LOCKSTEP_VERSION } from '../lib/package-info';
import { commands } from './commands';

/** A fresh `lockstep` program with every command registered. */
export function createProgram(): Command {
  const program = new Command()
    .name('lockstep')
    .description('Serverless continuous deployment and SDK publishing for AWS')
    .version(LOCKSTEP_VERSION, '-V, --version', 'print the Lockstep version')
    .showHelpAfterError();
  for (const register of commands) register(program);
  return program;
}

/**
 * Runs the command line on `argv` (as `process.argv`: node, script, arguments); a failure prints `error: ...`
 * and exits with status 1.
 *
 * @example
 * await runCli(['node', 'lockstep', 'validate', 'lockstep.config.yaml']);
 */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await createProgram().parseAsync([...argv]);
  } catch (err: unknown) {
    console.error(err instanceof Error ? `error: ${err.message}` : err);
    process.exit(1);
  }
}
