/**
 * History retention (`retention:` in the pipeline): archive first, expire second, so nothing leaves the tables
 * that is not in the archive.
 *
 * A scheduled pass (daily on AWS, on local mode's clock locally) reads timeline entries and revisions older than
 * `archiveAfterDays`, writes them as JSON Lines objects to the artifacts bucket (under Object Lock when configured),
 * and only then sets their TTL attribute. A pass that dies between the two writes the same object again next time
 * (same key, same lines), so an archive never loses or duplicates an entry. DynamoDB TTL then deletes the items
 * within days; until it does, readers see them in both places and `audit export` counts each once (by id).
 *
 * Revisions that an environment still needs (current, previous, its last approved: the rollback target) are never
 * expired, however old.
 */
import type { Pipeline } from '../core/config/schema';
import type { Revision } from '../core/model';
import type { ArchiveLock, HistoryArchive, HistoryStore, StoredEvent } from '../ports/history';
import type { EnvironmentStore } from '../ports/stores';
import { lastApproved } from './steps';

export interface ArchiverDependencies {
  readonly pipeline: Pipeline;
  readonly history: HistoryStore;
  readonly archive: HistoryArchive;
  readonly environments: EnvironmentStore;
  readonly clock: () => number;
}

export interface ArchiveReport {
  /** Null when the pipeline sets no `retention:` (everything is kept). */
  readonly cutoff: string | null;
  readonly events: number;
  readonly revisions: number;
  readonly objects: readonly string[];
}

export const DAY_MS = 86_400_000;
/** How often the archiver runs: the schedule on AWS, the local system's clock locally. */
export const ARCHIVE_INTERVAL_MS = DAY_MS;
/** Entries per archive object: one page of the table, a few hundred KB of JSON Lines. */
export const ARCHIVE_PAGE = 500;
/** Where the archive lives in the artifacts bucket. */
export const HISTORY_PREFIX = 'history/';
export const TIMELINE_PREFIX = `${HISTORY_PREFIX}timeline/`;
export const REVISIONS_PREFIX = `${HISTORY_PREFIX}revisions/`;

const iso = (ms: number) => new Date(ms).toISOString();
/** S3 keys keep to letters, digits and `-_.`: the id's `:` and `#` would need escaping in URLs. */
const keyPart = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '-');

/** The archive object of a page of timeline entries: its date folder and first entry name it, so a rerun overwrites it. */
export function timelineKey(first: StoredEvent): string {
  return `${TIMELINE_PREFIX}${iso(first.event.at).slice(0, 10)}/${keyPart(first.id)}.jsonl`;
}

function revisionsKey(application: string, page: readonly Revision[]): string {
  const pad = (n: number) => String(n).padStart(12, '0');
  return `${REVISIONS_PREFIX}${application}/${pad(page[0]!.number)}-${pad(page.at(-1)!.number)}.jsonl`;
}

const jsonLines = (records: readonly unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Runs one archive pass at `deps.clock()`. */
export async function archiveHistory(deps: ArchiverDependencies): Promise<ArchiveReport> {
  const retention = deps.pipeline.retention;
  if (!retention) return { cutoff: null, events: 0, revisions: 0, objects: [] };
  const now = deps.clock();
  const cutoff = now - retention.archiveAfterDays * DAY_MS;
  const lock: ArchiveLock | undefined = retention.objectLock && {
    mode: retention.objectLock.mode,
    retainUntil: now + retention.objectLock.days * DAY_MS,
  };
  const objects: string[] = [];

  let events = 0;
  for (;;) {
    const page = await deps.history.unarchivedEvents(cutoff, ARCHIVE_PAGE);
    if (page.length === 0) break;
    const key = timelineKey(page[0]!);
    await deps.archive.put(key, jsonLines(page.map(({ id, event }) => ({ id, ...event }))), lock);
    await deps.history.expireEvents(page, now);
    objects.push(key);
    events += page.length;
    if (page.length < ARCHIVE_PAGE) break;
  }

  const kept = await neededRevisions(deps);
  let revisions = 0;
  for (const { name: application } of deps.pipeline.applications) {
    // Needed revisions stay unarchived and come back on every read: ask for that many more (a few per environment).
    const keptHere = [...kept].filter((k) => k.startsWith(`${application}#`)).length;
    for (;;) {
      const read = await deps.history.unarchivedRevisions(application, cutoff, ARCHIVE_PAGE + keptHere);
      const page = read.filter((r) => !kept.has(`${application}#${r.number}`));
      if (page.length === 0) break;
      const key = revisionsKey(application, page);
      await deps.archive.put(key, jsonLines(page), lock);
      await deps.history.expireRevisions(
        application,
        page.map((r) => r.number),
        now,
      );
      objects.push(key);
      revisions += page.length;
      if (read.length < ARCHIVE_PAGE + keptHere) break;
    }
  }
  return { cutoff: iso(cutoff), events, revisions, objects };
}

/** `application#number` of every revision an environment runs, ran before, or would roll back to. */
async function neededRevisions(deps: ArchiverDependencies): Promise<Set<string>> {
  const names = deps.pipeline.stages.flatMap((s) => s.environments.map((e) => e.name));
  const slots = await Promise.all(names.map((name) => deps.environments.get(name)));
  const kept = new Set<string>();
  for (const byApplication of slots) {
    for (const [application, slot] of Object.entries(byApplication)) {
      for (const n of [slot.current?.number, slot.previous?.number, lastApproved(slot.approved)])
        if (n !== undefined) kept.add(`${application}#${n}`);
    }
  }
  return kept;
}
