/**
 * The SDK publishing state machine's Tasks, dispatched on `action` (see `lambdas/sdk/service/steps.ts` for each
 * action's input and result). Errors keep their class name as the Lambda error type, which is what the ASL's
 * Retry/Catch match (`SdkConcurrentUpdateError`, `IndexBusyError`, `MetadataError`, `HostileArchiveError`, ...).
 */
import middy from '@middy/core';
import { lazyHandler } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import type { SdkServiceDependencies } from '../sdk/service/dependencies';
import { defaultSdkRuntime } from '../adapters/sdk-runtime';
import { runSdkStep } from '../sdk/service/steps';

export function createHandler(deps: SdkServiceDependencies, o: Observability = createObservability('sdk-steps')) {
  return middy<unknown, unknown>()
    .use(observability(o))
    .handler(async (event: unknown) => {
      const { action, sdk } = (event ?? {}) as { action?: unknown; sdk?: { name?: unknown; version?: unknown } };
      o.logger.appendKeys({
        action: typeof action === 'string' ? action : 'unknown',
        sdk: sdk ? `${String(sdk.name)}@${String(sdk.version)}` : undefined,
      });
      return runSdkStep(deps, event);
    });
}

export const handler = lazyHandler(() => createHandler(defaultSdkRuntime().serviceDependencies()));
