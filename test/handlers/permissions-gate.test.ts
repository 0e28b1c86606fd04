import { describe, expect, it } from '@jest/globals';
import { approvalPage } from '../../lambdas/promotion/approval-page';
import { approvalRequested, promotionFailed } from '../../lambdas/promotion/notifications';
import {
  diffExcerpt,
  readSecurityDiff,
  SECURITY_DIFF_EXCERPT_CHARS,
  SecurityDiffUnreadableError,
} from '../../lambdas/promotion/permissions-gate';
import { InvalidInputError } from '../../lambdas/promotion/errors';
import type { ArtifactReader } from '../../lambdas/ports/artifacts';
import type { ApprovalRequestRecord, EventStore, PipelineEvent } from '../../lambdas/ports/stores';

const URI = 's3://artifacts/revisions/web/4/security-diff/prod.json';
const TARGET = {
  execution: 'beta-to-prod-web-r4',
  promotion: 'beta-to-prod',
  application: 'web',
  environment: 'prod',
  revision: 4,
  diffUri: URI,
};
/** A row of the CDK CLI's IAM table, as `cdk diff --security-only` prints it. */
const IAM_ROW = '│ + │ *        │ Allow  │ iam:*  │ AWS:${IdentityAdmin} │           │\n';

function reader(objects: Record<string, string>): ArtifactReader {
  return {
    async readText(uri, maxBytes) {
      const text = objects[uri];
      if (text === undefined) return undefined;
      const size = Buffer.byteLength(text);
      return { size, text: size > maxBytes ? undefined : text };
    },
  };
}

function events(): EventStore & { appended: PipelineEvent[] } {
  const appended: PipelineEvent[] = [];
  return {
    appended,
    async append(e) {
      appended.push(...[e].flat());
    },
    async list() {
      return [];
    },
  };
}

const deps = (objects: Record<string, string>) => ({
  artifacts: reader(objects),
  events: events(),
  clock: () => 1_000,
});

describe('reading the security diff', () => {
  it("carries the CLI's verdict and its tables on, and records the verdict in the timeline", async () => {
    const d = deps({
      [URI]: JSON.stringify({ broadening: true, stacks: ['Shop'], diff: `IAM Statement Changes\n${IAM_ROW}` }),
    });
    const summary = await readSecurityDiff(d, TARGET);
    expect(summary).toEqual({
      broadening: true,
      stacks: ['Shop'],
      excerpt: `IAM Statement Changes\n${IAM_ROW}`,
      truncated: false,
      location: URI,
    });
    expect(d.events.appended).toEqual([
      expect.objectContaining({
        type: 'security-diff',
        environment: 'prod',
        revision: 4,
        message: expect.stringContaining('broadens permissions in prod (Shop)'),
        details: { broadening: true, stacks: ['Shop'], location: URI },
      }),
    ]);
  });

  it('keeps a large diff out of the state payload: a bounded excerpt cut at a line end, and where the rest is', async () => {
    const diff = IAM_ROW.repeat(5_000); // about 400 KB: over Step Functions' 256 KB per state on its own
    const summary = await readSecurityDiff(
      deps({ [URI]: JSON.stringify({ broadening: true, stacks: ['Shop'], diff }) }),
      TARGET,
    );
    expect(summary.truncated).toBe(true);
    expect(summary.excerpt.length).toBeLessThanOrEqual(SECURITY_DIFF_EXCERPT_CHARS);
    expect(summary.excerpt.endsWith('\n')).toBe(true);
    expect(
      summary.excerpt
        .split('\n')
        .slice(0, -1)
        .every((line) => `${line}\n` === IAM_ROW),
    ).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThan(64 * 1024);
  });

  it('says where to look when the build wrote no result', async () => {
    await expect(readSecurityDiff(deps({}), TARGET)).rejects.toThrow(SecurityDiffUnreadableError);
    await expect(readSecurityDiff(deps({}), TARGET)).rejects.toThrow(
      /wrote no result at s3:\/\/artifacts\/.*security-diff build's log/,
    );
  });

  it('refuses a result that is not what the build writes', async () => {
    await expect(readSecurityDiff(deps({ [URI]: '{"broadening":"yes"}' }), TARGET)).rejects.toThrow(
      /not the \{ broadening, stacks, diff \} JSON/,
    );
  });

  it("refuses to read another revision's or environment's diff", async () => {
    const other = { ...TARGET, diffUri: 's3://artifacts/revisions/web/3/security-diff/prod.json' };
    await expect(readSecurityDiff(deps({}), other)).rejects.toThrow(InvalidInputError);
  });

  it('cuts an excerpt after the last whole line', () => {
    expect(diffExcerpt('a\nbb\nccc\n', 5)).toEqual({ excerpt: 'a\nbb\n', truncated: true });
    expect(diffExcerpt('a\nbb\n', 5)).toEqual({ excerpt: 'a\nbb\n', truncated: false });
  });
});

const REQUEST: ApprovalRequestRecord = {
  requestId: 'r-1',
  kind: 'environment',
  execution: 'beta-to-prod-web-r4',
  environment: 'prod',
  application: 'web',
  revision: 4,
  approvers: ['security@example.com'],
  createdAt: 0,
  expiresAt: Date.parse('2030-01-02T00:00:00Z'),
  status: 'pending',
  securityDiff: {
    stacks: ['Shop'],
    excerpt: `${IAM_ROW}│ + │ <script>alert(1)</script> │\n`,
    truncated: true,
    location: URI,
  },
};
const LINK = { approver: 'security@example.com', exp: '1', sig: 'abc' };

describe('the confirmation page and email', () => {
  it('say it is a permissions-broadening confirmation before the deploy, not the normal manual approval', () => {
    const html = approvalPage(REQUEST, undefined, 'security@example.com', LINK);
    expect(html).toContain('<title>Confirm permissions broadening of web revision 4 in prod</title>');
    expect(html).toContain('permissions-broadening confirmation</strong>, not the normal manual approval of prod');
    expect(html).toContain('<strong>not deployed</strong> until you confirm');
  });

  it('show the security table escaped, and where the whole diff is when the excerpt is cut', () => {
    const html = approvalPage(REQUEST, undefined, 'security@example.com', LINK);
    expect(html).toContain('iam:*');
    expect(html).toContain('${IdentityAdmin}');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain(`the whole diff is at <code>${URI}</code>`);
  });

  it('leave a manual approval page as it was', () => {
    const { securityDiff, ...manual } = REQUEST;
    void securityDiff;
    const html = approvalPage(manual, undefined, 'security@example.com', LINK);
    expect(html).not.toContain('Security changes');
    expect(html).toContain('This revision is deployed to <strong>prod</strong>');
  });

  it("put the CLI's table into the approver's email", () => {
    const mail = approvalRequested({
      pipeline: 'shop',
      environment: 'prod',
      application: 'web',
      revision: 4,
      approver: 'security@example.com',
      link: 'https://x/approvals/r-1',
      expiresAt: REQUEST.expiresAt,
      kind: 'environment',
      commits: [],
      securityDiff: REQUEST.securityDiff!,
    });
    expect(mail.subject).toBe('[Lockstep shop] Permissions broadening to confirm: web revision 4 in prod');
    expect(mail.text).toContain("not the environment's normal manual approval");
    expect(mail.text).toContain(IAM_ROW.trimEnd());
    expect(mail.text).toContain(`the whole diff is at ${URI}`);
  });

  it('say why a refused revision was not deployed', () => {
    const failed = (error: string) =>
      promotionFailed({
        pipeline: 'shop',
        environment: 'prod',
        application: 'web',
        revision: 4,
        stage: 'permissions-broadening',
        error,
        execution: 'e',
      }).text;
    expect(failed('ApprovalRejectedError')).toContain('its permissions-broadening confirmation was rejected');
    expect(failed('States.Timeout')).toContain('nobody confirmed its permissions broadening');
    expect(failed('States.TaskFailed')).toContain('its security diff (cdk diff --security-only) failed');
    expect(failed('ApprovalRejectedError')).toContain('Nothing was deployed; prod keeps what it ran');
  });
});
