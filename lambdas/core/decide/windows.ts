/**
 * Time windows: when automated deploys to an environment may start.
 *
 * A window is a wall-clock rule ("mon-fri 22:00-04:00 in Europe/London"). Each listed day yields one
 * **occurrence**, a half-open interval of instants `[opens, closes)`:
 *
 * - `opens` is the first instant at which the local clock on that day reads `start` or later; `closes` is the first
 *   instant at which the local clock reads `end` or later, on the same day, or on the next day when `end` is not
 *   after `start` (the window crosses midnight; `start` equal to `end` is a 24-hour window). `end` `24:00` is
 *   midnight at the end of the day.
 * - **Spring forward** (a local hour that does not exist): a `start` or `end` inside the gap resolves to the instant
 *   the clocks jump, i.e. the first local time after it. `02:30-04:00` in America/New_York on the spring-forward
 *   Sunday opens at 03:00 EDT; a window lying wholly inside the gap (`02:00-02:30`) is empty that day and does not
 *   open at all.
 * - **Fall back** (a local hour that happens twice): a time inside the repeated hour resolves to its first
 *   occurrence. `22:00-01:30` closes at the first 01:30 and does not reopen during the repeat; `01:30-03:00` opens at
 *   the first 01:30 and stays open through the repeated hour (2.5 real hours).
 *
 * These rules make `isOpen` and `nextOpening` agree exactly: both are computed from the same occurrences.
 */
import { IANAZone } from 'luxon';
import { DAYS, type Day, type TimeWindow } from '../config/schema';
import { LockstepError } from '../errors';

/** Thrown for a window that cannot be evaluated (an unknown time zone). `validate.ts` reports these up front. */
export class WindowError extends LockstepError {}

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Occurrences are searched this many local days ahead; a window with at least one day opens within 8 days unless
 * every occurrence falls into a DST gap, which never happens twice in a row. */
const SEARCH_DAYS = 16;

const zones = new Map<string, IANAZone>();
function zoneOf(name: string): IANAZone {
  let zone = zones.get(name);
  if (!zone) {
    zone = IANAZone.create(name);
    if (!zone.isValid) throw new WindowError(`Unknown time zone "${name}"`, { details: { timeZone: name } });
    zones.set(name, zone);
  }
  return zone;
}

/**
 * Per zone and UTC day: the zone's offset (ms) when it is the same at the day's first and last millisecond, else
 * null. luxon asks `Intl` for every offset (microseconds each) and a reconcile pass asks for the same few days
 * thousands of times. Equal offsets at both ends of a day mean no transition within it: no zone has two
 * transitions that cancel out within 24 hours.
 */
const dayOffsets = new Map<IANAZone, Map<number, number | null>>();
const MAX_CACHED_DAYS = 4096;

/** Offset of `zone` at `instant`, in ms (luxon reports minutes). */
function offsetMs(zone: IANAZone, instant: number): number {
  let days = dayOffsets.get(zone);
  if (!days) {
    days = new Map();
    dayOffsets.set(zone, days);
  }
  const day = Math.floor(instant / DAY);
  let cached = days.get(day);
  if (cached === undefined) {
    const first = zone.offset(day * DAY);
    cached = first === zone.offset((day + 1) * DAY - 1) ? first * MINUTE : null;
    if (days.size >= MAX_CACHED_DAYS) days.clear(); // a long-lived process moves on through the calendar
    days.set(day, cached);
  }
  return cached ?? zone.offset(instant) * MINUTE;
}

/**
 * The first instant whose local wall-clock time is at or after `wall` (a "naive" epoch: local date and time read
 * as if they were UTC). Handles gaps (resolves to the jump) and repeats (resolves to the first occurrence).
 */
function firstInstantAtOrAfter(zone: IANAZone, wall: number): number {
  const before = offsetMs(zone, wall - DAY);
  const after = offsetMs(zone, wall + DAY);
  // Try the earlier-instant interpretation first: the larger offset gives the earlier instant.
  const offsets = before >= after ? [before, after] : [after, before];
  for (const offset of offsets) {
    const instant = wall - offset;
    if (offsetMs(zone, instant) === offset) return instant;
  }
  // In a gap: the jump happens somewhere in (wall - max, wall - min]. Binary search the first instant whose wall
  // time reaches `wall`; gaps are rare, so a few dozen offset look-ups per gap do not matter.
  let lo = wall - Math.max(before, after);
  let hi = wall - Math.min(before, after);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid + offsetMs(zone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

function minutesOf(clock: string): number {
  const [h, m] = clock.split(':');
  return Number(h) * 60 + Number(m);
}

/** Index into DAYS (mon = 0) of a naive local day number (days since 1970-01-01, a Thursday). */
function dayIndex(localDay: number): number {
  return (((localDay + 3) % 7) + 7) % 7;
}

interface CompiledWindow {
  readonly window: TimeWindow;
  readonly zone: IANAZone;
  readonly days: ReadonlySet<number>;
  readonly startMin: number;
  /** Minutes after the occurrence's local midnight; above 1440 when the window crosses midnight. */
  readonly endMin: number;
}

const compiled = new WeakMap<TimeWindow, CompiledWindow>();
function compile(window: TimeWindow): CompiledWindow {
  let c = compiled.get(window);
  if (!c) {
    const startMin = minutesOf(window.start);
    let endMin = minutesOf(window.end);
    if (endMin <= startMin) endMin += 1440;
    c = {
      window,
      zone: zoneOf(window.timeZone),
      days: new Set(window.days.map((d) => DAYS.indexOf(d))),
      startMin,
      endMin,
    };
    compiled.set(window, c);
  }
  return c;
}

/** The occurrence of `c` on naive local day `localDay`, or undefined when the day is not listed or it is empty. */
function occurrence(c: CompiledWindow, localDay: number): { opens: number; closes: number } | undefined {
  if (!c.days.has(dayIndex(localDay))) return undefined;
  const midnight = localDay * DAY;
  const opens = firstInstantAtOrAfter(c.zone, midnight + c.startMin * MINUTE);
  const closes = firstInstantAtOrAfter(c.zone, midnight + c.endMin * MINUTE);
  return opens < closes ? { opens, closes } : undefined;
}

function localDayOf(c: CompiledWindow, instant: number): number {
  return Math.floor((instant + offsetMs(c.zone, instant)) / DAY);
}

/**
 * Whether `window` is open at `instant` (epoch ms).
 *
 * @example
 * isOpen({ days: ['mon'], start: '22:00', end: '04:00', timeZone: 'Europe/London' },
 *        Date.parse('2024-01-02T03:00:00Z')); // true: Monday's window runs until Tuesday 04:00
 */
export function isOpen(window: TimeWindow, instant: number): boolean {
  const c = compile(window);
  const today = localDayOf(c, instant);
  // An occurrence lasts at most 24 local hours, so only yesterday's and today's can contain the instant.
  for (const day of [today - 1, today]) {
    const o = occurrence(c, day);
    if (o && o.opens <= instant && instant < o.closes) return true;
  }
  return false;
}

/**
 * Whether any of `windows` is open at `instant`. An environment without windows is always open.
 *
 * @example
 * isAnyOpen([], Date.now()); // true
 */
export function isAnyOpen(windows: readonly TimeWindow[], instant: number): boolean {
  return windows.length === 0 || windows.some((w) => isOpen(w, instant));
}

/** The next opening and the window it belongs to. */
export interface Opening {
  /** Epoch ms: `instant` itself when a window is open now. */
  readonly at: number;
  /** The window that is open or opens first; undefined when there are no windows (always open). */
  readonly window?: TimeWindow;
}

/**
 * The earliest instant at or after `instant` at which one of `windows` is open, with that window.
 *
 * @throws WindowError when no window opens within 16 days (only possible for a time zone that skips whole days).
 * @example
 * nextOpeningDetail([{ days: ['sat'], start: '10:00', end: '12:00', timeZone: 'UTC' }],
 *                   Date.parse('2024-01-01T00:00:00Z')); // { at: Date.parse('2024-01-06T10:00:00Z'), window }
 */
export function nextOpeningDetail(windows: readonly TimeWindow[], instant: number): Opening {
  if (windows.length === 0) return { at: instant };
  let best: Opening | undefined;
  for (const window of windows) {
    const c = compile(window);
    const today = localDayOf(c, instant);
    for (let day = today - 1; day <= today + SEARCH_DAYS; day++) {
      const o = occurrence(c, day);
      if (!o || o.closes <= instant) continue;
      const at = Math.max(o.opens, instant);
      if (!best || at < best.at) best = { at, window };
      break; // occurrences of one window are ordered, so the first one not yet closed is this window's next
    }
  }
  if (!best) {
    throw new WindowError(`No window opens within ${SEARCH_DAYS} days`, {
      details: { windows: windows.map(describeWindow) },
    });
  }
  return best;
}

/**
 * The earliest instant (epoch ms) at or after `instant` at which one of `windows` is open: `instant` itself when
 * one is open now or when there are no windows.
 *
 * @example
 * nextOpening([{ days: ['mon'], start: '22:00', end: '04:00', timeZone: 'UTC' }],
 *             Date.parse('2024-01-01T12:00:00Z')); // Date.parse('2024-01-01T22:00:00Z')
 */
export function nextOpening(windows: readonly TimeWindow[], instant: number): number {
  return nextOpeningDetail(windows, instant).at;
}

const DAY_LABEL: Record<Day, string> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};

/** Days as compact ranges in week order: `Mon-Fri`, `Mon,Wed,Sat-Sun`, `every day`. */
function describeDays(days: readonly Day[]): string {
  const idx = [...new Set(days.map((d) => DAYS.indexOf(d)))].sort((a, b) => a - b);
  if (idx.length === 7) return 'every day';
  const parts: string[] = [];
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
    const first = DAY_LABEL[DAYS[idx[i]!]!];
    const last = DAY_LABEL[DAYS[idx[j]!]!];
    parts.push(j - i >= 2 ? `${first}-${last}` : i === j ? first : `${first},${last}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * A window for people: `Mon-Fri 22:00-04:00 Europe/London`.
 *
 * @example
 * describeWindow({ days: ['sat', 'sun'], start: '00:00', end: '24:00', timeZone: 'UTC' }); // "Sat,Sun 00:00-24:00 UTC"
 */
export function describeWindow(window: TimeWindow): string {
  return `${describeDays(window.days)} ${window.start}-${window.end} ${window.timeZone}`;
}

/**
 * An instant as local time in a window's zone, for reasons: `Tue 2024-01-02 22:00 Europe/London`.
 *
 * @example
 * formatInZone(Date.parse('2024-07-01T21:00:00Z'), 'Europe/London'); // "Mon 2024-07-01 22:00 Europe/London"
 */
export function formatInZone(instant: number, timeZone: string): string {
  const zone = zoneOf(timeZone);
  const local = new Date(instant + offsetMs(zone, instant));
  const day = DAY_LABEL[DAYS[dayIndex(Math.floor(local.getTime() / DAY))]!];
  const iso = local.toISOString();
  return `${day} ${iso.slice(0, 10)} ${iso.slice(11, 16)} ${timeZone}`;
}
