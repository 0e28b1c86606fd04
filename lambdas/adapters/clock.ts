/**
 * The time every handler reads (decisions, time windows, lock leases, approval expiry, push times). On AWS it is
 * the wall clock. Local mode's tests run the handlers against a manual clock, the same one that drives the local
 * Step Functions Wait states and Task timeouts; `useClock` is how the local assembly hands it over, once, before any
 * handler runs. Production code never replaces `Date` itself.
 */
let source: () => number = () => Date.now();

/** Epoch milliseconds as the handlers see them. */
export function now(): number {
  return source();
}

/** Replaces the time source of every handler in this process (local mode only; Lambda never calls it). */
export function useClock(next: () => number): void {
  source = next;
}
