/**
 * Composition root of the SDK handlers: the adapters built once per cold start from the environment
 * (ARCHITECTURE.md "SDK publishing"), each getter on first use so a handler needs only the variables it uses.
 */
import { readFileSync } from 'node:fs';
import { s3, secretsManager, sfn, sns, dynamodb } from './aws-clients';
import { now } from './clock';
import { SecretsManagerReader } from './secrets-manager-reader';
import { StepFunctionsOrchestrator } from './sfn-orchestrator';
import { requireEnv } from '../core/errors';
import { AccessControl } from '../sdk/host/acl';
import { DEFAULT_URL_TTL_SECONDS } from '../sdk/host/download';
import { CloudFrontUrlSigner } from '../sdk/host/signer';
import { DynamoSdkStore } from './dynamo-sdk-store';
import { archiveLimitsFromEnv } from '../sdk/service/archive-limits';
import { S3ObjectStore } from './s3-object-store';
import { SnsSdkNotifier } from './sns-sdk-notifier';
import type { SdkServiceConfig, SdkServiceDependencies } from '../sdk/service/dependencies';
import { SdkServiceError } from '../sdk/service/errors';

function once<T>(build: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: build() }).v;
}

export const sdkStore = once(() => new DynamoSdkStore(dynamodb, requireEnv('LOCKSTEP_SDK_TABLE')));
export const objectStore = once(() => new S3ObjectStore(s3));

const config = (): SdkServiceConfig => ({
  hostBucket: requireEnv('LOCKSTEP_SDK_HOST_BUCKET'),
  stagingBucket: requireEnv('LOCKSTEP_SDK_STAGING_BUCKET'),
  packageHostBucket: requireEnv('LOCKSTEP_PACKAGE_HOST_BUCKET'),
  testerProject: requireEnv('LOCKSTEP_SDK_TESTER_PROJECT'),
});

/** What the upload API, intake and steps handlers need. */
export const serviceDependencies = once(
  (): SdkServiceDependencies => ({
    config: config(),
    store: sdkStore(),
    objects: objectStore(),
    notifier: new SnsSdkNotifier(sns, requireEnv('LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN')),
    orchestrator: new StepFunctionsOrchestrator(sfn, requireEnv('LOCKSTEP_SDK_STATE_MACHINE_ARN')),
    clock: now,
    archiveLimits: archiveLimitsFromEnv(),
  }),
);

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

export const downloadDependencies = once((): DownloadDependencies => {
  const policyFile = requireEnv('LOCKSTEP_SDK_ACCESS_POLICY_FILE');
  let policy: unknown;
  try {
    policy = JSON.parse(readFileSync(policyFile, 'utf8'));
  } catch (cause) {
    throw new SdkServiceError(`Cannot read the access policy ${policyFile}: ${(cause as Error).message}`, { cause });
  }
  const access = AccessControl.parse(policy);
  const secretArn = requireEnv('LOCKSTEP_CLOUDFRONT_PRIVATE_KEY_SECRET_ARN');
  const keyPairId = requireEnv('LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID');
  const baseUrl = requireEnv('LOCKSTEP_CDN_BASE_URL');
  const reader = new SecretsManagerReader(secretsManager);
  let signer: { pem: string; signer: CloudFrontUrlSigner } | undefined;
  const ttl = process.env.LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS;
  const ttlSeconds = ttl === undefined || ttl === '' ? DEFAULT_URL_TTL_SECONDS : Number(ttl);
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS must be a positive number of seconds, not "${ttl}"`);
  return {
    store: sdkStore(),
    objects: objectStore(),
    config: { packageHostBucket: requireEnv('LOCKSTEP_PACKAGE_HOST_BUCKET') },
    access,
    ttlSeconds,
    clock: now,
    signer: async () => {
      // Re-parsed only when the secret's value changed (the reader caches it for five minutes).
      const pem = await reader.get(secretArn);
      if (signer?.pem !== pem) signer = { pem, signer: new CloudFrontUrlSigner({ keyPairId, privateKeyPem: pem, baseUrl }) };
      return signer.signer;
    },
  };
});
