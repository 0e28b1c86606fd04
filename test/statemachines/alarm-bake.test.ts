/**
 * The alarm-watched bake in `statemachines/promotion.asl.json`, run by aws-local-stepfunctions: StartBake, then
 * BakeWait/CheckBake until the bake time is over. The bake steps and the failure notification are the real ones
 * (`runStep`) over an in-memory CloudWatch and a clock that jumps over each Wait; their errors reach the engine the
 * way Lambda reports them (the message as JSON in the cause). The rest of the promotion is the harness's fakes.
 */
import { describe, expect, it } from '@jest/globals';
import { StateMachine } from 'aws-local-stepfunctions';
import { pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';
import type { Notification } from '../../lambdas/ports/services';
import type { EventStore, LockStore, PipelineEvent } from '../../lambdas/ports/stores';
import { BAKE_MAX_POLLS } from '../../lambdas/promotion/bake';
import { runStep, type StepDependencies } from '../../lambdas/promotion/steps';
import { InMemoryAlarms } from '../support/alarm-reader';
import { walkStates } from '../support/asl-rules';
import { input, named, PIPELINE, promotionDefinition, runPromotion, summary } from '../support/promotion-harness';

const START = Date.parse('2030-01-07T10:00:00Z');
const MINUTE = 60_000;
const ALARM = 'web-beta-5xx';

/** The harness's pipeline with Beta's bake watched by one alarm. */
function alarmPipeline(duration = '30m', alarms: string[] = [ALARM]): PipelineInput {
  const [stage] = PIPELINE.stages;
  const [beta] = stage!.environments;
  return {
    ...PIPELINE,
    stages: [
      {
        ...stage!,
        environments: [{ ...beta!, approval: { ...beta!.approval, bakeTime: { duration, alarms } } }],
      },
    ],
  };
}

/** A Lambda Task's failure as Step Functions records it: the error type, and the error as JSON in the cause. */
function asLambda(step: (event: Record<string, unknown>) => Promise<unknown>) {
  return async (event: Record<string, unknown>) => {
    try {
      return await step(event);
    } catch (error) {
      const { name, message } = error as Error;
      throw named(name, JSON.stringify({ errorType: name, errorMessage: message }));
    }
  };
}

/** The real bake and notify steps on a clock that each BakeWait moves forward; `beforeCheck` runs before check n. */
function bakeWorld(pipeline: PipelineInput, beforeCheck: (check: number, now: number) => void = () => undefined) {
  let now = START;
  let wait = 0;
  let checks = 0;
  const alarms = new InMemoryAlarms();
  const timeline: PipelineEvent[] = [];
  const published: Notification[] = [];
  const deps: StepDependencies = {
    pipeline: pipelineSchema.parse(pipeline),
    revisions: {} as StepDependencies['revisions'],
    environments: {} as StepDependencies['environments'],
    locks: { heartbeat: async () => true } as unknown as LockStore,
    events: {
      append: async (events: PipelineEvent | readonly PipelineEvent[]) => void timeline.push(...[events].flat()),
    } as unknown as EventStore,
    notifier: { publish: async (n) => void published.push(n) },
    alarms,
    clock: () => now,
  };
  const bakeStep = async (event: Record<string, unknown>) => {
    if (event.action === 'check-bake') {
      now += wait * 1000; // the BakeWait before this check lasted its seconds
      beforeCheck(++checks, now);
    }
    const result = (await runStep(deps, event)) as { waitSeconds: number };
    wait = result.waitSeconds;
    return result;
  };
  const steps = {
    'start-bake': asLambda(bakeStep),
    'check-bake': asLambda(bakeStep),
    notify: asLambda((event) => runStep(deps, event)),
  };
  return { alarms, timeline, published, steps, now: () => now, checks: () => checks };
}

describe('alarm-watched bake', () => {
  it('passes when the alarm stays clear: checks every minute for the bake time, then approves', async () => {
    const world = bakeWorld(alarmPipeline());
    world.alarms.set(ALARM, 'OK', START - MINUTE);
    const run = await runPromotion({ steps: world.steps }, input(alarmPipeline()));
    expect(run.status).toBe('SUCCEEDED');
    const steps = summary(run.effects);
    expect(steps.slice(steps.indexOf('compliance-sign-off'))).toEqual([
      'compliance-sign-off',
      'start-bake',
      ...Array<string>(30).fill('check-bake'),
      'approve-and-release',
    ]);
    expect(world.now()).toBe(START + 30 * MINUTE);
    expect(world.timeline.map((e) => e.type)).toEqual(['bake-started', 'bake-passed']);
    expect(run.effects.find((e) => e.what === 'check-bake')!.input).toMatchObject({
      environment: 'Beta',
      fencingToken: 7,
      alarms: [ALARM],
      startedAt: '2030-01-07T10:00:00.000Z',
      endsAt: '2030-01-07T10:30:00.000Z',
    });
  });

  it('rolls back at once when the alarm fires mid-bake, naming the alarm and its reason', async () => {
    const reason = 'Threshold Crossed: 1 out of the last 1 datapoints [14.0] was greater than the threshold (5.0)';
    const world = bakeWorld(alarmPipeline(), (check, now) => {
      if (check === 10) world.alarms.set(ALARM, 'ALARM', now - 20_000, reason);
    });
    world.alarms.set(ALARM, 'OK', START - MINUTE);
    const run = await runPromotion({ steps: world.steps }, input(alarmPipeline()));
    expect(run.status).toBe('FAILED');
    const steps = summary(run.effects);
    expect(steps.slice(steps.indexOf('start-bake'))).toEqual([
      'start-bake',
      ...Array<string>(10).fill('check-bake'),
      'record-previous',
      'codebuild:Beta/deploy',
      'record-rollback',
      'notify',
      'release-lock',
    ]);
    expect(steps).not.toContain('approve-and-release');
    // Ten minutes into a 30-minute bake: the rollback does not wait for the bake time to end.
    expect(world.now()).toBe(START + 10 * MINUTE);
    const rollback = run.effects.find((e) => e.state === 'RollbackDeploy')!;
    expect(rollback.input.SourceLocationOverride).toBe('artifacts/revisions/web/1/artifact.zip');
    expect(run.effects.find((e) => e.what === 'record-rollback')!.input).toMatchObject({
      outcome: 'rolled-back',
      error: { Error: 'AlarmFiredError' },
    });

    const fired = `Alarm ${ALARM} went into ALARM at 2030-01-07T10:09:40.000Z during the bake of web revision 2 in Beta: ${reason}`;
    const [notification] = world.published;
    expect(notification).toMatchObject({ event: 'approval-workflow-failed' });
    expect(notification!.text.split('\n')[0]).toBe(`The approval workflow of web revision 2 in Beta failed. ${fired}`);
    expect(world.timeline.map((e) => [e.type, e.message])).toEqual([
      ['bake-started', expect.stringContaining(`watching ${ALARM}`)],
      ['bake-alarm-fired', fired],
      ['approval-workflow-failed', `The approval workflow of web revision 2 in Beta failed. ${fired}`],
    ]);
  });

  it('blocks the bake when the alarm is missing: the workflow fails, rolls back and says how to fix it', async () => {
    const world = bakeWorld(alarmPipeline('30m', [ALARM, 'web-beta-latency']));
    world.alarms.set(ALARM, 'OK', START - MINUTE);
    const run = await runPromotion({ steps: world.steps }, input(alarmPipeline('30m', [ALARM, 'web-beta-latency'])));
    expect(run.status).toBe('FAILED');
    const steps = summary(run.effects);
    expect(steps.slice(steps.indexOf('start-bake'))).toEqual([
      'start-bake',
      'record-previous',
      'codebuild:Beta/deploy',
      'record-rollback',
      'notify',
      'release-lock',
    ]);
    expect(world.checks()).toBe(0);
    expect(world.published[0]!.text.split('\n')[0]).toBe(
      'The approval workflow of web revision 2 in Beta failed. The bake of web revision 2 in Beta is blocked: alarm web-beta-latency does not exist in ' +
        "Lockstep's own region of Lockstep's own account. Create the alarm there, or correct its name in approval.bakeTime.alarms of Beta.",
    );
    expect(world.published[0]!.text).toContain('Error: BakeBlockedError');
  });

  it('retries a CloudWatch read that failed, then goes on baking', async () => {
    const world = bakeWorld(alarmPipeline('2m'));
    world.alarms.set(ALARM, 'OK', START - MINUTE);
    world.alarms.failNext = { error: Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }), times: 2 };
    const run = await runPromotion({ steps: world.steps }, input(alarmPipeline('2m')));
    expect(run.status).toBe('SUCCEEDED');
    const steps = summary(run.effects);
    expect(steps.filter((s) => s === 'start-bake')).toHaveLength(3);
  });

  it('keeps the plain Wait for a bake without alarms', async () => {
    const run = await runPromotion();
    expect(run.status).toBe('SUCCEEDED');
    expect(summary(run.effects)).not.toContain('start-bake');
    expect(input().approval).toMatchObject({ bakeSeconds: 600, bakeAlarms: null });
  });

  it('stops a bake whose lock was taken over without rolling back', async () => {
    const world = bakeWorld(alarmPipeline());
    world.alarms.set(ALARM, 'OK', START);
    const run = await runPromotion(
      { steps: { ...world.steps, 'check-bake': asLambda(() => Promise.reject(named('LockLostError'))) } },
      input(alarmPipeline()),
    );
    expect(run.status).toBe('FAILED');
    const steps = summary(run.effects);
    expect(steps.slice(steps.indexOf('check-bake'))).toEqual(['check-bake', 'notify']);
  });
});

/**
 * History events Step Functions (Standard) writes per state entered (as in lock-wait.test.ts): a Lambda Task
 * writes 5, Wait, Choice and Pass 2 each.
 */
const EVENTS_PER_STATE: Record<string, number> = { Task: 5, Wait: 2, Choice: 2, Pass: 2, Map: 2, Succeed: 1 };
const HISTORY_LIMIT = 25_000;

describe('the cost of a long bake', () => {
  it('a 7-day alarm bake stays far below Step Functions’ 25,000-event history', async () => {
    const pipeline = alarmPipeline('7d');
    const world = bakeWorld(pipeline);
    world.alarms.set(ALARM, 'OK', START - MINUTE);
    const definition = promotionDefinition();
    const handlers: Record<string, (event: Record<string, unknown>) => Promise<unknown>> = {};
    const waits: Record<string, number> = {};
    for (const { name, state } of walkStates(definition)) {
      if (state.Type === 'Wait') waits[name] = 0;
      if (state.Type !== 'Task') continue;
      handlers[name] = async (event) => {
        const step = world.steps[String(event.action) as keyof typeof world.steps];
        if (step) return step(event);
        if (event.action === 'check-gates') return { proceed: true };
        if (event.action === 'acquire-lock') return { acquired: true, fencingToken: 7 };
        if (event.action === 'record-test-results') return { passed: 2, failed: 0 };
        if ('ProjectName' in event) return { Build: { Id: 'build:1', BuildStatus: 'SUCCEEDED' } };
        if (state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken')
          return { decision: 'approved', approver: 'approver@example.com' };
        return { ok: true };
      };
    }
    const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    const execution = machine.run(input(pipeline), {
      overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: waits },
      context: { Execution: { Name: input(pipeline).execution }, Task: { Token: 'local-task-token' } },
    });
    let events = 2; // ExecutionStarted, and the ExecutionSucceeded it ends with
    let bakeEvents = 0;
    let inBake = false;
    for await (const log of execution.eventLogs) {
      if (log.type !== 'StateEntered') continue;
      const cost = EVENTS_PER_STATE[log.state.type] ?? 2;
      events += cost;
      if (log.state.name === 'StartBake') inBake = true;
      if (log.state.name === 'ApproveAndRelease') inBake = false;
      if (inBake) bakeEvents += cost;
    }
    await execution.result;
    expect(world.now()).toBe(START + 7 * 24 * 60 * MINUTE);
    if (process.env.LOCKSTEP_PRINT_FIGURES)
      console.log(`7-day alarm bake: ${world.checks()} checks, ${bakeEvents} bake events, ${events} in the execution`);
    expect(world.checks()).toBeLessThanOrEqual(BAKE_MAX_POLLS);
    // 600 checks of 9 events (BakeWait, CheckBake, BakeOver); a one-minute poll would need 10,080 checks, 90,720 events.
    expect(bakeEvents).toBeLessThan(5_500);
    expect(events).toBeLessThan(HISTORY_LIMIT / 4);
  });
});
