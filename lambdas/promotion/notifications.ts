/**
 * Notification texts, one builder per event. Pure: the handlers publish what these return through the `Notifier`
 * port. Every notification carries message attributes (`event`, `pipeline`, and `environment`/`application` where
 * they apply) so the CDK can subscribe each notification rule's emails with a filter policy on `event`.
 */
import type { NotificationEvent } from '../core/config/schema';
import type { Notification } from '../ports/services';
import type { SecurityDiffExcerpt } from '../ports/stores';

interface Subject {
  readonly pipeline: string;
  readonly environment?: string;
  readonly application?: string;
  readonly revision?: number;
}

function attributes(s: Subject, extra: Record<string, string> = {}): Record<string, string> {
  return {
    pipeline: s.pipeline,
    ...(s.environment ? { environment: s.environment } : {}),
    ...(s.application ? { application: s.application } : {}),
    ...extra,
  };
}

function revisionName(s: Subject): string {
  return s.application && s.revision !== undefined ? `${s.application} revision ${s.revision}` : 'a revision';
}

function notification(
  event: NotificationEvent,
  s: Subject,
  subject: string,
  lines: readonly (string | undefined)[],
): Notification {
  return {
    event,
    subject: `[Lockstep ${s.pipeline}] ${subject}`,
    text: lines.filter((line): line is string => line !== undefined).join('\n'),
    attributes: attributes(s),
  };
}

/** An approver is asked to decide (sent on the approval topic, one message per approver). */
export function approvalRequested(
  s: Subject & {
    approver: string;
    link: string;
    expiresAt: number;
    kind: 'environment' | 'promotion';
    commits: readonly string[];
    securityDiff?: SecurityDiffExcerpt;
  },
): Notification {
  const what = s.securityDiff
    ? permissionsConfirmationLine(s, s.securityDiff)
    : s.kind === 'environment'
      ? `${revisionName(s)} is deployed to ${s.environment} and waits for your approval before it counts as approved there.`
      : `${revisionName(s)} waits for your go-ahead before it is promoted to ${s.environment}.`;
  const subject = s.securityDiff
    ? `Permissions broadening to confirm: ${revisionName(s)} in ${s.environment}`
    : `Approval needed: ${revisionName(s)} in ${s.environment}`;
  const base = notification('approval-requested', s, subject, [
    what,
    '',
    ...(s.securityDiff ? securityDiffLines(s.securityDiff) : []),
    s.commits.length > 0 ? 'Changes:' : undefined,
    ...s.commits.map((c) => `  - ${c}`),
    s.commits.length > 0 ? '' : undefined,
    `Review and decide: ${s.link}`,
    `The link is for ${s.approver} only and expires ${new Date(s.expiresAt).toISOString()}. Opening it decides nothing.`,
  ]);
  return { ...base, attributes: { ...base.attributes, approver: s.approver.toLowerCase() } };
}

/**
 * The same request for the notification rules that name `approval-requested` (sent on the notification topic, once
 * per request). Who may decide and until when, but no link: links are per approver and decide as that approver.
 */
export function approvalRequestedNotice(
  s: Subject & {
    approvers: readonly string[];
    expiresAt: number;
    kind: 'environment' | 'promotion';
    commits: readonly string[];
    securityDiff?: SecurityDiffExcerpt;
  },
): Notification {
  const what = s.securityDiff
    ? permissionsConfirmationLine(s, s.securityDiff)
    : s.kind === 'environment'
      ? `${revisionName(s)} is deployed to ${s.environment} and waits for a manual approval.`
      : `${revisionName(s)} waits for a go-ahead before it is promoted to ${s.environment}.`;
  return notification('approval-requested', s, `Approval requested: ${revisionName(s)} in ${s.environment}`, [
    what,
    `Approvers: ${s.approvers.join(', ')} (each has their own link by email).`,
    `The request expires ${new Date(s.expiresAt).toISOString()}.`,
    s.commits.length > 0 ? 'Changes:' : undefined,
    ...s.commits.map((c) => `  - ${c}`),
  ]);
}

/**
 * What a permission-broadening confirmation asks: it comes before the deploy, and it is not the environment's
 * normal manual approval (which, if the environment has one, follows the deploy as usual).
 */
function permissionsConfirmationLine(s: Subject, diff: SecurityDiffExcerpt): string {
  return (
    `${revisionName(s)} would broaden IAM permissions or security groups in ${s.environment} (${diff.stacks.join(', ')}). ` +
    `This is a permissions-broadening confirmation, not the environment's normal manual approval: nothing is deployed until it is confirmed, and a rejection or a timeout ends the promotion with ${s.environment} unchanged.`
  );
}

/** The security changes, as the CDK CLI printed them (plain text; the approval page escapes them). */
function securityDiffLines(diff: SecurityDiffExcerpt): string[] {
  return [
    'Security changes (cdk diff --security-only):',
    ...diff.excerpt.replace(/\n+$/, '').split('\n'),
    diff.truncated ? `(The diff is longer than shown here; the whole diff is at ${diff.location}.)` : undefined,
    '',
  ].filter((line): line is string => line !== undefined);
}

export function pipelineSwitched(
  s: Subject & { change: 'pipeline-deleted' | 'pipeline-disabled' | 'pipeline-enabled'; by: string },
): Notification {
  const text = {
    'pipeline-deleted': `Pipeline ${s.pipeline} was deleted by ${s.by}. Nothing more will be built or promoted.`,
    'pipeline-disabled': `Pipeline ${s.pipeline} was disabled by ${s.by}. It starts nothing new; executions in flight finish.`,
    'pipeline-enabled': `Pipeline ${s.pipeline} was re-enabled by ${s.by}. Agents resume with the next reconcile pass.`,
  }[s.change];
  const subject = {
    'pipeline-deleted': 'Pipeline deleted',
    'pipeline-disabled': 'Pipeline disabled',
    'pipeline-enabled': 'Pipeline re-enabled',
  }[s.change];
  return notification(s.change, s, subject, [text]);
}

export function automationSwitched(s: Subject & { automation: boolean; by: string }): Notification {
  return notification('automation-switched', s, `Automation switched ${s.automation ? 'on' : 'off'}`, [
    s.automation
      ? `${s.by} switched automation on: agents build and promote again.`
      : `${s.by} switched automation off: agents report what they would do but start nothing.`,
  ]);
}

/**
 * The CloudWatch link of a failed deploy or test build, from the error cause of a `startBuild.sync` Task (the build
 * as JSON, whose `Logs.DeepLink` opens the step's own stream, `<environment>/<step>/<build>`), so the reader does
 * not have to find it in the truncated details.
 */
function buildLogLink(cause: string | undefined): string | undefined {
  return cause ? /"DeepLink"\s*:\s*"(https:\/\/[^"\s]+)"/.exec(cause)?.[1] : undefined;
}

/**
 * The message of a failed promotion step, from the error cause Step Functions records for a Lambda Task (the
 * function's error as JSON, `{"errorType", "errorMessage", ...}`; local mode writes the same shape). It says what
 * failed in Lockstep's own words (which alarm fired and why, which tests failed), so it goes in the headline, which
 * is also the timeline entry. Undefined for any other cause (a build, a timeout).
 */
export function stepErrorMessage(cause: string | undefined): string | undefined {
  if (!cause?.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' && parsed.errorMessage !== '' ? parsed.errorMessage : undefined;
  } catch {
    // A cause that only looks like JSON is shown as it is, under Details.
    return undefined;
  }
}

/** A promotion execution failed. `stage` says where: the deploy itself or the approval workflow after it. */
export function promotionFailed(
  s: Subject & {
    stage:
      | 'deploy'
      | 'approval-workflow'
      | 'prepare'
      | 'gates'
      | 'lock-lost'
      | 'ended-holding-lock'
      | 'permissions-broadening';
    error: string;
    cause?: string;
    execution: string;
  },
): Notification {
  const event: NotificationEvent = s.stage === 'approval-workflow' ? 'approval-workflow-failed' : 'deployment-failed';
  const headline =
    s.stage === 'approval-workflow'
      ? `The approval workflow of ${revisionName(s)} in ${s.environment} failed.`
      : s.stage === 'lock-lost'
        ? `${revisionName(s)} lost the lock of ${s.environment} (its lease expired); it was not approved there.`
        : s.stage === 'ended-holding-lock'
          ? `Execution ${s.execution} ended (${s.error}) while it held the lock of ${s.environment}, outside its own error handling: Lockstep released the lock and rolls ${s.environment} back to its last approved revision.`
          : s.stage === 'permissions-broadening'
            ? permissionsRefusal(s)
            : `Deploying ${revisionName(s)} to ${s.environment} failed.`;
  const reason = stepErrorMessage(s.cause);
  return notification(
    event,
    s,
    `${event === 'approval-workflow-failed' ? 'Approval workflow failed' : 'Deployment failed'}: ${revisionName(s)} in ${s.environment}`,
    [
      reason ? `${headline} ${reason}` : headline,
      `Error: ${s.error}`,
      buildLogLink(s.cause) ? `Logs: ${buildLogLink(s.cause)}` : undefined,
      s.cause ? `Details: ${s.cause.slice(0, 2000)}` : undefined,
      `Execution: ${s.execution}`,
    ],
  );
}

/**
 * Why a `deploy.cdk` revision was not deployed at the permission-broadening gate: the confirmation was rejected or
 * timed out, or the security diff itself failed. Nothing was deployed, so there is nothing to roll back.
 */
function permissionsRefusal(s: Subject & { error: string }): string {
  const what =
    s.error === 'ApprovalRejectedError'
      ? 'its permissions-broadening confirmation was rejected'
      : s.error === 'States.Timeout' || s.error === 'ApprovalExpiredError'
        ? 'nobody confirmed its permissions broadening before the request timed out'
        : 'its security diff (cdk diff --security-only) failed';
  return `${revisionName(s)} was not deployed to ${s.environment}: ${what}. Nothing was deployed; ${s.environment} keeps what it ran.`;
}

export function rollbackDone(
  s: Subject & { outcome: 'rolled-back' | 'no-previous' | 'rollback-failed'; restored?: number; execution: string },
): Notification {
  const line =
    s.outcome === 'rolled-back'
      ? `${s.environment} was rolled back from ${revisionName(s)} to revision ${s.restored}, the last revision approved there.`
      : s.outcome === 'no-previous'
        ? `${s.environment} has no safe revision: no revision was ever approved there, so there is nothing to roll back to. ${revisionName(s)} stays deployed but not approved, and nothing is deployed over it until an operator runs \`lockstep unlock ${s.environment} --allow-deploy --reason "..."\`.`
        : `Rolling back ${s.environment} to revision ${s.restored} failed: the environment may run a partial deploy. Check the deploy logs.`;
  return notification(
    'rollback-done',
    s,
    `Rollback ${s.outcome === 'rollback-failed' ? 'failed' : 'done'}: ${s.environment}`,
    [line, `Execution: ${s.execution}`],
  );
}

export function buildFailed(
  s: Subject & { buildId: string; failure?: string; commits: readonly string[] },
): Notification {
  return notification('build-failed', s, `Build failed: ${s.application}`, [
    `The build of ${s.application} failed (${s.buildId}).`,
    s.failure ? `Failure: ${s.failure}` : undefined,
    s.commits.length > 0 ? 'Commits in this build:' : undefined,
    ...s.commits.map((c) => `  - ${c}`),
  ]);
}

export function revisionApproved(s: Subject & { execution: string }): Notification {
  return notification('revision-approved', s, `Approved: ${revisionName(s)} in ${s.environment}`, [
    `${revisionName(s)} passed the approval workflow of ${s.environment}.`,
    `Execution: ${s.execution}`,
  ]);
}

/** An operator's override (`lockstep unlock`), announced with who did it and why. */
export function operatorAction(s: Subject & { subject: string; text: string }): Notification {
  return notification('operator-override', s, s.subject, [s.text]);
}
