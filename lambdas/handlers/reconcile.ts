/**
 * The reconcile pass: every minute (EventBridge schedule) and after events (local mode calls it after each one).
 * Finished builds become revisions, AutoBuild starts due builds, and every promotion is decided by the decision
 * core and acted on: `deploy` starts the promotion execution (named by `executionName()`, so two passes never start
 * it twice), `awaiting-approval` on a manual promotion sends the go-ahead request once.
 *
 * Input: any event (the schedule's, or `{}`). Output: what the pass did.
 */
import middy from '@middy/core';
import { lazyHandler } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { defaultRuntime } from '../adapters/runtime';
import { reconcilePass, type AgentDependencies } from '../promotion/agents';

export interface ReconcileResult {
  readonly revisionsCreated: readonly { application: string; revision: number }[];
  readonly buildsStarted: readonly string[];
  readonly executionsStarted: readonly string[];
  /** Each (promotion, application) decision of the pass: kind and reason. */
  readonly decisions: readonly { promotion: string; application: string; kind: string; reason: string }[];
}

/**
 * `deps.approvals` is needed when the pass has approval work: sending go-ahead requests for manual promotions, or
 * delivering decisions on manual approval steps that the approval API stored but could not deliver
 * (`Runtime.reconcileDependencies()` adds it when the pipeline has any).
 */
export function createHandler(
  deps: AgentDependencies,
  { logger, metrics, ...o }: Observability = createObservability('reconcile'),
) {
  return middy<unknown, ReconcileResult>()
    .use(observability({ logger, metrics, ...o }))
    .handler(async () => {
      const outcome = await reconcilePass(deps);
      metrics.addMetric('ExecutionsStarted', 'Count', outcome.executionsStarted.length);
      metrics.addMetric('BuildsStarted', 'Count', outcome.buildsStarted.length);
      metrics.addMetric('RevisionsCreated', 'Count', outcome.revisionsCreated.length);
      const decisions = outcome.decisions.map((d) => ({
        promotion: d.promotion,
        application: d.application,
        kind: d.decision.kind,
        reason: d.decision.reason,
      }));
      logger.info('Reconcile pass done', {
        executionsStarted: outcome.executionsStarted,
        buildsStarted: outcome.buildsStarted,
        decisions,
      });
      return {
        revisionsCreated: outcome.revisionsCreated,
        buildsStarted: outcome.buildsStarted,
        executionsStarted: outcome.executionsStarted,
        decisions,
      };
    });
}

export const handler = lazyHandler(() => createHandler(defaultRuntime().reconcileDependencies()));
