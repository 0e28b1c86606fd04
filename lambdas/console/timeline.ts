/**
 * Timelines (of an environment, of a revision) and the audit log, from the event store. Newest first, paginated by
 * page number: a page reads the entries before it too (the store pages from the newest), which keeps the event
 * store's port unchanged and costs little for the pages people read (the first few).
 */
import type { EventStore, PipelineEvent } from '../ports/stores';
import type { Pipeline } from '../core/config/schema';
import { HttpError } from '../core/errors';
import { ConsoleNotFoundError } from './not-found';

export const TIMELINE_PAGE_SIZE = 50;
/** The audit log reads at most this many of the pipeline timeline's newest entries per request. */
export const AUDIT_SCAN_LIMIT = 5_000;

export interface TimelineEntry {
  readonly at: number;
  readonly type: string;
  readonly actor: string;
  readonly message: string;
  readonly environment?: string;
  readonly application?: string;
  readonly revision?: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface TimelinePage {
  readonly scope: { readonly environment?: string; readonly application?: string; readonly revision?: number };
  readonly page: number;
  readonly pageSize: number;
  readonly entries: readonly TimelineEntry[];
  readonly hasMore: boolean;
}

/** A page number from a query string: 1 when absent; a clear 400-class error when it is not a positive integer. */
export function parsePage(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  const page = Number(text);
  if (!Number.isInteger(page) || page < 1 || page > 1_000)
    throw new HttpError(400, `No page "${text}": pages are numbered 1 to 1000`);
  return page;
}

/** One page of an environment's or a revision's timeline. */
export async function timelinePage(
  events: EventStore,
  scope: { environment: string } | { application: string; revision: number },
  page: number,
  pageSize = TIMELINE_PAGE_SIZE,
): Promise<TimelinePage> {
  const read = await events.list(scope, page * pageSize + 1);
  const entries = read.slice((page - 1) * pageSize, page * pageSize).map(toEntry);
  return { scope, page, pageSize, entries, hasMore: read.length > page * pageSize };
}

/** Throws a 404 naming the environments there are when `environment` is not one of the pipeline's. */
export function requireEnvironment(pipeline: Pipeline, environment: string): void {
  const names = pipeline.stages.flatMap((s) => s.environments.map((e) => e.name));
  if (!names.includes(environment))
    throw new ConsoleNotFoundError(
      `No environment "${environment}" in pipeline ${pipeline.pipeline.name}; its environments are ${names.join(', ')}`,
      {
        environment,
      },
    );
}

function toEntry(e: PipelineEvent): TimelineEntry {
  return {
    at: e.at,
    type: e.type,
    actor: e.actor,
    message: e.message,
    ...(e.environment !== undefined ? { environment: e.environment } : {}),
    ...(e.application !== undefined ? { application: e.application } : {}),
    ...(e.revision !== undefined ? { revision: e.revision } : {}),
    ...(e.details !== undefined ? { details: e.details } : {}),
  };
}

/** Actors that are Lockstep itself or a source host, not a person: their entries are the timeline, not the audit log. */
const AUTOMATED_ACTOR = /^(agent|execution|github|codecommit|local):/;

export interface AuditFilter {
  readonly environment?: string;
  readonly actor?: string;
  readonly action?: string;
}

export interface AuditEntry {
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly environment?: string;
  readonly application?: string;
  readonly revision?: number;
  /** Where the request came from, when the action recorded it (console and approval link: the source IP). */
  readonly from?: string;
  /** `console`, `cli` or `link` when the action recorded it. */
  readonly via?: string;
  readonly message: string;
}

/**
 * Every operator action and approval decision (entries whose actor is a person, including refused console
 * requests), newest first, filtered by environment, actor (exact, case-insensitive) and action (entry type).
 */
export async function auditLog(
  events: EventStore,
  filter: AuditFilter,
  limit = AUDIT_SCAN_LIMIT,
): Promise<AuditEntry[]> {
  const read = await events.list(filter.environment ? { environment: filter.environment } : {}, limit);
  const actor = filter.actor?.toLowerCase();
  return read
    .filter((e) => !AUTOMATED_ACTOR.test(e.actor))
    .filter((e) => actor === undefined || e.actor.toLowerCase() === actor)
    .filter((e) => filter.action === undefined || e.type === filter.action)
    .map((e) => {
      const from = e.details?.sourceIp ?? e.details?.from;
      const via = e.details?.via;
      return {
        at: e.at,
        actor: e.actor,
        action: e.type,
        ...(e.environment !== undefined ? { environment: e.environment } : {}),
        ...(e.application !== undefined ? { application: e.application } : {}),
        ...(e.revision !== undefined ? { revision: e.revision } : {}),
        ...(typeof from === 'string' ? { from } : {}),
        ...(typeof via === 'string' ? { via } : {}),
        message: e.message,
      };
    });
}

const CSV_COLUMNS = [
  'time',
  'actor',
  'action',
  'environment',
  'application',
  'revision',
  'from',
  'via',
  'message',
] as const;

/**
 * The audit log as RFC 4180 CSV. A cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
 * `@`, tab or carriage return) is prefixed with `'`: actor names and messages come from users.
 */
export function auditCsv(entries: readonly AuditEntry[]): string {
  const cell = (value: string | number | undefined): string => {
    let text = value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const rows = entries.map((e) =>
    [
      new Date(e.at).toISOString(),
      e.actor,
      e.action,
      e.environment,
      e.application,
      e.revision,
      e.from,
      e.via,
      e.message,
    ]
      .map(cell)
      .join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
