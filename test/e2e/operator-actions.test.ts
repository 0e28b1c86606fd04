import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decideApproval } from '../../bin/commands/approve';
import { pin, rollback, unpin } from '../../bin/commands/operator';
import { statusReport } from '../../bin/commands/status';
import { ManualClock } from '../../local/clock';
import type { SystemStatus } from '../../local/console/status';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';
import { deployed, eventually } from './support';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'bin', 'lockstep.ts')] as const;

// `lockstep rollback`, `lockstep pin` and `lockstep unpin` as an operator runs them against `npm start`: the
// commands' own functions, on the data folder of one quickstart system running in-process. Each test continues
// from where the one before left the system (r1 and r2 reach prod-na, then prod-na goes back to r1).
describe('rollback, pin and unpin against the local system', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const clock = new ManualClock(Date.parse('2030-01-07T12:00:00Z'));
  const afterDebounce = () => clock.advance(2_500);
  const status = async (): Promise<SystemStatus> =>
    JSON.parse(await statusReport({ json: true, dataDir: data.dir })) as SystemStatus;
  const prodNa = async () =>
    (await status()).environments.find((e) => e.name === 'prod-na')?.applications['sample-app'];
  const approveInBeta = async (revision: number) => {
    const approval = await eventually(
      async () => (await status()).approvals.find((a) => a.environment === 'beta' && a.revision === revision),
      `r${revision} waiting for approval in beta`,
    );
    await decideApproval(approval.requestId, 'approve', { dataDir: data.dir });
  };
  const timeline = async (type: string) =>
    (await system.runtime.eventStore().list({ environment: 'prod-na' }, 200)).filter((e) => e.type === type);
  const prodNaDecision = async () => (await status()).decisions.find((d) => d.destination === 'prod-na')!.decision;

  beforeAll(async () => {
    data = await tempDataDir('lockstep-operator-');
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

  it('gets r1 and then r2 approved in prod-na', async () => {
    afterDebounce();
    await approveInBeta(1);
    await eventually(async () => (await prodNa())?.approved.includes(1), 'r1 approved in prod-na');
    await system.push({ message: 'Second change' });
    afterDebounce();
    await approveInBeta(2);
    await eventually(async () => (await prodNa())?.approved.includes(2), 'r2 approved in prod-na');
    expect((await prodNa())?.current?.number).toBe(2);
  });

  it('refuses a revision that does not exist or already runs there', async () => {
    await expect(rollback('prod-na', { to: 7, dataDir: data.dir })).rejects.toMatchObject({
      code: 'unknown-revision',
      message: 'sample-app has no revision 7',
    });
    await expect(rollback('prod-na', { to: 2, dataDir: data.dir })).rejects.toMatchObject({
      code: 'already-current',
    });
    expect((await timeline('rollback-requested')).length).toBe(0);
  });

  it('rolls prod-na back to r1 through the promotion state machine, audited and shown in the timeline', async () => {
    const lines = await rollback('prod-na', { dataDir: data.dir, as: 'oncall@example.com', reason: 'errors up' });
    expect(lines[0]).toMatch(/^Rolling prod-na back from sample-app r2 to r1 \(execution rollback-prod-na-/);
    await eventually(async () => (await deployed(data.dir, 'prod-na'))?.revision === 1, 'r1 deployed in prod-na again');
    await eventually(async () => (await prodNa())?.current?.number === 1, 'prod-na records r1 as current');
    await eventually(async () => (await timeline('rollback-rolled-back')).length > 0, 'the rollback recorded');
    const [requested] = await timeline('rollback-requested');
    expect(requested).toMatchObject({
      actor: 'oncall@example.com',
      details: { via: 'cli', from: 2, to: 1, override: false, reason: 'errors up' },
    });
    const [done] = await timeline('rollback-rolled-back');
    expect(done!.message).toBe(
      'Rolled prod-na back from sample-app revision 2 to revision 1: rollback requested by oncall@example.com via the cli: errors up',
    );
    // Automation does not put r2 back: its promotion ran once already.
    await eventually(
      async () => (await status()).environments.find((e) => e.name === 'prod-na')?.lock === null,
      'prod-na unlocked after the rollback',
    );
    expect((await prodNaDecision()).kind).toBe('already-started');
  });

  it('lets one of two operators rolling back at once win, and tells the other who rolls back', async () => {
    const results = await Promise.allSettled([
      rollback('prod-na', { to: 2, dataDir: data.dir, as: 'ann@example.com' }),
      rollback('prod-na', { to: 2, dataDir: data.dir, as: 'bob@example.com' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost?.reason).toMatchObject({
      name: 'RollbackConflictError',
      message: expect.stringMatching(
        /^(ann|bob)@example\.com is already rolling prod-na back from sample-app r1 to r2 \(asked at .*\); wait for it to finish$/,
      ),
    });
    await eventually(async () => (await prodNa())?.current?.number === 2, 'prod-na runs r2 again');
    await eventually(
      async () => (await status()).environments.find((e) => e.name === 'prod-na')?.lock === null,
      'prod-na unlocked',
    );
    expect((await timeline('rollback-requested')).length).toBe(2);
  });

  it('pins prod-na so status says who pinned it, and unpins it', async () => {
    expect(await pin('prod-na', 2, { dataDir: data.dir, as: 'oncall@example.com' })).toEqual([
      'Pinned prod-na to sample-app r2: automation leaves it alone until `lockstep unpin prod-na`.',
    ]);
    const decision = await prodNaDecision();
    expect(decision.kind).toBe('pinned');
    expect(decision.reason).toMatch(/^prod-na is pinned to sample-app r2 by oncall@example\.com at \d{4}-/);
    await expect(rollback('prod-na', { dataDir: data.dir })).rejects.toMatchObject({ code: 'pinned' });
    await unpin('prod-na', { dataDir: data.dir, as: 'oncall@example.com' });
    expect((await prodNaDecision()).kind).not.toBe('pinned');
    await expect(unpin('prod-na', { dataDir: data.dir })).rejects.toMatchObject({ code: 'not-pinned' });
  });

  it('rolls back with the lockstep command itself, and refuses a --to that is not a revision number', async () => {
    // Asynchronously: the local system answers from this process, so the command must not block it.
    const lockstep = (...args: string[]) =>
      promisify(execFile)(CLI[0], [...CLI.slice(1), ...args, '--data-dir', data.dir], { cwd: ROOT }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const bad = await lockstep('rollback', 'prod-na', '--to', 'latest');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('"latest" is not a revision number such as 3');
    const run = await lockstep('rollback', 'prod-na', '--to', '1', '--as', 'carol@example.com');
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Rolling prod-na back from sample-app r2 to r1 \(execution rollback-prod-na-/);
    await eventually(async () => (await prodNa())?.current?.number === 1, 'prod-na runs r1 after the command');
  });
});
