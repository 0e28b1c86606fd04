/**
 * `DeploymentSystem`: the promotion half of Lockstep on AWS, built from one pipeline definition.
 *
 * Webhook / CodeCommit event -> AutoBuild (Lambda) -> CodeBuild build project -> revision artifact (S3) and record
 * (DynamoDB); the reconcile pass (every minute) starts promotion executions (Step Functions) that deploy and test
 * with CodeBuild, ask for approval by email (SNS) with links answered through an HTTP API, and promote onwards.
 */
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as codecommit from 'aws-cdk-lib/aws-codecommit';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { buildspecProblems, codeBuildProjects } from '../lambdas/core/buildspecs';
import { stackLimitProblems } from '../lambdas/core/config/limits';
import { checkPipelineObject, ConfigError, loadPipeline, type PipelineCheck } from '../lambdas/core/config/load';
import type { Pipeline } from '../lambdas/core/config/schema';
import { LockstepError } from '../lambdas/core/errors';
import { buildProjectName } from '../lambdas/core/names';
import { TABLES, type TableDefinition } from '../lambdas/core/tables';
import {
  BUNDLED_FOLDERS,
  HANDLER_NAMES,
  HANDLERS,
  handlerEntry,
  PIPELINE_FILE_IN_BUNDLE,
  type HandlerName,
} from './handlers';
import { buildHttpApi, throttleRoutes } from './api';
import { createAccessLogsBucket, createDataBucket, useBucketPolicyForAccessLogs } from './buckets';
import { buildHistoryArchiver } from './history-archiver';
import { buildDeletionNotice, dependOnAllOf } from './deletion-notice';
import { grantHandlerPermissions } from './deployment-grants';
import { buildPipelineProjects } from './deployment-projects';
import { buildKey } from './keys';
import { buildMonitoring, subscribeNotificationEmails, type Monitoring } from './monitoring';
import { buildFunctions } from './lockstep-function';
import { buildLogGroup, type LogGroupDefaults } from './log-groups';
import { buildConsoleAuth, type ConsoleAuth, type ExistingConsoleUserPool } from './console-auth';
import { acknowledge } from './nag';
import { alarmPropProblems, grantAlarmReads } from './alarm-grants';
import { perCreationName } from './physical-names';
import { lockstepStateMachine, stateMachineArnFromName } from './state-machine';
import { createLockstepTable } from './tables';
import { buildTopic, subscribeEmails } from './topics';

export interface DeploymentSystemProps {
  /**
   * The pipeline definition: the path of its YAML or JSON file (relative to the folder `cdk synth` runs in), or the
   * object (as returned by `loadPipeline`, or written with `definePipeline`). Its name prefixes CodeBuild projects
   * and the state machine. A missing or invalid file fails synth with every problem listed.
   */
  readonly pipeline: Pipeline | string;
  /**
   * Key that encrypts the tables, the artifacts bucket, the topics, the secrets and CodeBuild output.
   * @default - a new customer-managed key with yearly rotation, kept on stack deletion
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Tables kept from an earlier deploy (`cdk destroy` retains them) to use instead of creating empty ones, by
   * logical name; import them with their key (`Table.fromTableAttributes({ tableName, encryptionKey })`) and pass
   * that key as `encryptionKey` too. `LockstepStack`'s `adopt` does this from names.
   * @default - new tables
   */
  readonly existingTables?: Partial<Readonly<Record<TableDefinition['logicalName'], dynamodb.ITable>>>;
  /**
   * Bucket for revision artifacts (`revisions/<application>/<number>/artifact.zip`).
   * @default - a new bucket: versioned, encrypted with `encryptionKey`, TLS only, public access blocked, server
   * access logs to a separate logs bucket, noncurrent versions expired after 90 days
   */
  readonly artifactsBucket?: s3.IBucket;
  /**
   * How often the reconcile pass runs (whole minutes, at least one).
   * @default Duration.minutes(1)
   */
  readonly reconcileInterval?: Duration;
  /**
   * Retention of every log group the system creates (Lambda, CodeBuild, Step Functions, API access logs).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Upper bound on how long an emailed approval link stays valid (between one minute and 30 days); the request's
   * own timeout (`approval.manual.timeout`) ends it sooner. Reaches the functions as LOCKSTEP_APPROVAL_LINK_TTL_SECONDS.
   * @default Duration.hours(24)
   */
  readonly approvalLinkTtl?: Duration;
  /**
   * What happens to data stores (tables, buckets, key, secrets, log groups) when the stack is deleted. With
   * `DESTROY`, table deletion protection is turned off too, so a deletion can complete.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Secret holding the GitHub webhook secret as JSON `{ "current": "...", "previous": "..." }`; `previous` is
   * accepted too while a rotation is under way.
   * @default - a new secret with a generated `current` value (copy it into the GitHub webhook settings)
   */
  readonly webhookSecret?: secretsmanager.ISecret;
  /**
   * Request rate limits of the HTTP API (webhook and approval pages).
   * @default - 10 requests per second, bursts of 20
   */
  readonly apiThrottle?: apigwv2.ThrottleSettings;
  /**
   * Addresses that receive Lockstep's own alarms (function errors and throttles, failed and timed-out executions,
   * failed asynchronous invocations), through the notification topic.
   * @default - none: subscribe to the topic's messages without an `event` attribute yourself
   */
  readonly alarmEmails?: readonly string[];
  /**
   * Route-level rate limits, each overriding `apiThrottle` for its routes: GitHub deliveries
   * (`POST /webhooks/github`), approval links (`GET`/`POST /approvals/{requestId}`) and the web console (its page
   * and assets, `GET /console/api/{proxy+}` polled every 1.5 s by each open page, and its actions
   * `POST /console/api/{proxy+}`).
   * @default - webhook: 20 requests per second, bursts of 50; approvals: 5 per second, bursts of 10; console pages
   * and data: 20 per second, bursts of 40; console actions: 5 per second, bursts of 10
   */
  readonly routeThrottles?: {
    readonly webhook?: apigwv2.ThrottleSettings;
    readonly approvals?: apigwv2.ThrottleSettings;
    readonly console?: apigwv2.ThrottleSettings;
    readonly consoleActions?: apigwv2.ThrottleSettings;
  };
  /**
   * Compute and image of every CodeBuild project.
   * @default - `DEFAULT_BUILD_IMAGE`: Amazon Linux 2 standard 3.0 for ARM
   * (`aws/codebuild/amazonlinux2-aarch64-standard:3.0`), small compute, not privileged
   */
  readonly buildEnvironment?: codebuild.BuildEnvironment;
  /**
   * A Cognito user pool you already run, for signing in to the web console instead of a new one; the console adds
   * its own public app client (code + PKCE, no secret) to it, and the groups `viewers`, `operators` and `approvers`
   * unless `createGroups: false` (see `lib/console-auth.ts`).
   * @default - a new user pool with managed login, required TOTP MFA, no self sign-up, and the three groups
   */
  readonly consoleUserPool?: ExistingConsoleUserPool;
}

/** Every problem found in `DeploymentSystemProps`, reported at once. */
export class DeploymentSystemPropsError extends LockstepError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`DeploymentSystem has ${problems.length} invalid prop(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      details: { problems },
    });
    this.problems = problems;
  }
}

export type { HandlerName } from './handlers';
export { hasManualApprovalSteps } from './deployment-grants';

const PROMOTION_ASL = fileURLToPath(new URL('../statemachines/promotion.asl.json', import.meta.url));

/**
 * Lockstep's promotion system for one pipeline: tables, artifacts bucket, topics, CodeBuild projects, the six
 * Lambda functions, the promotion state machine, the HTTP API and the EventBridge rules.
 *
 * Before the first build of a GitHub package, connect CodeBuild to GitHub once per account and region (OAuth,
 * personal access token or a CodeConnections connection); then set the stack output `WebhookUrl` as the
 * repository's push webhook, with the `current` value of the `WebhookSecretArn` secret.
 *
 * @example
 * const pipeline = loadPipeline('lockstep.config.yaml');
 * new DeploymentSystem(stack, 'Deployment', { pipeline, logRetention: logs.RetentionDays.ONE_YEAR });
 */
export class DeploymentSystem extends Construct {
  readonly pipeline: Pipeline;
  readonly encryptionKey: kms.IKey;
  readonly artifactsBucket: s3.IBucket;
  /** Tables by logical name (`Revisions`, `Environments`, `Locks`, `Events`, `Idempotency`). */
  readonly tables: Readonly<Record<TableDefinition['logicalName'], dynamodb.ITable>>;
  readonly approvalTopic: sns.Topic;
  readonly notificationTopic: sns.Topic;
  readonly webhookSecret: secretsmanager.ISecret;
  readonly approvalSigningSecret: secretsmanager.Secret;
  /** CodeBuild projects by name (`names.ts`). */
  readonly projects: ReadonlyMap<string, codebuild.Project>;
  readonly functions: Readonly<Record<HandlerName, nodejs.NodejsFunction>>;
  /** The history archiver (daily), when the pipeline sets `retention:`. */
  readonly historyArchiver: nodejs.NodejsFunction | undefined;
  readonly stateMachine: sfn.StateMachine;
  readonly httpApi: apigwv2.HttpApi;
  /** The API's `$default` stage, where the stage and route throttles live. */
  readonly httpStage: apigwv2.HttpStage;
  /** The web console's sign-in: user pool, public app client (code + PKCE), login domain, JWT authorizer. */
  readonly consoleAuth: ConsoleAuth;
  /** `https://.../console/`: the web console. */
  readonly consoleUrl: string;
  /** `https://.../webhooks/github`: the payload URL to configure on GitHub. */
  readonly webhookUrl: string;
  /** `https://.../approvals`: approval links are `<approvalBaseUrl>/<requestId>?...`. */
  readonly approvalBaseUrl: string;
  /**
   * Publishes `pipeline-deleted` when the stack is deleted. It depends on everything in this construct; a stack
   * that adds resources beside it should make it depend on those too (`dependOnAllOf`), as `LockstepStack` does.
   */
  readonly deletionNotice: cr.AwsCustomResource;
  /** Alarms to the notification topic, the on-failure queue of asynchronous invocations, and the dashboard. */
  readonly monitoring: Monitoring;

  private readonly logDefaults: LogGroupDefaults;
  private readonly repositories: ReadonlyMap<string, codecommit.IRepository>;

  constructor(scope: Construct, id: string, props: DeploymentSystemProps) {
    super(scope, id);
    const pipeline = checkProps(props);
    // Alarm ARNs against the stack's own account and region, which only the construct knows.
    const alarmProblems = alarmPropProblems(this, pipeline);
    if (alarmProblems.length > 0) throw new DeploymentSystemPropsError(alarmProblems);
    const name = pipeline.pipeline.name;
    this.pipeline = pipeline;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logDefaults = { removalPolicy, logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS };
    useBucketPolicyForAccessLogs(this);

    const definitions = codeBuildProjects(pipeline);
    const stateMachineName = `lockstep-${name}-promotion`;
    const stateMachineArn = stateMachineArnFromName(this, stateMachineName);

    const key = (this.encryptionKey =
      props.encryptionKey ??
      buildKey(this, `Lockstep ${name}: tables, artifacts, topics, secrets and build output`, removalPolicy));
    this.tables = buildTables(this, key, removalPolicy, props.existingTables ?? {});
    this.artifactsBucket =
      props.artifactsBucket ??
      buildArtifactsBucket(this, key, removalPolicy, pipeline.retention?.objectLock !== undefined);
    this.approvalTopic = buildTopic(this, 'ApprovalTopic', `Lockstep ${name} approval requests`, key);
    this.notificationTopic = buildTopic(this, 'NotificationTopic', `Lockstep ${name} notifications`, key);
    subscribeNotificationEmails(this.notificationTopic, notificationSubscriptions(pipeline), props.alarmEmails ?? []);
    subscribeEmails(this.approvalTopic, 'approver', approverSubscriptions(pipeline));
    this.webhookSecret = props.webhookSecret ?? buildWebhookSecret(this, name, key, removalPolicy);
    this.approvalSigningSecret = buildSigningSecret(this, name, key, removalPolicy);
    const built = buildPipelineProjects(this, {
      pipeline,
      definitions,
      artifactsBucket: this.artifactsBucket,
      encryptionKey: key,
      ...(props.buildEnvironment ? { environment: props.buildEnvironment } : {}),
      logDefaults: this.logDefaults,
    });
    this.projects = built.projects;
    this.repositories = built.repositories;

    this.httpApi = buildHttpApi(this, {
      apiName: `lockstep-${name}`,
      description: `Lockstep ${name}: GitHub webhook and approval links`,
      throttle: props.apiThrottle ?? { rateLimit: 10, burstLimit: 20 },
      logDefaults: this.logDefaults,
    });
    this.httpStage = this.node.findChild('ApiStage') as apigwv2.HttpStage;
    const approvals = props.routeThrottles?.approvals ?? { rateLimit: 5, burstLimit: 10 };
    const consolePages = props.routeThrottles?.console ?? { rateLimit: 20, burstLimit: 40 };
    throttleRoutes(this.httpStage, {
      'POST /webhooks/github': props.routeThrottles?.webhook ?? { rateLimit: 20, burstLimit: 50 },
      'GET /approvals/{requestId}': approvals,
      'POST /approvals/{requestId}': approvals,
      // Its own share, so a page left open (polling) cannot use up the webhook's or the approval links'.
      'GET /console': consolePages,
      'GET /console/{asset}': consolePages,
      'GET /console/api/{proxy+}': consolePages,
      'POST /console/api/{proxy+}': props.routeThrottles?.consoleActions ?? { rateLimit: 5, burstLimit: 10 },
    });
    this.webhookUrl = `${this.httpApi.apiEndpoint}/webhooks/github`;
    this.approvalBaseUrl = `${this.httpApi.apiEndpoint}/approvals`;

    this.functions = buildFunctions(this, {
      names: HANDLER_NAMES,
      entry: handlerEntry,
      settings: (handler) => HANDLERS[handler],
      environment: this.functionEnvironment(stateMachineArn, props.approvalLinkTtl ?? Duration.hours(24)),
      bundledJson: { 'pipeline.json': pipeline },
      bundledFolders: (handler) => BUNDLED_FOLDERS[handler],
      ...this.logDefaults,
    });
    this.consoleAuth = buildConsoleAuth(this, {
      pipelineName: name,
      httpApi: this.httpApi,
      ...(props.consoleUserPool ? { existingUserPool: props.consoleUserPool } : {}),
      removalPolicy,
    });
    this.consoleUrl = `${this.httpApi.apiEndpoint}/console`;
    for (const [variable, value] of Object.entries(this.consoleAuth.environment))
      this.functions['console-api'].addEnvironment(variable, value);
    this.stateMachine = lockstepStateMachine(this, 'PromotionStateMachine', {
      stateMachineName,
      aslFile: PROMOTION_ASL,
      // Deploy and test builds log under `<environment>/<step>` in the steps log group (LogsConfigOverride).
      definitionSubstitutions: { StepsLogGroupName: built.stepsLogGroup?.logGroupName ?? 'none' },
      logGroup: buildLogGroup(
        this,
        'PromotionLogs',
        this.logDefaults,
        perCreationName(`/aws/vendedlogs/states/${stateMachineName}`),
      ),
      invokes: {
        PromotionStepsFunctionArn: this.functions['promotion-steps'],
        ApprovalRequestFunctionArn: this.functions['approval-request'],
      },
      codeBuildProjects: definitions.filter((d) => d.kind === 'steps').map((d) => this.projects.get(d.name)!),
    });
    grantHandlerPermissions(this, {
      pipeline,
      definitions,
      stateMachineArn,
      encryptionKey: key,
      functions: this.functions,
      tables: this.tables,
      projects: this.projects,
      artifactsBucket: this.artifactsBucket,
      approvalTopic: this.approvalTopic,
      notificationTopic: this.notificationTopic,
      webhookSecret: this.webhookSecret,
      approvalSigningSecret: this.approvalSigningSecret,
      repositories: [...this.repositories.values()],
    });
    grantAlarmReads(this, pipeline, this.functions['promotion-steps']);
    this.historyArchiver = buildHistoryArchiver(this, {
      pipeline,
      environment: this.functionEnvironment(stateMachineArn, props.approvalLinkTtl ?? Duration.hours(24)),
      tables: this.tables,
      artifactsBucket: this.artifactsBucket,
      ...this.logDefaults,
    });
    this.addRoutes();
    this.addTriggers(props.reconcileInterval ?? Duration.minutes(1));
    this.monitoring = buildMonitoring(this, {
      title: `Lockstep ${name}`,
      functions: this.functions,
      asyncFunctions: ['reconcile', 'codecommit-push'],
      stateMachines: { Promotion: this.stateMachine },
      topic: this.notificationTopic,
      encryptionKey: key,
    });
    this.addOutputs();
    this.deletionNotice = buildDeletionNotice(this, {
      pipelineName: name,
      notificationTopic: this.notificationTopic,
      encryptionKey: key,
      logDefaults: this.logDefaults,
    });
    dependOnAllOf(this.deletionNotice, this);
  }

  /** The environment variables of ARCHITECTURE.md, the same for every function. */
  private functionEnvironment(stateMachineArn: string, approvalLinkTtl: Duration): Record<string, string> {
    return {
      LOCKSTEP_ARTIFACTS_BUCKET: this.artifactsBucket.bucketName,
      LOCKSTEP_APPROVAL_TOPIC_ARN: this.approvalTopic.topicArn,
      LOCKSTEP_NOTIFICATION_TOPIC_ARN: this.notificationTopic.topicArn,
      LOCKSTEP_PROMOTION_STATE_MACHINE_ARN: stateMachineArn,
      LOCKSTEP_WEBHOOK_SECRET_ARN: this.webhookSecret.secretArn,
      LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN: this.approvalSigningSecret.secretArn,
      LOCKSTEP_APPROVAL_BASE_URL: this.approvalBaseUrl,
      LOCKSTEP_APPROVAL_LINK_TTL_SECONDS: String(approvalLinkTtl.toSeconds()),
      LOCKSTEP_PIPELINE_FILE: PIPELINE_FILE_IN_BUNDLE,
      POWERTOOLS_SERVICE_NAME: 'lockstep',
      POWERTOOLS_METRICS_NAMESPACE: 'Lockstep',
      ...Object.fromEntries(TABLES.map((t) => [t.envVar, this.tables[t.logicalName].tableName])),
    };
  }

  private addRoutes(): void {
    this.httpApi.addRoutes({
      path: '/webhooks/github',
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('GithubWebhookIntegration', this.functions['github-webhook']),
    });
    this.httpApi.addRoutes({
      path: '/approvals/{requestId}',
      methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('ApprovalApiIntegration', this.functions['approval-api']),
    });
    // The console: its static front end is public (it holds no data); every data and action route is behind the
    // Cognito JWT authorizer (`requireAuthorizerOnConsoleRoutes` fails synth otherwise).
    const consoleIntegration = new HttpLambdaIntegration('ConsoleApiIntegration', this.functions['console-api']);
    for (const path of ['/console', '/console/{asset}'])
      this.httpApi.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration: consoleIntegration });
    this.httpApi.addRoutes({
      path: '/console/api/{proxy+}',
      methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
      integration: consoleIntegration,
      authorizer: this.consoleAuth.authorizer,
    });
    for (const route of this.httpApi.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
      if (route.node.id.includes('console/api')) continue;
      acknowledge(route, {
        id: 'AwsSolutions-APIG4',
        reason: route.node.id.includes('webhooks')
          ? 'GitHub cannot send IAM or JWT credentials; the handler verifies X-Hub-Signature-256 over the raw body before anything else'
          : route.node.id.includes('console')
            ? "The console's static front end (HTML, CSS, scripts) holds no data; its data and action routes (/console/api/*) are behind the Cognito JWT authorizer"
            : 'Approvers open emailed links in a browser; each link is HMAC-signed, expires, works once and is bound to one execution, environment and revision',
      });
    }
  }

  private addTriggers(reconcileInterval: Duration): void {
    new events.Rule(this, 'ReconcileSchedule', {
      description: `Lockstep ${this.pipeline.pipeline.name}: reconcile pass`,
      schedule: events.Schedule.rate(reconcileInterval),
      // A missed pass is made good by the next one; retrying a stale pass would only add load.
      targets: [new targets.LambdaFunction(this.functions.reconcile, { retryAttempts: 0 })],
    });
    // Events make the agents fast; the schedule keeps them correct. A promotion that ends (AutoPromote to the next
    // environments) and an application build that ends (AutoDeploy of the new revision) start a pass at once,
    // from the events Step Functions and CodeBuild put on the default bus anyway.
    new events.Rule(this, 'ReconcileOnPromotionEnd', {
      description: `Lockstep ${this.pipeline.pipeline.name}: reconcile when a promotion execution ends`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [new targets.LambdaFunction(this.functions.reconcile, { retryAttempts: 2 })],
    });
    const buildProjectNames = this.pipeline.applications
      .map((application) => buildProjectName(this.pipeline.pipeline.name, application.name))
      .filter((name) => this.projects.has(name));
    if (buildProjectNames.length > 0) {
      new events.Rule(this, 'ReconcileOnBuildEnd', {
        description: `Lockstep ${this.pipeline.pipeline.name}: reconcile when an application build ends`,
        eventPattern: {
          source: ['aws.codebuild'],
          detailType: ['CodeBuild Build State Change'],
          detail: { 'project-name': buildProjectNames, 'build-status': ['SUCCEEDED', 'FAILED', 'STOPPED'] },
        },
        targets: [new targets.LambdaFunction(this.functions.reconcile, { retryAttempts: 2 })],
      });
    }

    const repositories = [...this.repositories.entries()];
    if (repositories.length === 0) return;
    const branches = [
      ...new Set(this.pipeline.packages.flatMap((p) => ('codecommit' in p.source ? [p.source.codecommit.branch] : []))),
    ].sort();
    new events.Rule(this, 'CodeCommitPushRule', {
      description: `Lockstep ${this.pipeline.pipeline.name}: pushes to the pipeline's CodeCommit branches`,
      eventPattern: {
        source: ['aws.codecommit'],
        detailType: ['CodeCommit Repository State Change'],
        resources: repositories.map(([, r]) => r.repositoryArn),
        detail: { event: ['referenceCreated', 'referenceUpdated'], referenceType: ['branch'], referenceName: branches },
      },
      targets: [
        new targets.LambdaFunction(this.functions['codecommit-push'], {
          retryAttempts: 4,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }

  private addOutputs(): void {
    new CfnOutput(this, 'WebhookUrl', {
      value: this.webhookUrl,
      description: 'GitHub webhook payload URL (content type application/json)',
    });
    new CfnOutput(this, 'WebhookSecretArn', {
      value: this.webhookSecret.secretArn,
      description: 'Secret whose "current" value GitHub signs deliveries with',
    });
    new CfnOutput(this, 'ApprovalBaseUrl', { value: this.approvalBaseUrl, description: 'Base URL of approval links' });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.artifactsBucket.bucketName });
    new CfnOutput(this, 'PromotionStateMachineArn', { value: this.stateMachine.stateMachineArn });
    for (const definition of TABLES) {
      new CfnOutput(this, `${definition.logicalName}TableName`, {
        value: this.tables[definition.logicalName].tableName,
      });
    }
  }

  /**
   * Shows an `SdkPublisher`'s SDKs on the console's SDKs page: the console function may read its table (and decrypt
   * it, where it has its own key), nothing more. `LockstepStack` calls it when the stack publishes SDKs.
   *
   * @example
   * system.showSdksOf(publisher.table);
   */
  showSdksOf(table: dynamodb.ITable): void {
    const consoleFunction = this.functions['console-api'];
    consoleFunction.addEnvironment('LOCKSTEP_SDK_TABLE', table.tableName);
    table.grant(consoleFunction, 'dynamodb:GetItem', 'dynamodb:Query');
    table.encryptionKey?.grantDecrypt(consoleFunction);
  }
}

function buildTables(
  scope: Construct,
  encryptionKey: kms.IKey,
  removalPolicy: RemovalPolicy,
  existing: Partial<Readonly<Record<TableDefinition['logicalName'], dynamodb.ITable>>>,
): Record<TableDefinition['logicalName'], dynamodb.ITable> {
  const entries = TABLES.map(
    (definition) =>
      [
        definition.logicalName,
        existing[definition.logicalName] ?? createLockstepTable(scope, definition, { encryptionKey, removalPolicy }),
      ] as const,
  );
  return Object.fromEntries(entries) as Record<TableDefinition['logicalName'], dynamodb.ITable>;
}

function buildArtifactsBucket(
  scope: Construct,
  encryptionKey: kms.IKey,
  removalPolicy: RemovalPolicy,
  objectLockEnabled: boolean,
): s3.Bucket {
  const accessLogs = createAccessLogsBucket(scope, 'AccessLogsBucket', {
    removalPolicy,
    logsOf: 'artifacts bucket server',
  });
  return createDataBucket(scope, 'ArtifactsBucket', {
    encryptionKey,
    accessLogs,
    accessLogsPrefix: 'artifacts/',
    removalPolicy,
    objectLockEnabled,
  });
}

/** One subscription per address, filtered to the union of the events it asked for in any notification entry. */
function notificationSubscriptions(pipeline: Pipeline): [string, string[]][] {
  const eventsByEmail = new Map<string, Set<string>>();
  for (const notification of pipeline.notifications) {
    for (const email of notification.emails) {
      const set = eventsByEmail.get(email) ?? new Set<string>();
      notification.events.forEach((event) => set.add(event));
      eventsByEmail.set(email, set);
    }
  }
  return [...eventsByEmail].map(([email, subscribed]) => [email, [...subscribed].sort()]);
}

/**
 * Each approval link is signed for one approver and published once per approver with the message attribute
 * `approver` (lower case): each address receives its own links and nobody else's.
 */
function approverSubscriptions(pipeline: Pipeline): [string, string[]][] {
  const approvers = new Set<string>();
  for (const environment of pipeline.stages.flatMap((s) => s.environments)) {
    environment.approval.manual?.approvers.forEach((email) => approvers.add(email.toLowerCase()));
  }
  for (const promotion of pipeline.promotions) {
    if (promotion.approval === 'manual') promotion.approvers?.forEach((email) => approvers.add(email.toLowerCase()));
  }
  return [...approvers].sort().map((email) => [email, [email]]);
}

/** A secret `{"current": <generated>}` (and room for "previous" during a rotation). */
function buildRotatableSecret(
  scope: Construct,
  id: string,
  description: string,
  passwordLength: number,
  encryptionKey: kms.IKey,
  removalPolicy: RemovalPolicy,
): secretsmanager.Secret {
  return new secretsmanager.Secret(scope, id, {
    description,
    encryptionKey,
    generateSecretString: {
      secretStringTemplate: JSON.stringify({}),
      generateStringKey: 'current',
      passwordLength,
      excludePunctuation: true,
    },
    removalPolicy,
  });
}

function buildWebhookSecret(
  scope: Construct,
  name: string,
  key: kms.IKey,
  removalPolicy: RemovalPolicy,
): secretsmanager.Secret {
  const secret = buildRotatableSecret(
    scope,
    'WebhookSecret',
    `Lockstep ${name}: GitHub webhook secret as {"current","previous"}`,
    48,
    key,
    removalPolicy,
  );
  acknowledge(secret, {
    id: 'AwsSolutions-SMG4',
    reason:
      'Rotating the webhook secret needs the same value entered on GitHub, which a rotation Lambda cannot do; ' +
      'operators rotate by moving "current" to "previous" and setting a new "current" in both places',
  });
  return secret;
}

function buildSigningSecret(
  scope: Construct,
  name: string,
  key: kms.IKey,
  removalPolicy: RemovalPolicy,
): secretsmanager.Secret {
  const description = `Lockstep ${name}: HMAC key that signs approval links, as {"current","previous"}`;
  const secret = buildRotatableSecret(scope, 'ApprovalSigningSecret', description, 64, key, removalPolicy);
  acknowledge(secret, {
    id: 'AwsSolutions-SMG4',
    reason:
      'An automatic rotation would invalidate approval links already emailed; operators rotate by moving ' +
      '"current" to "previous" (still accepted) and setting a new "current"; links expire and work once anyway',
  });
  return secret;
}

/** Checks every prop and returns the parsed pipeline (defaults applied), or throws once with every problem. */
export function checkProps(props: DeploymentSystemProps): Pipeline {
  const problems: string[] = [];
  // The same checks `loadPipeline` runs (schema and cross-references), for pipelines built as objects in code.
  const check =
    typeof props.pipeline === 'string' ? checkPipelinePath(props.pipeline) : checkPipelineObject(props.pipeline);
  const pipeline = check.pipeline;
  for (const problem of check.problems) {
    problems.push(`pipeline${problem.path ? `.${problem.path}` : ''}: ${problem.message}; ${problem.fix}`);
  }
  if (pipeline) {
    problems.push(...buildspecProblems(pipeline).map((p) => `pipeline.${p}`));
    // Too large for one stack: said now, with what to split, rather than as the CDK's or CloudFormation's failure.
    for (const problem of stackLimitProblems(pipeline)) {
      problems.push(`pipeline.${problem.path}: ${problem.message}; ${problem.fix}`);
    }
    pipeline.packages.forEach((p, i) => {
      if ('local' in p.source) {
        problems.push(
          `pipeline.packages[${i}].source: "${p.name}" uses a local source, which only local mode can build; use github or codecommit`,
        );
      }
    });
  }
  const interval = props.reconcileInterval;
  if (interval && !interval.isUnresolved()) {
    const seconds = interval.toSeconds();
    if (seconds < 60 || seconds % 60 !== 0) {
      problems.push(
        `reconcileInterval: EventBridge schedules run in whole minutes; use Duration.minutes(n) with n >= 1 (got ${interval.toHumanString()})`,
      );
    }
  }
  const ttl = props.approvalLinkTtl;
  if (ttl && !ttl.isUnresolved()) {
    const seconds = ttl.toSeconds();
    if (seconds < 60 || seconds > 30 * 86_400) {
      problems.push(
        `approvalLinkTtl: use between Duration.minutes(1) and Duration.days(30) (got ${ttl.toHumanString()})`,
      );
    }
  }
  const throttle = props.apiThrottle;
  if (throttle) {
    if (throttle.rateLimit !== undefined && !Token.isUnresolved(throttle.rateLimit) && throttle.rateLimit <= 0) {
      problems.push(`apiThrottle.rateLimit: use a positive number of requests per second (got ${throttle.rateLimit})`);
    }
    if (throttle.burstLimit !== undefined && !Token.isUnresolved(throttle.burstLimit) && throttle.burstLimit < 1) {
      problems.push(`apiThrottle.burstLimit: use at least 1 (got ${throttle.burstLimit})`);
    }
  }
  if (problems.length > 0 || !pipeline) throw new DeploymentSystemPropsError(problems);
  return pipeline;
}

/**
 * Reads the pipeline file `pipeline` names. Its problems (a missing file included) come back with the file and
 * line in the message, so synth reports them like every other prop problem instead of an ENOENT stack.
 */
function checkPipelinePath(path: string): PipelineCheck {
  if (/\.[cm]?[tj]s$/.test(path)) {
    return {
      problems: [
        {
          path: '',
          message: `${path} is a TypeScript or JavaScript module, which a construct cannot load while it is built`,
          fix: "import it and pass the object (pipeline: (await import('./pipeline.js')).default), or use a YAML or JSON file",
        },
      ],
    };
  }
  try {
    return { pipeline: loadPipeline(path), problems: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      problems: error.problems.map((p) => ({
        ...p,
        message: `${path}${p.line !== undefined ? `:${p.line}` : ''}${p.path ? ` ${p.path}` : ''}: ${p.message}`,
        path: '',
      })),
    };
  }
}
