/**
 * Retrying a failed promotion without a new commit (`lockstep retry <environment>`). Execution names are the
 * idempotency key of a promotion and Step Functions keeps a name for 90 days, so a retry is a new attempt with its
 * own name (`executionName(..., attempt)`). This module only records the request (once per attempt) and audits it;
 * the reconcile pass starts the attempt through `decide()`, under the same windows, lock and switches as any
 * promotion, and duplicate events or concurrent passes still start a given attempt once.
 */
import { promotionId, type Pipeline } from '../core/config/schema';
import type { RetryRequest } from '../core/model';
import type { ExecutionStatus, ExecutionStatusReader } from '../ports/services';
import type { EventStore, ExecutionRecord, ExecutionStore } from '../ports/stores';
import { RetryRefusedError } from './errors';
import { environmentDefinition } from './execution-input';

export interface RetryDependencies {
  readonly pipeline: Pipeline;
  readonly executions: ExecutionStore;
  readonly events: EventStore;
  readonly statuses: ExecutionStatusReader;
  readonly clock: () => number;
}

export interface RetryCommand {
  readonly environment: string;
  /** Needed only when executions of several applications into the environment failed. */
  readonly application?: string;
  /** Who asks, for the audit record. */
  readonly by: string;
  readonly reason?: string;
}

export interface RetryOutcome {
  readonly request: RetryRequest;
  /** The execution whose failure is retried. */
  readonly failed: { readonly executionName: string; readonly status: ExecutionStatus | 'UNKNOWN' };
}

/** Statuses an attempt may be retried from; an execution Step Functions no longer knows has ended long ago. */
const ENDED_UNSUCCESSFULLY: ReadonlySet<ExecutionStatus | 'UNKNOWN'> = new Set([
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'UNKNOWN',
]);

/**
 * Records that the newest execution into `command.environment` failed and should run again as the next attempt.
 *
 * @throws RetryRefusedError when the environment is unknown, nothing promotes to it, nothing was started there,
 *   the newest attempt is still running or succeeded, or the application is ambiguous; the message says which.
 * @example
 * const { request } = await requestRetry(deps, { environment: 'Prod', by: 'ann@example.com' });
 * console.log(`attempt ${request.attempt} of ${request.application} r${request.revision}`);
 */
export async function requestRetry(deps: RetryDependencies, command: RetryCommand): Promise<RetryOutcome> {
  const { environment } = command;
  if (!environmentDefinition(deps.pipeline, environment)) {
    const known = deps.pipeline.stages.flatMap((s) => s.environments.map((e) => e.name));
    throw new RetryRefusedError(
      `There is no environment ${environment} in pipeline ${deps.pipeline.pipeline.name}; environments: ${known.join(', ')}`,
    );
  }
  const promotion = deps.pipeline.promotions.find((p) => p.to === environment);
  if (!promotion) throw new RetryRefusedError(`Nothing promotes to ${environment}, so there is no promotion to retry`);
  const id = promotionId(promotion);

  const newest = new Map<string, ExecutionRecord>();
  for (const record of await deps.executions.list(id)) {
    if (command.application !== undefined && record.application !== command.application) continue;
    const known = newest.get(record.application);
    if (!known || record.startedAt >= known.startedAt) newest.set(record.application, record);
  }
  if (newest.size === 0) {
    const what = command.application ? `of ${command.application} ` : '';
    throw new RetryRefusedError(`No promotion ${what}to ${environment} has started yet, so there is nothing to retry`);
  }

  const latest = await Promise.all(
    [...newest.values()].map(async (record) => ({
      record,
      status: record.executionArn
        ? ((await deps.statuses.status(record.executionArn)) ?? 'UNKNOWN')
        : ('UNKNOWN' as const),
    })),
  );
  const retryable = latest.filter((l) => ENDED_UNSUCCESSFULLY.has(l.status));
  const describe = (l: (typeof latest)[number]) =>
    `${l.record.executionName} (${l.record.application} r${l.record.revision}) is ${l.status}`;
  if (retryable.length === 0) {
    throw new RetryRefusedError(`Nothing failed in ${environment} to retry: ${latest.map(describe).join('; ')}`);
  }
  if (retryable.length > 1) {
    throw new RetryRefusedError(
      `Promotions of several applications to ${environment} failed; choose one with --application: ${retryable.map(describe).join('; ')}`,
    );
  }
  const [{ record, status }] = retryable as [(typeof latest)[number]];
  const now = deps.clock();
  const request: RetryRequest = {
    promotion: id,
    application: record.application,
    revision: record.revision,
    attempt: (record.attempt ?? 1) + 1,
    requestedBy: command.by,
    requestedAt: now,
    ...(command.reason ? { reason: command.reason } : {}),
  };
  if (!(await deps.executions.requestRetry(request))) {
    throw new RetryRefusedError(
      `Attempt ${request.attempt} of ${record.application} r${record.revision} to ${environment} was requested already; the reconcile pass starts it`,
    );
  }
  await deps.events.append({
    at: now,
    type: 'promotion-retry-requested',
    actor: command.by,
    message:
      `${command.by} asked to retry ${record.application} revision ${record.revision} in ${environment} as attempt ${request.attempt} ` +
      `after ${record.executionName} ended ${status}${command.reason ? `: ${command.reason}` : ''}`,
    environment,
    application: record.application,
    revision: record.revision,
    promotion: id,
    execution: record.executionName,
    details: { attempt: request.attempt, failedStatus: status, ...(command.reason ? { reason: command.reason } : {}) },
  });
  return { request, failed: { executionName: record.executionName, status } };
}
