import '../polyfills';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createRuntime, type Runtime } from '../../lambdas/adapters/runtime';
import type { Pipeline } from '../../lambdas/core/config/schema';
import { durationMs } from '../../lambdas/core/config/schema';
import { codeBuildProjects } from '../../lambdas/core/buildspecs';
import { buildProjectName } from '../../lambdas/core/names';
import { createHandler as createApprovalApi } from '../../lambdas/handlers/approval-api';
import { createHandler as createApprovalRequest } from '../../lambdas/handlers/approval-request';
import { createHandler as createConsoleApi } from '../../lambdas/handlers/console-api';
import { consoleApiDependencies } from '../../lambdas/adapters/console-runtime';
import { CloudWatchAlarmReader } from '../../lambdas/adapters/cloudwatch-alarm-reader';
import { CloudWatchAlarmStateSetter } from '../../lambdas/adapters/cloudwatch-alarm-setter';
import { createHandler as createWebhook } from '../../lambdas/handlers/github-webhook';
import { createHandler as createPromotionSteps } from '../../lambdas/handlers/promotion-steps';
import { createHandler as createReconcile, type ReconcileResult } from '../../lambdas/handlers/reconcile';
import { systemClock, type Clock } from '../clock';
import { seedBakeAlarms } from '../cloudwatch/seed';
import { localProject } from '../codebuild/projects';
import { lambdaArn, LOCAL_SECRETS } from '../constants';
import { LocalModeError } from '../errors';
import { commitChange, createSampleRepository, pushToWebhook, type GitIdentity, type PushResult } from '../git';
import { startLocalServices, type LocalServices } from '../runtime';
import type { LocalFunctionHandler } from '../stepfunctions/step-functions';
import { ProgressConsole } from '../console/progress';
import { LocalConsoleLogin, localConsoleUser, registerLocalConsoleLogin } from '../http/console-login';
import { collectStatus, formatStatus, type SystemStatus } from '../console/status';
import {
  processAlive,
  readConnection,
  removeConnection,
  writeConnection,
  type LocalSystemConnection,
} from './connection';
import { loadLocalPipeline, localRepositories, writePipelineFile } from './pipeline';
import { ReconcileLoop } from './reconcile-loop';
import { createHandler as createArchiver } from '../../lambdas/handlers/history-archiver';
import { ARCHIVE_INTERVAL_MS, type ArchiveReport } from '../../lambdas/promotion/history-archiver';
import { startSdkPublishing, type LocalSdkPublishing } from '../sdk';

/**
 * The whole deployment system on one machine (`lockstep local`, run by `npm start`), assembled from the local
 * services and the unchanged handler modules, in the order local/README.md gives:
 *
 * 1. validate the pipeline file and write it as JSON for `LOCKSTEP_PIPELINE_FILE`;
 * 2. start the local services under the data folder, and create in OK the bakes' alarms CloudWatch lacks;
 * 3. build this system's runtime (its variables, AWS clients bound to its services, its clock) and create the
 *    handlers from it with their `createHandler` factories, then bind them: the promotion state machine's Task
 *    functions, the CodeBuild projects of the pipeline, the HTTP routes (webhook, approvals);
 * 4. resume promotion executions a crash cut short, then run the reconcile pass every minute and after every event
 *    (webhook delivery, build end, execution end);
 * 5. on a fresh data folder, create the sample repository and push it, so a revision starts walking at once.
 *
 * Several local systems can run in one process (on different data folders): nothing is shared through
 * `process.env` or module state, each system's handlers hold its own runtime.
 *
 * Crash safety (kill -9 at any moment, then start again): every record lives on disk (DynamoDB, S3, build and
 * execution records); in-flight executions are resumed from their first state and every step is idempotent (lock
 * re-entry by execution name, record-previous and record-deployed recognise their own earlier run, the approval
 * request is found again by its task token, and the deploy, test and rollback builds carry an idempotency token
 * made from the execution name, so a resumed execution re-attaches to the build it started: a build that finished
 * is not run again, a build cut off by the crash counts as failed and the promotion rolls back). A lock is never
 * held past its lease, and executions are started under their (promotion, revision) name, so none runs twice.
 */
export interface LocalSystemOptions {
  /** @default '.lockstep' */
  readonly dataDir?: string;
  /** @default examples/quickstart/lockstep.config.yaml */
  readonly configFile?: string;
  /** Drives Wait states, Task timeouts, the reconcile schedule and the handlers' notion of now. @default systemClock */
  readonly clock?: Clock;
  /** @default 'auto' */
  readonly javaPreference?: 'auto' | 'java' | 'dynalite';
  /** Retries without waiting (tests on a manual clock). @default false */
  readonly instantRetries?: boolean;
  /** Port of the webhook and approval pages. @default the port of the previous run on this data folder, else a free one */
  readonly httpPort?: number;
  /** @default 60_000 (the EventBridge schedule on AWS) */
  readonly reconcileIntervalMs?: number;
  /** Create the sample repository and push it when the data folder is new. @default true */
  readonly firstPush?: boolean;
  /** Console lines (endpoints, progress, status). @default console.log */
  readonly write?: (line: string) => void;
  /** Print progress lines. @default true */
  readonly progress?: boolean;
  /** Run the SDK-publishing half too (local/sdk: upload and download APIs, its state machine, the local edge). @default true */
  readonly sdkPublishing?: boolean;
  /** Who the printed console URL signs in (`--console-user`). @default the first approver the pipeline names */
  readonly consoleUser?: string;
  /** That user's groups, a comma list (`--console-groups operators,approvers`). @default viewers,operators,approvers */
  readonly consoleGroups?: string;
}

export interface LocalSystem {
  readonly services: LocalServices;
  /** The adapters this system's handlers run on (its tables, clients and clock). */
  readonly runtime: Runtime;
  readonly pipeline: Pipeline;
  readonly connection: LocalSystemConnection;
  /**
   * The console's local sign-in: the one-time URL printed at start (`consoleUrl(url)`), further one-time tokens
   * for other users (`issueLoginToken`), and the authorizer console routes register with.
   */
  readonly consoleLogin: LocalConsoleLogin;
  /** Milliseconds from the call to ready (services up, handlers bound, executions resumed). */
  readonly readyMs: number;
  /** Runs a reconcile pass now (one at a time; a request during a pass gets the pass after it). */
  reconcile(): Promise<ReconcileResult | undefined>;
  /**
   * Runs a history archive pass now (`retention:`; the system also runs one at start and every day on its clock,
   * as the daily schedule does on AWS). Undefined when the pass failed or the system stopped.
   */
  archiveHistory(): Promise<ArchiveReport | undefined>;
  status(): Promise<SystemStatus>;
  formatStatus(status: SystemStatus): string[];
  /** Commits a change in the sample repository and sends its signed push to the webhook. */
  push(options?: LocalChange): Promise<PushResult>;
  stop(): Promise<void>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const QUICKSTART_CONFIG = join(ROOT, 'examples', 'quickstart', 'lockstep.config.yaml');
const ASL_FILE = join(ROOT, 'statemachines', 'promotion.asl.json');
/** The console's static front end, served from the repository as it is (no build step). */
const CONSOLE_ASSETS_DIR = join(ROOT, 'console');
/** The log group the ASL names for deploy and test builds (the local CodeBuild reports it with the stream prefix). */
const STEPS_LOG_GROUP = '/lockstep/local/steps';

/** Function names local mode registers the handlers under (the ASL reaches them through the substitutions). */
export function localFunctionNames(pipeline: string) {
  return {
    promotionSteps: `lockstep-${pipeline}-promotion-steps`,
    approvalRequest: `lockstep-${pipeline}-approval-request`,
  };
}

export class LocalSystemStartError extends LocalModeError {}

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  const started = Date.now();
  const dataDir = resolve(options.dataDir ?? '.lockstep');
  const configFile = resolve(options.configFile ?? QUICKSTART_CONFIG);
  const clock = options.clock ?? systemClock;
  const write = options.write ?? ((line: string) => console.log(line));

  // 1. The pipeline, validated (every problem at once) before anything starts.
  const pipeline = loadLocalPipeline(configFile, dataDir);
  checkOwnRepositories(pipeline, dataDir);
  const consoleUser = localConsoleUser(pipeline, options.consoleUser, options.consoleGroups);
  const previous = readConnection(dataDir);
  if (previous && previous.pid !== process.pid && processAlive(previous.pid)) {
    throw new LocalSystemStartError(
      `A local Lockstep already runs on ${dataDir} (pid ${previous.pid}); stop it first, or use another --data-dir`,
    );
  }
  // 2. Services, on the previous run's HTTP port when free, so approval links sent before a restart still open.
  const services = await startServices(options, { dataDir, pipeline, clock, write, previousHttp: previous?.http });
  try {
    // 3. The bakes' alarms, so a bake never blocks on an alarm nobody created; then the runtime and handlers.
    const seeded = await seedBakeAlarms(services.cloudWatch, pipeline);
    if (seeded.length > 0)
      write(
        `[local] created alarm(s) ${seeded.join(', ')} in OK for the bakes; flip one with \`lockstep alarm set <name> ALARM\``,
      );
    const pipelineFile = await writePipelineFile(pipeline, dataDir);
    const runtime = localRuntime(services, pipelineFile, clock);
    const handlers = bindPromotionHandlers(services, runtime, pipeline, dataDir);
    // 4. The reconcile pass, on a schedule and after every event; the HTTP routes; the SDK half.
    const progress = options.progress === false ? undefined : new ProgressConsole(pipeline, write, () => clock.now());
    const reconcile = startReconcile({ services, pipeline, clock, write, progress, pass: handlers.reconcile });
    const archiverContext = lambdaContext('history-archiver');
    const archiver = new ReconcileLoop<ArchiveReport>(
      () => handlers.archiver({}, archiverContext),
      clock,
      (error) => write(`[local] history archive pass failed: ${(error as Error).stack ?? String(error)}`),
    );
    registerPromotionRoutes(
      services,
      handlers,
      reconcile.loop,
      clock.now.bind(clock),
      durationMs(pipeline.pipeline.buildDebounce),
    );
    const consoleLogin = new LocalConsoleLogin({ ...consoleUser, clock: () => clock.now() });
    registerLocalConsoleLogin(services.http, consoleLogin);
    registerConsoleRoutes(services, handlers.consoleApi, consoleLogin);
    const sdk = options.sdkPublishing === false ? undefined : await startSdkPublishing(services, { log: write });
    // Executions a crash cut short run again from their first state (every step is idempotent).
    const resumed = services.stepFunctions.listInFlight();
    for (const execution of resumed) {
      services.stepFunctions.resume(execution.name);
      reconcile.watchExecution(execution.name);
    }
    const connection = await publishConnection({ services, pipeline, dataDir, configFile, pipelineFile, sdk });

    const push = async (change: LocalChange = {}) => {
      if (!connection.repositories[0])
        throw new LocalModeError(
          `No package of ${pipeline.pipeline.name} has a local source inside ${dataDir}: nothing to push`,
        );
      return pushChange(connection, services.secrets.currentKeyOf(LOCAL_SECRETS.webhook), change);
    };
    const status = () =>
      collectStatus({
        pipeline,
        agent: runtime.agentDependencies(),
        approvals: runtime.approvalStore(),
        outboxFile: services.sns.outboxFile,
        buildsDir: join(dataDir, 'builds'),
      });
    const system: LocalSystem = {
      services,
      runtime,
      pipeline,
      connection,
      consoleLogin,
      readyMs: 0,
      reconcile: () => reconcile.loop.request(),
      archiveHistory: () => archiver.request(),
      status,
      formatStatus: (s) => formatStatus(s, pipeline),
      push,
      stop: async () => {
        await reconcile.stop();
        await archiver.stop();
        await sdk?.stop();
        await services.stop();
        if (readConnection(dataDir)?.pid === process.pid) removeConnection(dataDir);
        rmSync(join(dataDir, 'lockstep.pid'), { force: true });
      },
    };

    // 5. A fresh data folder: the sample repository, and its first push, so a revision starts walking at once.
    const firstPush = await createSample(connection, dataDir, options.firstPush !== false ? push : undefined);
    reconcile.loop.every(options.reconcileIntervalMs ?? 60_000);
    await reconcile.loop.request();
    if (pipeline.retention) {
      // As the daily schedule on AWS; on the system's clock, so a manual clock in tests moves it on.
      archiver.every(ARCHIVE_INTERVAL_MS);
      void archiver.request();
    }
    (system as { readyMs: number }).readyMs = Date.now() - started;

    write(banner(system, services, sdk, resumed.length, firstPush));
    if (options.progress !== false) for (const line of formatStatus(await status(), pipeline)) write(line);
    write(`Lockstep is ready in ${system.readyMs} ms. Ctrl+C stops it; \`npm start\` again resumes where it stopped.`);
    return system;
  } catch (error) {
    await services.stop();
    throw error;
  }
}

/** The local services, on the previous run's HTTP port unless it is taken (then on a free one, saying so). */
async function startServices(
  options: LocalSystemOptions,
  input: {
    dataDir: string;
    pipeline: Pipeline;
    clock: Clock;
    write: (line: string) => void;
    previousHttp: string | undefined;
  },
): Promise<LocalServices> {
  const servicesOptions = {
    dataDir: input.dataDir,
    pipelineName: input.pipeline.pipeline.name,
    clock: input.clock,
    javaPreference: options.javaPreference ?? 'auto',
    instantRetries: options.instantRetries ?? false,
    log: () => undefined,
  };
  const wantedPort = options.httpPort ?? portOf(input.previousHttp);
  try {
    return await startLocalServices({ ...servicesOptions, httpPort: wantedPort });
  } catch (error) {
    if (options.httpPort !== undefined || wantedPort === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE')
      throw error;
    input.write(
      `[local] port ${wantedPort} of the previous run is taken; approval links sent before this restart need the new port`,
    );
    return startLocalServices({ ...servicesOptions, httpPort: 0 });
  }
}

/**
 * The runtime of this system's handlers: the services' variables and the pipeline file, clients bound to the
 * services, and the system's clock (the one that also drives Wait states and Task timeouts).
 */
export function localRuntime(services: LocalServices, pipelineFile: string, clock: Clock): Runtime {
  // Handler logs and metrics would drown the console; the outbox, build logs and the event timeline keep the
  // record. Process-wide, and the same for every local system, so setting them here shares nothing between systems.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  return createRuntime({
    env: { ...services.env, LOCKSTEP_PIPELINE_FILE: pipelineFile },
    clients: services.clients,
    clock: () => clock.now(),
    // The bake's own adapter, every region and role bound to the local CloudWatch the user flips alarms in.
    alarmReader: new CloudWatchAlarmReader({ clientFor: services.cloudWatchFor }),
  });
}

/**
 * Creates the promotion half's handlers on `runtime` and binds them: the state machine's Task functions and the
 * state machine itself, and the CodeBuild projects of the pipeline. Returns the handlers the routes and the
 * reconcile loop call.
 */
function bindPromotionHandlers(services: LocalServices, runtime: Runtime, pipeline: Pipeline, dataDir: string) {
  const functions = localFunctionNames(pipeline.pipeline.name);
  services.stepFunctions.registerFunction(
    functions.promotionSteps,
    createPromotionSteps(runtime.stepDependencies()) as LocalFunctionHandler,
  );
  services.stepFunctions.registerFunction(
    functions.approvalRequest,
    createApprovalRequest(runtime.approvalDependencies()) as LocalFunctionHandler,
  );
  services.stepFunctions.registerStateMachine({
    name: services.names.promotionStateMachineName,
    definition: { file: ASL_FILE },
    substitutions: {
      PromotionStepsFunctionArn: lambdaArn(functions.promotionSteps),
      ApprovalRequestFunctionArn: lambdaArn(functions.approvalRequest),
      StepsLogGroupName: STEPS_LOG_GROUP,
    },
  });
  for (const definition of codeBuildProjects(pipeline)) {
    services.codeBuild.registerProject(
      localProject(definition, { artifactsBucket: services.names.artifactsBucket, baseDir: dataDir }),
    );
  }
  return {
    webhook: createWebhook(runtime.webhookDependencies()) as HttpHandler,
    approvalApi: createApprovalApi(runtime.approvalDependencies()) as HttpHandler,
    consoleApi: createConsoleApi(
      consoleApiDependencies(runtime, {
        env: { ...services.env, LOCKSTEP_CONSOLE_ASSETS_DIR: CONSOLE_ASSETS_DIR },
        clientConfig: { mode: 'local' },
        alarms: {
          reader: runtime.alarmReader(),
          setter: new CloudWatchAlarmStateSetter(services.cloudWatchFor({})),
        },
      }),
    ) as HttpHandler,
    reconcile: createReconcile(runtime.reconcileDependencies()),
    archiver: createArchiver(runtime.archiverDependencies()),
  };
}

/**
 * The reconcile loop: a pass on the schedule, after every application build that ends (EventBridge's build-state
 * rule on AWS) and after every promotion execution that ends, with the progress console told what each pass did.
 */
function startReconcile(input: {
  services: LocalServices;
  pipeline: Pipeline;
  clock: Clock;
  write: (line: string) => void;
  progress: ProgressConsole | undefined;
  pass: (event: unknown, context: Context) => Promise<ReconcileResult>;
}) {
  const { services, pipeline, progress } = input;
  const context = lambdaContext('reconcile');
  const watched = new Set<string>();
  const watchExecution = (name: string) => {
    if (watched.has(name)) return;
    watched.add(name);
    void services.stepFunctions.waitForExecution(name).then(
      () => loop.request(),
      () => undefined,
    );
  };
  const loop = new ReconcileLoop<ReconcileResult>(
    async () => {
      progress?.passStarted();
      try {
        const result = await input.pass({}, context);
        progress?.pass(result);
        for (const name of result.executionsStarted) {
          progress?.promotionStarted(name);
          watchExecution(name);
        }
        return result;
      } finally {
        progress?.passEnded();
      }
    },
    input.clock,
    (error) => input.write(`[local] reconcile pass failed: ${(error as Error).stack ?? String(error)}`),
  );
  const buildProjects = new Set(pipeline.applications.map((a) => buildProjectName(pipeline.pipeline.name, a.name)));
  const finishedBuilds = new Set<string>();
  const unsubscribeBuilds = services.codeBuild.subscribe((record) => {
    progress?.build(record);
    if (record.buildComplete && buildProjects.has(record.projectName) && !finishedBuilds.has(record.id)) {
      finishedBuilds.add(record.id);
      void loop.request();
    }
  });
  const unsubscribeNotifications = progress
    ? services.sns.subscribe((message) => progress.notification(message))
    : () => undefined;
  return {
    loop,
    watchExecution,
    stop: async () => {
      await loop.stop();
      unsubscribeBuilds();
      unsubscribeNotifications();
    },
  };
}

/** The webhook and approval routes on the HTTP front door. */
function registerPromotionRoutes(
  services: LocalServices,
  handlers: { webhook: HttpHandler; approvalApi: HttpHandler },
  loop: ReconcileLoop<ReconcileResult>,
  now: () => number,
  debounceMs: number,
): void {
  services.http.registerRoute('POST', '/webhooks/github', async (event, ctx) => {
    const response = await handlers.webhook(event, ctx);
    void loop.request();
    // AutoBuild waits for a quiet period after the last push; the pass after it starts the grouped build.
    loop.at(now() + debounceMs + 1);
    return response;
  });
  services.http.registerRoute('GET', '/approvals/{requestId}', (event, ctx) => handlers.approvalApi(event, ctx));
  services.http.registerRoute('POST', '/approvals/{requestId}', (event, ctx) => handlers.approvalApi(event, ctx));
}

/**
 * The web console's routes, as on AWS: the front end public, data and actions behind the (emulated) JWT
 * authorizer, which puts the signed-in user's claims where the handler reads them.
 */
function registerConsoleRoutes(services: LocalServices, consoleApi: HttpHandler, authorizer: LocalConsoleLogin): void {
  const handle: HttpHandler = (event, ctx) => consoleApi(event, ctx);
  services.http.registerRoute('GET', '/console', handle);
  services.http.registerRoute('GET', '/console/', handle);
  services.http.registerRoute('GET', '/console/{asset}', handle);
  for (const method of ['GET', 'POST'])
    services.http.registerRoute(method, '/console/api/{proxy+}', handle, { authorizer });
}

/** Writes `endpoints.json` and the pid file, so the operator CLI finds this system. */
async function publishConnection(input: {
  services: LocalServices;
  pipeline: Pipeline;
  dataDir: string;
  configFile: string;
  pipelineFile: string;
  sdk: LocalSdkPublishing | undefined;
}): Promise<LocalSystemConnection> {
  const { services, sdk } = input;
  const connection: LocalSystemConnection = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dataDir: input.dataDir,
    configFile: input.configFile,
    pipelineName: input.pipeline.pipeline.name,
    pipelineFile: input.pipelineFile,
    http: services.endpoints.http,
    webhookUrl: services.names.webhookUrl,
    outboxFile: services.sns.outboxFile,
    repositories: localRepositories(input.pipeline, input.dataDir),
    // The SDK half's names too, so operator commands (e.g. `lockstep sdk token`) reach its table.
    env: {
      ...services.env,
      LOCKSTEP_PIPELINE_FILE: input.pipelineFile,
      ...(sdk ? { LOCKSTEP_SDK_TABLE: sdk.names.table } : {}),
    },
  };
  await writeConnection(connection);
  writeFileSync(join(input.dataDir, 'lockstep.pid'), `${process.pid}\n`);
  return connection;
}

/** Creates the sample repository when the data folder is new, and pushes it when `push` is given. */
async function createSample(
  connection: LocalSystemConnection,
  dataDir: string,
  push: (() => Promise<PushResult>) | undefined,
): Promise<PushResult | undefined> {
  const sample = connection.repositories[0];
  if (!sample) return undefined;
  const repo = await createSampleRepository({ dataDir, name: sample.dir.split('/').pop(), branch: sample.branch });
  return repo.created && push ? push() : undefined;
}

/**
 * A local source outside the data folder is a team's own repository (`lockstep init` points at it); local mode
 * never commits there, and the reconcile pass builds its branch head whenever it moves. It must be a git
 * repository already: say so at start instead of failing every reconcile pass.
 */
function checkOwnRepositories(pipeline: Pipeline, dataDir: string): void {
  const inside = resolve(dataDir) + '/';
  for (const pkg of pipeline.packages) {
    if (!('local' in pkg.source) || pkg.source.local.path.startsWith(inside)) continue;
    if (!existsSync(join(pkg.source.local.path, '.git'))) {
      throw new LocalSystemStartError(
        `package ${pkg.name}: source.local.path ${pkg.source.local.path} is not a git repository; point it at your repository's folder (a relative path starts at the data folder ${dataDir}), or run git init there and commit`,
      );
    }
  }
}

/** Commits a change in the first local repository of a running system and sends the signed push. */
/** What `lockstep push` commits and who it says did it. */
export interface LocalChange {
  readonly message?: string;
  readonly failTests?: boolean;
  /** The commit's author. @default the repository's git identity (`user.name`, `user.email`) */
  readonly author?: GitIdentity;
  /** Who the push names as its pusher (`pusher` of the delivery). @default the repository's git identity */
  readonly pusher?: GitIdentity;
}

export async function pushChange(
  connection: LocalSystemConnection,
  webhookSecret: string,
  change: LocalChange,
): Promise<PushResult> {
  const repo = connection.repositories[0];
  if (!repo) throw new LocalModeError('The pipeline has no local repository to push');
  const stamp = new Date().toISOString();
  const message =
    change.message ??
    (change.failTests ? 'Break the smoke test on purpose' : `Change made by lockstep push at ${stamp}`);
  await commitChange(repo.dir, {
    message,
    files: change.failTests
      ? { FAIL_TESTS: `${message}\n` }
      : { FAIL_TESTS: null, 'CHANGES.md': `${stamp} ${message}\n` },
    ...(change.author ? { author: change.author } : {}),
  });
  return pushToWebhook({
    dir: repo.dir,
    branch: repo.branch,
    url: connection.webhookUrl,
    secret: webhookSecret,
    repositoryFullName: `local/${repo.package}`,
    ...(change.pusher ? { pusher: change.pusher } : {}),
  });
}

function banner(
  system: LocalSystem,
  services: LocalServices,
  sdk: LocalSdkPublishing | undefined,
  resumed: number,
  firstPush: PushResult | undefined,
): string {
  const e = services.endpoints;
  return [
    '',
    `Lockstep (local) — pipeline ${system.pipeline.pipeline.name}, data in ${services.dataDir} (DynamoDB: ${services.dynamodb.backend})`,
    `  webhook        POST ${services.names.webhookUrl}`,
    `  approvals      ${services.names.approvalBaseUrl}/<request>`,
    `  console        ${system.consoleLogin.consoleUrl(e.http)}`,
    `                 (one-time login as ${system.consoleLogin.user.user}: ${system.consoleLogin.user.groups.join(', ')})`,
    `  repository     ${system.connection.repositories.map((r) => r.dir).join(', ') || '(none)'}`,
    `  deployments    ${services.names.deployRoot}/<environment>/`,
    `  outbox         ${services.sns.outboxFile}`,
    sdk
      ? `  SDK publishing ${sdk.endpoints.api}/sdk/uploads, downloads through ${sdk.endpoints.edge} (lockstep sdk push|status|install)`
      : undefined,
    awsApisLine(e),
    resumed > 0 ? `  resumed ${resumed} promotion execution(s) that a stop or crash cut short` : undefined,
    firstPush ? `  first push of the sample repository: HTTP ${firstPush.status}` : undefined,
    'Try: npm run lockstep -- push | push --fail-tests | status | approve <request> | pipeline disable',
    '',
  ]
    .filter((line) => line !== undefined)
    .join('\n');
}

/** Every AWS API stand-in that local mode serves, as the AWS CLI's `--endpoint-url` values (README). */
export function awsApisLine(e: Omit<LocalServices['endpoints'], 'http'>): string {
  return `  AWS APIs       dynamodb ${e.dynamodb}  s3 ${e.s3}  sfn ${e.stepFunctions}  codebuild ${e.codeBuild}  codecommit ${e.codeCommit}  sns ${e.sns}  secretsmanager ${e.secretsManager}  cloudwatch ${e.cloudWatch}`;
}

function portOf(url: string | undefined): number {
  if (!url) return 0;
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : 0;
}

function lambdaContext(name: string) {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: lambdaArn(name),
    memoryLimitInMB: '1024',
    awsRequestId: 'local',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } as never;
}
