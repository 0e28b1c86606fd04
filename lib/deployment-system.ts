/**
 * `DeploymentSystem`: the promotion half of Lockstep on AWS, built from one pipeline definition.
 *
 * Webhook / CodeCommit event -> AutoBuild (Lambda) -> CodeBuild build project -> revision artifact (S3) and record
 * (DynamoDB); the reconcile pass (every minute) starts promotion executions (Step Functions) that deploy and test
 * with CodeBuild, ask for approval by email (SNS) with links answered through an HTTP API, and promote onwards.
 */
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import {
  buildspecProblems,
  codeBuildProjects,
  BUILDS_PREFIX,
  REVISION_ARTIFACT_FILE,
  REVISIONS_PREFIX,
  type CodeBuildProjectDefinition,
  type PackageCheckout,
} from '../lambdas/core/buildspecs';
import { checkPipelineObject } from '../lambdas/core/config/load';
import type { Pipeline } from '../lambdas/core/config/schema';
import { LockstepError } from '../lambdas/core/errors';
import { buildProjectName } from '../lambdas/core/names';
import { pipelineSwitched } from '../lambdas/promotion/notifications';
import { TABLES, type TableDefinition } from '../lambdas/core/tables';
import {
  HANDLER_NAMES,
  HANDLERS,
  handlerEntry,
  PIPELINE_FILE_IN_BUNDLE,
  type HandlerName,
} from './handlers';
import { grantObjectsRead, grantObjectsWrite, grantTableData, grantTopicPublish } from './grants';
import { apigwv2AccessLogFormat } from './api';
import { createAccessLogsBucket, createDataBucket, useBucketPolicyForAccessLogs } from './buckets';
import { S3ObjectSource } from './codebuild-sources';
import { lockstepFunction, pascal } from './lockstep-function';
import { lockstepStateMachine } from './state-machine';
import { acknowledge, resourceFinding } from './nag';
import { createLockstepTable } from './tables';

export interface DeploymentSystemProps {
  /** The pipeline definition (as returned by `loadPipeline`). Its name prefixes CodeBuild projects and the state machine. */
  readonly pipeline: Pipeline;
  /**
   * Key that encrypts the tables, the artifacts bucket, the topics, the secrets and CodeBuild output.
   * @default - a new customer-managed key with yearly rotation, kept on stack deletion
   */
  readonly encryptionKey?: kms.IKey;
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
   * Compute and image of every CodeBuild project.
   * @default - Amazon Linux standard 5.0 image (ARM), small compute, not privileged
   */
  readonly buildEnvironment?: codebuild.BuildEnvironment;
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
  readonly tables: Readonly<Record<TableDefinition['logicalName'], dynamodb.Table>>;
  readonly approvalTopic: sns.Topic;
  readonly notificationTopic: sns.Topic;
  readonly webhookSecret: secretsmanager.ISecret;
  readonly approvalSigningSecret: secretsmanager.Secret;
  /** CodeBuild projects by name (`names.ts`). */
  readonly projects: ReadonlyMap<string, codebuild.Project>;
  readonly functions: Readonly<Record<HandlerName, nodejs.NodejsFunction>>;
  readonly stateMachine: sfn.StateMachine;
  readonly httpApi: apigwv2.HttpApi;
  /** `https://.../webhooks/github`: the payload URL to configure on GitHub. */
  readonly webhookUrl: string;
  /** `https://.../approvals`: approval links are `<approvalBaseUrl>/<requestId>?...`. */
  readonly approvalBaseUrl: string;

  private readonly removalPolicy: RemovalPolicy;
  private readonly logRetention: logs.RetentionDays;

  constructor(scope: Construct, id: string, props: DeploymentSystemProps) {
    super(scope, id);
    const pipeline = validateProps(props);
    this.pipeline = pipeline;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    useBucketPolicyForAccessLogs(this);

    const stack = Stack.of(this);
    const projectDefinitions = codeBuildProjects(pipeline);
    const stateMachineName = `lockstep-${pipeline.pipeline.name}-promotion`;
    // Built from the name rather than referenced: the functions the state machine invokes also need its ARN, and
    // a reference would make a dependency cycle.
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.encryptionKey = props.encryptionKey ?? this.createKey();
    this.tables = this.createTables();
    this.artifactsBucket = props.artifactsBucket ?? this.createArtifactsBucket();
    [this.approvalTopic, this.notificationTopic] = this.createTopics();
    this.webhookSecret = props.webhookSecret ?? this.createWebhookSecret();
    this.approvalSigningSecret = this.createSigningSecret();
    this.projects = this.createProjects(projectDefinitions, props.buildEnvironment);

    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      apiName: `lockstep-${pipeline.pipeline.name}`,
      description: `Lockstep ${pipeline.pipeline.name}: GitHub webhook and approval links`,
      createDefaultStage: false,
    });
    this.createApiStage(props.apiThrottle);
    this.webhookUrl = `${this.httpApi.apiEndpoint}/webhooks/github`;
    this.approvalBaseUrl = `${this.httpApi.apiEndpoint}/approvals`;

    this.functions = this.createFunctions({
      LOCKSTEP_ARTIFACTS_BUCKET: this.artifactsBucket.bucketName,
      LOCKSTEP_APPROVAL_TOPIC_ARN: this.approvalTopic.topicArn,
      LOCKSTEP_NOTIFICATION_TOPIC_ARN: this.notificationTopic.topicArn,
      LOCKSTEP_PROMOTION_STATE_MACHINE_ARN: stateMachineArn,
      LOCKSTEP_WEBHOOK_SECRET_ARN: this.webhookSecret.secretArn,
      LOCKSTEP_APPROVAL_SIGNING_SECRET_ARN: this.approvalSigningSecret.secretArn,
      LOCKSTEP_APPROVAL_BASE_URL: this.approvalBaseUrl,
      LOCKSTEP_APPROVAL_LINK_TTL_SECONDS: String((props.approvalLinkTtl ?? Duration.hours(24)).toSeconds()),
      LOCKSTEP_PIPELINE_FILE: PIPELINE_FILE_IN_BUNDLE,
      POWERTOOLS_SERVICE_NAME: 'lockstep',
      POWERTOOLS_METRICS_NAMESPACE: 'Lockstep',
      ...Object.fromEntries(TABLES.map((t) => [t.envVar, this.tables[t.logicalName].tableName])),
    });

    this.stateMachine = this.createStateMachine(stateMachineName, projectDefinitions);
    this.grantFunctionPermissions(stateMachineArn, projectDefinitions);
    this.addRoutes();
    this.addTriggers(props.reconcileInterval ?? Duration.minutes(1));
    this.addDeletionNotice();
    this.addOutputs();
  }

  private createKey(): kms.Key {
    return new kms.Key(this, 'Key', {
      description: `Lockstep ${this.pipeline.pipeline.name}: tables, artifacts, topics, secrets and build output`,
      enableKeyRotation: true,
      removalPolicy: this.removalPolicy,
    });
  }

  private createTables(): Record<TableDefinition['logicalName'], dynamodb.Table> {
    const options = { encryptionKey: this.encryptionKey, removalPolicy: this.removalPolicy };
    const entries = TABLES.map((definition) => [definition.logicalName, createLockstepTable(this, definition, options)] as const);
    return Object.fromEntries(entries) as Record<TableDefinition['logicalName'], dynamodb.Table>;
  }

  private createArtifactsBucket(): s3.Bucket {
    const accessLogs = createAccessLogsBucket(this, 'AccessLogsBucket', { removalPolicy: this.removalPolicy, logsOf: 'artifacts bucket server' });
    return createDataBucket(this, 'ArtifactsBucket', {
      encryptionKey: this.encryptionKey,
      accessLogs,
      accessLogsPrefix: 'artifacts/',
      removalPolicy: this.removalPolicy,
    });
  }

  private createTopics(): [sns.Topic, sns.Topic] {
    const topic = (id: string, displayName: string): sns.Topic =>
      new sns.Topic(this, id, { displayName, masterKey: this.encryptionKey, enforceSSL: true });
    const approvals = topic('ApprovalTopic', `Lockstep ${this.pipeline.pipeline.name} approval requests`);
    const notifications = topic('NotificationTopic', `Lockstep ${this.pipeline.pipeline.name} notifications`);

    // One subscription per address, filtered to the union of the events it asked for in any notification entry.
    const eventsByEmail = new Map<string, Set<string>>();
    for (const notification of this.pipeline.notifications) {
      for (const email of notification.emails) {
        const set = eventsByEmail.get(email) ?? new Set<string>();
        notification.events.forEach((event) => set.add(event));
        eventsByEmail.set(email, set);
      }
    }
    for (const [email, subscribed] of eventsByEmail) {
      notifications.addSubscription(
        new subscriptions.EmailSubscription(email, {
          filterPolicy: { event: sns.SubscriptionFilter.stringFilter({ allowlist: [...subscribed].sort() }) },
        }),
      );
    }

    // Each approval link is signed for one approver and published once per approver with the message attribute
    // `approver` (lower case): each address receives its own links and nobody else's.
    const approvers = new Set<string>();
    for (const environment of this.pipeline.stages.flatMap((s) => s.environments)) {
      environment.approval.manual?.approvers.forEach((email) => approvers.add(email.toLowerCase()));
    }
    for (const promotion of this.pipeline.promotions) {
      if (promotion.approval === 'manual') promotion.approvers?.forEach((email) => approvers.add(email.toLowerCase()));
    }
    for (const email of [...approvers].sort()) {
      approvals.addSubscription(
        new subscriptions.EmailSubscription(email, {
          filterPolicy: { approver: sns.SubscriptionFilter.stringFilter({ allowlist: [email] }) },
        }),
      );
    }
    return [approvals, notifications];
  }

  private createWebhookSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description: `Lockstep ${this.pipeline.pipeline.name}: GitHub webhook secret as {"current","previous"}`,
      encryptionKey: this.encryptionKey,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'current',
        passwordLength: 48,
        excludePunctuation: true,
      },
      removalPolicy: this.removalPolicy,
    });
    acknowledge(secret, {
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the webhook secret needs the same value entered on GitHub, which a rotation Lambda cannot do; ' +
        'operators rotate by moving "current" to "previous" and setting a new "current" in both places',
    });
    return secret;
  }

  private createSigningSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'ApprovalSigningSecret', {
      description: `Lockstep ${this.pipeline.pipeline.name}: HMAC key that signs approval links, as {"current","previous"}`,
      encryptionKey: this.encryptionKey,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'current',
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy: this.removalPolicy,
    });
    acknowledge(secret, {
      id: 'AwsSolutions-SMG4',
      reason:
        'An automatic rotation would invalidate approval links already emailed; operators rotate by moving ' +
        '"current" to "previous" (still accepted) and setting a new "current"; links expire and work once anyway',
    });
    return secret;
  }

  private createProjects(
    definitions: readonly CodeBuildProjectDefinition[],
    environment: codebuild.BuildEnvironment | undefined,
  ): Map<string, codebuild.Project> {
    const projects = new Map<string, codebuild.Project>();
    for (const definition of definitions) {
      const id = `${definition.kind === 'build' ? 'Build' : definition.kind === 'deploy' ? 'Deploy' : 'Test'}Project-${
        definition.kind === 'build' ? definition.application : definition.kind === 'deploy' ? definition.environment : `${definition.environment}-${definition.step}`
      }`;
      const logGroup = this.logGroup(`${id}Logs`);
      const sources = this.projectSources(id, definition);
      const project = new codebuild.Project(this, id, {
        projectName: definition.name,
        description: `Lockstep ${definition.kind} project (${definition.application ?? definition.environment}${definition.step ? `, ${definition.step}` : ''})`,
        buildSpec: codebuild.BuildSpec.fromObjectToYaml(definition.buildspec as unknown as Record<string, unknown>),
        source: sources[0],
        secondarySources: sources.slice(1),
        ...(definition.kind === 'build'
          ? { artifacts: new BuildArtifacts(this.artifactsBucket, `${BUILDS_PREFIX}${definition.application}`) }
          : {}),
        environment: environment ?? {
          buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2_STANDARD_3_0,
          computeType: codebuild.ComputeType.SMALL,
          privileged: false,
        },
        environmentVariables: Object.fromEntries(
          Object.entries(definition.environmentVariables).map(([name, value]) => [name, { value }]),
        ),
        encryptionKey: this.encryptionKey,
        logging: { cloudWatch: { logGroup } },
        // No test reports: results travel as build status, so no report-group permissions are needed.
        grantReportGroupPermissions: false,
        timeout: Duration.hours(1),
      });
      this.grantProjectAccess(project, definition);
      acknowledge(
        project,
        {
          id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
          reason: 'CodeBuild encrypts build output with the system key through the CDK grant, which adds ReEncrypt* on that one key',
        },
        {
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason: 'CodeBuild encrypts build output with the system key through the CDK grant, which adds GenerateDataKey* on that one key',
        },
        {
          // The statement CodeBuild adds for its default log group, whatever the logging settings.
          id: `AwsSolutions-IAM5[${resourceFinding(this, `${Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `/aws/codebuild/${project.projectName}` })}:*`)}]`,
          reason: `CodeBuild always grants its default log group /aws/codebuild/${definition.name}; ":*" covers the log streams of that one group`,
        },
      );
      projects.set(definition.name, project);
    }
    return projects;
  }

  private projectSources(id: string, definition: CodeBuildProjectDefinition): codebuild.ISource[] {
    if (definition.source.type === 'revision-artifact') {
      // The revision zip is chosen per build (sourceLocationOverride); this default points at the prefix.
      return [new S3ObjectSource(this.artifactsBucket, `${REVISIONS_PREFIX}none/0/artifact.zip`)];
    }
    return definition.source.packages.map((checkout) => this.packageSource(id, checkout));
  }

  private packageSource(id: string, checkout: PackageCheckout): codebuild.ISource {
    const location = checkout.location;
    if ('github' in location) {
      return codebuild.Source.gitHub({
        owner: location.github.owner,
        repo: location.github.repo,
        branchOrRef: location.github.branch,
        identifier: checkout.identifier,
        // Builds start from Lockstep's own webhook handler, which groups pushes; no CodeBuild webhook.
        webhook: false,
      });
    }
    if ('codecommit' in location) {
      return codebuild.Source.codeCommit({
        repository: this.repository(location.codecommit.repository),
        branchOrRef: location.codecommit.branch,
        identifier: checkout.identifier,
      });
    }
    // validateProps refuses local sources before any project is made.
    throw new Error(`${id}: local sources cannot be deployed`);
  }

  private readonly repositories = new Map<string, codecommit.IRepository>();

  private repository(name: string): codecommit.IRepository {
    let repository = this.repositories.get(name);
    if (!repository) {
      repository = codecommit.Repository.fromRepositoryName(this, `Repository-${name}`, name);
      this.repositories.set(name, repository);
    }
    return repository;
  }

  private grantProjectAccess(project: codebuild.Project, definition: CodeBuildProjectDefinition): void {
    // CodeBuild checks the bucket's location and ACL before it downloads a source or uploads an artifact.
    project.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetBucketAcl', 's3:GetBucketLocation'], resources: [this.artifactsBucket.bucketArn] }),
    );
    if (definition.kind === 'build') {
      // Each build uploads under its own build request id, known only when the build starts.
      const pattern = `${BUILDS_PREFIX}${definition.application}/*`;
      grantObjectsWrite(this.artifactsBucket, pattern, project);
      acknowledge(project, {
        id: `AwsSolutions-IAM5[${resourceFinding(this, this.artifactsBucket.arnForObjects(pattern))}]`,
        reason: `Build request ids of ${definition.application} are made per build, so the build may write under ${pattern} and nowhere else`,
      });
      return;
    }
    if (definition.source.type !== 'revision-artifact') return;
    for (const application of definition.source.applications) {
      const pattern = `${REVISIONS_PREFIX}${application}/*`;
      grantObjectsRead(this.artifactsBucket, pattern, project);
      acknowledge(project, {
        id: `AwsSolutions-IAM5[${resourceFinding(this, this.artifactsBucket.arnForObjects(pattern))}]`,
        reason: `${definition.kind === 'deploy' ? 'Deploys' : 'Tests'} receive whichever revision of ${application} is promoted to ${definition.environment}; revision numbers are not known at deploy time`,
      });
    }
    if (definition.roleArn) {
      project.addToRolePolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [definition.roleArn] }));
    }
  }

  private createApiStage(throttle: apigwv2.ThrottleSettings | undefined): apigwv2.HttpStage {
    const accessLogs = this.logGroup('ApiAccessLogs');
    return new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: throttle ?? { rateLimit: 10, burstLimit: 20 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // JSON, without query strings: approval links carry their signature in the query.
        format: apigwv2AccessLogFormat(),
      },
    });
  }

  private createFunctions(environment: Record<string, string>): Record<HandlerName, nodejs.NodejsFunction> {
    const entries = HANDLER_NAMES.map((name) => {
      const settings = HANDLERS[name];
      const fn = lockstepFunction(this, pascal(name), {
        entry: handlerEntry(name),
        ...settings,
        environment,
        bundledJson: { 'pipeline.json': this.pipeline },
        logRetention: this.logRetention,
        removalPolicy: this.removalPolicy,
      });
      return [name, fn] as const;
    });
    return Object.fromEntries(entries) as Record<HandlerName, nodejs.NodejsFunction>;
  }

  private createStateMachine(name: string, definitions: readonly CodeBuildProjectDefinition[]): sfn.StateMachine {
    return lockstepStateMachine(this, 'PromotionStateMachine', {
      stateMachineName: name,
      aslFile: PROMOTION_ASL,
      definitionSubstitutions: {
        PromotionStepsFunctionArn: this.functions['promotion-steps'].functionArn,
        ApprovalRequestFunctionArn: this.functions['approval-request'].functionArn,
      },
      logGroup: this.logGroup('PromotionLogs', `/aws/vendedlogs/states/${name}`),
      invokes: [this.functions['promotion-steps'], this.functions['approval-request']],
      codeBuildProjects: definitions.filter((d) => d.kind === 'deploy' || d.kind === 'test').map((d) => this.projects.get(d.name)!),
    });
  }

  /**
   * What each handler calls (see `lambdas/adapters/runtime.ts`): every function uses the stores (tables); the
   * agents (webhook, CodeCommit, reconcile) start builds and publish build failures; reconcile also completes
   * builds (BatchGetBuilds, artifact copy to its revision) and starts promotion executions; the approval functions
   * sign links; the approval API answers task tokens.
   */
  private grantFunctionPermissions(stateMachineArn: string, definitions: readonly CodeBuildProjectDefinition[]): void {
    const fns = this.functions;
    const key = this.encryptionKey;
    const buildProjectArns = definitions.filter((d) => d.kind === 'build').map((d) => this.projects.get(d.name)!.projectArn);

    for (const fn of Object.values(fns)) {
      for (const table of Object.values(this.tables)) grantTableData(table, fn, 'read-write');
    }

    for (const name of ['github-webhook', 'codecommit-push', 'reconcile'] as const) {
      if (buildProjectArns.length > 0) {
        fns[name].addToRolePolicy(new iam.PolicyStatement({ actions: ['codebuild:StartBuild'], resources: buildProjectArns }));
      }
      grantTopicPublish(this.notificationTopic, key, fns[name]);
    }
    this.webhookSecret.grantRead(fns['github-webhook']);
    // CodeCommit: a push's commits are read one GetCommit at a time; reconcile compares branch heads (GetBranch) to
    // build pushes whose event was dropped. Exactly these actions, on the pipeline's repositories only.
    const repositoryArns = [...this.repositories.values()].map((r) => r.repositoryArn);
    if (repositoryArns.length > 0) {
      fns['codecommit-push'].addToRolePolicy(new iam.PolicyStatement({ actions: ['codecommit:GetCommit'], resources: repositoryArns }));
      fns.reconcile.addToRolePolicy(new iam.PolicyStatement({ actions: ['codecommit:GetBranch', 'codecommit:GetCommit'], resources: repositoryArns }));
    }

    const reconcile = fns.reconcile;
    if (buildProjectArns.length > 0) {
      reconcile.addToRolePolicy(new iam.PolicyStatement({ actions: ['codebuild:BatchGetBuilds'], resources: buildProjectArns }));
    }
    reconcile.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution', 'states:ListExecutions'], resources: [stateMachineArn] }));
    // An environment removed from the definition: its running executions are read (input) and stopped.
    const executionArns = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:*`;
    reconcile.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executionArns] }));
    acknowledge(reconcile.role!, {
      id: `AwsSolutions-IAM5[${resourceFinding(this, executionArns)}]`,
      reason: 'Executions into a removed environment are found at run time; execution names are not known at deploy time',
    });
    // A finished build's artifact is copied (server side) from builds/ to its revision key.
    const builds = `${BUILDS_PREFIX}*`;
    const revisions = `${REVISIONS_PREFIX}*`;
    grantObjectsRead(this.artifactsBucket, builds, reconcile);
    grantObjectsWrite(this.artifactsBucket, revisions, reconcile);
    acknowledge(
      reconcile.role!,
      {
        id: `AwsSolutions-IAM5[${resourceFinding(this, this.artifactsBucket.arnForObjects(builds))}]`,
        reason: 'Build completion copies the artifact of whichever build just finished; build request ids are made at run time',
      },
      {
        id: `AwsSolutions-IAM5[${resourceFinding(this, this.artifactsBucket.arnForObjects(revisions))}]`,
        reason: 'Build completion writes the artifact of the revision it numbers; revision numbers are not known at deploy time',
      },
    );
    // Manual promotions: the reconcile pass sends the go-ahead requests itself.
    if (this.pipeline.promotions.some((p) => p.approval === 'manual')) {
      this.approvalSigningSecret.grantRead(reconcile);
      grantTopicPublish(this.approvalTopic, key, reconcile);
    }
    // Manual approval steps: a decision the approval API stored but could not deliver (throttling, a network error)
    // is delivered by the next reconcile pass, so no decision waits for the approver to post again.
    if (hasManualApprovalSteps(this.pipeline)) {
      reconcile.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: [stateMachineArn] }),
      );
    }

    this.approvalSigningSecret.grantRead(fns['approval-request']);
    grantTopicPublish(this.approvalTopic, key, fns['approval-request']);
    // The approval-requested notice for the pipeline's notification rules (no link) goes to the notification topic.
    grantTopicPublish(this.notificationTopic, key, fns['approval-request']);
    this.approvalSigningSecret.grantRead(fns['approval-api']);
    fns['approval-api'].addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: [stateMachineArn] }),
    );

    grantTopicPublish(this.notificationTopic, key, fns['promotion-steps']);
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
    for (const route of this.httpApi.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
      acknowledge(route, {
        id: 'AwsSolutions-APIG4',
        reason: route.node.id.includes('webhooks')
          ? 'GitHub cannot send IAM or JWT credentials; the handler verifies X-Hub-Signature-256 over the raw body before anything else'
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
        detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
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
      targets: [new targets.LambdaFunction(this.functions['codecommit-push'], { retryAttempts: 4, maxEventAge: Duration.hours(1) })],
    });
  }

  /**
   * Tells the pipeline's subscribers when the pipeline is deleted: CloudFormation deletes this resource before the
   * topic it depends on, and its delete call publishes the same `pipeline-deleted` notification the runtime would.
   */
  private addDeletionNotice(): void {
    const notice = pipelineSwitched({ pipeline: this.pipeline.pipeline.name, change: 'pipeline-deleted', by: 'CloudFormation (stack deletion)' });
    const publish: cr.AwsSdkCall = {
      service: 'SNS',
      action: 'publish',
      parameters: {
        TopicArn: this.notificationTopic.topicArn,
        Subject: notice.subject.slice(0, 99),
        Message: notice.text,
        MessageAttributes: Object.fromEntries(
          Object.entries({ ...notice.attributes, event: notice.event }).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
        ),
      },
      physicalResourceId: cr.PhysicalResourceId.of(`lockstep-${this.pipeline.pipeline.name}-deletion-notice`),
    };
    const logGroup = this.logGroup('DeletionNoticeLogs');
    // Our own role rather than the CDK default, which carries the account-wide AWSLambdaBasicExecutionRole policy.
    const role = new iam.Role(this, 'DeletionNoticeRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Lockstep ${this.pipeline.pipeline.name}: publishes the pipeline-deleted notice`,
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    grantTopicPublish(this.notificationTopic, this.encryptionKey, role);
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sns:ListSubscriptionsByTopic'], resources: [this.notificationTopic.topicArn] }));
    new cr.AwsCustomResource(this, 'DeletionNotice', {
      // Create reads the topic (a harmless call) so the resource exists; only Delete publishes.
      onCreate: { ...publish, action: 'listSubscriptionsByTopic', parameters: { TopicArn: this.notificationTopic.topicArn } },
      onDelete: publish,
      role,
      installLatestAwsSdk: false,
      logGroup,
    });
  }

  private addOutputs(): void {
    new CfnOutput(this, 'WebhookUrl', { value: this.webhookUrl, description: 'GitHub webhook payload URL (content type application/json)' });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.webhookSecret.secretArn, description: 'Secret whose "current" value GitHub signs deliveries with' });
    new CfnOutput(this, 'ApprovalBaseUrl', { value: this.approvalBaseUrl, description: 'Base URL of approval links' });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.artifactsBucket.bucketName });
    new CfnOutput(this, 'PromotionStateMachineArn', { value: this.stateMachine.stateMachineArn });
    for (const definition of TABLES) {
      new CfnOutput(this, `${definition.logicalName}TableName`, { value: this.tables[definition.logicalName].tableName });
    }
  }

  private logGroup(id: string, logGroupName?: string): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      ...(logGroupName ? { logGroupName } : {}),
      retention: this.logRetention,
      removalPolicy: this.removalPolicy,
    });
  }
}

/**
 * The S3 artifact of a build project: `<bucket>/<path>/artifact.zip`, the buildspec's base-directory zipped by
 * CodeBuild, with the path replaced per build (`builds/<application>/<build request>`). Unlike `Artifacts.s3`, it
 * grants nothing: the project may write only its application's prefix (see `grantProjectAccess`).
 */
class BuildArtifacts extends codebuild.Artifacts {
  readonly type = 'S3';

  constructor(
    private readonly bucket: s3.IBucket,
    private readonly path: string,
  ) {
    super({});
  }

  override bind(scope: Construct, project: codebuild.IProject): codebuild.ArtifactsConfig {
    const base = super.bind(scope, project).artifactsProperty;
    return {
      artifactsProperty: { ...base, location: this.bucket.bucketName, path: this.path, name: REVISION_ARTIFACT_FILE, namespaceType: 'NONE', packaging: 'ZIP' },
    };
  }
}

/** Checks every prop and returns the parsed pipeline (defaults applied), or throws once with every problem. */
function validateProps(props: DeploymentSystemProps): Pipeline {
  const problems: string[] = [];
  // The same checks `loadPipeline` runs (schema and cross-references), for pipelines built as objects in code.
  const check = checkPipelineObject(props.pipeline);
  const pipeline = check.pipeline;
  for (const problem of check.problems) {
    problems.push(`pipeline${problem.path ? `.${problem.path}` : ''}: ${problem.message}; ${problem.fix}`);
  }
  if (pipeline) {
    problems.push(...buildspecProblems(pipeline).map((p) => `pipeline.${p}`));
    pipeline.packages.forEach((p, i) => {
      if ('local' in p.source) {
        problems.push(`pipeline.packages[${i}].source: "${p.name}" uses a local source, which only local mode can build; use github or codecommit`);
      }
    });
  }
  const interval = props.reconcileInterval;
  if (interval && !interval.isUnresolved()) {
    const seconds = interval.toSeconds();
    if (seconds < 60 || seconds % 60 !== 0) {
      problems.push(`reconcileInterval: EventBridge schedules run in whole minutes; use Duration.minutes(n) with n >= 1 (got ${interval.toHumanString()})`);
    }
  }
  const ttl = props.approvalLinkTtl;
  if (ttl && !ttl.isUnresolved()) {
    const seconds = ttl.toSeconds();
    if (seconds < 60 || seconds > 30 * 86_400) {
      problems.push(`approvalLinkTtl: use between Duration.minutes(1) and Duration.days(30) (got ${ttl.toHumanString()})`);
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

/** True when some environment's approval workflow has a manual approval step (a Step Functions task token). */
export function hasManualApprovalSteps(pipeline: Pipeline): boolean {
  return pipeline.stages.some((stage) => stage.environments.some((environment) => environment.approval.manual !== undefined));
}
