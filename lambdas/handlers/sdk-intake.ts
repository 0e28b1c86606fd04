/**
 * SDK intake: S3 `Object Created` events from the SDK host bucket (EventBridge) start the execution of the
 * (SDK, version) they belong to; anything else (the schedule's event, `{}`) is the poll over the whole SDK host,
 * which also re-checks waiting packages and finishes publications cut short. See `lambdas/sdk/service/intake.ts`.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { lazyHandler } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import type { SdkServiceDependencies } from '../sdk/service/dependencies';
import { intakeVersion, pollSdkHost, refsOfKeys, type IntakeOutcome } from '../sdk/service/intake';
import { defaultSdkRuntime } from '../adapters/sdk-runtime';

interface S3ObjectCreated {
  readonly source?: string;
  readonly 'detail-type'?: string;
  readonly detail?: { readonly bucket?: { readonly name?: string }; readonly object?: { readonly key?: string } };
}

export interface IntakeResult {
  readonly started: readonly string[];
  readonly skipped: readonly { readonly sdk: string; readonly reason: string }[];
  readonly released?: readonly string[];
}

export function createHandler(
  deps: SdkServiceDependencies,
  { logger, metrics, ...o }: Observability = createObservability('sdk-intake'),
) {
  const summarise = (outcomes: readonly IntakeOutcome[], released?: readonly string[]): IntakeResult => {
    const started = outcomes.flatMap((out) => (out.started ? [out.execution] : []));
    const skipped = outcomes.flatMap((out) =>
      out.started ? [] : [{ sdk: `${out.ref.name}@${out.ref.version}`, reason: out.reason }],
    );
    metrics.addMetric('SdkExecutionsStarted', 'Count', started.length + (released?.length ?? 0));
    logger.info('SDK intake done', { started, skipped: skipped.length, released });
    return { started, skipped, ...(released !== undefined ? { released } : {}) };
  };
  return middy<S3ObjectCreated, IntakeResult>()
    .use(observability({ logger, metrics, ...o }))
    .handler(async (event: S3ObjectCreated, context: Context) => {
      if (event?.source === 'aws.s3' && event['detail-type'] === 'Object Created') {
        const raw = event.detail?.object?.key ?? '';
        let key = raw;
        try {
          key = decodeURIComponent(raw.replace(/\+/g, ' '));
        } catch {
          key = raw;
        }
        const outcomes: IntakeOutcome[] = [];
        for (const ref of refsOfKeys([key])) outcomes.push(await intakeVersion(deps, ref));
        return summarise(outcomes);
      }
      const result = await pollSdkHost(deps, `intake-${context?.awsRequestId ?? 'poll'}`);
      return summarise(result.intakes, result.released);
    });
}

export const handler = lazyHandler(() => createHandler(defaultSdkRuntime().serviceDependencies()));
