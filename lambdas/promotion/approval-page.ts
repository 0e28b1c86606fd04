/** The approval page: what is being approved, and the Approve / Reject form. No script; every value escaped. */
import type { Revision } from '../core/model';
import type { ApprovalRequestRecord, SecurityDiffExcerpt } from '../ports/stores';
import type { PresentedLink } from './approvals';
import { describeOwnChange, ownChangeIn } from './self-approval';
import { escapeHtml as e } from '../core/http';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
code{font-size:.9em}.actions{display:flex;gap:1rem;margin-top:1rem}button{font-size:1rem;padding:.5rem 1.2rem;border-radius:.3rem;border:1px solid #888;cursor:pointer}
.approve{background:#1f883d;color:#fff;border-color:#1f883d}.reject{background:#cf222e;color:#fff;border-color:#cf222e}.note{color:#555}
.gate{border-left:.3rem solid #bf8700;padding:.2rem .8rem;background:#fff8c5}pre.diff{overflow-x:auto;background:#f6f8fa;padding:.6rem;font-size:.8rem;line-height:1.25}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${e(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function approvalPage(
  request: ApprovalRequestRecord,
  revision: Revision | undefined,
  approver: string,
  link: PresentedLink,
): string {
  const title = `${request.application} revision ${request.revision} in ${request.environment}`;
  const commits = (revision?.commits ?? [])
    .map(
      (c) =>
        `<tr><td><code>${e(c.id.slice(0, 12))}</code></td><td>${e(c.message.split('\n')[0] ?? '')}</td><td>${e(c.author)}${c.pushedBy && c.pushedBy.toLowerCase() !== c.author.toLowerCase() ? `<br><span class="note">pushed by ${e(c.pushedBy)}</span>` : ''}</td></tr>`,
    )
    .join('');
  const versions = Object.entries(revision?.versionSet ?? {})
    .map(([pkg, version]) => `<tr><td>${e(pkg)}</td><td><code>${e(version)}</code></td></tr>`)
    .join('');
  const tests = Object.entries(revision?.testResults ?? {})
    .map(([env, r]) => `<tr><td>${e(env)}</td><td>${r.passed} passed</td><td>${r.failed} failed</td></tr>`)
    .join('');
  const what = request.securityDiff
    ? `This is a <strong>permissions-broadening confirmation</strong>, not the normal manual approval of ${e(request.environment)}: this revision would broaden IAM permissions or security groups there, and it is <strong>not deployed</strong> until you confirm. Confirming deploys it (its approval workflow then runs as usual); rejecting it ends the promotion with ${e(request.environment)} unchanged.`
    : request.kind === 'environment'
      ? `This revision is deployed to <strong>${e(request.environment)}</strong>. Approving it lets its approval workflow finish; rejecting it rolls ${e(request.environment)} back.`
      : `Approving lets this revision be promoted to <strong>${e(request.environment)}</strong>; rejecting it keeps it out.`;
  const required = request.required ?? 1;
  const approvedBy = request.approvedBy ?? [];
  const own = ownChangeIn(revision, approver);
  const progress =
    required > 1
      ? `<p class="note">${approvedBy.length} of ${required} approvals so far${approvedBy.length > 0 ? ` (${approvedBy.map(e).join(', ')})` : ''}. One rejection ends the request.</p>`
      : '';
  const selfNote = own
    ? `<p class="note" id="self-approval"><strong>You ${e(describeOwnChange(own))} in this revision</strong>, so you cannot approve it; another approver must. You may reject it.</p>`
    : '';
  const decided =
    request.status === 'pending'
      ? `${progress}${selfNote}<form method="post" action="">
<input type="hidden" name="approver" value="${e(link.approver)}"><input type="hidden" name="exp" value="${e(link.exp)}"><input type="hidden" name="sig" value="${e(link.sig)}">
<p><label>Comment (optional)<br><textarea name="comment" rows="2" cols="60" maxlength="1000"></textarea></label></p>
<p class="note">You decide as <strong>${e(approver)}</strong>. Your decision is recorded in the audit log.</p>
<div class="actions"><button class="approve" type="submit" name="decision" value="approve">Approve</button><button class="reject" type="submit" name="decision" value="reject">Reject</button></div>
</form>`
      : `<p><strong>Already ${e(request.status)}</strong>${request.decidedBy ? ` by ${e(request.decidedBy)}` : ''}${request.decidedAt ? ` at ${e(new Date(request.decidedAt).toISOString())}` : ''}.</p>`;
  return page(
    `${request.securityDiff ? 'Confirm permissions broadening of' : 'Approve'} ${title}`,
    `<h1>${e(title)}</h1>
<p${request.securityDiff ? ' class="gate"' : ''}>${what}</p>
${request.securityDiff ? securityChanges(request.securityDiff) : ''}
<p class="note">Pipeline execution <code>${e(request.execution)}</code>. This request expires ${e(new Date(request.expiresAt).toISOString())}.</p>
<h2>Changes</h2>${commits ? `<table><tr><th>Commit</th><th>Message</th><th>Author</th></tr>${commits}</table>` : '<p>No commits recorded.</p>'}
<h2>Version set</h2>${versions ? `<table><tr><th>Package</th><th>Version</th></tr>${versions}</table>` : '<p>None recorded.</p>'}
<h2>Test results</h2>${tests ? `<table><tr><th>Environment</th><th>Passed</th><th>Failed</th></tr>${tests}</table>` : '<p>No test results yet.</p>'}
${revision ? `<p class="note">Build <code>${e(revision.buildId)}</code>, artifact <code>${e(revision.artifact)}</code>.</p>` : ''}
${decided}`,
  );
}

/**
 * The security changes as the CDK CLI printed them (its box-drawn tables), escaped: statements, principals and
 * conditions come from the application's own code.
 */
function securityChanges(diff: SecurityDiffExcerpt): string {
  const stacks = diff.stacks.map((stack) => `<code>${e(stack)}</code>`).join(', ');
  return `<h2>Security changes</h2><p class="note">From <code>cdk diff --security-only</code> against what ${stacks ? `${stacks} run` : 'runs'} now.</p>
<pre class="diff">${e(diff.excerpt)}</pre>${diff.truncated ? `<p class="note">The diff is longer than shown; the whole diff is at <code>${e(diff.location)}</code>.</p>` : ''}`;
}

export function decisionPage(request: ApprovalRequestRecord): string {
  const title = `${request.application} revision ${request.revision} in ${request.environment}`;
  if (request.status === 'pending') {
    const count = request.approvedBy?.length ?? 0;
    return page(
      `Approval recorded: ${title}`,
      `<h1>Approval recorded</h1><p>Your approval of ${e(title)} is recorded: ${count} of ${request.required ?? 1} approvals. It is approved once ${request.required ?? 1} approvers have approved; one rejection ends it.</p>`,
    );
  }
  return page(
    `${request.status === 'approved' ? 'Approved' : 'Rejected'}: ${title}`,
    `<h1>${request.status === 'approved' ? 'Approved' : 'Rejected'}</h1><p>${e(title)} was ${e(request.status)} by ${e(request.decidedBy ?? '')}. Thank you.</p>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${e(title)}</h1><p>${e(message)}</p>`);
}
