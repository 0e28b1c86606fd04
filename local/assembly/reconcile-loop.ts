import type { Clock } from '../clock';

/**
 * Runs the reconcile pass as EventBridge would on AWS: on a schedule (every minute by default, on the local clock,
 * so a manual clock drives it in tests) and whenever an event asks for it (a webhook delivery, a build or a
 * promotion execution ending). Passes run one at a time; requests that arrive during a pass are served by one
 * more pass after it, never by several.
 */
export class ReconcileLoop<T> {
  private chain: Promise<unknown> = Promise.resolve();
  private queued: Promise<T | undefined> | undefined;
  private readonly controller = new AbortController();
  /** Deadlines asked for with `at()` and not yet served. */
  private deadlines: number[] = [];
  /** The one sleep that serves them, woken early when an earlier deadline arrives or the loop stops. */
  private wake: { until: number; controller: AbortController } | undefined;
  private serving = false;

  constructor(
    private readonly pass: () => Promise<T>,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Asks for a pass; resolves with its outcome (undefined once stopped or when the pass failed). */
  request(): Promise<T | undefined> {
    if (this.controller.signal.aborted) return Promise.resolve(undefined);
    if (this.queued) return this.queued;
    const next = this.chain.then(async () => {
      this.queued = undefined;
      if (this.controller.signal.aborted) return undefined;
      try {
        return await this.pass();
      } catch (error) {
        this.onError(error);
        return undefined;
      }
    });
    this.queued = next;
    this.chain = next;
    return next;
  }

  /**
   * A pass at `epochMs` on the clock (e.g. when a build debounce ends). However many deadlines are pending, one
   * sleep serves them all: a sleep per call would add an abort listener per pending deadline to the loop's signal,
   * which under a burst of pushes passed Node's limit of 10 (`MaxListenersExceededWarning`).
   */
  at(epochMs: number): void {
    if (this.controller.signal.aborted) return;
    this.deadlines.push(epochMs);
    if (!this.serving) void this.serveDeadlines();
    else if (this.wake !== undefined && epochMs < this.wake.until) this.wake.controller.abort();
  }

  private async serveDeadlines(): Promise<void> {
    this.serving = true;
    while (!this.controller.signal.aborted && this.deadlines.length > 0) {
      const until = Math.min(...this.deadlines);
      this.wake = { until, controller: new AbortController() };
      await this.clock.sleepUntil(until, this.wake.controller.signal);
      this.wake = undefined;
      if (this.controller.signal.aborted) break;
      const now = this.clock.now();
      if (this.deadlines.some((deadline) => deadline <= now)) {
        this.deadlines = this.deadlines.filter((deadline) => deadline > now);
        void this.request();
      }
    }
    this.wake = undefined;
    this.serving = false;
  }

  /** A pass every `intervalMs` on the clock, until `stop()`. */
  every(intervalMs: number): void {
    const signal = this.controller.signal;
    void (async () => {
      while (!signal.aborted) {
        await this.clock.sleepUntil(this.clock.now() + intervalMs, signal);
        if (!signal.aborted) await this.request();
      }
    })();
  }

  /** Stops the schedule and waits for the pass under way. */
  async stop(): Promise<void> {
    this.controller.abort();
    this.wake?.controller.abort();
    this.deadlines = [];
    await this.chain.catch(() => undefined);
  }
}
