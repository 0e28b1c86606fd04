/**
 * The four SDK publishing Lambda handlers of ARCHITECTURE.md ("SDK publishing") and their function settings, as
 * `handlers.ts` lists the deployment system's six. `SdkPublisher` bundles them with `lockstepFunction`.
 */
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import type { HandlerSettings } from './handlers';

export type SdkHandlerName = 'sdk-upload-api' | 'sdk-intake' | 'sdk-steps' | 'sdk-download-api';

export const SDK_HANDLERS: Readonly<Record<SdkHandlerName, HandlerSettings>> = {
  'sdk-upload-api': {
    description: 'Presigned upload URLs into the SDK host, and the upload completion signal',
    timeout: Duration.seconds(10),
    memorySize: 512,
  },
  'sdk-intake': {
    description: 'Starts one SDK publishing execution per SDK version in the SDK host not yet converted',
    timeout: Duration.seconds(60),
    memorySize: 512,
  },
  // Conversion streams archives of up to gigabytes through the function: memory stays bounded, time does not,
  // and more memory means more CPU for hashing and deflating.
  'sdk-steps': {
    description: 'Tasks of the SDK publishing state machine (validate, convert, stage, publish, notify)',
    timeout: Duration.minutes(15),
    memorySize: 2048,
  },
  'sdk-download-api': {
    description: 'SDK index and downloads: access policy check, then a CloudFront signed or public URL',
    timeout: Duration.seconds(10),
    memorySize: 512,
  },
};

export const SDK_HANDLER_NAMES = Object.keys(SDK_HANDLERS) as SdkHandlerName[];

/** Source file of an SDK handler (fixed by ARCHITECTURE.md). */
export function sdkHandlerEntry(name: SdkHandlerName): string {
  return fileURLToPath(new URL(`../lambdas/handlers/${name}.ts`, import.meta.url));
}

/** File name of the access policy copied next to each SDK bundle. */
export const ACCESS_POLICY_FILE = 'access-policy.json';
/** Where the access policy lands in the Lambda runtime (`LAMBDA_TASK_ROOT`): LOCKSTEP_SDK_ACCESS_POLICY_FILE. */
export const ACCESS_POLICY_FILE_IN_BUNDLE = `/var/task/${ACCESS_POLICY_FILE}`;
