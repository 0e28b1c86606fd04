/**
 * A promotion that finds its environment locked waits in the state machine (WaitForLock -> CheckGates ->
 * AcquireLock). Step Functions ends an execution whose history reaches 25,000 events, so the wait must cost few
 * events however long the holder keeps the lock. These tests run the real ASL and the real `check-gates` and
 * `acquire-lock` steps on a clock that jumps to each Wait's timestamp, and count the history events AWS would
 * write for the states entered.
 */
import { describe, expect, it } from '@jest/globals';
import { StateMachine } from 'aws-local-stepfunctions';
import { walkStates } from '../support/asl-rules';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import type { LockState } from '../../lambdas/core/model';
import { runStep, type StepDependencies } from '../../lambdas/promotion/steps';
import type { AcquireResult, EnvironmentStore, LockStore } from '../../lambdas/ports/stores';
import { input, PIPELINE, promotionDefinition } from '../support/promotion-harness';

/**
 * History events Step Functions (Standard) writes per state entered: a Lambda Task writes TaskStateEntered,
 * LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded and TaskStateExited; Wait, Choice and
 * Pass write Entered and Exited.
 */
const EVENTS_PER_STATE: Record<string, number> = { Task: 5, Wait: 2, Choice: 2, Pass: 2 };
const HISTORY_LIMIT = 25_000;
const HOUR = 3_600_000;

/** Runs one execution against a lock that `holder` keeps until its lease ends; counts events until acquired. */
async function waitBehind(
  holder: LockState,
  start: number,
): Promise<{ events: number; checks: number; acquiredAt: number }> {
  let now = start;
  let retryAt = start;
  const lock: LockStore = {
    async acquire(environment, owner, leaseMs, at): Promise<AcquireResult> {
      if (at < holder.leaseExpiresAt) return { acquired: false, holder };
      return {
        acquired: true,
        lock: {
          environment,
          owner,
          acquiredAt: at,
          leaseExpiresAt: at + leaseMs,
          fencingToken: holder.fencingToken + 1,
        },
      };
    },
  } as LockStore;
  const environments = {
    switches: async (defaults: { enabled: boolean; automation: boolean }) => defaults,
    promotionSwitches: async () => ({}),
  } as unknown as EnvironmentStore;
  const deps: StepDependencies = {
    pipeline: pipelineSchema.parse(PIPELINE),
    revisions: {} as StepDependencies['revisions'],
    environments,
    locks: lock,
    events: { append: async () => undefined, list: async () => [] },
    notifier: { publish: async () => undefined },
    clock: () => now,
  };

  const definition = promotionDefinition();
  const handlers: Record<string, (event: Record<string, unknown>) => Promise<unknown>> = {};
  const waits: Record<string, number> = {};
  let checks = 0;
  let acquiredAt = 0;
  for (const { name, state } of walkStates(definition)) {
    if (state.Type === 'Wait') waits[name] = 0;
    if (state.Type !== 'Task') continue;
    handlers[name] = async (event) => {
      if (event.action === 'check-gates') {
        now = Math.max(now, retryAt); // the Wait before this check lasted until its timestamp
        return runStep(deps, event);
      }
      if (event.action === 'acquire-lock') {
        checks++;
        const result = (await runStep(deps, event)) as { acquired: boolean; retryAt?: string };
        if (result.acquired) acquiredAt = now;
        else retryAt = Date.parse(result.retryAt!);
        return result;
      }
      throw new Error('stop after the lock: the rest of the promotion is not what is measured');
    };
  }
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input(), {
    overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: waits },
    context: { Execution: { Name: input().execution } },
    noThrowOnAbort: true,
  });
  let events = 2; // ExecutionStarted, and the ExecutionSucceeded/Failed it ends with
  for await (const log of execution.eventLogs) {
    if (log.type !== 'StateEntered') continue;
    events += EVENTS_PER_STATE[log.state.type] ?? 2;
    if (log.state.name === 'Deploy') break; // the lock is held: waiting is over
  }
  execution.abort();
  await execution.result;
  return { events, checks, acquiredAt };
}

describe('waiting for a held lock', () => {
  const start = Date.parse('2030-01-07T10:00:00Z');

  it('waits out a 48-hour lock in a few thousand history events, far below the 25,000 limit', async () => {
    const holder: LockState = {
      environment: 'Beta',
      owner: 'web-to-Beta-web-r1',
      acquiredAt: start,
      leaseExpiresAt: start + 48 * HOUR,
      fencingToken: 3,
    };
    const { events, checks, acquiredAt } = await waitBehind(holder, start);
    expect(acquiredAt).toBe(holder.leaseExpiresAt);
    // A fixed 60 s poll needs 2,880 checks and about 46,000 events for this wait.
    if (process.env.LOCKSTEP_PRINT_FIGURES)
      console.log(`48-hour lock wait: ${checks} checks, ${events} history events`);
    expect(checks).toBeLessThan(250);
    expect(events).toBeLessThan(4_000);
    expect(events).toBeLessThan(HISTORY_LIMIT / 5);
  });

  it('checks a lock taken moments ago again within a minute, and never later than its lease end', async () => {
    const holder: LockState = {
      environment: 'Beta',
      owner: 'web-to-Beta-web-r1',
      acquiredAt: start,
      leaseExpiresAt: start + 90_000,
      fencingToken: 3,
    };
    const { checks, acquiredAt } = await waitBehind(holder, start + 1000);
    expect(acquiredAt).toBe(holder.leaseExpiresAt);
    expect(checks).toBe(3); // at +1 s, +61 s, then at the lease end (+90 s)
  });
});
