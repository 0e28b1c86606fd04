import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';
import {
  acquire,
  checkFence,
  conditionHolds,
  fenceAllows,
  freeLock,
  heartbeat,
  isHeld,
  LockError,
  LockExpiredError,
  LockHeldError,
  LockNotHeldError,
  lockWriteCondition,
  release,
  renew,
  renewalInterval,
  StaleFencingTokenError,
  toLockState,
  type LockRecord,
} from '../../lambdas/core/decide/locks';

const LEASE = 60_000;

describe('lock transitions', () => {
  it('grants a free lock with token 1 and a lease from now', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 1_000, LEASE);
    expect(held).toEqual({
      environment: 'Beta',
      owner: 'exec-1',
      acquiredAt: 1_000,
      leaseExpiresAt: 61_000,
      fencingToken: 1,
    });
    expect(isHeld(held, 60_999)).toBe(true);
    expect(isHeld(held, 61_000)).toBe(false);
  });

  it('refuses another owner while the lease lives, naming the holder and the expiry', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    const attempt = () => acquire(held, 'exec-2', 30_000, LEASE);
    expect(attempt).toThrow(LockHeldError);
    expect(attempt).toThrow(/locked by exec-1/);
    try {
      attempt();
    } catch (err) {
      expect(err).toBeInstanceOf(LockError);
      expect((err as LockHeldError).details).toMatchObject({ environment: 'Beta', owner: 'exec-1', until: LEASE });
    }
  });

  it('grants an expired lock to a new owner with a larger token, so the old holder is fenced out', () => {
    const first = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    const second = acquire(first, 'exec-2', LEASE, LEASE);
    expect(second.owner).toBe('exec-2');
    expect(second.fencingToken).toBe(2);
    expect(() => checkFence(second, first.fencingToken, LEASE + 1)).toThrow(StaleFencingTokenError);
    expect(() => renew(second, 'exec-1', first.fencingToken, LEASE + 1, LEASE)).toThrow(StaleFencingTokenError);
    expect(() => release(second, 'exec-1', first.fencingToken)).toThrow(StaleFencingTokenError);
  });

  it('re-entrant acquisition by the holder keeps its token and extends the lease', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    const again = acquire(held, 'exec-1', 10_000, LEASE);
    expect(again.fencingToken).toBe(held.fencingToken);
    expect(again.leaseExpiresAt).toBe(70_000);
    expect(fenceAllows(again, held.fencingToken, 65_000)).toBe(true);
  });

  it('gives the same owner a new token once its lease expired', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    expect(acquire(held, 'exec-1', LEASE, LEASE).fencingToken).toBe(2);
  });

  it('renews a live lease but refuses a holder whose lease expired', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    expect(renew(held, 'exec-1', 1, 30_000, LEASE).leaseExpiresAt).toBe(90_000);
    expect(() => renew(held, 'exec-1', 1, LEASE, LEASE)).toThrow(LockExpiredError);
    expect(() => renew(held, 'exec-2', 1, 30_000, LEASE)).toThrow(LockNotHeldError);
  });

  it('heartbeat checks the fence on every call but renews only once a tenth of the lease (at most a minute) has passed', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    expect(renewalInterval(LEASE)).toBe(6_000);
    expect(renewalInterval(3_600_000)).toBe(60_000);
    expect(heartbeat(held, 'exec-1', 1, 5_999, LEASE)).toBe(held);
    expect(heartbeat(held, 'exec-1', 1, 6_000, LEASE).leaseExpiresAt).toBe(66_000);
    expect(() => heartbeat(held, 'exec-2', 1, 1_000, LEASE)).toThrow(LockNotHeldError);
    expect(() => heartbeat(held, 'exec-1', 1, LEASE, LEASE)).toThrow(LockExpiredError);
    expect(() => heartbeat(release(held, 'exec-1', 1), 'exec-1', 1, 1_000, LEASE)).toThrow(LockNotHeldError);
    const taken = acquire(held, 'exec-2', LEASE, LEASE);
    expect(() => heartbeat(taken, 'exec-1', 1, LEASE + 1, LEASE)).toThrow(StaleFencingTokenError);
  });

  it('keeps the fencing token after release, so the next grant gets a larger one', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    const released = release(held, 'exec-1', 1);
    expect(released).toMatchObject({ owner: null, fencingToken: 1 });
    expect(isHeld(released, 1)).toBe(false);
    expect(acquire(released, 'exec-2', 1, LEASE).fencingToken).toBe(2);
  });

  it('treats a repeated release as a no-op and refuses a release by someone else', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    const released = release(held, 'exec-1', 1);
    expect(release(released, 'exec-1', 1)).toBe(released);
    expect(() => release(held, 'exec-2', 1)).toThrow(LockNotHeldError);
  });

  it('fences an action after the lease expired even when nobody took the lock', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    expect(() => checkFence(held, 1, LEASE - 1)).not.toThrow();
    expect(() => checkFence(held, 1, LEASE)).toThrow(LockExpiredError);
    expect(() => checkFence(release(held, 'exec-1', 1), 1, 10)).toThrow(LockNotHeldError);
  });

  it('shows the runtime view as free once the lease expired', () => {
    const held = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    expect(toLockState(held, 10)).toMatchObject({ owner: 'exec-1', fencingToken: 1 });
    expect(toLockState(held, LEASE)).toBeNull();
  });

  it('rejects a lease that is not a positive duration', () => {
    expect(() => acquire(freeLock('Beta'), 'exec-1', 0, 0)).toThrow(RangeError);
  });
});

describe('store write condition', () => {
  it('requires a never-granted lock item to be absent', () => {
    expect(lockWriteCondition(freeLock('Beta'))).toEqual({ environment: 'Beta', expected: null });
    expect(conditionHolds(lockWriteCondition(freeLock('Beta')), undefined)).toBe(true);
  });

  it('refuses a write computed from a read that another writer overtook (late renew vs. takeover)', () => {
    // exec-1 read its lease just before expiry and renews; exec-2 read the same item after expiry and acquires.
    const read = acquire(freeLock('Beta'), 'exec-1', 0, LEASE);
    const renewed = renew(read, 'exec-1', 1, LEASE - 1, LEASE);
    const takeover = acquire(read, 'exec-2', LEASE + 1, LEASE);
    let stored: LockRecord | undefined = read;
    const write = (before: LockRecord, after: LockRecord) => {
      if (!conditionHolds(lockWriteCondition(before), stored)) return false;
      stored = after;
      return true;
    };
    expect(write(read, renewed)).toBe(true);
    expect(write(read, takeover)).toBe(false);
    expect(stored).toBe(renewed);
  });
});

// ---- properties: random operations by several owners against a conditional-write store -------------------------

type Op =
  | { kind: 'acquire'; owner: number }
  | { kind: 'renew'; owner: number }
  | { kind: 'release'; owner: number }
  | { kind: 'act'; owner: number }
  | { kind: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('acquire' as const), owner: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('renew' as const), owner: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('release' as const), owner: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('act' as const), owner: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * LEASE }) }),
);

describe('lock properties', () => {
  it('never two holders at once, tokens grow with each grant, and a stale token never passes the fence', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        let record = freeLock('Prod');
        let now = 0;
        let lastGrant = 0;
        // What each owner believes: the token it was last granted (it may not know it lost the lock).
        const tokens = new Map<number, number>();
        const owner = (i: number) => `exec-${i}`;
        for (const op of ops) {
          if (op.kind === 'advance') {
            now += op.ms;
            continue;
          }
          const name = owner(op.owner);
          const token = tokens.get(op.owner) ?? 0;
          try {
            if (op.kind === 'acquire') {
              const wasHeldByOther = isHeld(record, now) && record.owner !== name;
              const next = acquire(record, name, now, LEASE);
              expect(wasHeldByOther).toBe(false); // exclusivity: a live lease is never granted to another owner
              if (next.fencingToken !== record.fencingToken) {
                expect(next.fencingToken).toBeGreaterThan(lastGrant);
                lastGrant = next.fencingToken;
              }
              record = next;
              tokens.set(op.owner, record.fencingToken);
            } else if (op.kind === 'renew') {
              record = renew(record, name, token, now, LEASE);
            } else if (op.kind === 'release') {
              record = release(record, name, token);
            } else {
              checkFence(record, token, now);
              // Passing the fence means: the latest grant, owned by this owner, with a live lease.
              expect(token).toBe(record.fencingToken);
              expect(record.owner).toBe(name);
              expect(now).toBeLessThan(record.leaseExpiresAt);
            }
          } catch (err) {
            if (!(err instanceof LockError)) throw err;
          }
          // At most one holder: the record names one owner, and every other owner's token fails the fence.
          for (const [other, t] of tokens) {
            if (owner(other) !== record.owner) expect(fenceAllows(record, t, now)).toBe(false);
          }
          expect(record.fencingToken).toBe(lastGrant);
        }
      }),
      { numRuns: 500 },
    );
  });
});
