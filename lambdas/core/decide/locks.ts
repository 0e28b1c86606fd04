/**
 * The environment lock as a pure state model. A promotion execution holds an environment's lock while it deploys
 * and runs the approval workflow; nothing else deploys there meanwhile.
 *
 * - A grant comes with a **lease** (the holder must renew before it expires) and a **fencing token**, the count of
 *   grants so far. The record keeps the token after release, so tokens only grow.
 * - Every side effect a holder causes (a deploy, a test, marking a revision approved) carries its token, and is
 *   checked with `checkFence`: a holder whose lease expired, or anyone holding an older token, is refused even if
 *   it does not know it lost the lock.
 *
 * The DynamoDB store implements these same transitions as read, compute with the function here, then a conditional
 * write. `lockWriteCondition(before)` is the condition that write needs: the item still holds exactly what was
 * read. That compare-and-set makes every transition atomic, so the store inherits the guarantees tested here.
 */
import type { LockState } from '../model';
import { LockstepError } from '../errors';

/** What the lock item of one environment holds. */
export interface LockRecord {
  readonly environment: string;
  /** Who holds it (a promotion execution name, or `manual:<user>`); null when released or never granted. */
  readonly owner: string | null;
  /** When the current holder was granted the lock (epoch ms); 0 when free. */
  readonly acquiredAt: number;
  /** When the holder's lease ends (epoch ms); 0 when free. At or after it, the lock is free again. */
  readonly leaseExpiresAt: number;
  /** The token of the latest grant (0 = never granted). Kept after release, so the next grant gets a larger one. */
  readonly fencingToken: number;
}

/** Base of the lock errors. `details` carries the environment and the ids involved. */
export class LockError extends LockstepError {}
/** Acquiring a lock that another owner holds with a live lease. */
export class LockHeldError extends LockError {}
/** Acting with a token that is not the latest grant (someone acquired the lock since). */
export class StaleFencingTokenError extends LockError {}
/** Renewing or releasing a lock that the caller does not hold. */
export class LockNotHeldError extends LockError {}
/** Acting after one's own lease expired, before anyone else took the lock: re-acquire (new token) first. */
export class LockExpiredError extends LockError {}

/**
 * The record of an environment whose lock was never granted (the store has no item yet).
 *
 * @example
 * freeLock('Prod-EU'); // { environment: 'Prod-EU', owner: null, acquiredAt: 0, leaseExpiresAt: 0, fencingToken: 0 }
 */
export function freeLock(environment: string): LockRecord {
  return { environment, owner: null, acquiredAt: 0, leaseExpiresAt: 0, fencingToken: 0 };
}

/**
 * Whether someone holds the lock at `now` (an expired lease counts as free).
 *
 * @example
 * isHeld({ ...freeLock('Beta'), owner: 'x', leaseExpiresAt: 100, fencingToken: 1 }, 99); // true
 */
export function isHeld(record: LockRecord, now: number): boolean {
  return record.owner !== null && now < record.leaseExpiresAt;
}

function leaseOf(leaseMs: number): number {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0)
    throw new RangeError(`Lease must be a positive number of ms: ${leaseMs}`);
  return leaseMs;
}

/**
 * Grants the lock to `owner` for `leaseMs`, when it is free, expired, or already held by `owner`.
 *
 * - Free or expired: a new grant, `fencingToken + 1`.
 * - Held by `owner` with a live lease (re-entrant): the **same** token and a lease extended from `now`. Owners are
 *   execution names, unique per run, so re-entry only happens when a step is retried after its first attempt
 *   succeeded unseen; a new token there would fence out the owner's own deploy that is already running with the
 *   first token. The owner's expired lease, by contrast, is a new grant: its old work must not continue.
 *
 * Store condition: `lockWriteCondition(record)` (the item is unchanged since it was read).
 *
 * @throws LockHeldError when another owner holds a live lease (details: environment, owner, until).
 * @example
 * const held = acquire(freeLock('Beta'), 'exec-1', 1_000, 60_000); // { owner: 'exec-1', fencingToken: 1, leaseExpiresAt: 61_000, ... }
 */
export function acquire(record: LockRecord, owner: string, now: number, leaseMs: number): LockRecord {
  const lease = leaseOf(leaseMs);
  if (isHeld(record, now)) {
    if (record.owner === owner) return { ...record, leaseExpiresAt: now + lease };
    throw new LockHeldError(
      `Environment ${record.environment} is locked by ${record.owner} until ${new Date(record.leaseExpiresAt).toISOString()}`,
      {
        details: {
          environment: record.environment,
          owner: record.owner,
          until: record.leaseExpiresAt,
          requestedBy: owner,
        },
      },
    );
  }
  return {
    environment: record.environment,
    owner,
    acquiredAt: now,
    leaseExpiresAt: now + lease,
    fencingToken: record.fencingToken + 1,
  };
}

/** Refuses `token` unless `owner` holds the latest grant; shared by renew, release and checkFence. */
function requireHolder(record: LockRecord, owner: string | undefined, token: number, action: string): void {
  const details = { environment: record.environment, token, currentToken: record.fencingToken, owner: record.owner };
  if (token !== record.fencingToken) {
    throw new StaleFencingTokenError(
      `Cannot ${action} ${record.environment}: token ${token} is stale (latest grant is ${record.fencingToken})`,
      { details },
    );
  }
  if (record.owner === null || (owner !== undefined && record.owner !== owner)) {
    throw new LockNotHeldError(
      `Cannot ${action} ${record.environment}: ${owner ?? 'the caller'} does not hold its lock`,
      { details: { ...details, caller: owner } },
    );
  }
}

/**
 * Extends the lease of the holder `owner` with token `token` to `now + leaseMs`. The token stays the same.
 * A holder whose lease already expired cannot renew: it must `acquire` again and gets a new token.
 *
 * Store condition: `lockWriteCondition(record)`.
 *
 * @throws StaleFencingTokenError, LockNotHeldError, LockExpiredError
 * @example
 * renew(held, 'exec-1', held.fencingToken, 30_000, 60_000).leaseExpiresAt; // 90_000
 */
export function renew(record: LockRecord, owner: string, token: number, now: number, leaseMs: number): LockRecord {
  const lease = leaseOf(leaseMs);
  requireHolder(record, owner, token, 'renew the lock of');
  if (now >= record.leaseExpiresAt) {
    throw new LockExpiredError(`Cannot renew the lock of ${record.environment}: the lease of ${owner} expired`, {
      details: { environment: record.environment, owner, token, expiredAt: record.leaseExpiresAt },
    });
  }
  return { ...record, leaseExpiresAt: now + lease };
}

/**
 * How long after its lease was last set a holder's heartbeat renews it: a tenth of the lease, at most a minute.
 * Until then the lease still has at least 90 % of its length (or all but a minute) to run, so skipping the write
 * costs the next phase at most that much headroom, while the steps of one promotion that follow each other within
 * moments share one renewal instead of writing the item at every step.
 *
 * @example
 * renewalInterval(3_600_000); // 60_000
 */
export function renewalInterval(leaseMs: number): number {
  return Math.min(leaseOf(leaseMs) / 10, 60_000);
}

/**
 * A holder's fence check before an action, renewing the lease only when it is due: refuses exactly what `renew`
 * refuses (a stale token, another owner, a released lock, an expired lease), then returns `record` itself when the
 * lease was set less than `renewalInterval(leaseMs)` ago (nothing to write: the check was the read), else the
 * renewed record. Assumes the lease was last set with the same `leaseMs` (an execution passes one lease to every
 * step).
 *
 * Store condition when the result differs from `record`: `lockWriteCondition(record)`.
 *
 * @throws StaleFencingTokenError, LockNotHeldError, LockExpiredError
 * @example
 * heartbeat(held, 'exec-1', held.fencingToken, held.acquiredAt + 1_000, 3_600_000) === held; // true: renewed a second ago
 */
export function heartbeat(record: LockRecord, owner: string, token: number, now: number, leaseMs: number): LockRecord {
  const renewed = renew(record, owner, token, now, leaseMs);
  const lastSet = record.leaseExpiresAt - leaseMs;
  return now - lastSet < renewalInterval(leaseMs) ? record : renewed;
}

/**
 * Frees the lock held by `owner` with `token`, keeping the token so the next grant gets a larger one. Releasing
 * after one's own lease expired (nobody took it since) is allowed: it only frees what is free already. Releasing
 * twice with the same token is a no-op, so a retried release step succeeds.
 *
 * Store condition: `lockWriteCondition(record)`.
 *
 * @throws StaleFencingTokenError when the lock was granted again since; LockNotHeldError when another owner's
 *   token is presented.
 * @example
 * release(held, 'exec-1', held.fencingToken); // { owner: null, fencingToken: held.fencingToken, ... }
 */
export function release(record: LockRecord, owner: string, token: number): LockRecord {
  if (record.owner === null && token === record.fencingToken) return record;
  requireHolder(record, owner, token, 'release the lock of');
  return {
    environment: record.environment,
    owner: null,
    acquiredAt: 0,
    leaseExpiresAt: 0,
    fencingToken: record.fencingToken,
  };
}

/**
 * Whether an action carrying `token` may proceed at `now`: the token is the latest grant and its lease is live.
 *
 * @example
 * fenceAllows(held, held.fencingToken, held.leaseExpiresAt); // false: the lease ended
 */
export function fenceAllows(record: LockRecord, token: number, now: number): boolean {
  return token === record.fencingToken && isHeld(record, now);
}

/**
 * Refuses an action carrying `token` unless it is the latest grant and its lease is live at `now`. Call it before
 * every side effect a lock holder causes.
 *
 * @throws StaleFencingTokenError when a newer grant exists; LockExpiredError when the lease ended; LockNotHeldError
 *   when the lock was released.
 * @example
 * checkFence(held, held.fencingToken, 2_000); // passes
 */
export function checkFence(record: LockRecord, token: number, now: number): void {
  requireHolder(record, undefined, token, 'act on');
  if (now >= record.leaseExpiresAt) {
    throw new LockExpiredError(`Cannot act on ${record.environment}: the lease of token ${token} expired`, {
      details: { environment: record.environment, owner: record.owner, token, expiredAt: record.leaseExpiresAt },
    });
  }
}

/**
 * The condition a store's write must carry so that a transition computed from `before` applies atomically.
 * In DynamoDB terms: `attribute_not_exists(pk)` when `expected` is null, else
 * `fencingToken = :t AND leaseExpiresAt = :l AND owner = :o` (or `attribute_not_exists(owner)` for a null owner).
 * All three fields are compared: comparing the token alone would let a late renew by a holder slip under another
 * owner's grant computed from the same read.
 */
export interface LockWriteCondition {
  readonly environment: string;
  /** null: the item must not exist yet (the lock was never granted). */
  readonly expected: {
    readonly owner: string | null;
    readonly fencingToken: number;
    readonly leaseExpiresAt: number;
  } | null;
}

/**
 * The write condition for any transition (`acquire`, `renew`, `release`) computed from `before`: the stored item
 * must still be exactly `before`. A failed condition means someone else moved first: read again and recompute.
 *
 * @example
 * lockWriteCondition(freeLock('Beta')); // { environment: 'Beta', expected: null }
 */
export function lockWriteCondition(before: LockRecord): LockWriteCondition {
  if (before.fencingToken === 0 && before.owner === null) return { environment: before.environment, expected: null };
  return {
    environment: before.environment,
    expected: { owner: before.owner, fencingToken: before.fencingToken, leaseExpiresAt: before.leaseExpiresAt },
  };
}

/**
 * Whether a stored item satisfies `condition` (what DynamoDB evaluates server-side; used by in-memory stores and
 * tests). `stored` undefined means the item does not exist.
 *
 * @example
 * conditionHolds(lockWriteCondition(freeLock('Beta')), undefined); // true
 */
export function conditionHolds(condition: LockWriteCondition, stored: LockRecord | undefined): boolean {
  if (condition.expected === null) return stored === undefined;
  return (
    stored?.owner === condition.expected.owner &&
    stored.fencingToken === condition.expected.fencingToken &&
    stored.leaseExpiresAt === condition.expected.leaseExpiresAt
  );
}

/**
 * The runtime view (`EnvironmentState.lock`) of a record at `now`: null when free or expired.
 *
 * @example
 * toLockState(freeLock('Beta'), Date.now()); // null
 */
export function toLockState(record: LockRecord, now: number): LockState | null {
  if (!isHeld(record, now)) return null;
  return {
    environment: record.environment,
    owner: record.owner!,
    acquiredAt: record.acquiredAt,
    leaseExpiresAt: record.leaseExpiresAt,
    fencingToken: record.fencingToken,
  };
}
