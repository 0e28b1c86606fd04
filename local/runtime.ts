import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startAwsServer, type AwsServiceDefinition } from './aws-protocol/server';
import { systemClock, type Clock } from './clock';
import { LocalCodeBuild } from './codebuild/codebuild';
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
import { LocalCodeCommit } from './codecommit/codecommit';
import { LocalSns } from './sns/sns';
import { LocalStepFunctions } from './stepfunctions/step-functions';

/**
 * Starts every local service local mode stands on, on free loopback ports, with all state under `dataDir`:
 * DynamoDB (DynamoDB Local or dynalite) with the tables created, S3 (s3rver) with the artifacts bucket, and the
 * Step Functions, CodeBuild, SNS and Secrets Manager APIs, plus the HTTP front door (routes registered later).
 *
 * The returned `env` is what handler modules need before they are imported: the SDK's per-service endpoint
 * variables, path-style S3, local credentials and region, and every `LOCKSTEP_*` resource name of
 * docs/ARCHITECTURE.md except `LOCKSTEP_PIPELINE_FILE` (the wiring step's). Stopping and starting again on the
 * same `dataDir` resumes: data, builds, executions (see `stepFunctions.listInFlight()`), outbox and secrets stay.
 *
 * @example
 * const services = await startLocalServices({ dataDir: '.lockstep' });
 * services.applyEnvironment();
 * const { handler } = await import('../lambdas/handlers/promotion-steps');
 * services.stepFunctions.registerFunction('lockstep-promotion-steps', handler);
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
  readonly http: HttpFrontDoor;
  /** Milliseconds from the call to everything listening. */
  readonly startupMs: number;
  /** Copies `env` into `target` (process.env by default). Do it before importing handler modules. */
  applyEnvironment(target?: NodeJS.ProcessEnv): void;
  stop(): Promise<void>;
}

export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const started = Date.now();
  const dataDir = resolve(options.dataDir);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((line: string) => console.log(line));
  await mkdir(dataDir, { recursive: true });
  const deployRoot = join(dataDir, 'deployments');

  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    // splice: a second stop() finds nothing left to stop.
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        console.error('[local] a service did not stop cleanly:', error);
      }
    }
  };

  // DynamoDB Local's JVM is the slow one: everything that does not need it starts meanwhile.
  const dynamodbStarting = startLocalDynamoDb({ dataDir, javaPreference: options.javaPreference ?? 'auto' });
  // Registered at once, so a failure elsewhere during startup still stops the JVM once it is up.
  stops.push(() => dynamodbStarting.then((db) => db.stop(), () => undefined));
  try {
    const s3 = await startLocalS3({ dataDir, buckets: [LOCAL_ARTIFACTS_BUCKET] });
    stops.push(() => s3.stop());
    const s3Client = localS3Client(s3.endpoint);
    stops.push(async () => s3Client.destroy());

    const [secrets, sns] = await Promise.all([
      LocalSecretsManager.open({ dataDir, generate: [LOCAL_SECRETS.webhook, LOCAL_SECRETS.approvalSigning] }),
      LocalSns.open({ dataDir, now: () => clock.now() }),
    ]);
    const approvalTopicArn = await sns.createTopic(LOCAL_TOPICS.approvals);
    const notificationTopicArn = await sns.createTopic(LOCAL_TOPICS.notifications);

    const http = new HttpFrontDoor({ port: options.httpPort ?? 0 });
    const httpUrl = await http.start();
    stops.push(() => http.stop());

    const names: LocalResourceNames = {
      tables: Object.fromEntries(LOCAL_TABLES.map((t) => [t.logicalName, localTableName(t)])),
      artifactsBucket: LOCAL_ARTIFACTS_BUCKET,
      approvalTopicArn,
      notificationTopicArn,
      webhookSecretArn: secrets.arnOf(LOCAL_SECRETS.webhook),
      approvalSigningSecretArn: secrets.arnOf(LOCAL_SECRETS.approvalSigning),
      promotionStateMachineName: promotionStateMachineName(options.pipelineName ?? 'local'),
      promotionStateMachineArn: stateMachineArn(promotionStateMachineName(options.pipelineName ?? 'local')),
      approvalBaseUrl: `${httpUrl}/approvals`,
      webhookUrl: `${httpUrl}/webhooks/github`,
      deployRoot,
    };

    // Builds get the same endpoints and credentials, so build commands that use an AWS SDK reach local services.
    const awsEnvFor = (endpoints: Omit<LocalServiceEndpoints, 'http'>): Record<string, string> => ({
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
      LOCKSTEP_S3_FORCE_PATH_STYLE: 'true',
    });

    // The AWS API servers start on port 0 first; the services behind them are bound once created.
    const codeBuildHolder: { service?: LocalCodeBuild } = {};
    const sfnHolder: { service?: LocalStepFunctions } = {};
    const serve = async (definition: AwsServiceDefinition) => {
      const server = await startAwsServer(definition);
      stops.push(() => server.close());
      return server;
    };
    // Builds need every endpoint in their environment, the CodeBuild one included, so the API servers listen first
    // and find their service at request time.
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
    const [sfnServer, codeBuildServer, snsServer, secretsServer, codeCommitServer] = await Promise.all([
      serve(lateDefinition('Step Functions', 'awsJson1_0', 'AWSStepFunctions', () => sfnHolder.service)),
      serve(lateDefinition('CodeBuild', 'awsJson1_1', 'CodeBuild_20161006', () => codeBuildHolder.service)),
      serve(sns.definition()),
      serve(secrets.definition()),
      serve(new LocalCodeCommit(join(dataDir, 'repos')).definition()),
    ]);

    const dynamodb = await dynamodbStarting;
    const endpoints: LocalServiceEndpoints = {
      dynamodb: dynamodb.endpoint,
      s3: s3.endpoint,
      stepFunctions: sfnServer.endpoint,
      codeBuild: codeBuildServer.endpoint,
      codeCommit: codeCommitServer.endpoint,
      sns: snsServer.endpoint,
      secretsManager: secretsServer.endpoint,
      http: httpUrl,
    };
    const awsEnv = awsEnvFor(endpoints);

    const codeBuild = await LocalCodeBuild.open({
      dataDir,
      s3: s3Client,
      now: () => clock.now(),
      resolveSecret: (id) => secrets.valueOf(id),
      baseEnvironment: {
        ...pickEnv(['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER', 'TERM']),
        ...awsEnv,
        LOCKSTEP_DEPLOY_ROOT: deployRoot,
      },
    });
    codeBuildHolder.service = codeBuild;
    stops.push(() => codeBuild.close());

    const stepFunctions = await LocalStepFunctions.open({ dataDir, clock, codeBuild, instantRetries: options.instantRetries ?? false });
    sfnHolder.service = stepFunctions;
    stops.push(() => stepFunctions.close());

    const env: Record<string, string> = {
      ...awsEnv,
      ...Object.fromEntries(LOCAL_TABLES.map((t) => [t.envVar, names.tables[t.logicalName]!])),
      LOCKSTEP_ARTIFACTS_BUCKET: names.artifactsBucket,
      LOCKSTEP_APPROVAL_TOPIC_ARN: names.approvalTopicArn,
      LOCKSTEP_NOTIFICATION_TOPIC_ARN: names.notificationTopicArn,
      LOCKSTEP_PROMOTION_STATE_MACHINE_ARN: names.promotionStateMachineArn,
      LOCKSTEP_WEBHOOK_SECRET_ARN: names.webhookSecretArn,
      LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN: names.approvalSigningSecretArn,
      LOCKSTEP_APPROVAL_BASE_URL: names.approvalBaseUrl,
      LOCKSTEP_DEPLOY_ROOT: deployRoot,
      POWERTOOLS_SERVICE_NAME: 'lockstep-local',
      POWERTOOLS_METRICS_NAMESPACE: 'LockstepLocal',
    };

    const startupMs = Date.now() - started;
    log(`[local] services ready in ${startupMs} ms (DynamoDB: ${dynamodb.backend}, data in ${dataDir})`);
    return {
      dataDir,
      clock,
      endpoints,
      names,
      env,
      dynamodb,
      s3,
      stepFunctions,
      codeBuild,
      sns,
      secrets,
      http,
      startupMs,
      applyEnvironment: (target = process.env) => void Object.assign(target, env),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function pickEnv(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => process.env[n] !== undefined).map((n) => [n, process.env[n]!]));
}
