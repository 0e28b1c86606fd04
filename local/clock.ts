/**
 * Time as local mode sees it. Wait states, Task timeouts and execution timestamps read this clock, so tests can
 * move time forward instead of sleeping, and the wiring step can hand the same clock to the decision core.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Resolves once `now() >= epochMs`, or as soon as `signal` aborts (resolving, not rejecting: the caller checks
   * `signal.aborted`, the same contract as the engine's own sleep).
   */
  sleepUntil(epochMs: number, signal?: AbortSignal): Promise<void>;
}

/** setTimeout cannot wait longer than 2^31-1 ms; longer waits are chained. */
const MAX_TIMER_MS = 2_147_483_647;

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleepUntil(epochMs, signal) {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const arm = () => {
        const remaining = epochMs - Date.now();
        if (remaining <= 0) return finish();
        timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', finish, { once: true });
      arm();
    });
  },
};

interface Sleeper {
  readonly until: number;
  readonly resolve: () => void;
}

/**
 * A clock that only moves when told. Sleepers wake when `advance`/`set` moves time past their deadline.
 *
 * @example
 * const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
 * await clock.waitForSleepers(1);   // an execution reached its Wait state
 * clock.advance(60_000);            // ...and its minute is over
 */
export class ManualClock implements Clock {
  private current: number;
  private sleepers = new Set<Sleeper>();
  private watchers: Array<{ count: number; resolve: () => void }> = [];

  constructor(startMs: number = Date.now()) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  sleepUntil(epochMs: number, signal?: AbortSignal): Promise<void> {
    if (epochMs <= this.current || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const sleeper: Sleeper = {
        until: epochMs,
        resolve: () => {
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.resolve);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
      signal?.addEventListener('abort', sleeper.resolve, { once: true });
      this.notifyWatchers();
    });
  }

  /** Moves time forward by `ms` and wakes every sleeper whose deadline passed. */
  advance(ms: number): void {
    this.set(this.current + ms);
  }

  /** Moves time to `epochMs` (never backwards) and wakes every sleeper whose deadline passed. */
  set(epochMs: number): void {
    if (epochMs < this.current) throw new RangeError('ManualClock cannot move backwards');
    this.current = epochMs;
    for (const sleeper of [...this.sleepers]) if (sleeper.until <= epochMs) sleeper.resolve();
  }

  /** Deadlines of everyone asleep now, earliest first. */
  pendingDeadlines(): number[] {
    return [...this.sleepers].map((s) => s.until).sort((a, b) => a - b);
  }

  /** Resolves once at least `count` sleepers are waiting: how a test knows an execution reached its Wait. */
  waitForSleepers(count = 1): Promise<void> {
    if (this.sleepers.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ count, resolve }));
  }

  private notifyWatchers(): void {
    const ready = this.watchers.filter((w) => this.sleepers.size >= w.count);
    this.watchers = this.watchers.filter((w) => this.sleepers.size < w.count);
    for (const w of ready) w.resolve();
  }
}
