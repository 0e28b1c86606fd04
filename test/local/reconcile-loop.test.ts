import { getEventListeners } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { ReconcileLoop } from '../../local/assembly/reconcile-loop';
import { ManualClock, systemClock, type Clock } from '../../local/clock';

/** A clock that records the largest number of abort listeners any signal handed to it carried. */
function listenerCountingClock(inner: Clock): Clock & { maxListeners(): number } {
  const signals = new Set<AbortSignal>();
  let max = 0;
  const count = () => {
    for (const signal of signals) max = Math.max(max, getEventListeners(signal, 'abort').length);
  };
  return {
    now: () => inner.now(),
    sleepUntil(epochMs, signal) {
      if (signal) signals.add(signal);
      const sleeping = inner.sleepUntil(epochMs, signal);
      count();
      return sleeping;
    },
    maxListeners: () => {
      count();
      return max;
    },
  };
}

describe('ReconcileLoop', () => {
  it('keeps one abort listener however many passes are scheduled, so a burst of pushes warns of no leak', async () => {
    // The wall clock: its sleeps hold their abort listener until they end, as in `npm start`.
    const clock = listenerCountingClock(systemClock);
    const loop = new ReconcileLoop(
      async () => 'pass',
      clock,
      () => undefined,
    );
    loop.every(60_000);
    // Eleven webhook deliveries within the debounce: each asks for a pass once its quiet period is over.
    for (let i = 0; i < 11; i++) loop.at(Date.now() + 60_000 + i);
    try {
      expect(clock.maxListeners()).toBeLessThanOrEqual(1);
    } finally {
      await loop.stop();
    }
  });

  it('runs a pass once each scheduled time is reached, earlier ones first, and none after stop', async () => {
    const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
    const passes: number[] = [];
    const loop = new ReconcileLoop(
      async () => passes.push(clock.now()),
      clock,
      () => undefined,
    );
    const start = clock.now();
    loop.at(start + 5_000);
    loop.at(start + 2_000); // earlier than the one being slept for: wakes the sleep early
    await clock.waitForSleepers(1);
    clock.advance(2_000);
    await eventually(() => passes.length === 1);
    expect(passes).toEqual([start + 2_000]);
    await clock.waitForSleepers(1);
    clock.advance(3_000);
    await eventually(() => passes.length === 2);
    expect(passes[1]).toBe(start + 5_000);
    loop.at(start + 9_000);
    await loop.stop();
    clock.advance(10_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passes).toHaveLength(2);
  });
});

async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
