/**
 * `lockstep approve <request> [--as email]` and `lockstep reject <request>`: decide a pending approval the way the
 * approval page does. Locally the command posts the page's form to the link from the approval email in the
 * outbox (the same route, signature and one-decision rule); against AWS it signs that approver's link with the
 * signing secret and calls the same decision logic. No task token is ever on the command line.
 */
import type { Command } from 'commander';
import { pendingApprovals, type PendingApproval } from '../../local/console/status';
import { decideRequest, type Decision } from '../../lambdas/promotion/approvals';
import { LockstepError } from '../../lambdas/core/errors';
import { adapters, connect, DATA_DIR_OPTION } from './connect';

export class ApprovalCommandError extends LockstepError {}

export interface DecideOptions {
  /** The approver deciding; needed when the request has several, and always against AWS. */
  as?: string;
  /** A comment for the audit record. */
  comment?: string;
  /** Data folder of the local system. */
  dataDir: string;
}

/** The pending request a user means: an id or its first characters, for one approver. */
export function pickRequest(
  pending: readonly PendingApproval[],
  request: string,
  as: string | undefined,
): PendingApproval {
  const matching = pending.filter((p) => p.requestId.startsWith(request) && (!as || p.approver === as.toLowerCase()));
  const requests = [...new Set(matching.map((p) => p.requestId))];
  const list = (approvals: readonly PendingApproval[]) =>
    approvals
      .map((p) => `${p.requestId} (${p.application} r${p.revision} in ${p.environment}, ${p.approver})`)
      .join(', ') || 'none';
  if (requests.length === 0) {
    throw new ApprovalCommandError(
      `No pending approval request ${request}${as ? ` for ${as}` : ''}. Pending: ${list(pending)}`,
    );
  }
  if (requests.length > 1)
    throw new ApprovalCommandError(
      `${request} matches ${requests.length} requests; give more of the id. Matching: ${list(matching)}`,
    );
  if (matching.length > 1) {
    throw new ApprovalCommandError(
      `Request ${request} has several approvers; choose one with --as (${matching.map((p) => p.approver).join(', ')})`,
    );
  }
  return matching[0]!;
}

/**
 * The body of `lockstep approve|reject`: decides the pending request `request` (an id or its first characters)
 * and returns the line to print. Refusals are `ApprovalCommandError`s whose message says what to do.
 *
 * @example
 * console.log(await decideApproval('3f2a', 'approve', { dataDir: '.lockstep' })); // Approved sample-app r1 in beta as ...
 */
export async function decideApproval(request: string, decision: Decision, options: DecideOptions): Promise<string> {
  const target = connect(options.dataDir);
  const runtime = await adapters();
  const deps = runtime.approvalDependencies();
  if (target.kind === 'local') {
    const pending = pickRequest(
      await pendingApprovals(target.connection.outboxFile, deps.approvals, deps.clock()),
      request,
      options.as,
    );
    const link = new URL(pending.link);
    const form = new URLSearchParams({
      ...Object.fromEntries(link.searchParams),
      decision,
      ...(options.comment ? { comment: options.comment } : {}),
    });
    const response = await fetch(link.origin + link.pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const page = await response.text();
    const text = pageText(page);
    if (!response.ok) throw new ApprovalCommandError(`The approval page refused (HTTP ${response.status}): ${text}`);
    return `${decision === 'approve' ? 'Approved' : 'Rejected'} ${pending.application} r${pending.revision} in ${pending.environment} as ${pending.approver}.`;
  }
  if (!options.as) throw new ApprovalCommandError('Against AWS, say which approver you are with --as <email>');
  const stored = await deps.approvals.get(request);
  if (!stored) throw new ApprovalCommandError(`No approval request ${request} (give the full id against AWS)`);
  const signer = await deps.signer();
  const approver = options.as.toLowerCase();
  const expiresAt = Math.floor(stored.expiresAt / 1000);
  const sig = signer.sign({
    requestId: stored.requestId,
    approver,
    execution: stored.execution,
    environment: stored.environment,
    application: stored.application,
    revision: stored.revision,
    expiresAt,
  });
  const decided = await decideRequest(
    deps,
    stored.requestId,
    { approver, exp: String(expiresAt), sig },
    decision,
    options.comment,
  );
  return `${decided.status === 'approved' ? 'Approved' : 'Rejected'} ${decided.application} r${decided.revision} in ${decided.environment} as ${approver}.`;
}

function pageText(html: string): string {
  const main = /<main[^>]*>([\s\S]*?)<\/main>/i.exec(html)?.[1] ?? html;
  return main
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

export function register(program: Command): void {
  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a pending approval request (its id or first characters, as \`lockstep status\` shows)`)
      .argument('<request>', 'approval request id, or its first characters')
      .option('--as <email>', 'the approver deciding (needed when the request has several)')
      .option('--comment <text>', 'a comment for the audit record')
      .option(...DATA_DIR_OPTION)
      .action(async (request: string, options: DecideOptions) =>
        console.log(await decideApproval(request, decision, options)),
      );
  }
}
