/**
 * The SDK half of local mode: the same handlers, state machine and tester as on AWS, wired onto the local services
 * (`startLocalServices`). The `npm start` assembly calls `startSdkPublishing(services)`; the SDK handlers are
 * created on a runtime of their own (the services' clients, the variables below, the services' clock), so nothing
 * goes through `process.env` and several local systems can run in one process.
 *
 * What it sets up, all state under `<dataDir>`:
 * - buckets `lockstep-sdk-host`, `lockstep-sdk-staging`, `lockstep-package-host` on the local S3, the topic
 *   `lockstep-sdk-notifications` (messages land in the outbox);
 * - a CloudFront key pair, generated on first start (`sdk/cloudfront-private-key.pem`, 600, also stored as the
 *   secret `lockstep/sdk-cloudfront-private-key`; `sdk/cloudfront-public-key.pem`), and the local edge that
 *   verifies signed URLs with that public key;
 * - an access policy (`sdk/access-policy.json`, created on first start, edit it freely): group `employees` limited
 *   to this machine's loopback addresses, group `partners` unrestricted; private -> employees, early-access ->
 *   employees and partners;
 * - the `LOCKSTEP_SDK_*` variables (ARCHITECTURE.md) of the SDK runtime, the SDK handlers, the state machine
 *   `lockstep-sdk-publishing` (same ASL), the routes `POST /sdk/uploads`, `POST /sdk/uploads/{uploadId}/complete`,
 *   `GET /sdk/status`, `GET /sdk/index`, `GET /sdk/download/{name}/{version}` on the HTTP front door;
 * - the tester project `lockstep-sdk-tester`: the tester CLI bundled with esbuild into `tester.mjs`, zipped to
 *   `s3://lockstep-sdk-staging/tester/source.zip` as its source, the same buildspec object as on AWS; and the
 *   provider-code project `lockstep-sdk-provider-code` (no source; its runner bundle at
 *   `s3://lockstep-sdk-staging/tester/provider-runner.mjs`, presigned by the stage step);
 * - demo tokens (a provider for every SDK, an employee and a partner consumer) and `sdk-endpoints.json` for the CLI;
 * - the intake poll (S3 has no events locally: the upload API's completion signal starts intake at once, plain
 *   puts are found by the poll) and resumption of SDK executions cut short by a restart.
 */
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import yazl from 'yazl';
import { createHandler as createDownloadApi } from '../../lambdas/handlers/sdk-download-api';
import { createHandler as createIntake } from '../../lambdas/handlers/sdk-intake';
import { createHandler as createSdkSteps } from '../../lambdas/handlers/sdk-steps';
import { createHandler as createUploadApi } from '../../lambdas/handlers/sdk-upload-api';
import { CloudFrontUrlVerifier } from '../../lambdas/sdk/host/verify';
import * as credentials from '../../lambdas/sdk/service/credentials';
import { PROVIDER_RUNNER_KEY, TESTER_SOURCE_KEY } from '../../lambdas/sdk/service/keys';
import { createSdkRuntime } from '../../lambdas/adapters/sdk-runtime';
import type { SdkStore } from '../../lambdas/ports/sdk';
import {
  PROVIDER_CODE_BUILDSPEC,
  PROVIDER_RUNNER_BUNDLE_FILE,
  TESTER_BUILDSPEC,
  TESTER_BUNDLE_FILE,
} from '../../lambdas/sdk/tester/buildspec';
import {
  prebuiltProviderRunnerBundle,
  prebuiltTesterBundle,
  providerRunnerBundleOptions,
  testerBundleOptions,
} from '../../lib/sdk-tester-bundle';
import { lambdaArn, LOCAL_REGION, stateMachineArn } from '../constants';
import { readJsonIfExists, writeJsonAtomic } from '../files';
import type { LocalServices } from '../runtime';
import { localS3Client } from '../s3';
import type { LocalFunctionHandler } from '../stepfunctions/step-functions';
import { readLocalSdkEndpoints, writeLocalSdkEndpoints, type LocalSdkEndpoints } from './connection';
import { LocalEdge } from './edge';

export const LOCAL_SDK_NAMES = {
  hostBucket: 'lockstep-sdk-host',
  stagingBucket: 'lockstep-sdk-staging',
  packageHostBucket: 'lockstep-package-host',
  topic: 'lockstep-sdk-notifications',
  stateMachine: 'lockstep-sdk-publishing',
  stepsFunction: 'lockstep-sdk-steps',
  testerProject: 'lockstep-sdk-tester',
  providerCodeProject: 'lockstep-sdk-provider-code',
  signingKeySecret: 'lockstep/sdk-cloudfront-private-key',
} as const;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ASL_FILE = join(ROOT, 'statemachines', 'sdk-publishing.asl.json');

export interface SdkPublishingOptions {
  /** How often the intake poll runs (0: never; call `poll()`). @default 60_000 */
  readonly pollIntervalMs?: number;
  /** Lifetime of signed URLs. @default 300 seconds */
  readonly signedUrlTtlSeconds?: number;
  /** @default console.log */
  readonly log?: (line: string) => void;
}

export interface LocalSdkPublishing {
  readonly endpoints: LocalSdkEndpoints;
  readonly names: typeof LOCAL_SDK_NAMES & {
    readonly table: string;
    readonly stateMachineArn: string;
    readonly topicArn: string;
  };
  /** Runs the intake poll now (uploads in the SDK host, waiting packages, unfinished publications). */
  poll(): Promise<unknown>;
  stop(): Promise<void>;
}

interface KeyPairFile {
  readonly keyPairId: string;
}

export async function startSdkPublishing(
  services: LocalServices,
  options: SdkPublishingOptions = {},
): Promise<LocalSdkPublishing> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = join(services.dataDir, 'sdk');
  await mkdir(dir, { recursive: true });
  // The tester runs provider code as nobody; the data folder holds every vendor's packages (s3rver's files), the
  // secrets and the builds, so only this user may enter it.
  await chmod(services.dataDir, 0o700);
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse())
      await s().catch((error: unknown) => console.error('[local sdk] did not stop cleanly:', error));
  };

  try {
    const s3 = localS3Client(services.endpoints.s3);
    stops.push(async () => s3.destroy());
    for (const bucket of [
      LOCAL_SDK_NAMES.hostBucket,
      LOCAL_SDK_NAMES.stagingBucket,
      LOCAL_SDK_NAMES.packageHostBucket,
    ]) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: Error) => {
        if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
      });
    }
    const topicArn = await services.sns.createTopic(LOCAL_SDK_NAMES.topic);

    const keys = await signingKeys(services, dir);
    const policyFile = join(dir, 'access-policy.json');
    if (!existsSync(policyFile)) {
      await writeJsonAtomic(policyFile, {
        groups: { employees: { ipRanges: ['127.0.0.0/8', '::1/128'] }, partners: {} },
        tiers: { private: ['employees'], 'early-access': ['employees', 'partners'] },
        grants: {},
      });
    }

    // The edge on the previous run's port when it is free, as the HTTP front door does: signed URLs and podspec
    // URLs issued before a restart carry it.
    const edgeOptions = {
      s3,
      bucket: LOCAL_SDK_NAMES.packageHostBucket,
      verifier: new CloudFrontUrlVerifier({ [keys.keyPairId]: keys.publicKeyPem }),
      now: () => services.clock.now(),
    };
    const previousPort = portOf(readLocalSdkEndpoints(services.dataDir)?.edge);
    let edge = new LocalEdge({ ...edgeOptions, port: previousPort });
    let edgeUrl: string;
    try {
      edgeUrl = await edge.start();
    } catch (error) {
      if (previousPort === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      log(
        `[local sdk] port ${previousPort} of the previous run's edge is taken; signed URLs issued before this restart need the new port`,
      );
      edge = new LocalEdge({ ...edgeOptions, port: 0 });
      edgeUrl = await edge.start();
    }
    stops.push(() => edge.stop());

    const table = services.names.tables.Sdk;
    if (table === undefined)
      throw new Error('The local services created no Sdk table (lambdas/core/tables.ts SDK_TABLES)');
    const machineArn = stateMachineArn(LOCAL_SDK_NAMES.stateMachine);
    const runtime = createSdkRuntime({
      env: {
        ...services.env,
        LOCKSTEP_SDK_TABLE: table,
        LOCKSTEP_SDK_HOST_BUCKET: LOCAL_SDK_NAMES.hostBucket,
        LOCKSTEP_SDK_STAGING_BUCKET: LOCAL_SDK_NAMES.stagingBucket,
        LOCKSTEP_PACKAGE_HOST_BUCKET: LOCAL_SDK_NAMES.packageHostBucket,
        LOCKSTEP_SDK_STATE_MACHINE_ARN: machineArn,
        LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN: topicArn,
        LOCKSTEP_SDK_TESTER_PROJECT: LOCAL_SDK_NAMES.testerProject,
        LOCKSTEP_SDK_PROVIDER_CODE_PROJECT: LOCAL_SDK_NAMES.providerCodeProject,
        LOCKSTEP_SDK_PROVIDER_RUNNER_BUNDLE: `s3://${LOCAL_SDK_NAMES.stagingBucket}/${PROVIDER_RUNNER_KEY}`,
        LOCKSTEP_CDN_BASE_URL: edgeUrl,
        LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID: keys.keyPairId,
        LOCKSTEP_CLOUDFRONT_PRIVATE_KEY_SECRET_ARN: services.secrets.arnOf(LOCAL_SDK_NAMES.signingKeySecret),
        LOCKSTEP_SDK_ACCESS_POLICY_FILE: policyFile,
        LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS: String(options.signedUrlTtlSeconds ?? 300),
      },
      clients: services.clients,
      clock: () => services.clock.now(),
    });
    const uploadApi = createUploadApi(runtime.serviceDependencies());
    const downloadApi = createDownloadApi(runtime.downloadDependencies());
    const intake = createIntake(runtime.serviceDependencies());
    const steps = createSdkSteps(runtime.serviceDependencies());
    services.stepFunctions.registerFunction(LOCAL_SDK_NAMES.stepsFunction, steps as LocalFunctionHandler);
    services.stepFunctions.registerStateMachine({
      name: LOCAL_SDK_NAMES.stateMachine,
      definition: { file: ASL_FILE },
      substitutions: { SdkStepsFunctionArn: lambdaArn(LOCAL_SDK_NAMES.stepsFunction) },
    });

    const upload = (event: APIGatewayProxyEventV2, context: Context) => uploadApi(event, context);
    const download = (event: APIGatewayProxyEventV2, context: Context) => downloadApi(event, context);
    services.http.registerRoute('POST', '/sdk/uploads', upload);
    services.http.registerRoute('POST', '/sdk/uploads/{uploadId}/complete', upload);
    services.http.registerRoute('GET', '/sdk/status', upload);
    services.http.registerRoute('GET', '/sdk/index', download);
    services.http.registerRoute('GET', '/sdk/download/{name}/{version}', download);

    await registerTester(services, s3, dir);

    const endpoints = await demoCredentials(services, dir, edgeUrl, runtime.sdkStore());
    await writeLocalSdkEndpoints(services.dataDir, endpoints);

    const context = { awsRequestId: 'local-poll', functionName: 'lockstep-sdk-intake' } as Context;
    let polling: Promise<unknown> | undefined;
    const poll = () => (polling ??= Promise.resolve(intake({}, context)).finally(() => (polling = undefined)));
    const interval = options.pollIntervalMs ?? 60_000;
    if (interval > 0) {
      const timer = setInterval(
        () => void poll().catch((error: unknown) => log(`[local sdk] intake poll failed: ${(error as Error).message}`)),
        interval,
      );
      timer.unref();
      stops.push(async () => clearInterval(timer));
    }
    stops.push(async () => {
      // Only waits for the poll under way to end; a failed poll was logged by the timer above.
      await polling?.catch(() => undefined);
    });

    for (const record of services.stepFunctions.listInFlight().filter((r) => r.stateMachineArn === machineArn)) {
      log(`[local sdk] resuming ${record.name}`);
      services.stepFunctions.resume(record.name);
    }
    log(`[local sdk] SDK publishing ready: API ${services.endpoints.http}/sdk, edge ${edgeUrl}`);
    return {
      endpoints,
      names: { ...LOCAL_SDK_NAMES, table, stateMachineArn: machineArn, topicArn },
      poll,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The CloudFront key pair: generated once, the private key kept as a local secret as on AWS. */
async function signingKeys(services: LocalServices, dir: string): Promise<{ keyPairId: string; publicKeyPem: string }> {
  const privateFile = join(dir, 'cloudfront-private-key.pem');
  const publicFile = join(dir, 'cloudfront-public-key.pem');
  const idFile = join(dir, 'cloudfront-key-pair.json');
  if (!existsSync(privateFile) || !existsSync(publicFile) || !existsSync(idFile)) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(privateFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(publicFile, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    const id = `K${Array.from({ length: 13 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[Math.floor(Math.random() * 32)]).join('')}`;
    await writeJsonAtomic(idFile, { keyPairId: id } satisfies KeyPairFile);
  }
  const privateKeyPem = readFileSync(privateFile, 'utf8');
  const secretsFile = join(services.dataDir, 'secrets.json');
  const secrets = (await readJsonIfExists<Record<string, { value: string }>>(secretsFile)) ?? {};
  if (secrets[LOCAL_SDK_NAMES.signingKeySecret]?.value !== privateKeyPem) {
    secrets[LOCAL_SDK_NAMES.signingKeySecret] = { value: privateKeyPem };
    await writeJsonAtomic(secretsFile, secrets, 0o600);
    await services.secrets.reload();
  }
  const { keyPairId } = JSON.parse(readFileSync(idFile, 'utf8')) as KeyPairFile;
  return { keyPairId, publicKeyPem: readFileSync(publicFile, 'utf8') };
}

/**
 * Bundles the tester and the provider-code runner as the construct does, uploads them (the tester zip as its
 * project's source, the runner for the stage step to presign) and registers both projects. The provider-code
 * project has no source and, as on AWS, reaches its inputs only through presigned URLs; locally it runs provider
 * code as nobody without network (root can create network namespaces here).
 */
async function registerTester(
  services: LocalServices,
  s3: ReturnType<typeof localS3Client>,
  dir: string,
): Promise<void> {
  const outDir = join(dir, 'tester');
  const outfile = join(outDir, TESTER_BUNDLE_FILE);
  const runnerFile = join(outDir, PROVIDER_RUNNER_BUNDLE_FILE);
  const prebuilt = prebuiltTesterBundle();
  const prebuiltRunner = prebuiltProviderRunnerBundle();
  // An installed package ships the bundles prebuilt and has no esbuild; a clone bundles the source.
  if (prebuilt && prebuiltRunner) {
    mkdirSync(outDir, { recursive: true });
    copyFileSync(prebuilt, outfile);
    copyFileSync(prebuiltRunner, runnerFile);
  } else {
    const { build } = await import('esbuild');
    await build({ ...testerBundleOptions(outDir), minify: false });
    await build({ ...providerRunnerBundleOptions(outDir), minify: false });
  }
  const zip = new yazl.ZipFile();
  zip.addFile(outfile, TESTER_BUNDLE_FILE);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  await s3.send(
    new PutObjectCommand({
      Bucket: LOCAL_SDK_NAMES.stagingBucket,
      Key: TESTER_SOURCE_KEY,
      Body: body,
      ContentLength: body.length,
      ContentType: 'application/zip',
    }),
  );
  const runner = readFileSync(runnerFile);
  await s3.send(
    new PutObjectCommand({
      Bucket: LOCAL_SDK_NAMES.stagingBucket,
      Key: PROVIDER_RUNNER_KEY,
      Body: runner,
      ContentLength: runner.length,
      ContentType: 'text/javascript',
    }),
  );
  services.codeBuild.registerProject({
    name: LOCAL_SDK_NAMES.testerProject,
    buildspec: TESTER_BUILDSPEC,
    source: { type: 'S3', location: `${LOCAL_SDK_NAMES.stagingBucket}/${TESTER_SOURCE_KEY}` },
    environmentVariables: {
      LOCKSTEP_SDK_STAGING_BUCKET: LOCAL_SDK_NAMES.stagingBucket,
      LOCKSTEP_PACKAGE_HOST_BUCKET: LOCAL_SDK_NAMES.packageHostBucket,
      AWS_REGION: LOCAL_REGION,
    },
    timeoutInMinutes: 30,
  });
  services.codeBuild.registerProject({
    name: LOCAL_SDK_NAMES.providerCodeProject,
    buildspec: PROVIDER_CODE_BUILDSPEC,
    timeoutInMinutes: 30,
  });
}

/** Tokens for the demo, issued once and kept (mode 600) so a restart keeps them valid. */
async function demoCredentials(
  services: LocalServices,
  dir: string,
  edge: string,
  store: SdkStore,
): Promise<LocalSdkEndpoints> {
  const file = join(dir, 'tokens.json');
  let tokens = await readJsonIfExists<{ provider: string; consumer: string; partner: string }>(file);
  // Issued again when the table no longer knows them (its data folder was removed).
  if (tokens === undefined || (await store.getCredential(credentials.hashToken(tokens.provider))) === undefined) {
    const now = new Date(services.clock.now());
    tokens = {
      provider: (
        await credentials.issueToken(store, {
          id: 'local-provider',
          roles: ['provider', 'consumer'],
          sdks: ['*'],
          groups: ['employees'],
          now,
        })
      ).token,
      consumer: (
        await credentials.issueToken(store, { id: 'local-employee', roles: ['consumer'], groups: ['employees'], now })
      ).token,
      partner: (
        await credentials.issueToken(store, { id: 'local-partner', roles: ['consumer'], groups: ['partners'], now })
      ).token,
    };
    await writeJsonAtomic(file, tokens, 0o600);
  }
  return {
    api: services.endpoints.http,
    edge,
    providerToken: tokens.provider,
    consumerToken: tokens.consumer,
    partnerToken: tokens.partner,
  };
}

/** The port of a loopback URL written by an earlier run, or 0 (any free port). */
function portOf(url: string | undefined): number {
  if (url === undefined) return 0;
  try {
    return Number(new URL(url).port) || 0;
  } catch {
    return 0;
  }
}
