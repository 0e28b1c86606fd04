/**
 * The alarm-watched bake's steps (`start-bake`, `check-bake`) through `runStep`, over an in-memory CloudWatch and
 * lock, and its pure verdicts. The state machine around them is in test/statemachines/alarm-bake.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';
import type { EventStore, LockStore, PipelineEvent } from '../../lambdas/ports/stores';
import {
  BAKE_MAX_POLLS,
  bakePollIntervalMs,
  bakeProgress,
  checkVerdict,
  startVerdict,
} from '../../lambdas/promotion/bake';
import { promotionFailed, stepErrorMessage } from '../../lambdas/promotion/notifications';
import { runStep, type StepDependencies } from '../../lambdas/promotion/steps';
import { InMemoryAlarms } from '../support/alarm-reader';

const START = Date.parse('2030-01-07T10:00:00Z');
const MINUTE = 60_000;

const definition: PipelineInput = {
  pipeline: { name: 'shop' },
  packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['make'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [
    {
      name: 'Prod',
      environments: [
        {
          name: 'prod-eu',
          region: 'eu-west-1',
          account: '222233334444',
          roleArn: 'arn:aws:iam::222233334444:role/deploy',
          deploy: { commands: ['deploy'] },
          approval: { bakeTime: { duration: '30m', alarms: ['web-prod-5xx', 'web-prod-latency'] } },
        },
        {
          name: 'prod-na',
          deploy: { commands: ['deploy'] },
          approval: { bakeTime: { duration: '30m', alarms: ['web-prod-5xx'] } },
        },
      ],
    },
  ],
  promotions: [
    { from: { application: 'web' }, to: 'prod-eu' },
    { from: { environment: 'prod-eu' }, to: 'prod-na' },
  ],
};

function harness(options: { lockHeld?: boolean } = {}) {
  let now = START;
  const alarms = new InMemoryAlarms();
  const timeline: PipelineEvent[] = [];
  const heartbeats: number[] = [];
  const deps: StepDependencies = {
    pipeline: pipelineSchema.parse(definition),
    revisions: {} as StepDependencies['revisions'],
    environments: {} as StepDependencies['environments'],
    locks: {
      heartbeat: async (_env: string, _owner: string, token: number) => {
        heartbeats.push(token);
        return options.lockHeld ?? true;
      },
    } as unknown as LockStore,
    events: {
      append: async (events: PipelineEvent | readonly PipelineEvent[]) => void timeline.push(...[events].flat()),
    } as unknown as EventStore,
    notifier: { publish: async () => undefined },
    alarms,
    clock: () => now,
  };
  return { deps, alarms, timeline, heartbeats, advance: (ms: number) => void (now += ms), now: () => now };
}

const target = {
  execution: 'web-to-prod-eu-web-r2',
  promotion: 'web-to-prod-eu',
  application: 'web',
  environment: 'prod-eu',
  revision: 2,
  fencingToken: 7,
  lockLeaseMs: 3 * 3_600_000,
};
const ALARMS = ['web-prod-5xx', 'web-prod-latency'];

const start = (deps: StepDependencies, extra: { acceptInsufficientData?: boolean } = {}) =>
  runStep(deps, {
    action: 'start-bake',
    ...target,
    bakeSeconds: 1800,
    alarms: ALARMS,
    acceptInsufficientData: extra.acceptInsufficientData ?? false,
  }) as Promise<{ startedAt: string; endsAt: string; waitSeconds: number; done: boolean }>;

const check = (deps: StepDependencies, bake: { startedAt: string; endsAt: string }) =>
  runStep(deps, { action: 'check-bake', ...target, alarms: ALARMS, ...bake }) as Promise<{
    startedAt: string;
    endsAt: string;
    waitSeconds: number;
    done: boolean;
  }>;

describe('start-bake', () => {
  it('starts when every alarm is OK: records the start and waits one poll interval', async () => {
    const { deps, alarms, timeline, heartbeats } = harness();
    alarms.set('web-prod-5xx', 'OK', START - MINUTE).set('web-prod-latency', 'OK', START - MINUTE);
    const bake = await start(deps);
    expect(bake).toEqual({
      startedAt: '2030-01-07T10:00:00.000Z',
      endsAt: '2030-01-07T10:30:00.000Z',
      waitSeconds: 60,
      done: false,
    });
    expect(heartbeats).toEqual([7]);
    expect(timeline.map((e) => e.type)).toEqual(['bake-started']);
    expect(timeline[0]!.message).toBe(
      'Baking web revision 2 in prod-eu until 2030-01-07T10:30:00.000Z, watching web-prod-5xx, web-prod-latency (checked every 60 s)',
    );
  });

  it("reads the alarms in the environment's region through its role", async () => {
    const { deps, alarms } = harness();
    alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    await start(deps);
    expect(alarms.scopes).toEqual([{ region: 'eu-west-1', roleArn: 'arn:aws:iam::222233334444:role/deploy' }]);
  });

  it('is blocked by a missing alarm, naming it, where it was looked for, and the fix', async () => {
    const { deps, alarms, timeline } = harness();
    alarms.set('web-prod-5xx', 'OK', START);
    await expect(start(deps)).rejects.toMatchObject({
      name: 'BakeBlockedError',
      message:
        'The bake of web revision 2 in prod-eu is blocked: alarm web-prod-latency does not exist in region eu-west-1 of the account of arn:aws:iam::222233334444:role/deploy. ' +
        'Create the alarm there, or correct its name in approval.bakeTime.alarms of prod-eu.',
    });
    expect(timeline.map((e) => e.type)).toEqual(['bake-blocked']);
    expect(timeline[0]!.details).toMatchObject({ alarm: 'web-prod-latency' });
  });

  it('is blocked by an alarm in INSUFFICIENT_DATA, saying how to accept it', async () => {
    const { deps, alarms } = harness();
    alarms
      .set('web-prod-5xx', 'OK', START)
      .set('web-prod-latency', 'INSUFFICIENT_DATA', START, 'Insufficient Data: 1 datapoint was unknown');
    await expect(start(deps)).rejects.toMatchObject({
      name: 'BakeBlockedError',
      message: expect.stringContaining(
        'alarm web-prod-latency is in INSUFFICIENT_DATA (Insufficient Data: 1 datapoint was unknown), so it cannot tell whether the revision is healthy. Make its metric report data (an alarm on requests needs traffic), or set approval.bakeTime.acceptInsufficientData: true for prod-eu.',
      ),
    });
  });

  it('starts with INSUFFICIENT_DATA when the pipeline accepts it, and says so', async () => {
    const { deps, alarms, timeline } = harness();
    alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'INSUFFICIENT_DATA', START);
    await start(deps, { acceptInsufficientData: true });
    expect(timeline[0]!.message).toContain('web-prod-latency in INSUFFICIENT_DATA, accepted by acceptInsufficientData');
  });

  it('fails at once when an alarm is already in ALARM, with CloudWatch’s reason', async () => {
    const { deps, alarms, timeline } = harness();
    alarms
      .set('web-prod-5xx', 'ALARM', START - 5 * MINUTE, 'Threshold Crossed: 1 datapoint [12.0] > 5.0')
      .set('web-prod-latency', 'OK', START);
    await expect(start(deps)).rejects.toMatchObject({
      name: 'AlarmFiredError',
      message:
        'Alarm web-prod-5xx was in ALARM (since 2030-01-07T09:55:00.000Z) when the bake of web revision 2 in prod-eu started: Threshold Crossed: 1 datapoint [12.0] > 5.0',
    });
    expect(timeline.map((e) => e.type)).toEqual(['bake-alarm-fired']);
  });

  it('fails with LockLostError and reads nothing into the timeline when the lock is gone', async () => {
    const { deps, alarms, timeline } = harness({ lockHeld: false });
    alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    await expect(start(deps)).rejects.toMatchObject({ name: 'LockLostError' });
    expect(timeline).toEqual([]);
  });

  it('turns a CloudWatch failure into a retryable AlarmReadError that says what to check', async () => {
    const { deps, alarms } = harness();
    alarms.failNext = { error: Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }), times: 1 };
    await expect(start(deps)).rejects.toMatchObject({
      name: 'AlarmReadError',
      message: expect.stringContaining(
        'Could not read the bake alarms of prod-eu (web-prod-5xx, web-prod-latency) in region eu-west-1 of the account of arn:aws:iam::222233334444:role/deploy: Rate exceeded.',
      ),
    });
  });

  it('without an alarm reader fails saying so, rather than baking unwatched', async () => {
    const { deps } = harness();
    const { alarms: _, ...withoutReader } = deps;
    await expect(start(withoutReader)).rejects.toMatchObject({
      name: 'AlarmReadError',
      message: expect.stringContaining('no CloudWatch alarm reader'),
    });
  });
});

describe('check-bake', () => {
  it('waits until the bake time is over, then passes and records it', async () => {
    const h = harness();
    h.alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    let bake = await start(h.deps);
    let checks = 0;
    while (!bake.done) {
      h.advance(bake.waitSeconds * 1000);
      bake = await check(h.deps, bake);
      checks++;
    }
    expect(checks).toBe(30);
    expect(h.now()).toBe(START + 30 * MINUTE);
    expect(h.timeline.map((e) => e.type)).toEqual(['bake-started', 'bake-passed']);
    expect(h.timeline[1]!.message).toBe(
      'web revision 2 in prod-eu baked from 2030-01-07T10:00:00.000Z to 2030-01-07T10:30:00.000Z with none of web-prod-5xx, web-prod-latency in ALARM',
    );
  });

  it('fails when an alarm went into ALARM and back between two checks (read from its history)', async () => {
    const h = harness();
    h.alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    const bake = await start(h.deps);
    h.alarms.set('web-prod-latency', 'ALARM', START + 20_000, 'Threshold Crossed: p99 latency 2.1 s > 1.5 s');
    h.alarms.set('web-prod-latency', 'OK', START + 40_000);
    h.advance(bake.waitSeconds * 1000);
    await expect(check(h.deps, bake)).rejects.toMatchObject({
      name: 'AlarmFiredError',
      message:
        'Alarm web-prod-latency went into ALARM at 2030-01-07T10:00:20.000Z during the bake of web revision 2 in prod-eu: Threshold Crossed: p99 latency 2.1 s > 1.5 s',
    });
    expect(h.timeline.at(-1)).toMatchObject({
      type: 'bake-alarm-fired',
      details: { alarm: 'web-prod-latency', reason: 'Threshold Crossed: p99 latency 2.1 s > 1.5 s' },
    });
  });

  it('fails on an alarm in ALARM now even before its history shows the transition', async () => {
    const h = harness();
    h.alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    const bake = await start(h.deps);
    const firings = await h.alarms.firingsSince({}, ALARMS, bake.startedAt);
    expect(
      checkVerdict(
        ALARMS,
        [
          { name: 'web-prod-5xx', state: 'ALARM', reason: 'Threshold Crossed', updatedAt: bake.startedAt },
          { name: 'web-prod-latency', state: 'OK', reason: '', updatedAt: bake.startedAt },
        ],
        firings,
      ),
    ).toEqual({ kind: 'fired', alarm: 'web-prod-5xx', at: bake.startedAt, reason: 'Threshold Crossed' });
  });

  it('is blocked when a watched alarm is deleted during the bake', async () => {
    const h = harness();
    h.alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    const bake = await start(h.deps);
    h.alarms.delete('web-prod-5xx');
    h.advance(MINUTE);
    await expect(check(h.deps, bake)).rejects.toMatchObject({
      name: 'BakeBlockedError',
      message: expect.stringContaining('alarm web-prod-5xx was deleted during the bake'),
    });
  });

  it('does not fail on INSUFFICIENT_DATA during the bake: the alarm’s own missing-data setting decides', async () => {
    const h = harness();
    h.alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    const bake = await start(h.deps);
    h.alarms.set('web-prod-5xx', 'INSUFFICIENT_DATA', START + 10_000);
    h.advance(MINUTE);
    await expect(check(h.deps, bake)).resolves.toMatchObject({ done: false, waitSeconds: 60 });
  });

  it('reads history and states in the same round trip as the fence check', async () => {
    const h = harness();
    h.alarms.set('web-prod-5xx', 'OK', START).set('web-prod-latency', 'OK', START);
    const bake = await start(h.deps);
    h.advance(MINUTE);
    await check(h.deps, bake);
    expect(h.alarms.calls).toEqual({ states: 2, firingsSince: 1 });
    expect(h.heartbeats).toEqual([7, 7]);
  });

  it("reads Lockstep's own region and credentials for an environment with neither", async () => {
    const h = harness();
    h.alarms.set('web-prod-5xx', 'OK', START);
    await runStep(h.deps, {
      action: 'start-bake',
      ...target,
      environment: 'prod-na',
      bakeSeconds: 600,
      alarms: ['web-prod-5xx'],
      acceptInsufficientData: false,
    });
    expect(h.alarms.scopes).toEqual([{}]);
  });
});

describe('bake timing', () => {
  it('checks every minute up to a 10-hour bake, then at most 600 times', () => {
    expect(bakePollIntervalMs(30 * MINUTE)).toBe(MINUTE);
    expect(bakePollIntervalMs(10 * 60 * MINUTE)).toBe(MINUTE);
    expect(bakePollIntervalMs(7 * 24 * 60 * MINUTE)).toBe(1_008_000);
    expect(Math.ceil((7 * 24 * 60 * MINUTE) / bakePollIntervalMs(7 * 24 * 60 * MINUTE))).toBeLessThanOrEqual(
      BAKE_MAX_POLLS,
    );
  });

  it('never waits past the end of the bake, and never 0 s before it', () => {
    expect(bakeProgress(START, START + 90_000, START + 60_000).waitSeconds).toBe(30);
    expect(bakeProgress(START, START + 90_000, START + 89_700).waitSeconds).toBe(1);
    expect(bakeProgress(START, START + 90_000, START + 90_000)).toMatchObject({ done: true, waitSeconds: 0 });
  });

  it('names the first alarm, in configuration order, that stops the start', () => {
    expect(
      startVerdict(
        ['a', 'b'],
        [
          { name: 'b', state: 'ALARM', reason: 'r', updatedAt: 't' },
          { name: 'a', state: 'INSUFFICIENT_DATA', reason: 'no data', updatedAt: 't' },
        ],
        false,
      ),
    ).toEqual({ kind: 'blocked', alarm: 'a', reason: 'no data' });
  });
});

describe('the failure notification of a bake', () => {
  const cause = JSON.stringify({
    errorType: 'AlarmFiredError',
    errorMessage:
      'Alarm web-prod-5xx went into ALARM at 2030-01-07T10:12:00.000Z during the bake of web revision 2 in prod-eu: Threshold Crossed',
    trace: ['AlarmFiredError: ...'],
  });

  it('says which alarm fired and why in its first line, which is also the timeline entry', () => {
    const text = promotionFailed({
      pipeline: 'shop',
      environment: 'prod-eu',
      application: 'web',
      revision: 2,
      stage: 'approval-workflow',
      error: 'AlarmFiredError',
      cause,
      execution: 'web-to-prod-eu-web-r2',
    }).text.split('\n');
    expect(text[0]).toBe(
      'The approval workflow of web revision 2 in prod-eu failed. Alarm web-prod-5xx went into ALARM at 2030-01-07T10:12:00.000Z during the bake of web revision 2 in prod-eu: Threshold Crossed',
    );
    expect(text[1]).toBe('Error: AlarmFiredError');
  });

  it('reads the message only from a step error cause', () => {
    expect(stepErrorMessage(cause)).toContain('Alarm web-prod-5xx');
    expect(stepErrorMessage('{"Build":{"Id":"x"}}')).toBeUndefined();
    expect(stepErrorMessage('{not json')).toBeUndefined();
    expect(stepErrorMessage(undefined)).toBeUndefined();
  });
});
