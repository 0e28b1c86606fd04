import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from '@jest/globals';
import { DAYS, type TimeWindow } from '../../lambdas/core/config/schema';
import {
  describeWindow,
  formatInZone,
  isAnyOpen,
  isOpen,
  nextOpening,
  nextOpeningDetail,
  WindowError,
} from '../../lambdas/core/decide/windows';

const at = (iso: string) => Date.parse(iso);
const w = (days: TimeWindow['days'], start: string, end: string, timeZone = 'UTC'): TimeWindow => ({
  days,
  start,
  end,
  timeZone,
});

describe('isOpen', () => {
  const office = w(['mon', 'tue', 'wed', 'thu', 'fri'], '09:00', '17:00');

  it('is open inside the hours on a listed day and closed at the end time', () => {
    expect(isOpen(office, at('2024-01-01T09:00:00Z'))).toBe(true); // Monday
    expect(isOpen(office, at('2024-01-01T16:59:59Z'))).toBe(true);
    expect(isOpen(office, at('2024-01-01T17:00:00Z'))).toBe(false);
    expect(isOpen(office, at('2024-01-01T08:59:59Z'))).toBe(false);
    expect(isOpen(office, at('2024-01-06T12:00:00Z'))).toBe(false); // Saturday
  });

  it('opens a window that crosses midnight on its day and closes it the next morning', () => {
    const night = w(['mon'], '22:00', '04:00', 'Europe/London');
    expect(isOpen(night, at('2024-01-01T22:00:00Z'))).toBe(true); // Mon 22:00 GMT
    expect(isOpen(night, at('2024-01-02T03:59:00Z'))).toBe(true); // Tue 03:59
    expect(isOpen(night, at('2024-01-02T04:00:00Z'))).toBe(false);
    expect(isOpen(night, at('2024-01-01T03:00:00Z'))).toBe(false); // Mon early morning belongs to Sunday's window
    expect(isOpen(night, at('2024-01-02T22:30:00Z'))).toBe(false); // Tuesday is not listed
  });

  it('treats end 24:00 as the end of the day', () => {
    const evening = w(['sat'], '20:00', '24:00');
    expect(isOpen(evening, at('2024-01-06T23:59:59Z'))).toBe(true);
    expect(isOpen(evening, at('2024-01-07T00:00:00Z'))).toBe(false);
    expect(isOpen(w(['sun'], '00:00', '24:00'), at('2024-01-07T00:00:00Z'))).toBe(true);
  });

  it('keeps local hours across daylight saving: 22:00 New York is 03:00Z in winter and 02:00Z in summer', () => {
    const ny = w(['mon'], '22:00', '23:00', 'America/New_York');
    expect(isOpen(ny, at('2024-01-09T03:00:00Z'))).toBe(true);
    expect(isOpen(ny, at('2024-07-09T02:00:00Z'))).toBe(true);
    expect(isOpen(ny, at('2024-07-09T03:30:00Z'))).toBe(false);
  });

  describe('spring forward (the local hour 02:00-03:00 does not exist)', () => {
    // America/New_York: Sunday 2024-03-10, 02:00 EST (07:00Z) jumps to 03:00 EDT.
    it('opens a window starting inside the gap at the moment the clocks jump', () => {
      const win = w(['sun'], '02:30', '04:00', 'America/New_York');
      expect(isOpen(win, at('2024-03-10T06:59:59Z'))).toBe(false);
      expect(isOpen(win, at('2024-03-10T07:00:00Z'))).toBe(true); // 03:00 EDT
      expect(isOpen(win, at('2024-03-10T07:59:59Z'))).toBe(true);
      expect(isOpen(win, at('2024-03-10T08:00:00Z'))).toBe(false); // 04:00 EDT
      expect(nextOpening([win], at('2024-03-09T12:00:00Z'))).toBe(at('2024-03-10T07:00:00Z'));
    });

    it('skips a window lying wholly inside the gap that day and opens it a week later', () => {
      const win = w(['sun'], '02:00', '02:30', 'America/New_York');
      for (const t of ['2024-03-10T06:59:00Z', '2024-03-10T07:00:00Z', '2024-03-10T07:15:00Z'])
        expect(isOpen(win, at(t))).toBe(false);
      expect(nextOpening([win], at('2024-03-09T12:00:00Z'))).toBe(at('2024-03-17T06:00:00Z')); // 02:00 EDT
    });

    it('closes a window ending inside the gap at the jump (Europe/London, 01:00 GMT -> 02:00 BST)', () => {
      const win = w(['sat'], '23:00', '01:30', 'Europe/London');
      expect(isOpen(win, at('2024-03-31T00:59:59Z'))).toBe(true);
      expect(isOpen(win, at('2024-03-31T01:00:00Z'))).toBe(false); // 02:00 BST
      const start = w(['sun'], '01:15', '03:00', 'Europe/London');
      expect(nextOpening([start], at('2024-03-30T12:00:00Z'))).toBe(at('2024-03-31T01:00:00Z'));
    });
  });

  describe('fall back (the local hour 01:00-02:00 happens twice)', () => {
    // America/New_York: Sunday 2024-11-03, 02:00 EDT (06:00Z) falls back to 01:00 EST.
    it('opens at the first occurrence of a repeated start time and stays open through the repeat', () => {
      const win = w(['sun'], '01:30', '03:00', 'America/New_York');
      expect(isOpen(win, at('2024-11-03T05:29:59Z'))).toBe(false);
      expect(isOpen(win, at('2024-11-03T05:30:00Z'))).toBe(true); // first 01:30 (EDT)
      expect(isOpen(win, at('2024-11-03T06:10:00Z'))).toBe(true); // second 01:10 (EST)
      expect(isOpen(win, at('2024-11-03T07:59:59Z'))).toBe(true);
      expect(isOpen(win, at('2024-11-03T08:00:00Z'))).toBe(false); // 03:00 EST
    });

    it('closes at the first occurrence of a repeated end time and does not reopen in the repeat', () => {
      const win = w(['sat'], '22:00', '01:30', 'America/New_York');
      expect(isOpen(win, at('2024-11-03T05:29:59Z'))).toBe(true); // 01:29 EDT
      expect(isOpen(win, at('2024-11-03T05:30:00Z'))).toBe(false);
      expect(isOpen(win, at('2024-11-03T06:15:00Z'))).toBe(false); // 01:15 EST, second time round
      expect(nextOpening([win], at('2024-11-03T06:15:00Z'))).toBe(at('2024-11-10T03:00:00Z')); // next Sat 22:00 EST
    });

    it('behaves the same in Europe/London (02:00 BST falls back to 01:00 GMT)', () => {
      const win = w(['sun'], '01:00', '01:30', 'Europe/London');
      expect(isOpen(win, at('2024-10-27T00:00:00Z'))).toBe(true); // 01:00 BST
      expect(isOpen(win, at('2024-10-27T00:30:00Z'))).toBe(false);
      expect(isOpen(win, at('2024-10-27T01:10:00Z'))).toBe(false); // 01:10 GMT, the repeat
    });
  });

  it('rejects an unknown time zone with a typed error', () => {
    expect(() => isOpen(w(['mon'], '01:00', '02:00', 'Mars/Olympus'), 0)).toThrow(WindowError);
  });
});

describe('nextOpening', () => {
  it('is the instant itself when a window is open, or when there are no windows', () => {
    const now = at('2024-01-01T10:00:00Z');
    expect(nextOpening([], now)).toBe(now);
    expect(isAnyOpen([], now)).toBe(true);
    expect(nextOpening([w(['mon'], '09:00', '11:00')], now)).toBe(now);
  });

  it('is the earliest opening among several windows, and says which window it is', () => {
    const sat = w(['sat'], '10:00', '12:00');
    const wed = w(['wed'], '22:00', '04:00', 'Europe/London');
    const detail = nextOpeningDetail([sat, wed], at('2024-01-01T12:00:00Z'));
    expect(detail).toEqual({ at: at('2024-01-03T22:00:00Z'), window: wed });
  });

  it('finds an open window that crossed midnight from the previous day', () => {
    expect(nextOpening([w(['sun'], '22:00', '04:00')], at('2024-01-08T02:00:00Z'))).toBe(at('2024-01-08T02:00:00Z'));
  });
});

describe('describing windows', () => {
  it('compresses day ranges and names the zone', () => {
    expect(describeWindow(w(['mon', 'tue', 'wed', 'thu', 'fri'], '22:00', '04:00', 'Europe/London'))).toBe(
      'Mon-Fri 22:00-04:00 Europe/London',
    );
    expect(describeWindow(w(['sat', 'mon', 'sun', 'wed'], '10:00', '12:00'))).toBe('Mon,Wed,Sat,Sun 10:00-12:00 UTC');
    expect(describeWindow(w([...DAYS], '00:00', '24:00'))).toBe('every day 00:00-24:00 UTC');
  });

  it('formats an instant as local time in the zone', () => {
    expect(formatInZone(at('2024-07-01T21:00:00Z'), 'Europe/London')).toBe('Mon 2024-07-01 22:00 Europe/London');
    expect(formatInZone(at('2024-01-02T03:00:00Z'), 'America/New_York')).toBe('Mon 2024-01-01 22:00 America/New_York');
  });
});

// ---- properties -------------------------------------------------------------------------------------------------

const ZONES = ['America/New_York', 'Europe/London', 'UTC', 'Australia/Lord_Howe', 'Asia/Kolkata'] as const;
const TRANSITIONS = [
  '2024-03-10T07:00:00Z',
  '2024-11-03T06:00:00Z',
  '2024-03-31T01:00:00Z',
  '2024-10-27T01:00:00Z',
  '2025-03-09T07:00:00Z',
].map(at);
const MIN = 60_000;

const clockArb = fc.integer({ min: 0, max: 96 }).map((q) => {
  const m = q * 15;
  return m === 1440 ? '24:00' : `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
});
const windowArb = fc.record({
  days: fc.uniqueArray(fc.constantFrom(...DAYS), { minLength: 1, maxLength: 7 }),
  start: clockArb.filter((c) => c !== '24:00'),
  end: clockArb,
  timeZone: fc.constantFrom(...ZONES),
});
// Half the instants land within two days of a DST transition, where mistakes live.
const instantArb = fc.oneof(
  fc.integer({ min: at('2024-01-01T00:00:00Z'), max: at('2025-12-31T00:00:00Z') }),
  fc.tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -2 * 1440, max: 2 * 1440 })).map(([t, m]) => t + m * MIN),
);

/** The plain wall-clock reading of a window, valid wherever the local time is not a repeated (fall-back) time. */
function wallClockOpen(win: TimeWindow, instant: number): boolean {
  const local = DateTime.fromMillis(instant, { zone: win.timeZone });
  const ms = ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + local.millisecond;
  const toMs = (c: string) => (Number(c.slice(0, 2)) * 60 + Number(c.slice(3))) * MIN;
  const s = toMs(win.start);
  const e = toMs(win.end);
  const today = win.days.includes(DAYS[local.weekday - 1]!);
  const yesterday = win.days.includes(DAYS[(local.weekday + 5) % 7]!);
  if (e > s) return today && s <= ms && ms < e;
  return (today && ms >= s) || (yesterday && ms < e);
}

function inRepeatedHour(zone: string, instant: number): boolean {
  const off = (t: number) => DateTime.fromMillis(t, { zone }).offset * MIN;
  const here = off(instant);
  for (const other of [off(instant - 86_400_000), off(instant + 86_400_000)]) {
    if (other !== here && off(instant + here - other) === other) return true;
  }
  return false;
}

describe('window properties', () => {
  it('isOpen matches the wall clock wherever the local time is unambiguous, DST gaps included', () => {
    fc.assert(
      fc.property(windowArb, instantArb, (win, t) => {
        fc.pre(!inRepeatedHour(win.timeZone, t));
        expect(isOpen(win, t)).toBe(wallClockOpen(win, t));
      }),
      { numRuns: 2000 },
    );
  });

  it('nextOpening is never earlier than now, is open, is now when open, and nothing before it is open', () => {
    fc.assert(
      fc.property(
        fc.array(windowArb, { minLength: 1, maxLength: 3 }),
        instantArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (wins, t, f) => {
          const next = nextOpening(wins, t);
          expect(next).toBeGreaterThanOrEqual(t);
          expect(isAnyOpen(wins, next)).toBe(true);
          if (isAnyOpen(wins, t)) expect(next).toBe(t);
          else {
            expect(isAnyOpen(wins, next - 1)).toBe(false);
            expect(isAnyOpen(wins, t + Math.floor((next - t) * f * 0.999))).toBe(false);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
