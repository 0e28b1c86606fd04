/**
 * SDK intake: S3 `Object Created` events from the SDK host bucket (EventBridge) start the execution of the
 * (SDK, version) they belong to; anything else (the schedule's event, `{}`) is the poll over the whole SDK host,
 * which also re-checks waiting packages and finishes publications cut short. See `lambdas/sdk/service/intake.ts`.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics, observability } from '../adapters/observability';
import { intakeVersion, pollSdkHost, refsOfKeys, type IntakeOutcome } from '../sdk/service/intake';
import { serviceDependencies } from '../adapters/sdk-runtime';

const deps = serviceDependencies();

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

function summarise(outcomes: readonly IntakeOutcome[], released?: readonly string[]): IntakeResult {
  const started = outcomes.flatMap((o) => (o.started ? [o.execution] : []));
  const skipped = outcomes.flatMap((o) => (o.started ? [] : [{ sdk: `${o.ref.name}@${o.ref.version}`, reason: o.reason }]));
  metrics.addMetric('SdkExecutionsStarted', 'Count', started.length + (released?.length ?? 0));
  logger.info('SDK intake done', { started, skipped: skipped.length, released });
  return { started, skipped, ...(released !== undefined ? { released } : {}) };
}

async function handle(event: S3ObjectCreated, context: Context): Promise<IntakeResult> {
  if (event?.source === 'aws.s3' && event['detail-type'] === 'Object Created') {
    const raw = event.detail?.object?.key ?? '';
    let key = raw;
    try {
      key = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      key = raw;
    }
    const refs = refsOfKeys([key]);
    const outcomes: IntakeOutcome[] = [];
    for (const ref of refs) outcomes.push(await intakeVersion(deps, ref));
    return summarise(outcomes);
  }
  const result = await pollSdkHost(deps, `intake-${context?.awsRequestId ?? 'poll'}`);
  return summarise(result.intakes, result.released);
}

export const handler = middy<S3ObjectCreated, IntakeResult>().use(observability('sdk-intake')).handler(handle);
