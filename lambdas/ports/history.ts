/**
 * History retention ports: the old entries in the tables (`HistoryStore`, DynamoDB) and the archive they move to
 * (`HistoryArchive`, JSON Lines objects in the artifacts bucket). See `lambdas/promotion/history-archiver.ts`.
 */
import type { Revision } from '../core/model';
import type { PipelineEvent } from './stores';

/** A timeline entry with the id it has in every timeline it was written to (its sort key). */
export interface StoredEvent {
  readonly id: string;
  readonly event: PipelineEvent;
}

export interface HistoryStore {
  /** Up to `limit` timeline entries from before `before` (epoch ms) that are not archived yet, oldest first. */
  unarchivedEvents(before: number, limit: number): Promise<StoredEvent[]>;
  /** Marks entries archived: every copy (pipeline, environment and revision timeline) expires at `expiresAt` (epoch ms). */
  expireEvents(entries: readonly StoredEvent[], expiresAt: number): Promise<void>;
  /** Timeline entries with `from <= at < to`, oldest first, archived or not, as long as the table still holds them. */
  eventsBetween(from: number, to: number): Promise<StoredEvent[]>;
  /** Revisions of `application` created before `before` (epoch ms) that are not archived yet, oldest first. */
  unarchivedRevisions(application: string, before: number, limit: number): Promise<Revision[]>;
  /** Marks revisions archived: their items expire at `expiresAt` (epoch ms). */
  expireRevisions(application: string, numbers: readonly number[], expiresAt: number): Promise<void>;
}

/** Object Lock settings for an archive object. */
export interface ArchiveLock {
  readonly mode: 'governance' | 'compliance';
  /** Epoch ms. */
  readonly retainUntil: number;
}

export interface HistoryArchive {
  /** Writes one archive object (JSON Lines); with `lock`, under S3 Object Lock until `lock.retainUntil`. */
  put(key: string, body: string, lock?: ArchiveLock): Promise<void>;
  /** Keys under `prefix`, in key order. */
  keys(prefix: string): Promise<string[]>;
  get(key: string): Promise<string>;
}
