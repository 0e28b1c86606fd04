/**
 * `lockstep push [--message m] [--fail-tests]`: commits a change in the local system's sample repository and sends
 * the signed GitHub-format push to its webhook, as GitHub would. `--fail-tests` commits a FAIL_TESTS marker, so the
 * revision fails its smoke test and the environment rolls back.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { pushChange } from '../../local/assembly/system';
import type { GitIdentity } from '../../local/git';
import { LocalSystemNotRunningError } from '../../local/assembly/connection';
import { parseSecrets } from '../../lambdas/promotion/approval-link';
import { adapters, connect, DATA_DIR_OPTION } from './connect';

export function register(program: Command): void {
  program
    .command('push')
    .description('commit a change in the local sample repository and push it to the local webhook')
    .option('-m, --message <message>', 'commit message')
    .option('--fail-tests', 'commit a FAIL_TESTS marker: the smoke tests fail and the environment rolls back')
    .option(
      '--author <email>',
      'commit as this author (an approver who authors a commit cannot approve it); default: your git user.email',
      personOf,
    )
    .option(
      '--pusher <email>',
      'name this person as the pusher (an approver who pushed a commit cannot approve it); default: your git user.email',
      personOf,
    )
    .option(...DATA_DIR_OPTION)
    .action(
      async (options: {
        message?: string;
        failTests?: boolean;
        author?: GitIdentity;
        pusher?: GitIdentity;
        dataDir: string;
      }) => {
        const target = connect(options.dataDir);
        if (target.kind !== 'local')
          throw new LocalSystemNotRunningError(
            'push works with a local system only: on AWS, push to the repository itself',
          );
        const { secretReader } = await adapters();
        const secret = parseSecrets(
          await secretReader().get(target.connection.env.LOCKSTEP_WEBHOOK_SECRET_ARN!),
        ).current;
        const result = await pushChange(target.connection, secret, {
          ...(options.message ? { message: options.message } : {}),
          failTests: options.failTests ?? false,
          ...(options.author ? { author: options.author } : {}),
          ...(options.pusher ? { pusher: options.pusher } : {}),
        });
        const body = safeJson(result.body);
        const head = String((result.payload.head_commit as { id?: string } | null)?.id ?? '').slice(0, 12);
        console.log(
          `pushed ${head} to ${target.connection.repositories[0]?.dir}: HTTP ${result.status} ${typeof body?.status === 'string' ? body.status : ''}${typeof body?.reason === 'string' ? ` (${body.reason})` : ''}`,
        );
        console.log('Follow it in the `npm start` console, or with `lockstep status`.');
        if (result.status >= 300) process.exitCode = 1;
      },
    );
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** `ann@example.com` as a git identity named by the part before `@`; anything but an email is refused with the fix. */
function personOf(email: string): GitIdentity {
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
    throw new InvalidArgumentError(`give an email address, such as ann@example.com, not "${email}"`);
  return { name: email.split('@')[0]!, email };
}
