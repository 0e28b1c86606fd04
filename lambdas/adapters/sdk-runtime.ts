/**
 * Composition root of the SDK handlers: the adapters built from a runtime context (the variables of
 * ARCHITECTURE.md "SDK publishing", a set of AWS clients and a clock), each getter on first use so a handler needs
 * only the variables it uses. Lambda uses `defaultSdkRuntime()`, built once per cold start from `process.env`;
 * local mode and tests call `createSdkRuntime` with their own context.
 */
import { readFileSync } from 'node:fs';
import { defaultAwsClients } from './aws-clients';
import { traceAwsClients } from './observability';
import { once, type RuntimeContext } from './runtime';
import { SecretsManagerReader } from './secrets-manager-reader';
import { StepFunctionsOrchestrator } from './sfn-orchestrator';
import { requireEnv } from '../core/errors';
import { AccessControl } from '../sdk/host/acl';
import { DEFAULT_URL_TTL_SECONDS } from '../sdk/host/download';
import { CloudFrontUrlSigner } from '../sdk/host/signer';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontInvalidator } from './cloudfront-invalidator';
import { DynamoSdkStore } from './dynamo-sdk-store';
import { archiveLimitsFromEnv } from '../sdk/service/archive-limits';
import { parseS3Uri } from '../sdk/records/test-plan';
import { S3ObjectStore } from './s3-object-store';
import { SnsSdkNotifier } from './sns-sdk-notifier';
import type { SdkServiceConfig, SdkServiceDependencies } from '../sdk/service/dependencies';
import { SdkServiceError } from '../sdk/service/errors';

/** What the download API needs: the table (tokens), the index, the access policy and the URL signer. */
export interface DownloadDependencies {
  readonly store: DynamoSdkStore;
  readonly objects: S3ObjectStore;
  readonly config: Pick<SdkServiceConfig, 'packageHostBucket'>;
  readonly access: AccessControl;
  /** Built on first use: the private key comes from Secrets Manager. */
  readonly signer: () => Promise<CloudFrontUrlSigner>;
  readonly ttlSeconds: number;
  readonly clock: () => number;
}

export function createSdkRuntime({ env: variables, clients, clock }: RuntimeContext) {
  const env = variables as NodeJS.ProcessEnv;
  const need = (name: string) => requireEnv(name, env);
  const sdkStore = once(() => new DynamoSdkStore(clients.dynamodb, need('LOCKSTEP_SDK_TABLE')));
  const objectStore = once(() => new S3ObjectStore(clients.s3));
  const s3Location = (name: string) => {
    const location = parseS3Uri(need(name));
    if (location === undefined)
      throw new SdkServiceError(`${name} must be an s3://<bucket>/<key> URI`, { details: { name } });
    return location;
  };
  const config = (): SdkServiceConfig => ({
    hostBucket: need('LOCKSTEP_SDK_HOST_BUCKET'),
    stagingBucket: need('LOCKSTEP_SDK_STAGING_BUCKET'),
    packageHostBucket: need('LOCKSTEP_PACKAGE_HOST_BUCKET'),
    testerProject: need('LOCKSTEP_SDK_TESTER_PROJECT'),
    providerCodeProject: need('LOCKSTEP_SDK_PROVIDER_CODE_PROJECT'),
    providerRunner: s3Location('LOCKSTEP_SDK_PROVIDER_RUNNER_BUNDLE'),
    cdnBaseUrl: need('LOCKSTEP_CDN_BASE_URL'),
  });

  /** What the upload API, intake and steps handlers need. */
  const serviceDependencies = once((): SdkServiceDependencies => {
    const orchestrator = new StepFunctionsOrchestrator(clients.sfn, need('LOCKSTEP_SDK_STATE_MACHINE_ARN'));
    return {
      config: config(),
      store: sdkStore(),
      objects: objectStore(),
      notifier: new SnsSdkNotifier(clients.sns, need('LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN')),
      orchestrator,
      executions: orchestrator,
      clock,
      archiveLimits: archiveLimitsFromEnv(env),
      ...(env.LOCKSTEP_CDN_DISTRIBUTION_ID
        ? { cdn: new CloudFrontInvalidator(new CloudFrontClient({}), env.LOCKSTEP_CDN_DISTRIBUTION_ID) }
        : {}),
    };
  });

  const downloadDependencies = once((): DownloadDependencies => {
    const policyFile = need('LOCKSTEP_SDK_ACCESS_POLICY_FILE');
    let policy: unknown;
    try {
      policy = JSON.parse(readFileSync(policyFile, 'utf8'));
    } catch (cause) {
      throw new SdkServiceError(`Cannot read the access policy ${policyFile}: ${(cause as Error).message}`, { cause });
    }
    const access = AccessControl.parse(policy);
    const secretArn = need('LOCKSTEP_CLOUDFRONT_PRIVATE_KEY_SECRET_ARN');
    const keyPairId = need('LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID');
    const baseUrl = need('LOCKSTEP_CDN_BASE_URL');
    const reader = new SecretsManagerReader(clients.secretsManager);
    let signer: { pem: string; signer: CloudFrontUrlSigner } | undefined;
    const ttl = env.LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS;
    const ttlSeconds = ttl === undefined || ttl === '' ? DEFAULT_URL_TTL_SECONDS : Number(ttl);
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new RangeError(`LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS must be a positive number of seconds, not "${ttl}"`);
    return {
      store: sdkStore(),
      objects: objectStore(),
      config: { packageHostBucket: need('LOCKSTEP_PACKAGE_HOST_BUCKET') },
      access,
      ttlSeconds,
      clock,
      signer: async () => {
        // Re-parsed only when the secret's value changed (the reader caches it for five minutes).
        const pem = await reader.get(secretArn);
        if (signer?.pem !== pem)
          signer = { pem, signer: new CloudFrontUrlSigner({ keyPairId, privateKeyPem: pem, baseUrl }) };
        return signer.signer;
      },
    };
  });

  return { clock, sdkStore, objectStore, serviceDependencies, downloadDependencies };
}

export type SdkRuntime = ReturnType<typeof createSdkRuntime>;

/** The SDK runtime of this Lambda cold start: `process.env`, the default clients (traced), the wall clock. */
export const defaultSdkRuntime = once(() =>
  createSdkRuntime({ env: process.env, clients: traceAwsClients(defaultAwsClients()), clock: () => Date.now() }),
);

/** The default runtime's table, for the operator CLI (`lockstep sdk token`), which points process.env at its target. */
export const sdkStore = () => defaultSdkRuntime().sdkStore();
