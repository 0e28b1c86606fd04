import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setSwitches } from '../../lambdas/promotion/switches';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';
import { decide, deployed, deploysOf, eventually, notifications } from './support';

// `npm start` as a user meets it: the quickstart pipeline (examples/quickstart) with the sample app's real build,
// deploy and test commands, run in-process on a manual clock (a Monday, 21:00 in Tokyo: prod-fe's night window is
// closed for another hour). Each test continues from where the one before left the system.
const MONDAY_NOON_UTC = Date.parse('2030-01-07T12:00:00Z');
const TOKYO_22H = Date.parse('2030-01-07T13:00:00Z');

describe('the quickstart pipeline, one push after another', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const clock = new ManualClock(MONDAY_NOON_UTC);
  const consoleLines: string[] = [];

  /** Lets AutoBuild's 2-second debounce pass, as it would while the user watches. */
  const afterDebounce = () => clock.advance(2_500);
  const pendingApproval = async (environment: string, revision: number) =>
    (await system.status()).approvals.find((a) => a.environment === environment && a.revision === revision);

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-');
    system = await startLocalSystem({
      dataDir: data.dir,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      sdkPublishing: false,
      write: (line) => consoleLines.push(line),
    });
  });

  afterAll(async () => {
    await system?.stop();
    await data?.cleanup();
  });

  it('walks the first push through Alpha into Beta, where it waits for a manual approval with a link to open', async () => {
    expect(consoleLines.join('\n')).toMatch(/Lockstep is ready in \d+ ms/);
    afterDebounce();
    const approval = await eventually(() => pendingApproval('beta', 1), 'r1 waiting for approval in beta');
    expect(await deployed(data.dir, 'alpha')).toMatchObject({ revision: 1, rollback: false });
    expect(await deployed(data.dir, 'beta')).toMatchObject({ revision: 1, rollback: false });
    expect(approval.link).toMatch(
      new RegExp(
        `^${system.services.endpoints.http}/approvals/${approval.requestId}\\?approver=release-manager%40example.com&exp=\\d+&sig=`,
      ),
    );
    expect(approval.link).not.toMatch(/token/i);
    expect(consoleLines.join('\n')).toContain(approval.link);
    const status = system.formatStatus(await system.status()).join('\n');
    expect(status).toMatch(/beta +r1 \(not approved\) +locked by alpha-to-beta-sample-app-r1/);
    expect(status).toMatch(/prod-fe .*window closed, opens Mon 2030-01-07 22:00 Asia\/Tokyo/);
  });

  it('shows the approval page on GET without deciding, and approves on POST: r1 reaches the Prod environments whose windows are open', async () => {
    const approval = (await pendingApproval('beta', 1))!;
    const page = await fetch(approval.link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('sample-app');
    expect(html).toMatch(/beta/);
    expect(await pendingApproval('beta', 1)).toBeDefined(); // looking decided nothing

    expect((await decide(approval.link, 'approve')).status).toBe(200);
    await eventually(
      async () =>
        (await deployed(data.dir, 'prod-na'))?.revision === 1 && (await deployed(data.dir, 'prod-eu'))?.revision === 1,
      'r1 in prod-na and prod-eu',
    );
    const envs = await eventually(async () => {
      const s = await system.status();
      const approved = (name: string) =>
        s.environments.find((e) => e.name === name)?.applications['sample-app']?.approved.includes(1);
      const unlocked = s.environments.every((e) => e.lock === null);
      return approved('beta') && approved('prod-na') && approved('prod-eu') && unlocked ? s.environments : undefined;
    }, 'r1 approved in beta, prod-na and prod-eu, and their locks released');
    expect(envs.find((e) => e.name === 'beta')?.lock).toBeNull();
    expect((await decide(approval.link, 'approve')).status).toBe(409); // a link decides once
  });

  it('holds prod-fe while its night window is closed, and deploys there once the window opens', async () => {
    const status = await system.status();
    expect(status.decisions.find((d) => d.destination === 'prod-fe')?.decision).toMatchObject({ kind: 'wait-window' });
    expect(consoleLines.join('\n')).toMatch(
      /r1 waits for a deploy window of prod-fe: the next opens Mon 2030-01-07 22:00 Asia\/Tokyo/,
    );
    expect(await deployed(data.dir, 'prod-fe')).toBeUndefined();

    clock.set(TOKYO_22H); // the minute schedule runs the reconcile pass: the window is open now
    await eventually(async () => (await deployed(data.dir, 'prod-fe'))?.revision === 1, 'r1 in prod-fe');
    await eventually(
      async () =>
        (await system.status()).environments
          .find((e) => e.name === 'prod-fe')
          ?.applications['sample-app']?.approved.includes(1),
      'r1 approved in prod-fe',
    );
  });

  it('rolls an environment back to the previous revision when the smoke test fails, and says so in the outbox', async () => {
    await system.push({ failTests: true });
    afterDebounce();
    await eventually(async () => (await deployed(data.dir, 'alpha'))?.rollback === true, 'alpha rolled back');
    expect(await deployed(data.dir, 'alpha')).toMatchObject({ revision: 1, rollback: true });
    expect(await deploysOf(data.dir, 'alpha', 2)).toHaveLength(1);
    const outbox = await eventually(async () => {
      const messages = await notifications(data.dir);
      // The failure notice follows the rollback notice (NotifyFailure runs after RecordRollback): wait for both.
      const sent = (event: string) =>
        messages.some((m) => m.attributes.event === event && m.attributes.environment === 'alpha');
      return sent('rollback-done') && sent('approval-workflow-failed') ? messages : undefined;
    }, 'rollback and approval-workflow-failed notifications');
    expect(
      outbox.find((m) => m.attributes.event === 'rollback-done' && m.attributes.environment === 'alpha')?.message,
    ).toContain('rolled back from sample-app revision 2 to revision 1');
    expect(consoleLines.join('\n')).toMatch(
      /FAILED: testing sample-app r2 in alpha \(smoke\)\n {4}BUILD: `node scripts\/test.js` exited with 1[\s\S]*FAILED the build carries no FAIL_TESTS marker/,
    );
    expect((await deployed(data.dir, 'beta'))?.revision).toBe(1); // r2 went no further
  });

  it('stops a promotion that the approver rejects: Beta rolls back and the revision never reaches Prod', async () => {
    await system.push({ message: 'Fix the smoke test' });
    afterDebounce();
    const approval = await eventually(() => pendingApproval('beta', 3), 'r3 waiting for approval in beta');
    expect(await deployed(data.dir, 'beta')).toMatchObject({ revision: 3 });
    expect((await decide(approval.link, 'reject')).status).toBe(200);
    await eventually(async () => (await deployed(data.dir, 'beta'))?.rollback === true, 'beta rolled back');
    expect(await deployed(data.dir, 'beta')).toMatchObject({ revision: 1, rollback: true });
    // The rollback deploy has run; the execution then records it, notifies and releases the lock.
    const status = await eventually(async () => {
      const s = await system.status();
      return s.environments.find((e) => e.name === 'beta')?.lock === null ? s : undefined;
    }, 'beta unlocked after the rollback');
    expect(status.environments.find((e) => e.name === 'beta')?.applications['sample-app']?.approved).not.toContain(3);
    expect((await deployed(data.dir, 'prod-na'))?.revision).toBe(1);
    expect(await deploysOf(data.dir, 'prod-na', 3)).toHaveLength(0);
  });

  it('pauses everything while the pipeline is disabled and announces each switch in the outbox', async () => {
    const { agentDependencies } = system.runtime;
    await setSwitches(agentDependencies(), { enabled: false }, 'ops@example.com');
    await system.push({ message: 'Pushed while disabled' });
    afterDebounce();
    await system.reconcile();
    expect((await system.status()).decisions.every((d) => d.decision.kind === 'disabled')).toBe(true);
    await setSwitches(agentDependencies(), { enabled: true }, 'ops@example.com');
    await setSwitches(agentDependencies(), { automation: false }, 'ops@example.com');
    const events = (await notifications(data.dir)).map((m) => m.attributes.event);
    expect(
      events.filter((e) => e === 'pipeline-disabled' || e === 'pipeline-enabled' || e === 'automation-switched'),
    ).toEqual(['pipeline-disabled', 'pipeline-enabled', 'automation-switched']);
    expect((await notifications(data.dir)).find((m) => m.attributes.event === 'pipeline-disabled')?.message).toContain(
      'disabled by ops@example.com',
    );
  });
});
