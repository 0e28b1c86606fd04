/**
 * EventBridge `CodeCommit Repository State Change` (`referenceUpdated`/`referenceCreated` on a branch) -> the same
 * path as a GitHub push: recorded pushes, then the AutoBuild step. A repeated event (same id) records nothing new.
 * Failures throw, so EventBridge retries the delivery.
 */
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { lazyHandler } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { defaultRuntime } from '../adapters/runtime';
import { intakePushes, type AgentDependencies } from '../promotion/agents';
import { codecommitIntake } from '../promotion/push-events';
import { withSourceCommits } from '../promotion/source-commits';

export type CodeCommitEvent = EventBridgeEvent<'CodeCommit Repository State Change', Record<string, unknown>>;

export interface CodeCommitResult {
  readonly status: 'accepted' | 'ignored';
  readonly reason?: string;
  readonly recorded?: number;
  readonly buildsStarted?: readonly string[];
}

export function createHandler(
  deps: AgentDependencies,
  { logger, metrics, ...o }: Observability = createObservability('codecommit-push'),
) {
  return middy<CodeCommitEvent, CodeCommitResult>()
    .use(observability({ logger, metrics, ...o }))
    .handler(async (event) => {
      const intake = codecommitIntake(deps.pipeline, event, deps.clock());
      if (intake.kind === 'ignored') {
        logger.info('CodeCommit event ignored', { eventId: event.id, reason: intake.reason });
        return { status: 'ignored', reason: intake.reason };
      }
      // The event names the head and the pusher only: the push's commits and their authors come from GetCommit.
      const pushes = await withSourceCommits(deps.pipeline, deps.repositories ?? {}, intake.pushes);
      const outcome = await intakePushes(deps, pushes, `codecommit:${event.id}`);
      metrics.addMetric('PushRecorded', 'Count', outcome.recorded);
      return { status: 'accepted', recorded: outcome.recorded, buildsStarted: outcome.buildsStarted };
    });
}

export const handler = lazyHandler(() => createHandler(defaultRuntime().agentDependencies()));
