import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';
import { SELECTION_STRATEGIES } from '../../lambdas/core/config/schema';
import { decide } from '../../lambdas/core/decide/decide';
import { isAnyOpen } from '../../lambdas/core/decide/windows';
import { executionName } from '../../lambdas/core/names';
import { deployed, revision, snapshot } from './fixtures';

const NOW = Date.parse('2024-03-10T06:30:00Z'); // just before New York springs forward
const snapshotArb = fc
  .record({
    enabled: fc.boolean(),
    automation: fc.boolean(),
    promotionEnabled: fc.boolean(),
    strategy: fc.constantFrom(...SELECTION_STRATEGIES),
    manual: fc.boolean(),
    numbers: fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 6 }),
    shared: fc.array(fc.constantFrom('v1', 'v2'), { minLength: 12, maxLength: 12 }),
    current: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
    other: fc.option(fc.constantFrom('v1', 'v2'), { nil: undefined }),
    started: fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 4 }),
    approvals: fc.array(
      fc.record({
        revision: fc.integer({ min: 1, max: 12 }),
        decision: fc.constantFrom('approved' as const, 'rejected' as const, 'pending' as const),
      }),
      { maxLength: 4 },
    ),
    window: fc.boolean(),
    lock: fc.option(
      fc.record({
        owner: fc.constantFrom('other', 'Beta-to-Prod-A-r3'),
        leaseOffset: fc.integer({ min: -3_600_000, max: 3_600_000 }),
      }),
      { nil: undefined },
    ),
    offset: fc.integer({ min: 0, max: 7 * 86_400_000 }),
  })
  .map((g) => ({
    now: NOW + g.offset,
    snapshot: snapshot({
      pipeline: { enabled: g.enabled, automation: g.automation },
      promotion: { enabled: g.promotionEnabled, strategy: g.strategy, approval: g.manual ? 'manual' : 'automatic' },
      candidates: g.numbers.map((n) => revision('A', n, { versionSet: { shared: g.shared[n - 1]! } })),
      startedExecutions: g.started.map((n) => executionName('Beta-to-Prod', 'A', n)),
      promotionApprovals: g.approvals.map((a) => ({ promotion: 'Beta-to-Prod', application: 'A', ...a })),
      destination: {
        applications: {
          ...(g.current ? { A: { current: deployed('A', g.current), approved: [] } } : {}),
          ...(g.other ? { B: { current: deployed('B', 1, { shared: g.other }), approved: [] } } : {}),
        },
        windows: g.window ? [{ days: ['sun', 'wed'], start: '02:30', end: '05:00', timeZone: 'America/New_York' }] : [],
        lock: g.lock
          ? {
              environment: 'Prod',
              owner: g.lock.owner,
              acquiredAt: 0,
              leaseExpiresAt: NOW + g.offset + g.lock.leaseOffset,
              fencingToken: 1,
            }
          : null,
      },
    }),
  }));

describe('decide properties', () => {
  it('deploys only an unstarted, approved candidate into an open, unlocked destination with everything switched on', () => {
    fc.assert(
      fc.property(snapshotArb, ({ snapshot: s, now }) => {
        const d = decide(s, now);
        expect(d.reason.length).toBeGreaterThan(10);
        if (d.kind === 'deploy') {
          expect(s.pipeline.enabled && s.pipeline.automation && s.promotion.enabled).toBe(true);
          expect(s.candidates).toContain(d.revision);
          expect(s.startedExecutions).not.toContain(d.executionName);
          expect(s.destination.applications.A?.current?.number).not.toBe(d.revision.number);
          expect(isAnyOpen(s.destination.windows, now)).toBe(true);
          const lock = s.destination.lock;
          expect(!lock || lock.leaseExpiresAt <= now || lock.owner === d.executionName).toBe(true);
          if (s.promotion.approval === 'manual') {
            expect(
              s.promotionApprovals.some((a) => a.revision === d.revision.number && a.decision === 'approved'),
            ).toBe(true);
          }
        }
        if (d.kind === 'wait-window') {
          expect(d.until).toBeGreaterThan(now);
          expect(isAnyOpen(s.destination.windows, d.until)).toBe(true);
        }
        if (d.kind === 'blocked-by-lock') expect(d.until).toBeGreaterThan(now);
        if (!s.pipeline.enabled) expect(d).toMatchObject({ kind: 'disabled', scope: 'pipeline' });
      }),
      { numRuns: 1000 },
    );
  });
});
