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
import { ArnFormat, AssetHashType, CfnOutput, DockerImage, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { parse as parseYaml } from 'yaml';
import { LockstepError } from '../lambdas/core/errors';
import { SDK_TABLES } from '../lambdas/core/tables';
import { AccessControl, type AccessPolicy } from '../lambdas/sdk/host/acl';
import { AccessPolicyError } from '../lambdas/sdk/host/errors';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../lambdas/sdk/converter';
import { INDEX_KEY } from '../lambdas/sdk/host/keys';
import { ARCHIVE_LIMITS_ENV, archiveLimitsProblems } from '../lambdas/sdk/service/archive-limits';
import { TESTER_BUILDSPEC } from '../lambdas/sdk/tester/buildspec';
import { apigwv2AccessLogFormat } from './api';
import { createAccessLogsBucket, createDataBucket, useBucketPolicyForAccessLogs } from './buckets';
import { S3ObjectSource } from './codebuild-sources';
import { grantBucketList, grantObjectsDelete, grantObjectsRead, grantObjectsWrite, grantTableData, grantTopicPublish } from './grants';
import { lockstepFunction, pascal } from './lockstep-function';
import { acknowledge, resourceFinding } from './nag';
import { lockstepStateMachine } from './state-machine';
import { ACCESS_POLICY_FILE, ACCESS_POLICY_FILE_IN_BUNDLE, SDK_HANDLER_NAMES, SDK_HANDLERS, sdkHandlerEntry, type SdkHandlerName } from './sdk-handlers';
import { TESTER_DIR, testerBundleOptions } from './sdk-tester-bundle';
import { createLockstepTable } from './tables';

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
   * ACM certificate for `domainName`, in us-east-1. With it, viewers need TLS 1.2 or later (TLSv1.2_2021).
   * @default - CloudFront's default certificate (which CloudFront serves with TLS 1.0 allowed)
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
   * Request rate limits of the HTTP API this construct creates (ignored with `httpApi`).
   * @default - 20 requests per second, bursts of 40
   */
  readonly apiThrottle?: apigwv2.ThrottleSettings;
  /**
   * Compute and image of the tester project.
   * @default - Amazon Linux standard 5.0 image (ARM), medium compute, not privileged
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

/** Name of the SDK publishing state machine; the functions build its ARN from it (no dependency cycle). */
export const SDK_STATE_MACHINE_NAME = 'lockstep-sdk-publishing';
/** Name of the tester CodeBuild project (ARCHITECTURE.md); it travels in the execution input. */
export const SDK_TESTER_PROJECT_NAME = 'lockstep-sdk-tester';

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
  readonly table: dynamodb.Table;
  readonly accessLogsBucket: s3.Bucket;
  /** Where providers upload (`incoming/<name>/<version>/...`). */
  readonly sdkHostBucket: s3.Bucket;
  /** Converted packages waiting for dependencies, tests and publication; tester plans and results. */
  readonly stagingBucket: s3.Bucket;
  /** Published packages by tier (`public/`, `early-access/`, `private/`) and `index.json`; read only by CloudFront. */
  readonly packageHostBucket: s3.Bucket;
  readonly publicKey: cloudfront.IPublicKey;
  readonly keyGroup: cloudfront.KeyGroup;
  readonly distribution: cloudfront.Distribution;
  readonly notificationTopic: sns.Topic;
  readonly testerProject: codebuild.Project;
  readonly functions: Readonly<Record<SdkHandlerName, nodejs.NodejsFunction>>;
  readonly stateMachine: sfn.StateMachine;
  readonly httpApi: apigwv2.IHttpApi;
  /** `https://<api>/sdk/uploads`: where `lockstep sdk push` asks for upload URLs. */
  readonly uploadApiUrl: string;
  /** `https://<api>/sdk`: the download API (`/index`, `/download/{name}/{version}`). */
  readonly downloadApiUrl: string;
  /** `https://<distribution domain>`: base of every package URL. */
  readonly cdnBaseUrl: string;

  private readonly removalPolicy: RemovalPolicy;
  private readonly logRetention: logs.RetentionDays;

  constructor(scope: Construct, id: string, props: SdkPublisherProps) {
    super(scope, id);
    const { publicKeyPem, accessPolicy } = validateProps(props);
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    useBucketPolicyForAccessLogs(this);

    const stack = Stack.of(this);
    // Built from the name rather than referenced: the functions the state machine invokes also need its ARN.
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: SDK_STATE_MACHINE_NAME,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Lockstep SDK publishing: SDK table, SDK host and staging buckets, notifications, tester output',
        enableKeyRotation: true,
        removalPolicy: this.removalPolicy,
      });
    this.table = createLockstepTable(this, SDK_TABLES[0]!, { encryptionKey: this.encryptionKey, removalPolicy: this.removalPolicy });

    this.accessLogsBucket = createAccessLogsBucket(this, 'AccessLogsBucket', {
      removalPolicy: this.removalPolicy,
      logsOf: 'SDK host, staging and package host buckets and the package host distribution',
      acceptsCloudFrontLogs: true,
    });
    this.sdkHostBucket = createDataBucket(this, 'SdkHostBucket', {
      encryptionKey: this.encryptionKey,
      accessLogs: this.accessLogsBucket,
      accessLogsPrefix: 'sdk-host/',
      removalPolicy: this.removalPolicy,
      eventBridgeEnabled: true,
    });
    this.stagingBucket = createDataBucket(this, 'StagingBucket', {
      encryptionKey: this.encryptionKey,
      accessLogs: this.accessLogsBucket,
      accessLogsPrefix: 'staging/',
      removalPolicy: this.removalPolicy,
    });
    this.packageHostBucket = createDataBucket(this, 'PackageHostBucket', {
      accessLogs: this.accessLogsBucket,
      accessLogsPrefix: 'package-host/',
      removalPolicy: this.removalPolicy,
    });

    this.publicKey =
      typeof props.cloudFrontPublicKey === 'string'
        ? new cloudfront.PublicKey(this, 'SigningPublicKey', {
            encodedKey: publicKeyPem ?? props.cloudFrontPublicKey,
            comment: 'Lockstep SDK publishing: checks signed URLs of private and early-access packages',
          })
        : props.cloudFrontPublicKey;
    this.keyGroup = new cloudfront.KeyGroup(this, 'SigningKeyGroup', {
      items: [this.publicKey],
      comment: 'Lockstep SDK publishing: keys that may sign package URLs',
    });
    this.distribution = this.createDistribution(props);
    this.cdnBaseUrl = `https://${props.domainName ?? this.distribution.distributionDomainName}`;

    this.notificationTopic = this.createTopic(props.notificationEmails ?? []);
    const archiveLimits = JSON.stringify({ ...DEFAULT_ARCHIVE_LIMITS, ...props.archiveLimits });
    this.testerProject = this.createTesterProject(props.testerEnvironment, archiveLimits);

    this.functions = this.createFunctions(accessPolicy, {
      LOCKSTEP_SDK_TABLE: this.table.tableName,
      LOCKSTEP_SDK_HOST_BUCKET: this.sdkHostBucket.bucketName,
      LOCKSTEP_SDK_STAGING_BUCKET: this.stagingBucket.bucketName,
      LOCKSTEP_PACKAGE_HOST_BUCKET: this.packageHostBucket.bucketName,
      LOCKSTEP_SDK_STATE_MACHINE_ARN: stateMachineArn,
      LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN: this.notificationTopic.topicArn,
      LOCKSTEP_SDK_TESTER_PROJECT: SDK_TESTER_PROJECT_NAME,
      LOCKSTEP_CDN_BASE_URL: this.cdnBaseUrl,
      LOCKSTEP_CLOUDFRONT_KEY_PAIR_ID: this.publicKey.publicKeyId,
      LOCKSTEP_CLOUDFRONT_PRIVATE_KEY_SECRET_ARN: props.signingKeySecret.secretArn,
      LOCKSTEP_SDK_ACCESS_POLICY_FILE: ACCESS_POLICY_FILE_IN_BUNDLE,
      LOCKSTEP_SDK_SIGNED_URL_TTL_SECONDS: String((props.signedUrlTtl ?? Duration.minutes(5)).toSeconds()),
      [ARCHIVE_LIMITS_ENV]: archiveLimits,
      POWERTOOLS_SERVICE_NAME: 'lockstep-sdk',
      POWERTOOLS_METRICS_NAMESPACE: 'Lockstep',
    });
    this.stateMachine = this.createStateMachine();
    this.grantFunctionPermissions(stateMachineArn, props.signingKeySecret);

    this.httpApi = props.httpApi ?? this.createApi(props.apiThrottle);
    this.addRoutes();
    this.uploadApiUrl = `${this.httpApi.apiEndpoint}/sdk/uploads`;
    this.downloadApiUrl = `${this.httpApi.apiEndpoint}/sdk`;
    this.addTriggers(props.pollInterval ?? Duration.minutes(15));
    this.addOutputs();
  }

  private createDistribution(props: SdkPublisherProps): cloudfront.Distribution {
    const origin = origins.S3BucketOrigin.withOriginAccessControl(this.packageHostBucket, {
      originAccessLevels: [cloudfront.AccessLevel.READ],
    });
    const publicBehavior: cloudfront.BehaviorOptions = {
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      // Package archives are already compressed.
      compress: false,
    };
    const signedBehavior: cloudfront.BehaviorOptions = { ...publicBehavior, trustedKeyGroups: [this.keyGroup] };
    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Lockstep SDK package host',
      // Anything outside the tier prefixes (index.json among them) needs a signed URL too: the download API serves
      // the index, and nothing is public unless it sits under public/.
      defaultBehavior: signedBehavior,
      additionalBehaviors: {
        'public/*': publicBehavior,
        'early-access/*': signedBehavior,
        'private/*': signedBehavior,
      },
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // Signed URLs limited to a consumer's IP range carry an IPv4 condition; a viewer connecting over IPv6 could
      // never match it, so viewers connect over IPv4.
      enableIpv6: false,
      enableLogging: true,
      logBucket: this.accessLogsBucket,
      logFilePrefix: 'cloudfront/',
      ...(props.domainName && props.certificate
        ? {
            domainNames: [props.domainName],
            certificate: props.certificate,
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            sslSupportMethod: cloudfront.SSLMethod.SNI,
          }
        : {}),
      ...(props.geoRestriction ? { geoRestriction: props.geoRestriction } : {}),
      ...(props.webAclId ? { webAclId: props.webAclId } : {}),
    });
    if (!props.certificate) {
      acknowledge(distribution, {
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain the distribution serves the default *.cloudfront.net certificate, whose security policy CloudFront fixes at TLSv1; give domainName and certificate to require TLS 1.2',
      });
    }
    if (!props.geoRestriction) {
      acknowledge(distribution, {
        id: 'AwsSolutions-CFR1',
        reason:
          'Who may download is decided per consumer by the download API (groups, IP ranges) and enforced with signed URLs; a country restriction is an operator choice, available through the geoRestriction prop',
      });
    }
    if (!props.webAclId) {
      acknowledge(distribution, {
        id: 'AwsSolutions-CFR2',
        reason:
          'Private and early-access objects need a signed URL and public ones are static package files cached at the edge, with no application behind the origin to protect; attach a web ACL through the webAclId prop for rate limiting',
      });
    }
    return distribution;
  }

  private createTopic(emails: readonly string[]): sns.Topic {
    const topic = new sns.Topic(this, 'NotificationTopic', {
      displayName: 'Lockstep SDK publishing',
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
    // The notifier publishes one message per owner with the attribute `recipient` (lower case).
    for (const email of [...new Set(emails.map((e) => e.trim().toLowerCase()))].sort()) {
      topic.addSubscription(
        new subscriptions.EmailSubscription(email, {
          filterPolicy: { recipient: sns.SubscriptionFilter.stringFilter({ allowlist: [email] }) },
        }),
      );
    }
    return topic;
  }

  /**
   * The tester: a CodeBuild project running `TESTER_BUILDSPEC` over the tester CLI bundled by esbuild at synth
   * (an S3 asset), reading staged and published packages and writing `tests/<plan>/results.json` to staging.
   */
  private createTesterProject(environment: codebuild.BuildEnvironment | undefined, archiveLimits: string): codebuild.Project {
    const source = new s3assets.Asset(this, 'TesterSource', {
      path: TESTER_DIR,
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: local bundling with esbuild always succeeds or throws.
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:20-slim'),
        local: {
          tryBundle(outputDir: string): boolean {
            buildSync(testerBundleOptions(outputDir));
            return true;
          },
        },
      },
    });
    const logGroup = this.logGroup('TesterLogs');
    const project = new codebuild.Project(this, 'TesterProject', {
      projectName: SDK_TESTER_PROJECT_NAME,
      description: 'Lockstep SDK tester: builds a sample app against the staged set and checks every package',
      buildSpec: codebuild.BuildSpec.fromObjectToYaml(TESTER_BUILDSPEC),
      source: new S3ObjectSource(source.bucket, source.s3ObjectKey),
      environment: environment ?? {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2_STANDARD_3_0,
        computeType: codebuild.ComputeType.MEDIUM,
        privileged: false,
      },
      environmentVariables: {
        LOCKSTEP_SDK_STAGING_BUCKET: { value: this.stagingBucket.bucketName },
        LOCKSTEP_PACKAGE_HOST_BUCKET: { value: this.packageHostBucket.bucketName },
        [ARCHIVE_LIMITS_ENV]: { value: archiveLimits },
      },
      encryptionKey: this.encryptionKey,
      logging: { cloudWatch: { logGroup } },
      // Results travel as results.json in staging, so no report-group permissions are needed.
      grantReportGroupPermissions: false,
      timeout: Duration.hours(1),
    });
    // CodeBuild checks the source bucket's location and ACL before it downloads the source.
    project.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetBucketAcl', 's3:GetBucketLocation'], resources: [source.bucket.bucketArn] }),
    );
    project.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [source.bucket.arnForObjects(source.s3ObjectKey)] }));
    grantObjectsRead(this.stagingBucket, 'tests/*', project);
    grantObjectsRead(this.stagingBucket, 'packages/*', project);
    grantObjectsRead(this.packageHostBucket, '*', project);
    grantObjectsWrite(this.stagingBucket, 'tests/*', project);
    acknowledge(
      project,
      {
        id: `AwsSolutions-IAM5[${resourceFinding(this, this.stagingBucket.arnForObjects('packages/*'))}]`,
        reason: 'The tester reads whichever staged packages its plan names; the plan is made per execution by the stage step',
      },
      {
        id: `AwsSolutions-IAM5[${resourceFinding(this, this.packageHostBucket.arnForObjects('*'))}]`,
        reason: 'The sample app is built against published packages of any tier that the staged set depends on; they are chosen at run time by resolution',
      },
      {
        id: `AwsSolutions-IAM5[${resourceFinding(this, this.stagingBucket.arnForObjects('tests/*'))}]`,
        reason: 'The tester reads tests/<plan id>/plan.json and writes results.json beside it; plan ids are made per execution',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        reason: 'CodeBuild encrypts build output with the SDK key through the CDK grant, which adds ReEncrypt* on that one key',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'CodeBuild encrypts build output with the SDK key through the CDK grant, which adds GenerateDataKey* on that one key',
      },
      {
        // The statement CodeBuild adds for its default log group, whatever the logging settings.
        id: `AwsSolutions-IAM5[${resourceFinding(this, `${Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `/aws/codebuild/${project.projectName}` })}:*`)}]`,
        reason: `CodeBuild always grants its default log group /aws/codebuild/${SDK_TESTER_PROJECT_NAME}; ":*" covers the log streams of that one group`,
      },
    );
    return project;
  }

  private createFunctions(accessPolicy: AccessPolicy, environment: Record<string, string>): Record<SdkHandlerName, nodejs.NodejsFunction> {
    const entries = SDK_HANDLER_NAMES.map((name) => {
      const fn = lockstepFunction(this, pascal(name), {
        entry: sdkHandlerEntry(name),
        ...SDK_HANDLERS[name],
        environment,
        bundledJson: { [ACCESS_POLICY_FILE]: accessPolicy },
        logRetention: this.logRetention,
        removalPolicy: this.removalPolicy,
      });
      return [name, fn] as const;
    });
    return Object.fromEntries(entries) as Record<SdkHandlerName, nodejs.NodejsFunction>;
  }

  private createStateMachine(): sfn.StateMachine {
    const steps = this.functions['sdk-steps'];
    return lockstepStateMachine(this, 'StateMachine', {
      stateMachineName: SDK_STATE_MACHINE_NAME,
      aslFile: SDK_PUBLISHING_ASL,
      definitionSubstitutions: { SdkStepsFunctionArn: steps.functionArn },
      logGroup: this.logGroup('StateMachineLogs', `/aws/vendedlogs/states/${SDK_STATE_MACHINE_NAME}`),
      invokes: [steps],
      codeBuildProjects: [this.testerProject],
    });
  }

  /**
   * What each SDK handler calls (see `lambdas/sdk/service/`), and nothing more. `s3:ListBucket` is granted where a
   * handler reads an object that may not exist yet: without it S3 answers 403 instead of 404.
   */
  private grantFunctionPermissions(stateMachineArn: string, signingKeySecret: secretsmanager.ISecret): void {
    const fns = this.functions;
    const startExecution = new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] });
    const incoming = 'incoming/*';
    const everything = '*';
    const finding = (bucket: s3.IBucket, pattern: string): string => `AwsSolutions-IAM5[${resourceFinding(this, bucket.arnForObjects(pattern))}]`;
    const incomingReason = 'names and versions under incoming/<name>/<version>/ are chosen by providers at run time';

    // Upload API: checks the provider's token, hands out presigned PUTs under incoming/<name>/<version>/ (signed
    // with this role, so the role must be allowed to put there), and on completion lists what arrived and starts
    // the execution.
    const upload = fns['sdk-upload-api'];
    grantTableData(this.table, upload, 'read-write');
    grantObjectsWrite(this.sdkHostBucket, incoming, upload);
    grantBucketList(this.sdkHostBucket, upload, 'incoming/');
    upload.addToRolePolicy(startExecution);
    acknowledge(upload.role!, { id: finding(this.sdkHostBucket, incoming), reason: `Presigned uploads of SDK versions: ${incomingReason}` });

    // Intake: lists incoming/ (events and the poll) and starts one execution per new (SDK, version); the poll also
    // finishes publications cut short after their commit point (index.json, deleting withdrawn versions).
    const intake = fns['sdk-intake'];
    grantTableData(this.table, intake, 'read-write');
    grantBucketList(this.sdkHostBucket, intake, 'incoming/');
    intake.addToRolePolicy(startExecution);
    grantObjectsWrite(this.packageHostBucket, INDEX_KEY, intake);
    grantObjectsDelete(this.packageHostBucket, everything, intake);
    acknowledge(intake.role!, {
      id: finding(this.packageHostBucket, everything),
      reason: 'The poll finishes interrupted publications, which deletes the objects of withdrawn versions at <tier>/<name>/<version>/ keys known only from the index',
    });

    // Steps: validate and convert the upload, stage (packages/, contents/, tests/ plans), read test results,
    // publish to the package host (copies, index.json, deleting withdrawn versions), notify owners, and start
    // executions for waiting packages that an arrival releases.
    const steps = fns['sdk-steps'];
    grantTableData(this.table, steps, 'read-write');
    grantObjectsRead(this.sdkHostBucket, incoming, steps);
    grantBucketList(this.sdkHostBucket, steps);
    grantObjectsRead(this.stagingBucket, everything, steps);
    grantObjectsWrite(this.stagingBucket, everything, steps);
    grantBucketList(this.stagingBucket, steps);
    grantObjectsWrite(this.packageHostBucket, everything, steps);
    grantObjectsDelete(this.packageHostBucket, everything, steps);
    grantTopicPublish(this.notificationTopic, this.encryptionKey, steps);
    steps.addToRolePolicy(startExecution);
    acknowledge(
      steps.role!,
      { id: finding(this.sdkHostBucket, incoming), reason: `Validation and conversion read the upload the execution names: ${incomingReason}` },
      {
        id: finding(this.stagingBucket, everything),
        reason: 'Staging holds packages/, contents/ and tests/ objects of SDK versions and test plans that exist only at run time',
      },
      {
        id: finding(this.packageHostBucket, everything),
        reason: 'Publication writes <tier>/<name>/<version>/ and index.json and deletes withdrawn versions, for SDKs known only at run time',
      },
    );

    // Download API: checks the consumer's token, reads the index, signs URLs with the operator's key. Listing
    // tells "nothing published yet" (404) apart from a denial.
    const download = fns['sdk-download-api'];
    grantTableData(this.table, download, 'read');
    grantObjectsRead(this.packageHostBucket, INDEX_KEY, download);
    grantBucketList(this.packageHostBucket, download);
    signingKeySecret.grantRead(download);
  }

  private createApi(throttle: apigwv2.ThrottleSettings | undefined): apigwv2.HttpApi {
    const api = new apigwv2.HttpApi(this, 'Api', {
      apiName: 'lockstep-sdk',
      description: 'Lockstep SDK publishing: uploads and downloads',
      createDefaultStage: false,
    });
    new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: throttle ?? { rateLimit: 20, burstLimit: 40 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.logGroup('ApiAccessLogs')),
        format: apigwv2AccessLogFormat(),
      },
    });
    return api;
  }

  private addRoutes(): void {
    const uploadIntegration = new HttpLambdaIntegration('SdkUploadIntegration', this.functions['sdk-upload-api']);
    const downloadIntegration = new HttpLambdaIntegration('SdkDownloadIntegration', this.functions['sdk-download-api']);
    const route = (id: string, method: apigwv2.HttpMethod, path: string, integration: HttpLambdaIntegration, reason: string): void => {
      const created = new apigwv2.HttpRoute(this, id, { httpApi: this.httpApi, routeKey: apigwv2.HttpRouteKey.with(path, method), integration });
      acknowledge(created, { id: 'AwsSolutions-APIG4', reason });
    };
    const providerToken =
      'SDK providers send a bearer token; the handler checks its SHA-256 against the Sdk table (provider role, SDKs it may push, expiry) before anything else';
    // Tokens rather than IAM: providers and consumers are outside the account, and their groups (which the access
    // policy works with) live with the token's record.
    const consumerToken =
      'Consumers send a bearer token; the handler checks its SHA-256 against the Sdk table (groups, expiry) and the access policy before it answers';
    route('UploadsRoute', apigwv2.HttpMethod.POST, '/sdk/uploads', uploadIntegration, providerToken);
    route('UploadCompleteRoute', apigwv2.HttpMethod.POST, '/sdk/uploads/{uploadId}/complete', uploadIntegration, providerToken);
    route('StatusRoute', apigwv2.HttpMethod.GET, '/sdk/status', uploadIntegration, providerToken);
    route('IndexRoute', apigwv2.HttpMethod.GET, '/sdk/index', downloadIntegration, consumerToken);
    route('DownloadRoute', apigwv2.HttpMethod.GET, '/sdk/download/{name}/{version}', downloadIntegration, consumerToken);
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
    new CfnOutput(this, 'UploadApiUrl', { value: this.uploadApiUrl, description: 'Where lockstep sdk push asks for upload URLs' });
    new CfnOutput(this, 'DownloadApiUrl', { value: this.downloadApiUrl, description: 'SDK index and download API (GET /index, GET /download/{name}/{version})' });
    new CfnOutput(this, 'DistributionDomainName', { value: this.distribution.distributionDomainName, description: 'Package host distribution' });
    new CfnOutput(this, 'CloudFrontKeyPairId', { value: this.publicKey.publicKeyId, description: 'Id of the public key that signed URLs name' });
    new CfnOutput(this, 'SdkHostBucketName', { value: this.sdkHostBucket.bucketName, description: 'Upload bucket (incoming/<name>/<version>/)' });
    new CfnOutput(this, 'StagingBucketName', { value: this.stagingBucket.bucketName });
    new CfnOutput(this, 'PackageHostBucketName', { value: this.packageHostBucket.bucketName });
    new CfnOutput(this, 'SdkTableName', { value: this.table.tableName });
    new CfnOutput(this, 'SdkStateMachineArn', { value: this.stateMachine.stateMachineArn });
  }

  private logGroup(id: string, logGroupName?: string): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      ...(logGroupName ? { logGroupName } : {}),
      retention: this.logRetention,
      removalPolicy: this.removalPolicy,
    });
  }
}

interface ValidatedProps {
  /** The public key as SPKI PEM, when given as a string that could be read. */
  readonly publicKeyPem?: string;
  readonly accessPolicy: AccessPolicy;
}

/** Checks every prop, or throws once with every problem. */
function validateProps(props: SdkPublisherProps): ValidatedProps {
  const problems: string[] = [];
  let publicKeyPem: string | undefined;
  if (typeof props.cloudFrontPublicKey === 'string' && !Token.isUnresolved(props.cloudFrontPublicKey)) {
    const checked = checkPublicKey(props.cloudFrontPublicKey);
    if (typeof checked === 'string') publicKeyPem = checked;
    else problems.push(`cloudFrontPublicKey: ${checked.problem}`);
  }

  const policy = loadAccessPolicy(props.accessPolicy);
  problems.push(...policy.problems.map((p) => `accessPolicy${typeof props.accessPolicy === 'string' ? ` (${props.accessPolicy})` : ''}: ${p}`));

  if (props.domainName !== undefined && props.certificate === undefined) {
    problems.push('domainName: give certificate too (an ACM certificate for that name, in us-east-1), or leave both out');
  }
  if (props.certificate !== undefined && props.domainName === undefined) {
    problems.push('certificate: give domainName too (the name the certificate covers), or leave both out');
  }
  if (props.domainName !== undefined && !Token.isUnresolved(props.domainName) && !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(props.domainName)) {
    problems.push(`domainName: "${props.domainName}" is not a host name; write e.g. "sdk.example.com"`);
  }
  const certificateArn = props.certificate?.certificateArn;
  if (certificateArn !== undefined && !Token.isUnresolved(certificateArn)) {
    const region = certificateArn.split(':')[3];
    if (region !== 'us-east-1') {
      problems.push(`certificate: CloudFront uses ACM certificates from us-east-1 only (this one is in ${region || 'an unknown region'}); request or import it there`);
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
      problems.push(`pollInterval: EventBridge schedules run in whole minutes; use Duration.minutes(n) with n >= 1 (got ${poll.toHumanString()})`);
    }
  }
  (props.notificationEmails ?? []).forEach((email, i) => {
    if (!Token.isUnresolved(email) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) {
      problems.push(`notificationEmails[${i}]: "${email}" is not an email address`);
    }
  });
  const throttle = props.apiThrottle;
  if (throttle && props.httpApi) {
    problems.push('apiThrottle: applies only to the HTTP API this construct creates; set throttling on the stage of the httpApi you pass, or leave httpApi out');
  }
  if (throttle?.rateLimit !== undefined && !Token.isUnresolved(throttle.rateLimit) && throttle.rateLimit <= 0) {
    problems.push(`apiThrottle.rateLimit: use a positive number of requests per second (got ${throttle.rateLimit})`);
  }
  if (throttle?.burstLimit !== undefined && !Token.isUnresolved(throttle.burstLimit) && throttle.burstLimit < 1) {
    problems.push(`apiThrottle.burstLimit: use at least 1 (got ${throttle.burstLimit})`);
  }
  if (props.webAclId !== undefined && !Token.isUnresolved(props.webAclId) && !/^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\//.test(props.webAclId)) {
    problems.push(`webAclId: use the ARN of a WAFv2 web ACL with scope CLOUDFRONT (arn:aws:wafv2:us-east-1:<account>:global/webacl/...), got "${props.webAclId}"`);
  }

  if (props.archiveLimits !== undefined) {
    problems.push(...archiveLimitsProblems(props.archiveLimits, 'archiveLimits'));
  }

  if (problems.length > 0 || policy.value === undefined) throw new SdkPublisherPropsError(problems);
  return { ...(publicKeyPem !== undefined ? { publicKeyPem } : {}), accessPolicy: policy.value };
}

/** The key as SPKI PEM (what CloudFront stores), or why it cannot be used. */
function checkPublicKey(text: string): string | { problem: string } {
  if (text.includes('PRIVATE KEY-----')) {
    return { problem: 'this is a private key; give only the public half (openssl rsa -in private.pem -pubout) and keep the private key in signingKeySecret' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    return { problem: 'is not a PEM public key; give the "-----BEGIN PUBLIC KEY-----" block made by openssl rsa -in private.pem -pubout' };
  }
  if (key.asymmetricKeyType !== 'rsa') {
    return { problem: `is a ${key.asymmetricKeyType ?? 'non-RSA'} key; CloudFront signed URLs here use an RSA 2048 key pair (openssl genrsa -out private.pem 2048)` };
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== 2048) {
    return { problem: `is an RSA ${bits ?? '?'}-bit key; CloudFront accepts RSA keys of 2048 bits (openssl genrsa -out private.pem 2048)` };
  }
  return (key.export({ type: 'spki', format: 'pem' }) as string).trim();
}

/** Reads (if a path) and validates the access policy; every problem is returned, none thrown. */
function loadAccessPolicy(input: AccessPolicy | string): { value?: AccessPolicy; problems: string[] } {
  let value: unknown = input;
  if (typeof input === 'string') {
    if (!existsSync(input)) return { problems: [`the file does not exist; give the path of a JSON or YAML access policy, or the policy object`] };
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
