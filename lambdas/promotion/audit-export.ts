/**
 * `lockstep audit export`: the timeline and audit entries of a time range, from the table and the history archive
 * together (see `history-archiver.ts`), filtered by environment and actor, as JSON Lines or CSV.
 *
 * An entry archived but not yet deleted by TTL is in both places; it is counted once, by its id.
 */
import { z } from 'zod';
import type { HistoryArchive, HistoryStore } from '../ports/history';
import type { PipelineEvent } from '../ports/stores';
import { TIMELINE_PREFIX } from './history-archiver';
import { InvalidInputError } from './errors';

export interface AuditQuery {
  /** Epoch ms, inclusive. @default the beginning */
  readonly from?: number;
  /** Epoch ms, exclusive. @default now */
  readonly to?: number;
  readonly environment?: string;
  readonly actor?: string;
}

export type AuditEntry = PipelineEvent & { readonly id: string };

export interface AuditExportDependencies {
  readonly history: HistoryStore;
  readonly archive: HistoryArchive;
  readonly clock: () => number;
}

/** One line of an archive object, decoded where it enters. */
const archivedLine = z.object({
  id: z.string().min(1),
  at: z.number(),
  type: z.string(),
  actor: z.string(),
  message: z.string(),
  environment: z.string().optional(),
  application: z.string().optional(),
  revision: z.number().optional(),
  promotion: z.string().optional(),
  execution: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** The entries of `query`, oldest first. */
export async function auditEntries(deps: AuditExportDependencies, query: AuditQuery): Promise<AuditEntry[]> {
  const from = query.from ?? 0;
  const to = query.to ?? deps.clock() + 1;
  if (from >= to)
    throw new InvalidInputError(
      `The time range is empty: --from ${new Date(from).toISOString()} is not before --to ${new Date(to).toISOString()}`,
    );
  const byId = new Map<string, AuditEntry>();
  // An object holds entries from the day its folder names onwards, so later folders cannot hold anything before `to`.
  const lastDay = new Date(to).toISOString().slice(0, 10);
  const keys = (await deps.archive.keys(TIMELINE_PREFIX)).filter(
    (key) => key.slice(TIMELINE_PREFIX.length, TIMELINE_PREFIX.length + 10) <= lastDay,
  );
  for (const key of keys) {
    const lines = (await deps.archive.get(key)).split('\n').filter((line) => line.trim() !== '');
    lines.forEach((line, index) => {
      const parsed = archivedLine.safeParse(safeJson(line));
      if (!parsed.success)
        throw new InvalidInputError(
          `Archive object ${key} line ${index + 1} is not a timeline entry: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      const entry = stripUndefined(parsed.data);
      if (entry.at >= from && entry.at < to) byId.set(entry.id, entry);
    });
  }
  for (const { id, event } of await deps.history.eventsBetween(from, to)) byId.set(id, { id, ...event });
  return [...byId.values()]
    .filter((e) => query.environment === undefined || e.environment === query.environment)
    .filter((e) => query.actor === undefined || e.actor === query.actor)
    .sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined; // reported by the schema check as a line that is not an entry
  }
}

function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** JSON Lines: one entry per line, `at` as epoch ms plus `time` in ISO 8601. */
export function toJsonLines(entries: readonly AuditEntry[]): string {
  return (
    entries.map((e) => JSON.stringify({ time: new Date(e.at).toISOString(), ...e })).join('\n') +
    (entries.length ? '\n' : '')
  );
}

export const CSV_COLUMNS = [
  'time',
  'type',
  'actor',
  'environment',
  'application',
  'revision',
  'promotion',
  'execution',
  'message',
  'id',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, and its quotes doubled. */
function csvField(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV with a header row (`CSV_COLUMNS`); `details` are left out (JSON Lines carries them). */
export function toCsv(entries: readonly AuditEntry[]): string {
  const rows = entries.map((e) =>
    CSV_COLUMNS.map((column) => csvField(column === 'time' ? new Date(e.at).toISOString() : e[column])).join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}
