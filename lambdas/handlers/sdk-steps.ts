/**
 * The SDK publishing state machine's Tasks, dispatched on `action` (see `lambdas/sdk/service/steps.ts` for each
 * action's input and result). Errors keep their class name as the Lambda error type, which is what the ASL's
 * Retry/Catch match (`SdkConcurrentUpdateError`, `IndexBusyError`, `MetadataError`, `HostileArchiveError`, ...).
 */
import middy from '@middy/core';
import { logger, observability } from '../adapters/observability';
import { serviceDependencies } from '../adapters/sdk-runtime';
import { runSdkStep } from '../sdk/service/steps';

const deps = serviceDependencies();

async function handle(event: unknown): Promise<unknown> {
  const { action, sdk } = (event ?? {}) as { action?: unknown; sdk?: { name?: unknown; version?: unknown } };
  logger.appendKeys({ action: typeof action === 'string' ? action : 'unknown', sdk: sdk ? `${String(sdk.name)}@${String(sdk.version)}` : undefined });
  return runSdkStep(deps, event);
}

export const handler = middy<unknown, unknown>().use(observability('sdk-steps')).handler(handle);
