import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import { createAwsClients, type AwsClients } from '../lambdas/adapters/aws-clients';
import type { CloudWatchClientTarget } from '../lambdas/adapters/cloudwatch-alarm-reader';
import { startAwsServer, type AwsServiceDefinition, type RunningAwsServer } from './aws-protocol/server';
import { systemClock, type Clock } from './clock';
import { LocalCloudWatch } from './cloudwatch/cloudwatch';
import { LocalCodeBuild } from './codebuild/codebuild';
import { LocalCodeCommit } from './codecommit/codecommit';
import {
  LOCAL_ARTIFACTS_BUCKET,
  LOCAL_REGION,
  LOCAL_TABLES,
  LOCAL_SECRETS,
  LOCAL_TOPICS,
  localTableName,
  promotionStateMachineName,
  stateMachineArn,
} from './constants';
import { LOCAL_CREDENTIALS } from './credentials';
import { startLocalDynamoDb, type LocalDynamoDb } from './dynamodb';
import { HttpFrontDoor } from './http/front-door';
import { localS3Client, startLocalS3, type LocalS3 } from './s3';
import { LocalSecretsManager } from './secrets/secrets-manager';
import { LocalSns } from './sns/sns';
import { LocalStepFunctions } from './stepfunctions/step-functions';

/**
 * Starts every local service local mode stands on, on free loopback ports, with all state under `dataDir`:
 * DynamoDB (DynamoDB Local or dynalite) with the tables created, S3 (s3rver) with the artifacts bucket, and the
 * Step Functions, CodeBuild, CodeCommit, SNS, Secrets Manager and CloudWatch (alarms) APIs, plus the HTTP front door
 * (routes registered later).
 *
 * The returned `clients` are AWS SDK clients bound to these services (the handlers' runtime is built on them), and
 * `env` is the runtime's variables: the SDK's per-service endpoint variables, path-style S3, S3 checksums only when
 * required, local credentials and region, and every `LOCKSTEP_*` resource name of docs/ARCHITECTURE.md except
 * `LOCKSTEP_PIPELINE_FILE` (the wiring step's). Nothing here writes `process.env`, so one process can run several.
 * Stopping and starting again on the same `dataDir` resumes: data, builds, executions (see
 * `stepFunctions.listInFlight()`), outbox, secrets and alarm states stay.
 *
 * @example
 * const services = await startLocalServices({ dataDir: '.lockstep' });
 * const runtime = createRuntime({ env: { ...services.env, LOCKSTEP_PIPELINE_FILE: file }, clients: services.clients, clock: () => services.clock.now() });
 * services.stepFunctions.registerFunction('lockstep-promotion-steps', createHandler(runtime.stepDependencies()));
 */
export interface LocalServicesOptions {
  readonly dataDir: string;
  /** Pipeline name, for the promotion state machine's name (`lockstep-<pipeline>-promotion`). @default 'local' */
  readonly pipelineName?: string;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default 'auto' (DynamoDB Local when Java works, else dynalite) */
  readonly javaPreference?: 'auto' | 'java' | 'dynalite';
  /** Step Functions retries without waiting (tests with a manual clock). @default false */
  readonly instantRetries?: boolean;
  /** Progress lines (startup time). @default console.log */
  readonly log?: (line: string) => void;
  /**
   * Port of the HTTP front door. Approval links carry it, so local mode asks for the port of its previous run to
   * keep links sent before a restart working. @default 0 (a free port)
   */
  readonly httpPort?: number;
}

export interface LocalServiceEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
  readonly stepFunctions: string;
  readonly codeBuild: string;
  /** CodeCommit's GetBranch/GetCommit over the git repositories in `<dataDir>/repos/`. */
  readonly codeCommit: string;
  readonly sns: string;
  readonly secretsManager: string;
  /** CloudWatch alarms (`local/cloudwatch/cloudwatch.ts`): the bake reads them, `lockstep alarm set` flips them. */
  readonly cloudWatch: string;
  /** Base URL of the HTTP front door (webhooks, approval pages). */
  readonly http: string;
}

export interface LocalResourceNames {
  /** Logical table name (`Revisions`) -> physical name. */
  readonly tables: Readonly<Record<string, string>>;
  readonly artifactsBucket: string;
  readonly approvalTopicArn: string;
  readonly notificationTopicArn: string;
  readonly webhookSecretArn: string;
  readonly approvalSigningSecretArn: string;
  /** Name to register the promotion state machine under (`lockstep-<pipeline>-promotion`, as the CDK names it). */
  readonly promotionStateMachineName: string;
  /** The ARN it gets once registered under that name. */
  readonly promotionStateMachineArn: string;
  readonly approvalBaseUrl: string;
  readonly webhookUrl: string;
  /** Where the sample app's deploy script writes (`LOCKSTEP_DEPLOY_ROOT` in builds). */
  readonly deployRoot: string;
}

export interface LocalServices {
  readonly dataDir: string;
  readonly clock: Clock;
  readonly endpoints: LocalServiceEndpoints;
  readonly names: LocalResourceNames;
  readonly env: Readonly<Record<string, string>>;
  readonly dynamodb: LocalDynamoDb;
  readonly s3: LocalS3;
  readonly stepFunctions: LocalStepFunctions;
  readonly codeBuild: LocalCodeBuild;
  readonly sns: LocalSns;
  readonly secrets: LocalSecretsManager;
  readonly cloudWatch: LocalCloudWatch;
  readonly http: HttpFrontDoor;
  /** AWS SDK clients bound to these services, destroyed by `stop()`. */
  readonly clients: AwsClients;
  /**
   * CloudWatch clients for the bake's `CloudWatchAlarmReader` (`clientFor`): every region and role reaches the one
   * local CloudWatch with the local credentials (there is no STS here); destroyed by `stop()`.
   */
  readonly cloudWatchFor: (target: CloudWatchClientTarget) => CloudWatchClient;
  /** Milliseconds from the call to everything listening. */
  readonly startupMs: number;
  /** Copies `env` into `target` (process.env by default), for code that reads its settings from the environment. */
  applyEnvironment(target?: NodeJS.ProcessEnv): void;
  stop(): Promise<void>;
}

export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const started = Date.now();
  const dataDir = resolve(options.dataDir);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((line: string) => console.log(line));
  await mkdir(dataDir, { recursive: true });
  const stops = new StopList();

  // DynamoDB Local's JVM is the slow one: everything that does not need it starts meanwhile.
  const dynamodbStarting = startLocalDynamoDb({ dataDir, javaPreference: options.javaPreference ?? 'auto' });
  // Registered at once, so a failure elsewhere during startup still stops the JVM once it is up.
  stops.push(() =>
    dynamodbStarting.then(
      (db) => db.stop(),
      () => undefined,
    ),
  );
  try {
    const storage = await startStorage(dataDir, stops);
    const messaging = await startMessaging(dataDir, clock);
    const http = new HttpFrontDoor({ port: options.httpPort ?? 0 });
    const httpUrl = await http.start();
    stops.push(() => http.stop());
    const names = resourceNames({ httpUrl, dataDir, pipelineName: options.pipelineName ?? 'local', ...messaging });
    const api = await startApiServers(messaging, dataDir, stops);
    const dynamodb = await dynamodbStarting;
    const endpoints: LocalServiceEndpoints = {
      dynamodb: dynamodb.endpoint,
      s3: storage.s3.endpoint,
      ...api.endpoints,
      http: httpUrl,
    };
    const awsEnv = localAwsEnvironment(endpoints);
    const codeBuild = await openCodeBuild({
      dataDir,
      clock,
      s3: storage.s3Client,
      secrets: messaging.secrets,
      awsEnv,
      deployRoot: names.deployRoot,
    });
    api.bind.codeBuild(codeBuild);
    stops.push(() => codeBuild.close());
    const stepFunctions = await LocalStepFunctions.open({
      dataDir,
      clock,
      codeBuild,
      instantRetries: options.instantRetries ?? false,
    });
    api.bind.stepFunctions(stepFunctions);
    stops.push(() => stepFunctions.close());
    const clients = localAwsClients(endpoints);
    const cloudWatchClients: CloudWatchClient[] = [];
    const cloudWatchFor = (target: CloudWatchClientTarget) => {
      const client = new CloudWatchClient({
        endpoint: endpoints.cloudWatch,
        region: target.region ?? LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      cloudWatchClients.push(client);
      return client;
    };
    stops.push(async () => {
      for (const client of Object.values(clients) as { destroy(): void }[]) client.destroy();
      for (const client of cloudWatchClients.splice(0)) client.destroy();
    });
    const env = handlerEnvironment(names, awsEnv);

    const startupMs = Date.now() - started;
    log(`[local] services ready in ${startupMs} ms (DynamoDB: ${dynamodb.backend}, data in ${dataDir})`);
    return {
      dataDir,
      clock,
      endpoints,
      names,
      env,
      dynamodb,
      s3: storage.s3,
      stepFunctions,
      codeBuild,
      sns: messaging.sns,
      secrets: messaging.secrets,
      cloudWatch: messaging.cloudWatch,
      http,
      clients,
      cloudWatchFor,
      startupMs,
      applyEnvironment: (target = process.env) => void Object.assign(target, env),
      stop: () => stops.stopAll(),
    };
  } catch (error) {
    await stops.stopAll();
    throw error;
  }
}

/** What to stop, stopped in reverse order of starting; a second `stopAll()` finds nothing left. */
class StopList {
  private readonly stops: Array<() => Promise<void>> = [];

  push(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }

  async stopAll(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        console.error('[local] a service did not stop cleanly:', error);
      }
    }
  }
}

/** S3 (s3rver) with the artifacts bucket, and the client the in-process services use. */
async function startStorage(dataDir: string, stops: StopList): Promise<{ s3: LocalS3; s3Client: S3Client }> {
  const s3 = await startLocalS3({ dataDir, buckets: [LOCAL_ARTIFACTS_BUCKET] });
  stops.push(() => s3.stop());
  const s3Client = localS3Client(s3.endpoint);
  stops.push(async () => s3Client.destroy());
  return { s3, s3Client };
}

/**
 * Secrets Manager (with the webhook and approval-signing secrets), SNS (with its two topics) and CloudWatch (the
 * alarms of `<dataDir>/cloudwatch-alarms.json`).
 */
async function startMessaging(dataDir: string, clock: Clock) {
  const [secrets, sns, cloudWatch] = await Promise.all([
    LocalSecretsManager.open({ dataDir, generate: [LOCAL_SECRETS.webhook, LOCAL_SECRETS.approvalSigning] }),
    LocalSns.open({ dataDir, now: () => clock.now() }),
    LocalCloudWatch.open({ dataDir, now: () => clock.now() }),
  ]);
  const approvalTopicArn = await sns.createTopic(LOCAL_TOPICS.approvals);
  const notificationTopicArn = await sns.createTopic(LOCAL_TOPICS.notifications);
  return { secrets, sns, cloudWatch, approvalTopicArn, notificationTopicArn };
}

function resourceNames(input: {
  httpUrl: string;
  dataDir: string;
  pipelineName: string;
  secrets: LocalSecretsManager;
  approvalTopicArn: string;
  notificationTopicArn: string;
}): LocalResourceNames {
  return {
    tables: Object.fromEntries(LOCAL_TABLES.map((t) => [t.logicalName, localTableName(t)])),
    artifactsBucket: LOCAL_ARTIFACTS_BUCKET,
    approvalTopicArn: input.approvalTopicArn,
    notificationTopicArn: input.notificationTopicArn,
    webhookSecretArn: input.secrets.arnOf(LOCAL_SECRETS.webhook),
    approvalSigningSecretArn: input.secrets.arnOf(LOCAL_SECRETS.approvalSigning),
    promotionStateMachineName: promotionStateMachineName(input.pipelineName),
    promotionStateMachineArn: stateMachineArn(promotionStateMachineName(input.pipelineName)),
    approvalBaseUrl: `${input.httpUrl}/approvals`,
    webhookUrl: `${input.httpUrl}/webhooks/github`,
    deployRoot: join(input.dataDir, 'deployments'),
  };
}

/**
 * The Step Functions, CodeBuild, CodeCommit, SNS, Secrets Manager and CloudWatch API servers. Builds need every endpoint in
 * their environment, the CodeBuild one included, so the Step Functions and CodeBuild servers listen first and find
 * their service at request time, once `bind` hands it over. CodeCommit serves GetBranch/GetCommit over the git
 * repositories in `<dataDir>/repos/`.
 */
async function startApiServers(
  messaging: { sns: LocalSns; secrets: LocalSecretsManager; cloudWatch: LocalCloudWatch },
  dataDir: string,
  stops: StopList,
) {
  const bound: { codeBuild?: LocalCodeBuild; stepFunctions?: LocalStepFunctions } = {};
  const serve = async (definition: AwsServiceDefinition): Promise<RunningAwsServer> => {
    const server = await startAwsServer(definition);
    stops.push(() => server.close());
    return server;
  };
  const lateDefinition = (
    serviceName: string,
    protocol: 'awsJson1_0' | 'awsJson1_1',
    targetPrefix: string,
    get: () => { definition(): AwsServiceDefinition } | undefined,
  ): AwsServiceDefinition => ({
    serviceName,
    protocol,
    targetPrefix,
    get operations() {
      return get()?.definition().operations ?? {};
    },
  });
  const [sfnServer, codeBuildServer, snsServer, secretsServer, codeCommitServer, cloudWatchServer] = await Promise.all([
    serve(lateDefinition('Step Functions', 'awsJson1_0', 'AWSStepFunctions', () => bound.stepFunctions)),
    serve(lateDefinition('CodeBuild', 'awsJson1_1', 'CodeBuild_20161006', () => bound.codeBuild)),
    serve(messaging.sns.definition()),
    serve(messaging.secrets.definition()),
    serve(new LocalCodeCommit(join(dataDir, 'repos')).definition()),
    serve(messaging.cloudWatch.definition()),
  ]);
  return {
    endpoints: {
      stepFunctions: sfnServer.endpoint,
      codeBuild: codeBuildServer.endpoint,
      codeCommit: codeCommitServer.endpoint,
      sns: snsServer.endpoint,
      secretsManager: secretsServer.endpoint,
      cloudWatch: cloudWatchServer.endpoint,
    },
    bind: {
      codeBuild: (service: LocalCodeBuild) => void (bound.codeBuild = service),
      stepFunctions: (service: LocalStepFunctions) => void (bound.stepFunctions = service),
    },
  };
}

/**
 * What AWS SDK code run by local mode (builds, the operator CLI) needs to reach the local services: endpoints,
 * credentials, region, path-style S3, and the SDK's standard switch for S3 checksums only where an operation
 * requires them (s3rver stores the aws-chunked framing of a checksummed streaming upload). On AWS none of this is
 * set, so the SDK keeps its default integrity checks.
 */
export function localAwsEnvironment(endpoints: Omit<LocalServiceEndpoints, 'http'>): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SFN: endpoints.stepFunctions,
    AWS_ENDPOINT_URL_CODEBUILD: endpoints.codeBuild,
    AWS_ENDPOINT_URL_CODECOMMIT: endpoints.codeCommit,
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    AWS_ENDPOINT_URL_CLOUDWATCH: endpoints.cloudWatch,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    LOCKSTEP_S3_FORCE_PATH_STYLE: 'true',
  };
}

/** The handlers' AWS clients, bound to the local services: the s3rver workarounds are applied here and only here. */
export function localAwsClients(endpoints: Omit<LocalServiceEndpoints, 'http'>): AwsClients {
  return createAwsClients({
    endpoints: {
      dynamodb: endpoints.dynamodb,
      s3: endpoints.s3,
      sfn: endpoints.stepFunctions,
      codebuild: endpoints.codeBuild,
      codecommit: endpoints.codeCommit,
      sns: endpoints.sns,
      secretsManager: endpoints.secretsManager,
    },
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    s3ForcePathStyle: true,
    s3ChecksumsWhenRequired: true,
  });
}

/** Builds get the same endpoints and credentials, so build commands that use an AWS SDK reach local services. */
function openCodeBuild(input: {
  dataDir: string;
  clock: Clock;
  s3: S3Client;
  secrets: LocalSecretsManager;
  awsEnv: Record<string, string>;
  deployRoot: string;
}) {
  return LocalCodeBuild.open({
    dataDir: input.dataDir,
    s3: input.s3,
    now: () => input.clock.now(),
    resolveSecret: (id) => input.secrets.valueOf(id),
    baseEnvironment: {
      ...pickEnv(['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER', 'TERM']),
      ...input.awsEnv,
      LOCKSTEP_DEPLOY_ROOT: input.deployRoot,
    },
  });
}

/** The handlers' variables: the AWS ones and every `LOCKSTEP_*` name but the pipeline file. */
function handlerEnvironment(names: LocalResourceNames, awsEnv: Record<string, string>): Record<string, string> {
  return {
    ...awsEnv,
    ...Object.fromEntries(LOCAL_TABLES.map((t) => [t.envVar, names.tables[t.logicalName]!])),
    LOCKSTEP_ARTIFACTS_BUCKET: names.artifactsBucket,
    LOCKSTEP_APPROVAL_TOPIC_ARN: names.approvalTopicArn,
    LOCKSTEP_NOTIFICATION_TOPIC_ARN: names.notificationTopicArn,
    LOCKSTEP_PROMOTION_STATE_MACHINE_ARN: names.promotionStateMachineArn,
    LOCKSTEP_WEBHOOK_SECRET_ARN: names.webhookSecretArn,
    LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN: names.approvalSigningSecretArn,
    LOCKSTEP_APPROVAL_BASE_URL: names.approvalBaseUrl,
    LOCKSTEP_DEPLOY_ROOT: names.deployRoot,
    POWERTOOLS_SERVICE_NAME: 'lockstep-local',
    POWERTOOLS_METRICS_NAMESPACE: 'LockstepLocal',
  };
}

function pickEnv(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => process.env[n] !== undefined).map((n) => [n, process.env[n]!]));
}
