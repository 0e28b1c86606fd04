/**
 * The promotion state machine's Tasks, dispatched on `action` (see `lambdas/promotion/steps.ts` for each action's
 * input and result). Errors keep their class name as the Lambda error type, which is what the ASL's Retry/Catch
 * match (`LockLostError`, `TestsFailedError`, `ComplianceFailedError`, ...).
 */
import middy from '@middy/core';
import { logger, observability } from '../adapters/observability';
import { stepDependencies } from '../adapters/runtime';
import { runStep } from '../promotion/steps';

const deps = stepDependencies();

async function handle(event: unknown): Promise<unknown> {
  const action = (event as { action?: unknown } | null)?.action;
  logger.appendKeys({ action: typeof action === 'string' ? action : 'unknown' });
  return runStep(deps, event);
}

export const handler = middy<unknown, unknown>().use(observability('promotion-steps')).handler(handle);
