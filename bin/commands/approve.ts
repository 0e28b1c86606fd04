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

interface DecideOptions {
  as?: string;
  comment?: string;
  dataDir: string;
}

/** The pending request a user means: an id or its first characters, for one approver. */
export function pickRequest(pending: readonly PendingApproval[], request: string, as: string | undefined): PendingApproval {
  const matching = pending.filter((p) => p.requestId.startsWith(request) && (!as || p.approver === as.toLowerCase()));
  const requests = [...new Set(matching.map((p) => p.requestId))];
  if (requests.length === 0) {
    const list = pending.map((p) => `${p.requestId.slice(0, 8)} (${p.application} r${p.revision} in ${p.environment}, ${p.approver})`).join(', ');
    throw new ApprovalCommandError(`No pending approval request ${request}${as ? ` for ${as}` : ''}. Pending: ${list || 'none'}`);
  }
  if (requests.length > 1) throw new ApprovalCommandError(`${request} matches ${requests.length} requests; give more of the id`);
  if (matching.length > 1) {
    throw new ApprovalCommandError(`Request ${request} has several approvers; choose one with --as (${matching.map((p) => p.approver).join(', ')})`);
  }
  return matching[0]!;
}

async function decide(request: string, decision: Decision, options: DecideOptions): Promise<void> {
  const target = connect(options.dataDir);
  const runtime = await adapters();
  const deps = runtime.approvalDependencies();
  if (target.kind === 'local') {
    const pending = pickRequest(await pendingApprovals(target.connection.outboxFile, deps.approvals, deps.clock()), request, options.as);
    const link = new URL(pending.link);
    const form = new URLSearchParams({ ...Object.fromEntries(link.searchParams), decision, ...(options.comment ? { comment: options.comment } : {}) });
    const response = await fetch(link.origin + link.pathname, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    const page = await response.text();
    const text = pageText(page);
    if (!response.ok) throw new ApprovalCommandError(`The approval page refused (HTTP ${response.status}): ${text}`);
    console.log(`${decision === 'approve' ? 'Approved' : 'Rejected'} ${pending.application} r${pending.revision} in ${pending.environment} as ${pending.approver}.`);
    return;
  }
  if (!options.as) throw new ApprovalCommandError('Against AWS, say which approver you are with --as <email>');
  const stored = await deps.approvals.get(request);
  if (!stored) throw new ApprovalCommandError(`No approval request ${request} (give the full id against AWS)`);
  const signer = await deps.signer();
  const approver = options.as.toLowerCase();
  const expiresAt = Math.floor(stored.expiresAt / 1000);
  const sig = signer.sign({ requestId: stored.requestId, approver, execution: stored.execution, environment: stored.environment, application: stored.application, revision: stored.revision, expiresAt });
  const decided = await decideRequest(deps, stored.requestId, { approver, exp: String(expiresAt), sig }, decision, options.comment);
  console.log(`${decided.status === 'approved' ? 'Approved' : 'Rejected'} ${decided.application} r${decided.revision} in ${decided.environment} as ${approver}.`);
}

function pageText(html: string): string {
  const main = /<main[^>]*>([\s\S]*?)<\/main>/i.exec(html)?.[1] ?? html;
  return main.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
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
      .action((request: string, options: DecideOptions) => decide(request, decision, options));
  }
}
