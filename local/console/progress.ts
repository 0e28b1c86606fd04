import type { Pipeline } from '../../lambdas/core/config/schema';
import type { PromotionDecision } from '../../lambdas/core/decide/snapshots';
import type { BuildRecord } from '../codebuild/codebuild';
import type { OutboxMessage } from '../sns/sns';
import { BuildDescriber, failureLines } from './builds';
import { approvalLinkOf } from './status';

/** What a reconcile pass did, as the reconcile handler returns it. */
export interface PassSummary {
  readonly revisionsCreated: readonly { application: string; revision: number }[];
  readonly executionsStarted: readonly string[];
  readonly decisions: readonly { promotion: string; application: string; kind: string; reason: string }[];
}

/** Decisions worth a line when they change; the others show up as builds and notifications. */
const TOLD = new Set<PromotionDecision['decision']['kind']>([
  'wait-window',
  'blocked-by-lock',
  'awaiting-approval',
  'rejected',
  'disabled',
  'automation-off',
  'no-compatible-revision',
  'wait-wave',
  'wave-stopped',
]);

/** Secrets shorter than this are not masked: they would mask ordinary words and no local secret is that short. */
const MIN_MASKED_LENGTH = 8;

/** `text` with every value of `secrets` (of at least 8 characters) replaced by `********`. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) if (secret.length >= MIN_MASKED_LENGTH) masked = masked.split(secret).join('********');
  return masked;
}

/**
 * The console's running commentary, one line per thing a user would want to know: builds and deploys starting and
 * ending (a failure with the command that failed and its last output lines), revisions created, promotions started,
 * why a promotion waits (window, lock, approval: the decision core's reasons), approval requests with the link to
 * open, and every notification's headline. Every value `redact` returns (the local secrets) is masked wherever it
 * appears, so a handler or build that leaks a secret into a message or its output does not put it on screen.
 */
export class ProgressConsole {
  private readonly describer: BuildDescriber;
  private readonly seenBuilds = new Set<string>();
  private readonly told = new Map<string, string>();

  constructor(
    pipeline: Pipeline,
    private readonly write: (line: string) => void,
    private readonly now: () => number,
    private readonly redact: () => readonly string[] = () => [],
  ) {
    this.describer = new BuildDescriber(pipeline);
  }

  private say(text: string, more: readonly string[] = []): void {
    const time = new Date(this.now()).toISOString().slice(11, 19);
    const secrets = this.redact();
    this.write(maskSecrets(`${time}  ${text}`, secrets));
    for (const line of more) this.write(maskSecrets(line, secrets));
  }

  /** A CodeBuild record changed (subscribe with `codeBuild.subscribe`). */
  build(record: BuildRecord): void {
    if (!this.seenBuilds.has(record.id)) {
      this.seenBuilds.add(record.id);
      if (!record.buildComplete) this.say(`${this.describer.doing(record)} ...`);
    }
    if (!record.buildComplete || this.seenBuilds.has(`${record.id}#done`)) return;
    this.seenBuilds.add(`${record.id}#done`);
    const seconds =
      record.endTime !== undefined ? ` in ${((record.endTime - record.startTime) / 1000).toFixed(1)} s` : '';
    if (record.buildStatus === 'SUCCEEDED') this.say(`${this.describer.done(record)}${seconds}`);
    else
      this.say(
        `FAILED: ${this.describer.doing(record)}${record.buildStatus === 'FAILED' ? '' : ` (${record.buildStatus})`}`,
        failureLines(record),
      );
  }

  /** A notification was published (subscribe with `sns.subscribe`). */
  notification(message: OutboxMessage): void {
    const subject = (message.subject ?? '').replace(/^\[Lockstep [^\]]*\]\s*/, '');
    const event = message.attributes.event;
    // The notification rules' copy of a request carries no link; the approvers' own messages say it all.
    if (event === 'approval-requested' && message.attributes.approver === undefined) return;
    if (event === 'approval-requested') {
      const link = approvalLinkOf(message);
      this.say(
        `${subject}: waiting for ${message.attributes.approver ?? 'an approver'}. Open in a browser to approve or reject:`,
        [`    ${link ?? '(no link in the message)'}`],
      );
      return;
    }
    const detail = message.message.split('\n').find((line) => /^(Error|Failure|Details):/.test(line));
    this.say(
      `${event === 'revision-approved' ? '' : 'notification: '}${subject}`,
      detail ? [`    ${detail.slice(0, 300)}`] : [],
    );
  }

  /** A reconcile pass ended. */
  pass(summary: PassSummary): void {
    for (const created of summary.revisionsCreated)
      this.say(`revision ${created.application} r${created.revision} created`);
    for (const d of summary.decisions) {
      const key = `${d.promotion}|${d.application}`;
      if (d.kind === 'deploy' && summary.executionsStarted.length > 0) {
        this.told.delete(key);
        continue;
      }
      if (!TOLD.has(d.kind as PromotionDecision['decision']['kind'])) {
        this.told.delete(key);
        continue;
      }
      if (this.told.get(key) === d.reason) continue;
      this.told.set(key, d.reason);
      this.say(d.reason);
    }
  }

  /** A promotion execution started. */
  promotionStarted(execution: string): void {
    this.say(`promotion ${execution} started`);
  }
}
