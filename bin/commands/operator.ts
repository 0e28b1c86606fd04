/**
 * `lockstep rollback <environment> [--to N]`, `lockstep pin <environment> <revision>` and `lockstep unpin
 * <environment>`: the operator actions the console has too, through the same functions
 * (`lambdas/promotion/operator-actions.ts`), so they refuse, audit and notify the same way. Local system or AWS, as
 * the other operator commands (`connect.ts`).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { applicationsReaching } from '../../lambdas/core/decide/snapshots';
import {
  applicationAt,
  pinEnvironment,
  rollbackEnvironment,
  unpinEnvironment,
  type Actor,
  type OperatorDependencies,
  type RollbackOutcome,
} from '../../lambdas/promotion/operator-actions';
import { adapters, connect, DATA_DIR_OPTION, operator } from './connect';

interface CommonOptions {
  application?: string;
  as?: string;
  dataDir: string;
}

export interface RollbackOptions extends CommonOptions {
  to?: number;
  override?: boolean;
  reason?: string;
}

export interface PinOptions extends CommonOptions {
  reason?: string;
}

async function prepare(
  environment: string,
  options: CommonOptions,
): Promise<{ deps: OperatorDependencies; application: string; actor: Actor }> {
  connect(options.dataDir);
  const runtime = await adapters();
  const deps = runtime.operatorDependencies();
  const application =
    options.application ??
    applicationAt(deps.pipeline, environment, applicationsReaching(deps.pipeline).get(environment) ?? []);
  return { deps, application, actor: { user: await operator(options.as), via: 'cli' } };
}

/** What `lockstep rollback` prints for an outcome. */
export function describeRollback(outcome: RollbackOutcome): string[] {
  const lines = [
    `Rolling ${outcome.environment} back from ${outcome.application} r${outcome.from} to r${outcome.to} (execution ${outcome.executionName}).`,
  ];
  if (outcome.overridden.lockHolder) lines.push(`Released the lock held by ${outcome.overridden.lockHolder}.`);
  if (outcome.overridden.windowsClosed) lines.push(`Overrode the windows: ${outcome.overridden.windowsClosed}.`);
  return lines;
}

export async function rollback(environment: string, options: RollbackOptions): Promise<string[]> {
  const { deps, application, actor } = await prepare(environment, options);
  const outcome = await rollbackEnvironment(deps, {
    environment,
    application,
    actor,
    ...(options.to !== undefined ? { toRevision: options.to } : {}),
    ...(options.override ? { overrideLockAndWindows: true } : {}),
    ...(options.reason ? { reason: options.reason } : {}),
  });
  return describeRollback(outcome);
}

export async function pin(environment: string, revision: number, options: PinOptions): Promise<string[]> {
  const { deps, application, actor } = await prepare(environment, options);
  await pinEnvironment(deps, {
    environment,
    application,
    revision,
    actor,
    ...(options.reason ? { reason: options.reason } : {}),
  });
  return [
    `Pinned ${environment} to ${application} r${revision}: automation leaves it alone until \`lockstep unpin ${environment}\`.`,
  ];
}

export async function unpin(environment: string, options: CommonOptions): Promise<string[]> {
  const { deps, application, actor } = await prepare(environment, options);
  await unpinEnvironment(deps, { environment, application, actor });
  return [`Unpinned ${environment} (${application}): automation decides for it again.`];
}

/** A revision number argument: a whole number from 1. */
export function revisionNumber(text: string): number {
  const n = Number(text.replace(/^r/, ''));
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${text}" is not a revision number such as 3`);
  return n;
}

export function register(program: Command): void {
  const print = (lines: string[]) => {
    for (const line of lines) console.log(line);
  };
  program
    .command('rollback')
    .description('roll an environment back to a revision it ran and approved before (audited and announced)')
    .argument('<environment>', 'the environment to roll back')
    .option(
      '--to <revision>',
      'the revision to go back to (default: the last approved before the current)',
      revisionNumber,
    )
    .option('--application <name>', 'which application, when several reach the environment')
    .option('--override', 'roll back even while another holds the lock (released) or the windows are closed; recorded')
    .option('--reason <text>', 'why, for the audit record and the notification')
    .option('--as <who>', 'who rolls back, for the audit record (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (environment: string, options: RollbackOptions) => print(await rollback(environment, options)));
  program
    .command('pin')
    .description('pin an environment to the revision it runs, so that automation leaves it alone')
    .argument('<environment>', 'the environment to pin')
    .argument('<revision>', 'the revision it runs now', revisionNumber)
    .option('--application <name>', 'which application, when several reach the environment')
    .option('--reason <text>', 'why, for the audit record and `lockstep explain`')
    .option('--as <who>', 'who pins it, for the audit record (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (environment: string, revision: number, options: PinOptions) =>
      print(await pin(environment, revision, options)),
    );
  program
    .command('unpin')
    .description("remove an environment's pin: automation decides for it again")
    .argument('<environment>', 'the environment to unpin')
    .option('--application <name>', 'which application, when several reach the environment')
    .option('--as <who>', 'who unpins it, for the audit record (default: your login)')
    .option(...DATA_DIR_OPTION)
    .action(async (environment: string, options: CommonOptions) => print(await unpin(environment, options)));
}
