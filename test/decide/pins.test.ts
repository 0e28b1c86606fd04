/**
 * Pins in the decision core (issue 11): an operator's pin on (environment, application) makes `decide()` answer
 * `pinned` with who pinned it and when, the reason `lockstep explain`, `lockstep status` and the console show.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { explain } from '../../bin/commands/explain';
import { loadPipeline } from '../../lambdas/core/config/load';
import { decide } from '../../lambdas/core/decide/decide';
import { buildSnapshots, type World } from '../../lambdas/core/decide/snapshots';
import { parseWorld, WorldStateError } from '../../lambdas/core/decide/world-schema';
import type { EnvironmentPin } from '../../lambdas/core/model';
import { deployed, revision, snapshot, threeStagePipeline } from './fixtures';

const AT = Date.parse('2030-01-07T10:00:00Z');
const pin: EnvironmentPin = {
  environment: 'Prod',
  application: 'A',
  revision: 1,
  pinnedBy: 'ann@example.com',
  pinnedAt: Date.parse('2030-01-06T08:30:00Z'),
};

describe('decide with pins', () => {
  it('answers pinned, naming who pinned it and when, where it would otherwise deploy', () => {
    const open = snapshot({ destination: { applications: { A: { current: deployed('A', 1), approved: [1] } } } });
    expect(decide(open, AT).kind).toBe('deploy');
    expect(decide({ ...open, pin }, AT)).toEqual({
      kind: 'pinned',
      revision: 1,
      pinnedBy: 'ann@example.com',
      pinnedAt: pin.pinnedAt,
      reason:
        'Prod is pinned to A r1 by ann@example.com at 2030-01-06T08:30:00Z, so nothing is promoted to it; ' +
        '`lockstep unpin Prod` lets automation promote again.',
    });
  });

  it('says the reason given with the pin, and wins over the recovery of an unapproved revision', () => {
    const blocked = snapshot({
      destination: {
        applications: { A: { current: deployed('A', 3), approved: [1] } }, // r3 unapproved: would recover
        lock: { environment: 'Prod', owner: 'x', acquiredAt: 0, leaseExpiresAt: AT - 1, fencingToken: 1 },
      },
    });
    expect(decide(blocked, AT).kind).toBe('recovering');
    const decision = decide({ ...blocked, pin: { ...pin, revision: 3, reason: 'incident 42' } }, AT);
    expect(decision.kind).toBe('pinned');
    expect(decision.reason).toContain('by ann@example.com at 2030-01-06T08:30:00Z (incident 42), so nothing');
  });

  it('leaves a disabled pipeline or promotion to say so first', () => {
    expect(decide(snapshot({ pin, pipeline: { enabled: false, automation: true } }), AT).kind).toBe('disabled');
    expect(decide(snapshot({ pin, promotion: { enabled: false } }), AT).kind).toBe('disabled');
  });
});

describe('decide with pins, for any state', () => {
  it('never deploys into a pinned destination: it is pinned unless a switch is off', () => {
    fc.assert(
      fc.property(
        fc.record({
          enabled: fc.boolean(),
          automation: fc.boolean(),
          promotionEnabled: fc.boolean(),
          numbers: fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 5 }),
          current: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
          approved: fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 4 }),
          lockOffset: fc.option(fc.integer({ min: -3_600_000, max: 3_600_000 }), { nil: undefined }),
          window: fc.boolean(),
          offset: fc.integer({ min: 0, max: 7 * 86_400_000 }),
        }),
        (g) => {
          const now = AT + g.offset;
          const s = snapshot({
            pipeline: { enabled: g.enabled, automation: g.automation },
            promotion: { enabled: g.promotionEnabled },
            candidates: g.numbers.map((n) => revision('A', n)),
            pin: { ...pin, revision: g.current ?? 1 },
            destination: {
              applications: g.current ? { A: { current: deployed('A', g.current), approved: g.approved } } : {},
              windows: g.window ? [{ days: ['sun'], start: '02:30', end: '05:00', timeZone: 'UTC' }] : [],
              lock:
                g.lockOffset === undefined
                  ? null
                  : {
                      environment: 'Prod',
                      owner: 'x',
                      acquiredAt: 0,
                      leaseExpiresAt: now + g.lockOffset,
                      fencingToken: 1,
                    },
            },
          });
          const kind = decide(s, now).kind;
          expect(kind).toBe(g.enabled && g.promotionEnabled ? 'pinned' : 'disabled');
        },
      ),
    );
  });
});

describe('buildSnapshots with pins', () => {
  it('gives each snapshot only the pin of its own destination and application', () => {
    const pipeline = threeStagePipeline();
    const world: World = {
      revisions: {},
      environments: {},
      promotionApprovals: [],
      startedExecutions: [],
      pins: [{ ...pin, environment: 'Prod-NA', application: 'B' }],
    };
    const pinned = buildSnapshots(pipeline, world).filter((s) => s.pin);
    expect(pinned.map((s) => [s.destination.name, s.application])).toEqual([['Prod-NA', 'B']]);
  });

  it('reads pins from a state file and refuses a malformed one with its path', () => {
    expect(parseWorld({ pins: [{ ...pin }] }).pins).toEqual([pin]);
    expect(() => parseWorld({ pins: [{ ...pin, revision: 0 }] }, 'state.json')).toThrow(WorldStateError);
    expect(() => parseWorld({ pins: [{ ...pin, revision: 0 }] }, 'state.json')).toThrow(/pins\.0\.revision/);
  });
});

describe('lockstep explain with a pin', () => {
  it('prints "pinned by X at T" as the reason for the pinned environment', () => {
    const example = 'examples/three-stage/lockstep.config.yaml';
    const state = JSON.parse(readFileSync('examples/three-stage/state.json', 'utf8')) as Record<string, unknown>;
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-pins-'));
    const file = join(dir, 'state.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...state,
        pins: [
          {
            environment: 'prod-na',
            application: 'storefront',
            revision: 4,
            pinnedBy: 'oncall@example.com',
            pinnedAt: Date.parse('2024-06-05T12:00:00Z'),
          },
        ],
      }),
    );
    const out = explain(loadPipeline(example), example, { state: file, promotion: 'beta-to-prod-na' }, 0);
    expect(out).toContain(
      'beta-to-prod-na  storefront  pinned  prod-na is pinned to storefront r4 by oncall@example.com at 2024-06-05T12:00:00Z',
    );
  });
});
