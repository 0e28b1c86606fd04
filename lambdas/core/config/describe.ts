/**
 * Short human-readable descriptions of parts of a pipeline definition, shared by the graph, the CLI and
 * decision reasons so a window reads the same everywhere.
 */
import { DAYS, type Day, type TimeWindow } from './schema';

const DAY_LABEL: Record<Day, string> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};

/**
 * Days as runs in week order: `Mon-Fri`, `Mon-Wed, Sat`, `daily`.
 *
 * @example
 * describeDays(['fri', 'mon', 'tue', 'wed', 'thu']); // 'Mon-Fri'
 */
export function describeDays(days: readonly Day[]): string {
  const present = DAYS.filter((day) => days.includes(day));
  if (present.length === DAYS.length) return 'daily';
  const runs: string[] = [];
  let runStart = -1;
  for (let i = 0; i <= DAYS.length; i++) {
    const inSet = i < DAYS.length && present.includes(DAYS[i]!);
    if (inSet && runStart < 0) runStart = i;
    if (!inSet && runStart >= 0) {
      const first = DAY_LABEL[DAYS[runStart]!];
      const last = DAY_LABEL[DAYS[i - 1]!];
      // Two adjacent days read better as a list than as a range.
      runs.push(i - 1 === runStart ? first : i - 1 === runStart + 1 ? `${first}, ${last}` : `${first}-${last}`);
      runStart = -1;
    }
  }
  return runs.join(', ');
}

/**
 * A window as one phrase: `Mon-Fri 22:00-04:00 America/New_York`.
 *
 * @example
 * describeWindow({ days: ['sat', 'sun'], start: '00:00', end: '24:00', timeZone: 'UTC' }); // 'Sat, Sun 00:00-24:00 UTC'
 */
export function describeWindow(window: TimeWindow): string {
  return `${describeDays(window.days)} ${window.start}-${window.end} ${window.timeZone}`;
}
