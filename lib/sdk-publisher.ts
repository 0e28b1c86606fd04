/**
 * `SdkPublisher`: the SDK publishing half of Lockstep on AWS.
 *
 * upload (HTTP API presigned PUT / plain S3 put / scheduled poll) -> SDK host bucket -> sdk-intake (EventBridge)
 * -> SDK publishing state machine (validate, convert, stage, test with CodeBuild, publish) -> package host bucket
 * by tier -> CloudFront (origin access control; signed URLs for `private/*` and `early-access/*`) -> consumers,
 * who get their URLs from the download API after an access policy check.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { parse as parseYaml } from 'yaml';
import { LockstepError } from '../lambdas/core/errors';
import { SDK_TABLES } from '../lambdas/core/tables';
import { AccessControl, type AccessPolicy } from '../lambdas/sdk/host/acl';
import { AccessPolicyError } from '../lambdas/sdk/host/errors';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../lambdas/sdk/converter';
import {
  ARCHIVE_LIMITS_ENV,
  archiveLimitsProblems,
  ephemeralStorageProblem,
  stepsEphemeralStorageMiB,
} from '../lambdas/sdk/service/archive-limits';
import { buildHttpApi, throttleRoutes } from './api';
import {
  accessLogDeliveryStatement,
  adoptBucket,
  createAccessLogsBucket,
  createDataBucket,
  useBucketPolicyForAccessLogs,
  type AdoptedBucket,
} from './buckets';
import { buildKey } from './keys';
import { buildMonitoring, type Monitoring } from './monitoring';
import { buildFunctions } from './lockstep-function';
import { buildLogGroup, type LogGroupDefaults } from './log-groups';
import { acknowledge } from './nag';
import { perCreationName, stackScopedName } from './physical-names';
import { lockstepStateMachine, stateMachineArnFromName } from './state-machine';
import {
  ACCESS_POLICY_FILE,
  ACCESS_POLICY_FILE_IN_BUNDLE,
  SDK_HANDLER_NAMES,
  SDK_HANDLERS,
  sdkHandlerEntry,
  type SdkHandlerName,
} from './sdk-handlers';
import { buildPackageHostDistribution, buildSigningKeyGroup } from './sdk-distribution';
import { grantSdkHandlerPermissions } from './sdk-grants';
import { buildProviderCodeProject, buildTesterProject } from './sdk-tester-project';
import { createLockstepTable } from './tables';
import { buildTopic, subscribeEmails } from './topics';

export interface SdkPublisherProps {
  /**
   * Public half of the RSA 2048 key pair CloudFront checks signed URLs with: a PEM string (text around the
   * `BEGIN PUBLIC KEY` block is ignored) or a public key already registered in CloudFront. The private half stays
   * with you, in `signingKeySecret`.
   */
  readonly cloudFrontPublicKey: string | cloudfront.IPublicKey;
  /**
   * Secret whose value is the PEM of the matching RSA private key; the download API reads it to sign URLs. If the
   * secret is encrypted with a customer-managed key, import it with that key (`Secret.fromSecretAttributes`) so
   * the download API is allowed to decrypt it.
   */
  readonly signingKeySecret: secretsmanager.ISecret;
  /**
   * Who may download private and early-access packages: consumer groups (optionally limited to IP ranges), the
   * groups of each tier and per-SDK grants, as `lambdas/sdk/host/acl.ts` describes. An object, or the path of a
   * JSON or YAML file. Validated at synth; shipped to the download API as `access-policy.json`.
   */
  readonly accessPolicy: AccessPolicy | string;
  /**
   * Key that encrypts the SDK table, the SDK host and staging buckets, the notification topic and the tester's
   * output. (The package host bucket uses SSE-S3: CloudFront reads it through origin access control, and an SSE-KMS
   * origin would need a key policy that CloudFormation can only scope to every distribution of the account.)
   * @default - a new customer-managed key with yearly rotation, kept on stack deletion
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Edge locations the distribution uses.
   * @default cloudfront.PriceClass.PRICE_CLASS_100 (North America and Europe)
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * Custom domain of the package host distribution; give `certificate` with it.
   * @default - the distribution's own `*.cloudfront.net` domain
   */
  readonly domainName?: string;
  /**
   * More names (aliases) the distribution answers to besides `domainName`; `certificate` must cover them too.
   * @default - none
   */
  readonly domainAliases?: readonly string[];
  /**
   * ACM certificate for `domainName` (and `domainAliases`), in us-east-1. With it, viewers need TLS 1.2 or later
   * (security policy TLSv1.2_2021).
   * @default - CloudFront's default `*.cloudfront.net` certificate, which CloudFront serves with the TLSv1 security
   * policy: viewers may connect with TLS 1.0 and 1.1
   */
  readonly certificate?: acm.ICertificate;
  /**
   * Geographic restriction of the distribution.
   * @default - no restriction: the download API's access policy decides who may download
   */
  readonly geoRestriction?: cloudfront.GeoRestriction;
  /**
   * ARN of an AWS WAF web ACL (scope CLOUDFRONT, in us-east-1) for the distribution.
   * @default - no web ACL
   */
  readonly webAclId?: string;
  /**
   * How long a signed download URL stays valid (between one minute and one day).
   * @default Duration.minutes(5)
   */
  readonly signedUrlTtl?: Duration;
  /**
   * Limits an uploaded archive (and, in the tester, a package zip) must stay within; give only the fields to
   * change. Larger archives, more entries, longer paths or a higher compression ratio are refused as hostile.
   * Reaches the steps function and the tester as `LOCKSTEP_SDK_ARCHIVE_LIMITS`.
   * @default - 50,000 entries, 2 GiB decompressed in total, compression ratio 200:1 for entries over 1 MiB,
   * paths up to 512 bytes (`DEFAULT_ARCHIVE_LIMITS`)
   */
  readonly archiveLimits?: Partial<ArchiveLimits>;
  /**
   * How often the intake polls the SDK host for versions not yet converted (whole minutes, at least one). Uploads
   * start intake at once through S3 events; the poll catches any event that was lost.
   * @default Duration.minutes(15)
   */
  readonly pollInterval?: Duration;
  /**
   * SDK owners' email addresses (the `contact` of their metadata). Each is subscribed to the notification topic
   * with the filter `{"recipient": ["<email>"]}`, so it receives the messages about its own SDKs only.
   * @default - no subscriptions
   */
  readonly notificationEmails?: readonly string[];
  /**
   * HTTP API to add the upload and download routes to; its stage's access logging and throttling apply.
   * @default - a new HTTP API with a `$default` stage: JSON access logs, throttled to `apiThrottle`
   */
  readonly httpApi?: apigwv2.IHttpApi;
  /**
   * The stage of `httpApi`, on which the SDK routes get their own throttles (`routeThrottles`).
   * @default - the stage this construct creates; with `httpApi` and no stage, the SDK routes share that API's
   * stage throttle
   */
  readonly httpApiStage?: apigwv2.IHttpStage;
  /**
   * Route-level rate limits of the SDK routes, each overriding the stage's default for its routes: uploads
   * (`POST /sdk/uploads`, `POST /sdk/uploads/{uploadId}/complete`, `GET /sdk/status`) and downloads
   * (`GET /sdk/index`, `GET /sdk/download/{name}/{version}`).
   * @default - uploads: 5 requests per second, bursts of 10; downloads: 50 per second, bursts of 100
   */
  readonly routeThrottles?: {
    readonly uploads?: apigwv2.ThrottleSettings;
    readonly downloads?: apigwv2.ThrottleSettings;
  };
  /**
   * Request rate limits of the HTTP API this construct creates (ignored with `httpApi`).
   * @default - 20 requests per second, bursts of 40
   */
  readonly apiThrottle?: apigwv2.ThrottleSettings;
  /**
   * Compute and image of the tester project.
   * @default - `DEFAULT_BUILD_IMAGE`: Amazon Linux 2 standard 3.0 for ARM
   * (`aws/codebuild/amazonlinux2-aarch64-standard:3.0`), medium compute, not privileged
   */
  readonly testerEnvironment?: codebuild.BuildEnvironment;
  /**
   * Retention of every log group the construct creates (Lambda, CodeBuild, Step Functions, API access logs).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to data stores (table, buckets, key, log groups) when the stack is deleted. With `DESTROY`, table
   * deletion protection is turned off too, so a deletion can complete (buckets must be emptied first).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Data stores that `cdk destroy` kept (the default removal policy retains them), adopted by name instead of
   * creating empty ones. The table and the SDK host and staging buckets are encrypted with the SDK key: give the
   * kept key as `encryptionKey` too (e.g. `kms.Key.fromKeyArn`). Each adopted bucket gets its bucket policy again
   * (TLS only; the package host's origin access for this distribution; the access logs bucket's log delivery).
   * @default - new ones
   */
  readonly adopt?: SdkAdoptedStores;
}

/** Names of the SDK publisher's kept data stores (see the stack's outputs of the earlier deploy). */
export interface SdkAdoptedStores {
  /** The SDK table (`SDK_TABLES`). */
  readonly tableName?: string;
  /** Where providers upload. */
  readonly sdkHostBucketName?: string;
  /** Converted packages, tester plans and results. */
  readonly stagingBucketName?: string;
  /** Published packages and `index.json`. */
  readonly packageHostBucketName?: string;
  /** Access logs of the buckets and the distribution (the kept buckets still log there). */
  readonly accessLogsBucketName?: string;
}

/** Every problem found in `SdkPublisherProps`, reported at once. */
export class SdkPublisherPropsError extends LockstepError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`SdkPublisher has ${problems.length} invalid prop(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      details: { problems },
    });
    this.problems = problems;
  }
}

/**
 * Name of the SDK publishing state machine in `scope`'s stack (`<stack>-sdk-publishing`); the functions build its
 * ARN from it (no dependency cycle). Stack-scoped, so two pipelines' stacks in one account and region never collide.
 */
export function sdkStateMachineName(scope: Construct): string {
  return stackScopedName(scope, 'sdk-publishing', 80);
}
/** Name of the tester CodeBuild project (`<stack>-sdk-tester`); it travels in the execution input. */
export function sdkTesterProjectName(scope: Construct): string {
  return stackScopedName(scope, 'sdk-tester', 255);
}
/** Name of the provider-code CodeBuild project (`<stack>-sdk-provider-code`); the stage step passes it on. */
export function sdkProviderCodeProjectName(scope: Construct): string {
  return stackScopedName(scope, 'sdk-provider-code', 255);
}

const SDK_PUBLISHING_ASL = fileURLToPath(new URL('../statemachines/sdk-publishing.asl.json', import.meta.url));

/**
 * Lockstep's SDK publishing system: SDK table, SDK host / staging / package host buckets, the package host
 * distribution with a trusted key group, the notification topic, the tester project, the four SDK functions, the
 * SDK publishing state machine, the upload and download routes, and the intake triggers.
 *
 * @example
 * new SdkPublisher(stack, 'SdkPublisher', {
 *   cloudFrontPublicKey: readFileSync('public.pem', 'utf8'),
 *   signingKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'SigningKey', 'lockstep/sdk/cloudfront-private-key'),
 *   accessPolicy: 'sdk-access-policy.json',
 *   notificationEmails: ['maps-team@example.com'],
 * });
 */
export class SdkPublisher extends Construct {
  readonly encryptionKey: kms.IKey;
  /** The `Sdk` table of `SDK_TABLES`. */
  readonly table: dynamodb.ITable;
  readonly accessLogsBucket: s3.IBucket;
  /** Where providers upload (`incoming/<name>/<version>/...`). */
  readonly sdkHostBucket: s3.IBucket;
  /** Converted packages waiting for dependencies, tests and publication; tester plans and results. */
  readonly stagingBucket: s3.IBucket;
  /** Published packages by tier (`public/`, `early-access/`, `private/`) and `index.json`; read only by CloudFront. */
  readonly packageHostBucket: s3.IBucket;
  readonly publicKey: cloudfront.IPublicKey;
  readonly keyGroup: cloudfront.KeyGroup;
  readonly distribution: cloudfront.Distribution;
  readonly notificationTopic: sns.Topic;
  readonly testerProject: codebuild.Project;
  /** Runs provider code (sample app, checks scripts); its role can only write its own logs (issue 9 item 20). */
  readonly providerCodeProject: codebuild.Project;
  readonly functions: Readonly<Record<SdkHandlerName, nodejs.NodejsFunction>>;
  readonly stateMachine: sfn.StateMachine;
  readonly httpApi: apigwv2.IHttpApi;
  /** `https://<api>/sdk/uploads`: where `lockstep sdk push` asks for upload URLs. */
  readonly uploadApiUrl: string;
  /** `https://<api>/sdk`: the download API (`/index`, `/download/{name}/{version}`). */
  readonly downloadApiUrl: string;
  /** `https://<distribution domain>`: base of every package URL. */
  readonly cdnBaseUrl: string;
  /** Alarms to the notification topic, the on-failure queue of asynchronous invocations, and the dashboard. */
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: SdkPublisherProps) {
    super(scope, id);
    const { publicKeyPem, accessPolicy } = checkProps(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logDefaults: LogGroupDefaults = {
      removalPolicy,
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    };
    useBucketPolicyForAccessLogs(this);
    const stateMachineName = sdkStateMachineName(this);
    const stateMachineArn = stateMachineArnFromName(this, stateMachineName);

    const key = (this.encryptionKey =
      props.encryptionKey ??
      buildKey(
        this,
        'Lockstep SDK publishing: SDK table, SDK host and staging buckets, notifications, tester output',
        removalPolicy,
      ));
    const adopt = props.adopt ?? {};
    this.table = adopt.tableName
      ? dynamodb.Table.fromTableAttributes(this, 'AdoptedTable', { tableName: adopt.tableName, encryptionKey: key })
      : createLockstepTable(this, SDK_TABLES[0]!, { encryptionKey: key, removalPolicy });
    this.accessLogsBucket = adopt.accessLogsBucketName
      ? this.adoptAccessLogsBucket(adopt.accessLogsBucketName)
      : createAccessLogsBucket(this, 'AccessLogsBucket', {
          removalPolicy,
          logsOf: 'SDK host, staging and package host buckets and the package host distribution',
          acceptsCloudFrontLogs: true,
        });
    const dataBucket = (
      bucketId: string,
      prefix: string,
      options: { encryptionKey?: kms.IKey; eventBridgeEnabled?: boolean },
      adoptedName: string | undefined,
    ): AdoptedBucket | s3.Bucket =>
      adoptedName
        ? adoptBucket(this, `Adopted${bucketId}`, adoptedName, options)
        : createDataBucket(this, bucketId, {
            accessLogs: this.accessLogsBucket,
            accessLogsPrefix: prefix,
            removalPolicy,
            ...options,
          });
    const bucketOf = (b: AdoptedBucket | s3.Bucket): s3.IBucket => ('policy' in b && 'bucket' in b ? b.bucket : b);
    this.sdkHostBucket = bucketOf(
      dataBucket(
        'SdkHostBucket',
        'sdk-host/',
        { encryptionKey: key, eventBridgeEnabled: true },
        adopt.sdkHostBucketName,
      ),
    );
    this.stagingBucket = bucketOf(
      dataBucket('StagingBucket', 'staging/', { encryptionKey: key }, adopt.stagingBucketName),
    );
    const packageHost = dataBucket('PackageHostBucket', 'package-host/', {}, adopt.packageHostBucketName);
    this.packageHostBucket = bucketOf(packageHost);

    ({ publicKey: this.publicKey, keyGroup: this.keyGroup } = buildSigningKeyGroup(
      this,
      props.cloudFrontPublicKey,
      publicKeyPem,
    ));
    this.distribution = buildPackageHostDistribution(this, {
      ...props,
      bucket: this.packageHostBucket,
      keyGroup: this.keyGroup,
      logBucket: this.accessLogsBucket,
    });
    this.cdnBaseUrl = `https://${props.domainName ?? this.distribution.distributionDomainName}`;
    // The CDK cannot add origin access to an imported bucket's policy: an adopted package host gets it here.
    if ('policy' in packageHost && 'bucket' in packageHost) allowDistributionReads(packageHost, this.distribution);

    this.notificationTopic = buildTopic(this, 'NotificationTopic', 'Lockstep SDK publishing', key);
    // The notifier publishes one message per owner with the attribute `recipient` (lower case).
    const owners = [...new Set((props.notificationEmails ?? []).map((e) => e.trim().toLowerCase()))].sort();
    subscribeEmails(
      this.notificationTopic,
      'recipient',
      owners.map((email) => [email, [email]]),
    );
    const archiveLimits = JSON.stringify({ ...DEFAULT_ARCHIVE_LIMITS, ...props.archiveLimits });
    this.testerProject = buildTesterProject(this, {
      projectName: sdkTesterProjectName(this),
      ...(props.testerEnvironment ? { environment: props.testerEnvironment } : {}),
      archiveLimits,
      stagingBucket: this.stagingBucket,
      packageHostBucket: this.packageHostBucket,
      encryptionKey: key,
      logDefaults,
    });
    const providerCode = buildProviderCodeProject(this, {
      projectName: sdkProviderCodeProjectName(this),
      ...(props.testerEnvironment ? { environment: props.testerEnvironment } : {}),
      archiveLimits,
      logDefaults,
    });
    this.providerCodeProject = providerCode.project;

    this.functions = buildFunctions(this, {
      names: SDK_HANDLER_NAMES,
      entry: sdkHandlerEntry,
      settings: (name) => SDK_HANDLERS[name],
      environment: {
        ...this.functionEnvironment(props, stateMachineArn, archiveLimits),
        LOCKSTEP_SDK_PROVIDER_RUNNER_BUNDLE: providerCode.runner.s3ObjectUrl,
      },
      bundledJson: { [ACCESS_POLICY_FILE]: accessPolicy },
      ...logDefaults,
    });
    // The stage step presigns the runner bundle for the provider-code build, whose role cannot read it.
    this.functions['sdk-steps'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [providerCode.runner.bucket.arnForObjects(providerCode.runner.s3ObjectKey)],
      }),
    );
    // The convert step copies entries to /tmp one at a time (issue 9 item 10): size /tmp from the limits.
    const stepsFunction = this.functions['sdk-steps'].node.defaultChild as lambda.CfnFunction;
    stepsFunction.ephemeralStorage = {
      size: stepsEphemeralStorageMiB({ ...DEFAULT_ARCHIVE_LIMITS, ...props.archiveLimits }),
    };
    this.stateMachine = lockstepStateMachine(this, 'StateMachine', {
      stateMachineName,
      aslFile: SDK_PUBLISHING_ASL,
      definitionSubstitutions: {},
      logGroup: buildLogGroup(
        this,
        'StateMachineLogs',
        logDefaults,
        perCreationName(`/aws/vendedlogs/states/${stateMachineName}`),
      ),
      invokes: { SdkStepsFunctionArn: this.functions['sdk-steps'] },
      codeBuildProjects: [this.testerProject, this.providerCodeProject],
    });
    grantSdkHandlerPermissions(this, {
      ...this.dataStores(),
      functions: this.functions,
      stateMachineArn,
      signingKeySecret: props.signingKeySecret,
      distribution: this.distribution,
    });

    this.httpApi =
      props.httpApi ??
      buildHttpApi(this, {
        apiName: stackScopedName(this, 'sdk', 128),
        description: 'Lockstep SDK publishing: uploads and downloads',
        throttle: props.apiThrottle ?? { rateLimit: 20, burstLimit: 40 },
        logDefaults,
      });
    this.addRoutes();
    const stage = props.httpApi ? props.httpApiStage : (this.node.findChild('ApiStage') as apigwv2.HttpStage);
    if (stage) {
      const uploads = props.routeThrottles?.uploads ?? { rateLimit: 5, burstLimit: 10 };
      const downloads = props.routeThrottles?.downloads ?? { rateLimit: 50, burstLimit: 100 };
      throttleRoutes(stage, {
        'POST /sdk/uploads': uploads,
        'POST /sdk/uploads/{uploadId}/complete': uploads,
        'GET /sdk/status': uploads,
        'GET /sdk/index': downloads,
        'GET /sdk/download/{name}/{version}': downloads,
      });
    }
    this.uploadApiUrl = `${this.httpApi.apiEndpoint}/sdk/uploads`;
    this.downloadApiUrl = `${this.httpApi.apiEndpoint}/sdk`;
    this.addTriggers(props.pollInterval ?? Duration.minutes(15));
    this.monitoring = buildMonitoring(this, {
      title: 'Lockstep SDK publishing',
      functions: this.functions,
      asyncFunctions: ['sdk-intake'],
      stateMachines: { SdkPublishing: this.stateMachine },
      topic: this.notificationTopic,
      encryptionKey: key,
    });
    this.addOutputs();
  }

  /** The kept access logs bucket, with the log delivery its bucket policy allowed before. */
  private adoptAccessLogsBucket(bucketName: string): s3.IBucket {
    const adopted = adoptBucket(this, 'AdoptedAccessLogsBucket', bucketName);
    adopted.policy.document.addStatements(accessLogDeliveryStatement(this, adopted.bucket));
    return adopted.bucket;
  }

  private dataStores(): Pick<
    SdkPublisher,
    'table' | 'sdkHostBucket' | 'stagingBucket' | 'packageHostBucket' | 'notificationTopic' | 'encryptionKey'
  > {
    const { table, sdkHostBucket, stagingBucket, packageHostBucket, notificationTopic, encryptionKey } = this;
    return { table, sdkHostBucket, stagingBucket, packageHostBucket, notificationTopic, encryptionKey };
  }

  /** The environment variables of ARCHITECTURE.md ("SDK publishing"), the same for every SDK function. */
  private functionEnvironment(
    props: SdkPublisherProps,
    stateMachineArn: string,
    archiveLimits: string,
  ): Record<string, string> {
    return {
      LOCKSTEP_SDK_TABLE: this.table.tableName,
      LOCKSTEP_SDK_HOST_BUCKET: this.sdkHostBucket.bucketName,
      LOCKSTEP_SDK_STAGING_BUCKET: this.stagingBucket.bucketName,
      LOCKSTEP_PACKAGE_HOST_BUCKET: this.packageHostBucket.bucketName,
      LOCKSTEP_SDK_STATE_MACHINE_ARN: stateMachineArn,
      LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN: this.notificationTopic.topicArn,
      LOCKSTEP_SDK_TESTER_PROJECT: sdkTesterProjectName(this),
      LOCKSTEP_SDK_PROVIDER_CODE_PROJECT: sdkProviderCodeProjectName(this),
      LOCKSTEP_CDN_BASE_URL: this.cdnBaseUrl,
      LOCKSTEP_CDN_DISTRIBUTION_ID: this.distribution.distributionId,
      LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID: this.publicKey.publicKeyId,
      LOCKSTEP_CLOUDFRONT_PRIVATE_KEY_SECRET_ARN: props.signingKeySecret.secretArn,
      LOCKSTEP_SDK_ACCESS_POLICY_FILE: ACCESS_POLICY_FILE_IN_BUNDLE,
      LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS: String((props.signedUrlTtl ?? Duration.minutes(5)).toSeconds()),
      [ARCHIVE_LIMITS_ENV]: archiveLimits,
      POWERTOOLS_SERVICE_NAME: 'lockstep-sdk',
      POWERTOOLS_METRICS_NAMESPACE: 'Lockstep',
    };
  }

  private addRoutes(): void {
    const uploadIntegration = new HttpLambdaIntegration('SdkUploadIntegration', this.functions['sdk-upload-api']);
    const downloadIntegration = new HttpLambdaIntegration('SdkDownloadIntegration', this.functions['sdk-download-api']);
    const route = (
      id: string,
      method: apigwv2.HttpMethod,
      path: string,
      integration: HttpLambdaIntegration,
      reason: string,
    ): void => {
      const created = new apigwv2.HttpRoute(this, id, {
        httpApi: this.httpApi,
        routeKey: apigwv2.HttpRouteKey.with(path, method),
        integration,
      });
      acknowledge(created, { id: 'AwsSolutions-APIG4', reason });
    };
    const providerToken =
      'SDK providers send a bearer token; the handler checks its SHA-256 against the Sdk table (provider role, SDKs it may push, expiry) before anything else';
    // Tokens rather than IAM: providers and consumers are outside the account, and their groups (which the access
    // policy works with) live with the token's record.
    const consumerToken =
      'Consumers send a bearer token; the handler checks its SHA-256 against the Sdk table (groups, expiry) and the access policy before it answers';
    route('UploadsRoute', apigwv2.HttpMethod.POST, '/sdk/uploads', uploadIntegration, providerToken);
    route(
      'UploadCompleteRoute',
      apigwv2.HttpMethod.POST,
      '/sdk/uploads/{uploadId}/complete',
      uploadIntegration,
      providerToken,
    );
    route('StatusRoute', apigwv2.HttpMethod.GET, '/sdk/status', uploadIntegration, providerToken);
    route('IndexRoute', apigwv2.HttpMethod.GET, '/sdk/index', downloadIntegration, consumerToken);
    route(
      'DownloadRoute',
      apigwv2.HttpMethod.GET,
      '/sdk/download/{name}/{version}',
      downloadIntegration,
      consumerToken,
    );
  }

  private addTriggers(pollInterval: Duration): void {
    const intake = this.functions['sdk-intake'];
    new events.Rule(this, 'IntakeOnUpload', {
      description: 'Lockstep SDK publishing: intake when an object arrives in the SDK host',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [this.sdkHostBucket.bucketName] }, object: { key: [{ prefix: 'incoming/' }] } },
      },
      targets: [new targets.LambdaFunction(intake, { retryAttempts: 4, maxEventAge: Duration.hours(1) })],
    });
    new events.Rule(this, 'IntakePoll', {
      description: 'Lockstep SDK publishing: convert every SDK version in the SDK host not yet converted',
      schedule: events.Schedule.rate(pollInterval),
      // A missed poll is made good by the next one.
      targets: [new targets.LambdaFunction(intake, { retryAttempts: 0 })],
    });
  }

  private addOutputs(): void {
    new CfnOutput(this, 'UploadApiUrl', {
      value: this.uploadApiUrl,
      description: 'Where lockstep sdk push asks for upload URLs',
    });
    new CfnOutput(this, 'DownloadApiUrl', {
      value: this.downloadApiUrl,
      description: 'SDK index and download API (GET /index, GET /download/{name}/{version})',
    });
    new CfnOutput(this, 'DistributionDomainName', {
      value: this.distribution.distributionDomainName,
      description: 'Package host distribution',
    });
    new CfnOutput(this, 'CloudFrontKeyPairId', {
      value: this.publicKey.publicKeyId,
      description: 'Id of the public key that signed URLs name',
    });
    new CfnOutput(this, 'SdkHostBucketName', {
      value: this.sdkHostBucket.bucketName,
      description: 'Upload bucket (incoming/<name>/<version>/)',
    });
    new CfnOutput(this, 'StagingBucketName', { value: this.stagingBucket.bucketName });
    new CfnOutput(this, 'PackageHostBucketName', { value: this.packageHostBucket.bucketName });
    new CfnOutput(this, 'SdkTableName', { value: this.table.tableName });
    new CfnOutput(this, 'SdkStateMachineArn', { value: this.stateMachine.stateMachineArn });
  }
}

/** Origin access control reads of `distribution` on an adopted package host, as the CDK grants a bucket it made. */
function allowDistributionReads(adopted: AdoptedBucket, distribution: cloudfront.IDistribution): void {
  adopted.policy.document.addStatements(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
      actions: ['s3:GetObject'],
      resources: [adopted.bucket.arnForObjects('*')],
      conditions: { StringEquals: { 'AWS:SourceArn': distribution.distributionArn } },
    }),
  );
}

interface ValidatedProps {
  /** The public key as SPKI PEM, when given as a string that could be read. */
  readonly publicKeyPem?: string;
  readonly accessPolicy: AccessPolicy;
}

/** Checks every prop, or throws once with every problem. */
function checkProps(props: SdkPublisherProps): ValidatedProps {
  const problems: string[] = [];
  let publicKeyPem: string | undefined;
  if (typeof props.cloudFrontPublicKey === 'string' && !Token.isUnresolved(props.cloudFrontPublicKey)) {
    const checked = checkPublicKey(props.cloudFrontPublicKey);
    if (typeof checked === 'string') publicKeyPem = checked;
    else problems.push(`cloudFrontPublicKey: ${checked.problem}`);
  }

  const policy = loadAccessPolicy(props.accessPolicy);
  problems.push(
    ...policy.problems.map(
      (p) => `accessPolicy${typeof props.accessPolicy === 'string' ? ` (${props.accessPolicy})` : ''}: ${p}`,
    ),
  );

  const adopt = props.adopt ?? {};
  if ((adopt.tableName || adopt.sdkHostBucketName || adopt.stagingBucketName) && props.encryptionKey === undefined) {
    problems.push(
      'adopt: give encryptionKey too, the kept key that encrypts the SDK table and the SDK host and staging buckets (kms.Key.fromKeyArn)',
    );
  }
  if (props.domainName !== undefined && props.certificate === undefined) {
    problems.push(
      'domainName: give certificate too (an ACM certificate for that name, in us-east-1), or leave both out',
    );
  }
  if (props.certificate !== undefined && props.domainName === undefined) {
    problems.push('certificate: give domainName too (the name the certificate covers), or leave both out');
  }
  const hostName = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
  if (props.domainName !== undefined && !Token.isUnresolved(props.domainName) && !hostName.test(props.domainName)) {
    problems.push(`domainName: "${props.domainName}" is not a host name; write e.g. "sdk.example.com"`);
  }
  if (props.domainAliases !== undefined && props.domainName === undefined) {
    problems.push('domainAliases: give domainName and certificate too; aliases are served with the same certificate');
  }
  (props.domainAliases ?? []).forEach((alias, i) => {
    if (!Token.isUnresolved(alias) && !hostName.test(alias))
      problems.push(`domainAliases[${i}]: "${alias}" is not a host name; write e.g. "downloads.example.com"`);
  });
  const certificateArn = props.certificate?.certificateArn;
  if (certificateArn !== undefined && !Token.isUnresolved(certificateArn)) {
    const region = certificateArn.split(':')[3];
    if (region !== 'us-east-1') {
      problems.push(
        `certificate: CloudFront uses ACM certificates from us-east-1 only (this one is in ${region || 'an unknown region'}); request or import it there`,
      );
    }
  }

  const ttl = props.signedUrlTtl;
  if (ttl && !ttl.isUnresolved()) {
    const seconds = ttl.toSeconds();
    if (seconds < 60 || seconds > 86_400) {
      problems.push(`signedUrlTtl: use between Duration.minutes(1) and Duration.days(1) (got ${ttl.toHumanString()})`);
    }
  }
  const poll = props.pollInterval;
  if (poll && !poll.isUnresolved()) {
    const seconds = poll.toSeconds();
    if (seconds < 60 || seconds % 60 !== 0) {
      problems.push(
        `pollInterval: EventBridge schedules run in whole minutes; use Duration.minutes(n) with n >= 1 (got ${poll.toHumanString()})`,
      );
    }
  }
  (props.notificationEmails ?? []).forEach((email, i) => {
    if (!Token.isUnresolved(email) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) {
      problems.push(`notificationEmails[${i}]: "${email}" is not an email address`);
    }
  });
  const throttle = props.apiThrottle;
  if (throttle && props.httpApi) {
    problems.push(
      'apiThrottle: applies only to the HTTP API this construct creates; set throttling on the stage of the httpApi you pass, or leave httpApi out',
    );
  }
  if (throttle?.rateLimit !== undefined && !Token.isUnresolved(throttle.rateLimit) && throttle.rateLimit <= 0) {
    problems.push(`apiThrottle.rateLimit: use a positive number of requests per second (got ${throttle.rateLimit})`);
  }
  if (throttle?.burstLimit !== undefined && !Token.isUnresolved(throttle.burstLimit) && throttle.burstLimit < 1) {
    problems.push(`apiThrottle.burstLimit: use at least 1 (got ${throttle.burstLimit})`);
  }
  if (
    props.webAclId !== undefined &&
    !Token.isUnresolved(props.webAclId) &&
    !/^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\//.test(props.webAclId)
  ) {
    problems.push(
      `webAclId: use the ARN of a WAFv2 web ACL with scope CLOUDFRONT (arn:aws:wafv2:us-east-1:<account>:global/webacl/...), got "${props.webAclId}"`,
    );
  }

  if (props.archiveLimits !== undefined) {
    const limitProblems = archiveLimitsProblems(props.archiveLimits, 'archiveLimits');
    problems.push(...limitProblems);
    const tooLarge =
      limitProblems.length === 0
        ? ephemeralStorageProblem({ ...DEFAULT_ARCHIVE_LIMITS, ...props.archiveLimits }, 'archiveLimits')
        : undefined;
    if (tooLarge !== undefined) problems.push(tooLarge);
  }

  if (problems.length > 0 || policy.value === undefined) throw new SdkPublisherPropsError(problems);
  return { ...(publicKeyPem !== undefined ? { publicKeyPem } : {}), accessPolicy: policy.value };
}

/** The key as SPKI PEM with its trailing newline (what CloudFront stores), or why it cannot be used. */
function checkPublicKey(text: string): string | { problem: string } {
  if (text.includes('PRIVATE KEY-----')) {
    return {
      problem:
        'this is a private key; give only the public half (openssl rsa -in private.pem -pubout) and keep the private key in signingKeySecret',
    };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    return {
      problem:
        'is not a PEM public key; give the "-----BEGIN PUBLIC KEY-----" block made by openssl rsa -in private.pem -pubout',
    };
  }
  if (key.asymmetricKeyType !== 'rsa') {
    return {
      problem: `is a ${key.asymmetricKeyType ?? 'non-RSA'} key; CloudFront signed URLs here use an RSA 2048 key pair (openssl genrsa -out private.pem 2048)`,
    };
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== 2048) {
    return {
      problem: `is an RSA ${bits ?? '?'}-bit key; CloudFront accepts RSA keys of 2048 bits (openssl genrsa -out private.pem 2048)`,
    };
  }
  // Exported PEM ends in a newline; CloudFront's EncodedKey keeps it (the key as `openssl rsa -pubout` writes it).
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

/** Reads (if a path) and validates the access policy; every problem is returned, none thrown. */
function loadAccessPolicy(input: AccessPolicy | string): { value?: AccessPolicy; problems: string[] } {
  let value: unknown = input;
  if (typeof input === 'string') {
    if (!existsSync(input))
      return {
        problems: [`the file does not exist; give the path of a JSON or YAML access policy, or the policy object`],
      };
    try {
      // YAML is a superset of JSON: one parser reads both.
      value = parseYaml(readFileSync(input, 'utf8'), { maxAliasCount: 100 }) as unknown;
    } catch (error) {
      return { problems: [`the file is neither JSON nor YAML (${(error as Error).message.split('\n')[0]})`] };
    }
  }
  try {
    AccessControl.parse(value);
  } catch (error) {
    if (error instanceof AccessPolicyError) return { problems: [...error.problems] };
    throw error;
  }
  return { value: value as AccessPolicy, problems: [] };
}
