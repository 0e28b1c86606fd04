/**
 * An in-memory `AlarmReader` for tests of the alarm-watched bake: alarms whose state a test sets at a time, with the
 * history CloudWatch would keep (every transition), and the scopes it was asked about.
 */
import type { AlarmFiring, AlarmReader, AlarmScope, AlarmState, AlarmStateValue } from '../../lambdas/ports/services';

export class InMemoryAlarms implements AlarmReader {
  private readonly current = new Map<string, AlarmState>();
  private readonly history: AlarmFiring[] = [];
  /** Every scope a read was made in, in order. */
  readonly scopes: AlarmScope[] = [];
  /** How many times each method was called. */
  readonly calls = { states: 0, firingsSince: 0 };
  /** Makes the next reads fail with this error (e.g. a throttle), then clears itself after `times` reads. */
  failNext: { error: Error; times: number } | undefined;

  /** Puts an alarm in `state` at `at` (epoch ms), as SetAlarmState or an evaluation would. */
  set(name: string, state: AlarmStateValue, at: number, reason = `Set to ${state} by the test`): this {
    const previous = this.current.get(name);
    const iso = new Date(at).toISOString();
    this.current.set(name, { name, state, reason, updatedAt: previous?.state === state ? previous.updatedAt : iso });
    if (state === 'ALARM' && previous?.state !== 'ALARM') this.history.push({ name, at: iso, reason });
    return this;
  }

  delete(name: string): void {
    this.current.delete(name);
  }

  async states(scope: AlarmScope, names: readonly string[]): Promise<AlarmState[]> {
    this.calls.states++;
    this.read(scope);
    return names.flatMap((name) => (this.current.has(name) ? [this.current.get(name)!] : []));
  }

  async firingsSince(scope: AlarmScope, names: readonly string[], since: string): Promise<AlarmFiring[]> {
    this.calls.firingsSince++;
    this.read(scope);
    return this.history.filter((f) => names.includes(f.name) && Date.parse(f.at) >= Date.parse(since));
  }

  private read(scope: AlarmScope): void {
    this.scopes.push(scope);
    if (this.failNext && this.failNext.times > 0) {
      this.failNext.times--;
      throw this.failNext.error;
    }
  }
}
