/**
 * The pipeline definition users write as `lockstep.config.yaml` (or as a typed object in TypeScript).
 *
 * This file holds the shape only: types are inferred from the zod schema. Cross-references (unknown names,
 * duplicates, cycles, unreachable environments, ...) are checked by `validate.ts`, which reports every problem at
 * once with its path and a fix.
 */
import { z } from 'zod';

/** Names are used in DynamoDB keys, Step Functions execution names and CodeBuild project names. */
export const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'use 1-40 letters, digits, "-" or "_", starting with a letter or digit');

/**
 * A pipeline's name also names its CloudFormation stack (`Lockstep-<name>`), and stack names allow letters, digits
 * and "-" only. `lockstep validate`, `loadPipeline` and the CDK constructs all check this one rule.
 */
export const pipelineNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/,
    'use 1-40 letters, digits or "-", starting with a letter or digit: the name is part of the CloudFormation stack name (Lockstep-<name>), which allows no "_"',
  );

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

/** `HH:MM`, 24-hour clock. `24:00` is allowed as an end time meaning midnight at the end of the day. */
export const clockTimeSchema = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'use a 24-hour "HH:MM" time such as "22:00"');

/**
 * When automated deploys to an environment may start. `end` earlier than `start` means the window crosses
 * midnight (22:00-04:00 on `mon` is open from Monday 22:00 to Tuesday 04:00). Times are wall-clock times in
 * `timeZone`, so a window keeps its local hours across daylight-saving changes.
 */
export const timeWindowSchema = z.strictObject({
  days: z.array(z.enum(DAYS)).min(1, 'list at least one day, e.g. [mon, tue, wed, thu, fri]'),
  start: clockTimeSchema,
  end: clockTimeSchema,
  /** IANA time zone name, e.g. `Europe/London`. Checked against the runtime's time zone database. */
  timeZone: z.string().min(1),
});
export type TimeWindow = z.infer<typeof timeWindowSchema>;

/** A duration such as `90s`, `30m`, `2h`, `1d`. */
export const durationSchema = z.string().regex(/^\d+(s|m|h|d)$/, 'use a number followed by s, m, h or d, e.g. "30m"');

/**
 * U+FFFD is what a byte that is not UTF-8 becomes when the file is read (a Latin-1 "é", a stray binary byte): the
 * command would run with a replacement character where the author wrote something else.
 */
const commandSchema = z
  .string()
  .min(1)
  .refine((command) => !command.includes('\uFFFD'), {
    message:
      'the command holds a byte that is not UTF-8 (shown as \uFFFD); save the file as UTF-8 and check the character at that position',
  });
const commandsSchema = z.array(commandSchema).min(1, 'list at least one shell command');

const githubSourceSchema = z.strictObject({
  github: z.strictObject({
    owner: z.string().min(1),
    repo: z.string().min(1),
    branch: z.string().min(1).default('main'),
    /**
     * CodeConnections connection CodeBuild checks the repository out through; it must exist, and be Available,
     * before `cdk deploy`. @default - the account's CodeBuild GitHub credentials (OAuth or token)
     */
    connectionArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/.+$/,
        'use a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)',
      )
      .optional(),
    /**
     * Secrets Manager secret holding a read-only GitHub API token for this repository (a fine-grained token with
     * "Contents: read"). With it, AutoBuild builds the branch head as GitHub has it when a build starts, and the
     * reconcile pass builds pushes whose delivery was lost. A connection gives CodeBuild access but no API token.
     * @default - none: builds take the head from the push deliveries, and a lost delivery waits for the next push
     */
    tokenSecret: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^:]+$/,
        'use the ARN of a Secrets Manager secret whose value is the token (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
      )
      .optional(),
  }),
});
const codecommitSourceSchema = z.strictObject({
  codecommit: z.strictObject({
    repository: z.string().min(1),
    branch: z.string().min(1).default('main'),
  }),
});
/** Local git repository, used by local mode (`npm start`) in place of GitHub or CodeCommit. */
const localSourceSchema = z.strictObject({
  local: z.strictObject({
    path: z.string().min(1),
    branch: z.string().min(1).default('main'),
  }),
});
export const sourceSchema = z.union([githubSourceSchema, codecommitSourceSchema, localSourceSchema]);
export type Source = z.infer<typeof sourceSchema>;

export const packageSchema = z.strictObject({
  name: nameSchema,
  source: sourceSchema,
  build: z.strictObject({
    commands: commandsSchema,
    /** Files (globs, relative to the build folder) kept as the package's artifact. @default all files */
    artifacts: z.array(z.string().min(1)).optional(),
    variables: z.record(z.string(), z.string()).optional(),
  }),
  /** Build automatically when a change is pushed to the branch. @default true */
  autoBuild: z.boolean().default(true),
});
export type PackageDefinition = z.infer<typeof packageSchema>;

export const applicationSchema = z.strictObject({
  name: nameSchema,
  packages: z.array(nameSchema).min(1, 'list the packages this application is built from'),
});
export type ApplicationDefinition = z.infer<typeof applicationSchema>;

/**
 * Secrets a step reads as environment variables, by variable name: a Secrets Manager secret ARN (optionally with
 * CodeBuild's `:json-key:version-stage:version-id` suffix) or a Parameter Store parameter ARN. CodeBuild resolves
 * them when the build starts; the project may read exactly these.
 */
export const secretsSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use a variable name: letters, digits and "_"'),
  z
    .string()
    .regex(
      /^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:.+|ssm:[a-z0-9-]+:\d{12}:parameter\/.+)$/,
      'use a Secrets Manager secret ARN or a Parameter Store parameter ARN',
    ),
);

export const testStepSchema = z.strictObject({
  name: nameSchema,
  commands: commandsSchema,
  variables: z.record(z.string(), z.string()).optional(),
  secrets: secretsSchema.optional(),
});

/**
 * Compliance policies the sign-off step can evaluate (see lambdas/promotion/compliance.ts for each rule):
 * `tests-passed`, `separation-of-duties`, `change-recorded`, `change-management` (tests passed and change
 * recorded) and `standard` (all three).
 */
export const COMPLIANCE_POLICIES = [
  'tests-passed',
  'separation-of-duties',
  'change-recorded',
  'change-management',
  'standard',
] as const;
export type CompliancePolicy = (typeof COMPLIANCE_POLICIES)[number];

/** `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`; the name may itself hold ":". */
const ALARM_ARN = /^arn:(aws[a-z-]*):cloudwatch:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):alarm:(.{1,255})$/;

/** CloudWatch refuses alarm names with ASCII control characters. */
function hasControlCharacter(value: string): boolean {
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * A CloudWatch alarm the bake watches: its name, or its ARN (`arn:aws:cloudwatch:<region>:<account>:alarm:<name>`),
 * in the environment's own account and region (`validate` checks an ARN's account and region).
 */
export const alarmReferenceSchema = z
  .string()
  .min(1, 'name the alarm')
  .max(1_024, 'use the alarm name or its ARN')
  .refine((value) => !value.startsWith('arn:') || ALARM_ARN.test(value), {
    message:
      'use an alarm name, or an alarm ARN such as "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-prod-5xx"',
  })
  .refine((value) => value.startsWith('arn:') || (value.length <= 255 && !hasControlCharacter(value)), {
    message: 'an alarm name has 1-255 characters and no control characters',
  });

/** An alarm reference split into its parts; `account` and `region` only when it is an ARN. */
export interface AlarmReference {
  readonly name: string;
  readonly account?: string;
  readonly region?: string;
}

/**
 * The name an alarm reference stands for, and the account and region an ARN names.
 *
 * @example
 * parseAlarmReference('arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-prod-5xx'); // { name: 'web-prod-5xx', account: '123456789012', region: 'eu-west-1' }
 * parseAlarmReference('web-prod-5xx'); // { name: 'web-prod-5xx' }
 */
export function parseAlarmReference(reference: string): AlarmReference {
  const match = ALARM_ARN.exec(reference);
  return match ? { name: match[4]!, account: match[3]!, region: match[2]! } : { name: reference };
}

/**
 * A bake watched by CloudWatch alarms: the revision counts as approved only if none of `alarms` was in ALARM at any
 * moment of `duration` (docs/ARCHITECTURE.md, "Alarm-watched bake").
 */
export const alarmBakeSchema = z.strictObject({
  /** How long the revision bakes, lock held. */
  duration: durationSchema,
  /** CloudWatch alarms (names or ARNs) in the environment's own account and region. */
  alarms: z
    .array(alarmReferenceSchema)
    .min(1, 'list at least one alarm name or ARN, or write bakeTime as a plain duration such as "30m"'),
  /**
   * Start the bake even when an alarm is in INSUFFICIENT_DATA (a metric that reports only under traffic). Without
   * it, such an alarm blocks the bake: it could not say whether the revision is healthy. @default false
   */
  acceptInsufficientData: z.boolean().default(false),
});
export type AlarmBake = z.infer<typeof alarmBakeSchema>;

export const approvalWorkflowSchema = z.strictObject({
  /** Test steps, run in parallel after the deploy. Any failure fails the workflow and rolls back. */
  tests: z.array(testStepSchema).default([]),
  /** Compliance sign-off by a named policy (recorded in the audit log with the revision's evidence). */
  compliance: z.strictObject({ policy: z.enum(COMPLIANCE_POLICIES) }).optional(),
  /**
   * Manual approval by email link, each approver with their own link. `required` distinct approvers must approve;
   * one rejection ends it. Nobody may approve a revision with a commit they authored.
   */
  manual: z
    .strictObject({
      approvers: z.array(z.email('use an email address')).min(1, 'list at least one approver email'),
      /** How many distinct approvers must approve (N of the M listed). @default 1 */
      required: z.number().int().min(1, 'use 1 or more').default(1),
      /** How long the request stays open before the workflow fails. @default "24h" */
      timeout: durationSchema.default('24h'),
    })
    .optional(),
  /**
   * Time the revision must stay healthy, lock held, before it counts as approved: a duration (`"30m"`), or
   * `{ duration, alarms, acceptInsufficientData }` to fail the workflow (and roll back) as soon as one of the
   * CloudWatch alarms goes into ALARM during the bake. @default none
   */
  bakeTime: z.union([durationSchema, alarmBakeSchema]).optional(),
});
export type ApprovalWorkflow = z.infer<typeof approvalWorkflowSchema>;

/** The one meaning of `lockLease`, shown wherever the schema is described. */
export const LOCK_LEASE_DESCRIPTION =
  'The whole time one promotion may hold the lock: deploy, tests, compliance, the manual approval wait and the bake time together ' +
  '(and, with deploy.cdk, the permissions-broadening confirmation). ' +
  'Default: 2h plus the manual approval timeout plus the bake time (plus deploy.cdk.timeout).';

/** The default for `lockLease`: time for the deploy and tests, plus the approval workflow's waits. */
export const DEFAULT_LOCK_WORK_MS = 2 * 3_600_000;

/**
 * A CDK application Lockstep deploys itself (`deploy.cdk`): it writes the deploy step's commands (`cdk deploy`) and,
 * before the deploy, runs the CDK CLI's own security diff; a diff that broadens IAM permissions or security groups
 * waits for a permissions-broadening approval (docs/ARCHITECTURE.md, "Permission-broadening gate").
 */
export const cdkDeploySchema = z.strictObject({
  /**
   * Folder of the CDK app inside the revision artifact, the one holding its `cdk.json` (whose `app` says how to run
   * it), relative to the artifact's root. @default "." (the artifact's root)
   */
  app: z
    .string()
    .min(1)
    .regex(
      /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9_.\/-]+$/,
      'use a relative folder inside the revision artifact, e.g. "." or "infra" (letters, digits, "_", "-", ".", "/"; no "..")',
    )
    .default('.'),
  /** Stacks to diff and deploy: names or the CDK CLI's patterns (`Prod/*`), as `cdk deploy` takes them. */
  stacks: z
    .array(
      z
        .string()
        .regex(
          /^[A-Za-z0-9*][A-Za-z0-9*/_-]*$/,
          'use a stack name or a CDK CLI pattern: letters, digits, "-", "_", "/" and "*"',
        ),
    )
    .min(1, 'list at least one stack, e.g. [MyServiceStack]'),
  /**
   * Who confirms a deploy that broadens permissions (emails; one of them decides, and nobody confirms a revision
   * with a commit they authored). @default the environment's `approval.manual.approvers`
   */
  approvers: z.array(z.email('use an email address')).min(1, 'list at least one approver email').optional(),
  /**
   * The command that runs the CDK CLI (`aws-cdk`, 2.1100 or later), run in the app's folder.
   * @default "npx --no-install cdk" (the app's own `aws-cdk` from the node_modules its build put in the artifact)
   */
  cli: z
    .string()
    .min(1)
    .regex(
      /^[^\n'"`$;&|<>]+$/,
      'use a plain command without quotes, "$", ";", "&", "|" or redirections, e.g. "npx cdk"',
    )
    .default('npx --no-install cdk'),
  /** How long a permissions-broadening confirmation stays open before the deploy is refused. @default "24h" */
  timeout: durationSchema.default('24h'),
});
export type CdkDeployDefinition = z.infer<typeof cdkDeploySchema>;

export const environmentSchema = z.strictObject({
  name: nameSchema,
  deploy: z.strictObject({
    /** Shell commands that deploy a revision. Leave out with `cdk`, whose commands Lockstep writes. */
    commands: commandsSchema.optional(),
    /** A CDK application, deployed by commands Lockstep writes, behind the permission-broadening gate. */
    cdk: cdkDeploySchema.optional(),
    variables: z.record(z.string(), z.string()).optional(),
    secrets: secretsSchema.optional(),
    /**
     * What the deploy step may do in this account when it assumes no `roleArn`: managed policies by ARN and/or
     * an IAM policy document, attached to the deploy project's role. @default - nothing beyond its own artifacts
     */
    permissions: z
      .strictObject({
        managedPolicyArns: z
          .array(z.string().regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+$/, 'use an IAM managed policy ARN'))
          .optional(),
        policyDocument: z
          .looseObject({ Statement: z.array(z.looseObject({})).min(1, 'list at least one statement') })
          .optional(),
      })
      .optional(),
  }),
  account: z
    .string()
    .regex(/^\d{12}$/, 'use the 12-digit AWS account id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'use an AWS region such as "eu-west-1"')
    .optional(),
  /** IAM role the deploy assumes in the target account. */
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'use an IAM role ARN')
    .optional(),
  /** When automated deploys may start. @default always open */
  windows: z.array(timeWindowSchema).default([]),
  approval: approvalWorkflowSchema.default({ tests: [] }),
  /**
   * The whole time one promotion may hold the environment's lock: deploy, tests, compliance sign-off, the manual
   * approval's wait and the bake time, all included (nothing is added to it). A holder that is still at work when
   * it ends counts as abandoned. @default 2h plus the manual approval's timeout plus the bake time
   */
  lockLease: durationSchema.optional().describe(LOCK_LEASE_DESCRIPTION),
  /**
   * The name this environment had before a rename. Its deployed and previous revisions, approvals and lock carry
   * over to the new name, so a rename neither redeploys nor loses the rollback target (docs/ARCHITECTURE.md,
   * "Renaming and removing environments"). Keep it until the rename has been deployed; it may stay. @default none
   */
  renamedFrom: nameSchema.optional(),
});
export type EnvironmentDefinition = z.infer<typeof environmentSchema>;

/**
 * One wave of a stage: environments that take a revision together, after every earlier wave has approved it.
 */
export const waveSchema = z.strictObject({
  /** Environments of this stage in this wave. */
  environments: z.array(nameSchema).min(1, 'list at least one environment in the wave'),
  /** At most this many of the wave's environments run a promotion at once. @default all of them */
  maxConcurrent: z.number().int().min(1, 'use 1 or more').optional(),
  /**
   * How long the next wave waits after this wave's last environment approved a revision, on top of the
   * environments' own bake times. @default none
   */
  bakeAfter: durationSchema.optional(),
});
export type WaveDefinition = z.infer<typeof waveSchema>;

export const stageSchema = z.strictObject({
  name: nameSchema,
  environments: z.array(environmentSchema),
  /**
   * Ordered groups of this stage's environments. An environment in wave k+1 starts a revision only once every
   * environment of waves 1..k has approved that revision, so a failure in one wave stops the later ones for it.
   * When set, every environment of the stage is in exactly one wave. @default none (no ordering inside the stage)
   */
  waves: z.array(waveSchema).min(1, 'list at least one wave, or leave `waves` out').optional(),
});
export type StageDefinition = z.infer<typeof stageSchema>;

export const SELECTION_STRATEGIES = ['latest', 'priority', 'most-tests-passed', 'compatible'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

/**
 * An edge to a destination environment. The source is one or more applications (new successful revisions) or an
 * environment (revisions approved there). Every application the source carries flows to the destination.
 */
export const promotionSchema = z.strictObject({
  from: z.union([
    z.strictObject({ application: z.union([nameSchema, z.array(nameSchema).min(1)]) }),
    z.strictObject({ environment: nameSchema }),
  ]),
  to: nameSchema,
  /** @default "latest" */
  strategy: z.enum(SELECTION_STRATEGIES).default('latest'),
  /** `manual`: a person approves each revision before it is deployed to the destination. @default "automatic" */
  approval: z.enum(['automatic', 'manual']).default('automatic'),
  /** Approvers for a `manual` promotion. @default the destination's manual approvers */
  approvers: z.array(z.email()).optional(),
  /** @default true */
  enabled: z.boolean().default(true),
});
export type PromotionDefinition = z.infer<typeof promotionSchema>;

export const NOTIFICATION_EVENTS = [
  'approval-requested',
  'pipeline-deleted',
  'pipeline-disabled',
  'pipeline-enabled',
  'automation-switched',
  'approval-workflow-failed',
  'deployment-failed',
  'rollback-done',
  'build-failed',
  'revision-approved',
  /** An operator unlocked an environment or allowed deploys over an unapproved revision (`lockstep unlock`). */
  'operator-override',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

export const notificationSchema = z.strictObject({
  events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1),
  emails: z.array(z.email('use an email address')).min(1),
});

/**
 * How long history stays in the tables. Without `retention`, revisions, timeline and audit entries are kept
 * forever (an audit trail is a compliance record). With it, a daily archiver writes entries older than
 * `archiveAfterDays` to the artifacts bucket as JSON Lines (`history/...`) and only then lets DynamoDB TTL expire
 * them; `lockstep audit export` reads the table and the archive together.
 */
export const retentionSchema = z
  .strictObject({
    archiveAfterDays: z
      .number({ error: 'use a whole number of days, e.g. 365' })
      .int('use a whole number of days, e.g. 365')
      .min(1, 'use at least 1 day, e.g. 365; leave `retention` out to keep everything in the table')
      .max(36_500, 'use at most 36500 days (100 years); leave `retention` out to keep everything in the table')
      .describe('Archive, then expire from the table, entries older than this many days'),
    objectLock: z
      .strictObject({
        mode: z
          .enum(['governance', 'compliance'])
          .describe(
            'compliance: nobody can delete an archive early; governance: only with s3:BypassGovernanceRetention',
          ),
        days: z
          .number({ error: 'use a whole number of days, e.g. 2555 (7 years)' })
          .int('use a whole number of days, e.g. 2555 (7 years)')
          .min(1, 'use at least 1 day, e.g. 2555 (7 years)')
          .max(36_500, 'lock archives for at most 36500 days (100 years)'),
      })
      .optional()
      .describe(
        'Write every archive object under S3 Object Lock for this many days (the artifacts bucket is created with Object Lock enabled). @default no lock',
      ),
  })
  .describe(
    'Archive revisions, timeline and audit entries to the artifacts bucket as JSON Lines after N days, then expire them from the tables. @default keep everything in the tables',
  );
export type RetentionDefinition = z.infer<typeof retentionSchema>;

/**
 * Who a pusher is, as approvers are named. A GitHub push names its pusher by email (`pusher.email`); a CodeCommit
 * push names an IAM caller ARN, which is no email. A key is that caller: a full ARN
 * (`arn:aws:sts::123456789012:assumed-role/Deployer/ci`), its resource (`user/ann`, `assumed-role/Deployer/ci`), or
 * a GitHub login (`github:octocat`, which wins over the push's `pusher.email`). The value is the approver email.
 */
const PUSHER_KEY =
  /^(arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+|(user|role|assumed-role|federated-user)\/\S+|github:[A-Za-z0-9][A-Za-z0-9-]*)$/;

export const identitiesSchema = z
  .record(z.string(), z.email('map each pusher to an approver email'))
  // Checked here rather than as the record's key schema: zod reports a bad key only as "Invalid key in record".
  .superRefine((identities, ctx) => {
    for (const key of Object.keys(identities).filter((k) => !PUSHER_KEY.test(k)))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `"${key}" names no pusher: write an IAM/STS ARN, its resource ("user/ann", "assumed-role/Deployer/ci") or "github:<login>"`,
      });
  })
  .describe(
    'Pushers (CodeCommit caller ARNs, GitHub logins) -> approver emails, so a pusher who is also an approver cannot approve their own push. @default none: an assumed-role session named by email maps to that email, a GitHub push to pusher.email',
  );

export const pipelineSchema = z.strictObject({
  pipeline: z.strictObject({
    name: pipelineNameSchema,
    /** A disabled pipeline starts nothing; in-flight executions finish. @default true */
    enabled: z.boolean().default(true),
    /** With automation off, agents report what they would do but start nothing. @default true */
    automation: z.boolean().default(true),
    /** AutoBuild groups pushes to one application that arrive within this interval. @default "30s" */
    buildDebounce: durationSchema.default('30s'),
  }),
  packages: z.array(packageSchema).min(1),
  applications: z.array(applicationSchema).min(1),
  stages: z.array(stageSchema).min(1),
  promotions: z.array(promotionSchema).default([]),
  notifications: z.array(notificationSchema).default([]),
  /** History retention. @default keep everything in the tables */
  retention: retentionSchema.optional(),
  /** Pushers -> approver emails (see `identitiesSchema`). @default none */
  identities: identitiesSchema.optional(),
});

/** What users write (defaults optional). */
export type PipelineInput = z.input<typeof pipelineSchema>;
/** A parsed pipeline with defaults applied. Validate with `validatePipeline` before use. */
export type Pipeline = z.output<typeof pipelineSchema>;

/** Parses a duration string ("30m") into milliseconds. */
export function durationMs(duration: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(duration);
  if (!match) throw new RangeError(`Not a duration: ${duration}`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** Identifies a promotion edge: `<source>-to-<destination>`. Stable while the edge's endpoints stay the same. */
export function promotionId(promotion: Pick<PromotionDefinition, 'from' | 'to'>): string {
  const source =
    'environment' in promotion.from
      ? promotion.from.environment
      : ([] as string[]).concat(promotion.from.application).join('+');
  return `${source}-to-${promotion.to}`;
}

/**
 * The bake time as a duration string, whichever form `bakeTime` is written in.
 *
 * @example
 * bakeDuration({ bakeTime: { duration: '1h', alarms: ['web-prod-5xx'], acceptInsufficientData: false } }); // '1h'
 */
export function bakeDuration(approval: Pick<ApprovalWorkflow, 'bakeTime'>): string | undefined {
  const bake = approval.bakeTime;
  return bake === undefined ? undefined : typeof bake === 'string' ? bake : bake.duration;
}

/** The alarm bake of an approval workflow, or undefined when its bake (if any) watches no alarms. */
export function alarmBake(approval: Pick<ApprovalWorkflow, 'bakeTime'>): AlarmBake | undefined {
  const bake = approval.bakeTime;
  return bake !== undefined && typeof bake !== 'string' ? bake : undefined;
}

/** What the approval workflow of an environment waits for at most: the manual approval's timeout plus the bake time. */
export function approvalWaitMs(
  environment: Pick<EnvironmentDefinition, 'approval'> & { deploy?: Pick<EnvironmentDefinition['deploy'], 'cdk'> },
): number {
  const manual = environment.approval.manual ? durationMs(environment.approval.manual.timeout) : 0;
  const bakeTime = bakeDuration(environment.approval);
  const bake = bakeTime ? durationMs(bakeTime) : 0;
  // The permissions-broadening confirmation waits before the deploy, with the lock held.
  const gate = environment.deploy?.cdk ? durationMs(environment.deploy.cdk.timeout) : 0;
  return manual + bake + gate;
}

/**
 * Who confirms a permissions-broadening deploy of a `deploy.cdk` environment: its `cdk.approvers`, else its manual
 * approvers; `[]` when neither is set (validation refuses that).
 */
export function permissionsApprovers(environment: Pick<EnvironmentDefinition, 'deploy' | 'approval'>): string[] {
  return [...(environment.deploy.cdk?.approvers ?? environment.approval.manual?.approvers ?? [])];
}

/**
 * How long one promotion may hold an environment's lock (`lockLease` is the whole hold; see
 * `LOCK_LEASE_DESCRIPTION`). Unset: 2h for the deploy and tests plus the approval workflow's waits.
 *
 * @example
 * lockLeaseMs({ lockLease: '25h', approval: { tests: [], manual: { approvers: [], timeout: '24h' } } }); // 25 h, not 49 h
 */
export function lockLeaseMs(
  environment: Pick<EnvironmentDefinition, 'approval' | 'lockLease'> & {
    deploy?: Pick<EnvironmentDefinition['deploy'], 'cdk'>;
  },
): number {
  return environment.lockLease !== undefined
    ? durationMs(environment.lockLease)
    : DEFAULT_LOCK_WORK_MS + approvalWaitMs(environment);
}
