/**
 * The promotion state machine's Tasks, dispatched on `action` (see `lambdas/promotion/steps.ts` for each action's
 * input and result). Errors keep their class name as the Lambda error type, which is what the ASL's Retry/Catch
 * match (`LockLostError`, `TestsFailedError`, `ComplianceFailedError`, ...).
 */
import middy from '@middy/core';
import { lazyHandler } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { defaultRuntime } from '../adapters/runtime';
import { runStep, type StepDependencies } from '../promotion/steps';

export function createHandler(deps: StepDependencies, o: Observability = createObservability('promotion-steps')) {
  return middy<unknown, unknown>()
    .use(observability(o))
    .handler(async (event: unknown) => {
      const action = (event as { action?: unknown } | null)?.action;
      o.logger.appendKeys({ action: typeof action === 'string' ? action : 'unknown' });
      return runStep(deps, event);
    });
}

export const handler = lazyHandler(() => createHandler(defaultRuntime().stepDependencies()));
