/**
 * Timelines (of an environment, of a revision) and the audit log, from the event store. Timelines are newest first
 * and paged by cursor: a page starts where the one before it ended (DynamoDB's `ExclusiveStartKey`), so the 40th
 * page reads what the first does. The audit log reads the pipeline timeline's newest entries and filters them.
 */
import { z } from 'zod';
import type { EventStore, PipelineEvent, TimelineReader, TimelineScope } from '../ports/stores';
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
  /** The page's number counted from the newest (1), for display: new entries move the pages along. */
  readonly page: number;
  readonly pageSize: number;
  readonly entries: readonly TimelineEntry[];
  readonly hasMore: boolean;
  /** The cursor of the next older page (`?cursor=`); absent on the oldest page. */
  readonly older?: string;
  /** The cursor of the next newer page; absent on the newest page. */
  readonly newer?: string;
}

/**
 * Where a page starts, as the client holds it: its number and the position of the entry before it (none for the
 * first page), as base64url JSON. Clients pass it back unread; a cursor that does not decode is refused.
 */
const cursorSchema = z.union([
  z.strictObject({ p: z.literal(1) }),
  z.strictObject({ p: z.number().int().min(2).max(1_000_000), k: z.string().min(1).max(200) }),
]);
type Cursor = z.infer<typeof cursorSchema>;

const FIRST_PAGE: Cursor = { p: 1 };

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/**
 * The cursor of a timeline request (`?cursor=`, absent: the newest page). `page=1` is still understood (links
 * from before cursors); any other page number is refused with the way to page now.
 */
export function parseTimelineCursor(query: Readonly<Record<string, string | undefined>> | undefined): Cursor {
  const text = query?.cursor;
  if (text === undefined || text === '') {
    const page = query?.page;
    if (page === undefined || page === '' || page === '1') return FIRST_PAGE;
    throw new HttpError(
      400,
      `No page "${page}": timeline pages are opened by cursor; follow the "older" and "newer" cursors of the page before`,
    );
  }
  const damaged = () =>
    new HttpError(400, 'This timeline page link is damaged or out of date: open the timeline from its newest page');
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) throw damaged();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (error) {
    throw Object.assign(damaged(), { cause: error });
  }
  const parsed = cursorSchema.safeParse(decoded);
  if (!parsed.success) throw damaged();
  return parsed.data;
}

/**
 * One page of an environment's or a revision's timeline, from `cursor`. Reads the page plus one entry, and for a
 * page past the second the newer page's start (another page plus one, read back from this page's start): what a
 * page costs does not grow with how deep it lies.
 */
export async function timelinePage(
  timelines: TimelineReader,
  scope: TimelineScope,
  cursor: Cursor = FIRST_PAGE,
  pageSize = TIMELINE_PAGE_SIZE,
): Promise<TimelinePage> {
  const read = await timelines.readTimeline(scope, {
    limit: pageSize,
    direction: 'older',
    ...('k' in cursor ? { from: cursor.k } : {}),
  });
  const older = read.more ? encodeCursor({ p: cursor.p + 1, k: read.positions.at(-1)! }) : undefined;
  let newer: string | undefined;
  if ('k' in cursor) {
    // The newer page starts after the entry just newer than its own first one: read back from this page's start,
    // the newer page's entries and then that entry. Fewer than a page back means the newer page is the newest.
    const back =
      cursor.p > 2
        ? await timelines.readTimeline(scope, { limit: pageSize, direction: 'newer', from: cursor.k })
        : undefined;
    newer =
      back?.positions.length === pageSize
        ? encodeCursor({ p: cursor.p - 1, k: back.positions.at(-1)! })
        : encodeCursor(FIRST_PAGE);
  }
  return {
    scope,
    page: cursor.p,
    pageSize,
    entries: read.events.map(toEntry),
    hasMore: read.more,
    ...(older ? { older } : {}),
    ...(newer ? { newer } : {}),
  };
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
