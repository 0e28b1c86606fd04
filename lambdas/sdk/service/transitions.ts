import type { StagingStatus } from '../model';
import type { VersionRecord } from '../records/records';

const HISTORY_LIMIT = 20;

/**
 * The record with a new status and reason (history kept, `rev` left for the store to set). Extra fields replace
 * the record's; `undefined` in `extra` removes a field.
 */
export function withStatus(
  record: VersionRecord | Omit<VersionRecord, 'rev'>,
  status: StagingStatus,
  reason: string,
  now: number,
  extra: Partial<Omit<VersionRecord, 'rev' | 'status' | 'reason' | 'history' | 'updatedAt'>> = {},
): Omit<VersionRecord, 'rev'> {
  const { rev: _rev, ...rest } = record as VersionRecord;
  const at = new Date(now).toISOString();
  const history =
    record.status === status && record.reason === reason
      ? record.history
      : [...record.history, { at, status, reason }].slice(-HISTORY_LIMIT);
  const next: Omit<VersionRecord, 'rev'> = { ...rest, ...extra, status, reason, updatedAt: at, history };
  for (const [key, value] of Object.entries(extra))
    if (value === undefined) delete (next as Record<string, unknown>)[key];
  return next;
}
