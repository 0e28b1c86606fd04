import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApprovalCommandError, decideApproval } from '../../bin/commands/approve';
import { statusReport } from '../../bin/commands/status';
import { sendApprovalRequest } from '../../lambdas/promotion/approvals';
import { ManualClock } from '../../local/clock';
import type { SystemStatus } from '../../local/console/status';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';
import { deployed, deploysOf, eventually } from './support';

// `lockstep status`, `lockstep approve` and `lockstep reject` as a user runs them against `npm start`: the commands'
// own functions, on the data folder of one quickstart system running in-process. Each test continues from where
// the one before left the system.
describe('the operator commands against the local system', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const clock = new ManualClock(Date.parse('2030-01-07T12:00:00Z'));
  const afterDebounce = () => clock.advance(2_500);
  const status = async (): Promise<SystemStatus> =>
    JSON.parse(await statusReport({ json: true, dataDir: data.dir })) as SystemStatus;
  const pendingApproval = async (environment: string, revision: number) =>
    (await status()).approvals.find((a) => a.environment === environment && a.revision === revision);
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('the command was not refused');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(ApprovalCommandError);
        return (error as Error).message;
      },
    );

  beforeAll(async () => {
    data = await tempDataDir('lockstep-cli-');
    system = await startLocalSystem({
      dataDir: data.dir,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      sdkPublishing: false,
      write: () => undefined,
    });
  });

  afterAll(async () => {
    await system?.stop();
    await data?.cleanup();
  });

  it('status --json shows the approval beta waits for, with its link, and who holds the beta lock', async () => {
    afterDebounce();
    const approval = await eventually(() => pendingApproval('beta', 1), 'r1 waiting for approval in beta');
    expect(approval).toMatchObject({ application: 'sample-app', approver: 'release-manager@example.com' });
    expect(approval.link).toMatch(
      new RegExp(
        `^${system.services.endpoints.http}/approvals/${approval.requestId}\\?approver=release-manager%40example.com&exp=\\d+&sig=`,
      ),
    );
    const beta = (await status()).environments.find((e) => e.name === 'beta')!;
    expect(beta.lock).toMatchObject({ owner: 'alpha-to-beta-sample-app-r1' });
    expect(await statusReport({ dataDir: data.dir })).toMatch(
      /beta +r1 \(not approved\) +locked by alpha-to-beta-sample-app-r1/,
    );
  });

  it('refuses an unknown request, listing the pending ones', async () => {
    const approval = (await pendingApproval('beta', 1))!;
    const message = await refusal(decideApproval('zzzz', 'approve', { dataDir: data.dir }));
    expect(message).toContain('No pending approval request zzzz');
    expect(message).toContain(`${approval.requestId} (sample-app r1 in beta, release-manager@example.com)`);
    expect(await pendingApproval('beta', 1)).toBeDefined();
  });

  it('refuses a prefix that matches two pending requests, listing both', async () => {
    const approval = (await pendingApproval('beta', 1))!;
    // A second pending request whose id starts like the first: a manual go-ahead request sent as reconcile sends it.
    const { approvalDependencies } = system.runtime;
    const prefix = approval.requestId.slice(0, 4);
    const twin = `${prefix}-go-ahead-request`;
    await sendApprovalRequest(
      { ...approvalDependencies(), newId: () => twin },
      {
        kind: 'promotion',
        execution: 'beta-to-prod-na-sample-app-r1',
        promotion: 'beta-to-prod-na',
        environment: 'prod-na',
        application: 'sample-app',
        revision: 1,
        approvers: ['release-manager@example.com'],
        timeoutSeconds: 3600,
      },
    );
    await eventually(
      async () => (await status()).approvals.some((a) => a.requestId === twin),
      'the second request pending',
    );

    const message = await refusal(decideApproval(prefix, 'approve', { dataDir: data.dir }));
    expect(message).toContain(`${prefix} matches 2 requests`);
    expect(message).toContain(`${approval.requestId} (sample-app r1 in beta`);
    expect(message).toContain(`${twin} (sample-app r1 in prod-na`);
    expect(await pendingApproval('beta', 1)).toBeDefined(); // nothing was decided

    expect(await decideApproval(twin, 'reject', { dataDir: data.dir })).toBe(
      'Rejected sample-app r1 in prod-na as release-manager@example.com.',
    );
  });

  it('approve <prefix> approves as the approver the link was sent to, and the revision moves on to Prod', async () => {
    const approval = (await pendingApproval('beta', 1))!;
    const line = await decideApproval(approval.requestId.slice(0, 6), 'approve', { dataDir: data.dir });
    expect(line).toBe('Approved sample-app r1 in beta as release-manager@example.com.');
    await eventually(async () => (await deployed(data.dir, 'prod-na'))?.revision === 1, 'r1 in prod-na');
    await eventually(
      async () =>
        (await status()).environments.find((e) => e.name === 'beta')?.applications['sample-app']?.approved.includes(1),
      'r1 approved in beta',
    );
    expect(await pendingApproval('beta', 1)).toBeUndefined();
    // Decided once: the same request is no longer pending.
    expect(await refusal(decideApproval(approval.requestId, 'approve', { dataDir: data.dir }))).toContain(
      `No pending approval request ${approval.requestId}`,
    );
  });

  it('reject <prefix> stops the promotion: beta rolls back and the revision never reaches Prod', async () => {
    await system.push({ message: 'A change the release manager turns down' });
    afterDebounce();
    const approval = await eventually(() => pendingApproval('beta', 2), 'r2 waiting for approval in beta');
    expect(
      await decideApproval(approval.requestId.slice(0, 8), 'reject', { dataDir: data.dir, comment: 'not this week' }),
    ).toBe('Rejected sample-app r2 in beta as release-manager@example.com.');
    await eventually(async () => (await deployed(data.dir, 'beta'))?.rollback === true, 'beta rolled back');
    expect(await deployed(data.dir, 'beta')).toMatchObject({ revision: 1, rollback: true });
    const after = await eventually(async () => {
      const s = await status();
      return s.environments.find((e) => e.name === 'beta')?.lock === null ? s : undefined;
    }, 'beta unlocked after the rollback');
    expect(after.environments.find((e) => e.name === 'beta')?.applications['sample-app']?.approved).not.toContain(2);
    expect(await deploysOf(data.dir, 'prod-na', 2)).toHaveLength(0);
  });
});
