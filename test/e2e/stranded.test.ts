import { type SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../local/clock';
import { stateMachineArn } from '../../local/constants';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { executionInput } from '../../lambdas/promotion/execution-input';
import { unlockEnvironment } from '../../lambdas/promotion/switches';
import { tempDataDir } from '../local/helpers';
import { decide, deployed, eventually, notifications } from './support';

// Issue 14, items 1 and 7: promotion executions that end outside their own Catch (stopped, States.Runtime) used to
// leave beta running an unapproved revision under a lock held for the whole lease. The quickstart pipeline runs
// in-process on a manual clock; each test continues from where the one before left the system.
const MONDAY_NOON_UTC = Date.parse('2030-01-07T12:00:00Z');

describe('executions that end outside their own Catch', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  let sfn: SFNClient;
  const clock = new ManualClock(MONDAY_NOON_UTC);
  const consoleLines: string[] = [];
  const afterDebounce = () => clock.advance(2_500);
  const beta = async () => (await system.status()).environments.find((e) => e.name === 'beta')!;
  const pendingApproval = async (revision: number) =>
    (await system.status()).approvals.find((a) => a.environment === 'beta' && a.revision === revision);
  // This system's own adapters (its tables, clients and clock): local mode leaves process.env alone.
  const timeline = () => system.runtime.agentDependencies().events.list({ environment: 'beta' }, 200);

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-stranded-');
    system = await startLocalSystem({
      dataDir: data.dir,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      sdkPublishing: false,
      write: (line) => consoleLines.push(line),
    });
    sfn = system.services.clients.sfn;
    afterDebounce();
    const approval = await eventually(() => pendingApproval(1), 'r1 waiting for approval in beta');
    expect((await decide(approval.link, 'approve')).status).toBe(200);
    await eventually(
      async () => (await beta()).applications['sample-app']?.approved.includes(1) && (await beta()).lock === null,
      'r1 approved in beta',
    );
  }, 120_000);

  afterAll(async () => {
    if (process.env.DEBUG_STRANDED) console.log(consoleLines.join('\n'));
    await system?.stop();
    await data?.cleanup();
  });

  it('releases the lock of an execution stopped with StopExecution, rolls beta back to its last approved revision, notifies and records it', async () => {
    await system.push({ message: 'Second change' });
    afterDebounce();
    await eventually(() => pendingApproval(2), 'r2 waiting for approval in beta');
    expect((await beta()).lock?.owner).toBe('alpha-to-beta-sample-app-r2');

    const executionArn = `${stateMachineArn(system.services.names.promotionStateMachineName).replace(':stateMachine:', ':execution:')}:alpha-to-beta-sample-app-r2`;
    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'stopped from the console' }));
    await system.reconcile();

    const after = await eventually(async () => {
      const b = await beta();
      const slot = b.applications['sample-app'];
      return b.lock === null && slot?.current?.number === 1 ? b : undefined;
    }, 'beta back on r1 and unlocked');
    expect(after.applications['sample-app']?.approved).toEqual([1]);
    expect(await deployed(data.dir, 'beta')).toMatchObject({ revision: 1 });

    const events = await timeline();
    const released = events.find((e) => e.type === 'lock-released-stranded');
    expect(released?.message).toMatch(
      /^Released the lock of beta \(token \d+\): execution alpha-to-beta-sample-app-r2 ended ABORTED while it held the lock$/,
    );
    expect(released?.details).toMatchObject({ holder: 'alpha-to-beta-sample-app-r2', status: 'ABORTED' });
    expect(events.find((e) => e.type === 'recovery-started')?.message).toContain(
      'Rolling beta back from sample-app r2 (never approved there) to r1',
    );
    expect(events.find((e) => e.type === 'rollback-rolled-back')?.message).toContain(
      'back from sample-app revision 2 (never approved there) to revision 1',
    );

    const outbox = await notifications(data.dir);
    expect(
      outbox.find(
        (m) => m.attributes.event === 'deployment-failed' && m.message.includes('alpha-to-beta-sample-app-r2'),
      )?.message,
    ).toContain('ended (ABORTED) while it held the lock of beta');
    expect(
      outbox.find((m) => m.attributes.event === 'rollback-done' && m.attributes.environment === 'beta')?.message,
    ).toContain('beta was rolled back from sample-app revision 2 to revision 1, the last revision approved there');
    // r2 is not offered again, and nothing else waits behind a dead holder.
    expect((await system.status()).decisions.find((d) => d.destination === 'beta')?.decision.kind).toBe(
      'already-started',
    );
  }, 90_000);

  it('does the same for an execution that fails with States.Runtime while it holds the lock', async () => {
    const revision = (await system.runtime.agentDependencies().revisions.get('sample-app', 2))!;
    clock.advance(1_000); // a deploy a second after the last one, as any real redeploy is
    const input = executionInput(system.pipeline, {
      promotion: 'alpha-to-beta',
      execution: 'beta-runtime-failure',
      environment: 'beta',
      revision,
    });
    // A bake time of half a second is not a whole number of seconds: the Wait state fails with States.Runtime,
    // which no Catch sees, after the deploy was recorded.
    const broken = {
      ...input,
      approval: { ...input.approval, tests: [], manual: null, compliancePolicy: null, bakeSeconds: 0.5 },
    };
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stateMachineArn(system.services.names.promotionStateMachineName),
        name: 'beta-runtime-failure',
        input: JSON.stringify(broken),
      }),
    );
    const record = await eventually(async () => {
      const r = system.services.stepFunctions.getExecution('beta-runtime-failure');
      return r && r.status !== 'RUNNING' ? r : undefined;
    }, 'the broken execution to end');
    expect(record).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect((await beta()).lock?.owner).toBe('beta-runtime-failure');
    expect((await beta()).applications['sample-app']?.current?.number).toBe(2);

    await system.reconcile();
    await eventually(async () => {
      const b = await beta();
      return b.lock === null && b.applications['sample-app']?.current?.number === 1;
    }, 'beta back on r1 after the States.Runtime failure');
    const released = (await timeline()).filter((e) => e.type === 'lock-released-stranded');
    expect(released[0]?.message).toContain(
      'execution beta-runtime-failure ended FAILED (States.Runtime) while it held the lock',
    );
    expect(
      (await notifications(data.dir)).find(
        (m) => m.attributes.event === 'deployment-failed' && m.message.includes('beta-runtime-failure'),
      )?.subject,
    ).toContain('sample-app revision 2 in beta');
  }, 90_000);

  it('lets an operator unlock an environment, audited with the holder and the reason', async () => {
    const deps = system.runtime.agentDependencies();
    const held = await deps.locks.acquire('beta', 'manual:ops@example.com', 3_600_000, clock.now());
    expect(held.acquired).toBe(true);
    const outcome = await unlockEnvironment(deps, {
      environment: 'beta',
      reason: 'maintenance finished',
      by: 'ops@example.com',
    });
    expect(outcome).toMatchObject({ holder: 'manual:ops@example.com', cleared: [] });
    expect((await beta()).lock).toBeNull();
    const audit = (await timeline()).find((e) => e.type === 'lock-released-by-operator');
    expect(audit).toMatchObject({
      actor: 'ops@example.com',
      details: { holder: 'manual:ops@example.com', reason: 'maintenance finished' },
    });
    expect(
      (await notifications(data.dir)).some(
        (m) => m.attributes.event === 'operator-override' && m.message.includes('maintenance finished'),
      ),
    ).toBe(true);
    await expect(unlockEnvironment(deps, { environment: 'betta', reason: 'x', by: 'ops' })).rejects.toThrow(
      'Environment betta is not in pipeline',
    );
    await expect(unlockEnvironment(deps, { environment: 'beta', reason: ' ', by: 'ops' })).rejects.toThrow('--reason');
  });
});
