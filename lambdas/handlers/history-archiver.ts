/**
 * The history archiver (`retention:` in the pipeline): once a day (EventBridge schedule; local mode on its own
 * clock), archives timeline entries and revisions older than `archiveAfterDays` to the artifacts bucket, then lets
 * DynamoDB TTL expire them (`lambdas/promotion/history-archiver.ts`).
 *
 * Input: any event. Output: what the pass archived.
 */
import middy from '@middy/core';
import { lazyHandler } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { defaultRuntime } from '../adapters/runtime';
import { archiveHistory, type ArchiveReport, type ArchiverDependencies } from '../promotion/history-archiver';

export function createHandler(
  deps: ArchiverDependencies,
  { logger, metrics, ...o }: Observability = createObservability('history-archiver'),
) {
  return middy<unknown, ArchiveReport>()
    .use(observability({ logger, metrics, ...o }))
    .handler(async () => {
      const report = await archiveHistory(deps);
      metrics.addMetric('TimelineEntriesArchived', 'Count', report.events);
      metrics.addMetric('RevisionsArchived', 'Count', report.revisions);
      logger.info('History archive pass', { ...report });
      return report;
    });
}

export const handler = lazyHandler(() => createHandler(defaultRuntime().archiverDependencies()));
