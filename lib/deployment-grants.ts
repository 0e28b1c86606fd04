/**
 * What each deployment-system handler may do (see `lambdas/adapters/runtime.ts`), in one place.
 */
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  BUILDS_PREFIX,
  REVISIONS_PREFIX,
  SECURITY_DIFF_FOLDER,
  type CodeBuildProjectDefinition,
} from '../lambdas/core/buildspecs';
import type { Pipeline } from '../lambdas/core/config/schema';
import type { TableDefinition } from '../lambdas/core/tables';
import {
  grantObjectsRead,
  grantObjectsWrite,
  grantTableData,
  grantTopicPublish,
  type TableAccess,
  type TableGrantOptions,
} from './grants';
import type { HandlerName } from './handlers';
import { acknowledge, resourceFinding } from './nag';

type TableName = TableDefinition['logicalName'];

/**
 * The partitions of the Revisions table that hold AutoBuild's pushes and builds (`dynamo-build-store.ts`), apart
 * from the revisions themselves (`APP#<application>`).
 */
const PUSH_AND_BUILD_PARTITIONS = ['PUSHES', 'BUILDS#*'];

/**
 * Which tables each handler uses and how (the stores it builds in `lambdas/adapters/runtime.ts` and the calls it
 * makes on them). The timeline (Events) is only ever appended to. Push intake (webhook, CodeCommit) records pushes
 * and claims builds in the Revisions table but never touches a revision; the approval functions read the revision
 * they ask about; promotion steps take and release locks, and reconcile releases a lock whose holder ended outside
 * its Catch (fenced by that holder's token) and carries a renamed environment's lock across.
 */
export const TABLE_ACCESS: Readonly<
  Record<HandlerName, Partial<Record<TableName, TableAccess | [TableAccess, TableGrantOptions]>>>
> = {
  'github-webhook': {
    Revisions: ['read-write', { partitionKeys: PUSH_AND_BUILD_PARTITIONS }],
    Events: 'append',
    Idempotency: 'read-write',
  },
  'codecommit-push': { Revisions: ['read-write', { partitionKeys: PUSH_AND_BUILD_PARTITIONS }], Events: 'append' },
  'approval-api': { Revisions: 'read', Environments: 'read-write', Events: 'append' },
  'approval-request': { Revisions: 'read', Environments: 'read-write', Events: 'append' },
  'promotion-steps': { Revisions: 'read-write', Environments: 'read-write', Locks: 'read-write', Events: 'append' },
  reconcile: { Revisions: 'read-write', Environments: 'read-write', Locks: 'read-write', Events: 'append' },
  // The console reads everything its pages show; it writes switches, pins, rollback claims and approval decisions
  // (Environments), releases a lock only on an operator's explicit override (Locks), and appends its audit entries
  // (Events, which it also reads: `grantConsolePermissions`).
  'console-api': { Revisions: 'read', Environments: 'read-write', Locks: 'read-write', Events: 'append' },
};

export interface DeploymentGrantsOptions {
  readonly pipeline: Pipeline;
  readonly functions: Readonly<Record<HandlerName, nodejs.NodejsFunction>>;
  readonly tables: Readonly<Record<TableDefinition['logicalName'], dynamodb.ITable>>;
  readonly definitions: readonly CodeBuildProjectDefinition[];
  readonly projects: ReadonlyMap<string, codebuild.IProject>;
  readonly stateMachineArn: string;
  readonly artifactsBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  readonly approvalTopic: sns.ITopic;
  readonly notificationTopic: sns.ITopic;
  readonly webhookSecret: secretsmanager.ISecret;
  readonly approvalSigningSecret: secretsmanager.ISecret;
  /** The pipeline's CodeCommit repositories: push intake and reconcile read their commits and branch heads. */
  readonly repositories: readonly codecommit.IRepository[];
}

/**
 * Each function uses the tables of `TABLE_ACCESS`; the agents (webhook, CodeCommit, reconcile) start builds and publish
 * build failures; reconcile also completes builds (BatchGetBuilds, artifact copy to its revision) and starts
 * promotion executions; the approval functions sign links; the approval API answers task tokens.
 */
export function grantHandlerPermissions(scope: Construct, options: DeploymentGrantsOptions): void {
  const { functions: fns, encryptionKey: key, stateMachineArn, artifactsBucket } = options;
  grantConsolePermissions(options);
  const buildProjectArns = options.definitions
    .filter((d) => d.kind === 'build')
    .map((d) => options.projects.get(d.name)!.projectArn);

  for (const [handler, tables] of Object.entries(TABLE_ACCESS) as [HandlerName, (typeof TABLE_ACCESS)[HandlerName]][]) {
    for (const [table, access] of Object.entries(tables) as [
      TableName,
      TableAccess | [TableAccess, TableGrantOptions],
    ][]) {
      const [level, grantOptions] = typeof access === 'string' ? [access, {}] : access;
      grantTableData(options.tables[table], fns[handler], level, grantOptions);
    }
  }

  for (const name of ['github-webhook', 'codecommit-push', 'reconcile'] as const) {
    if (buildProjectArns.length > 0) {
      fns[name].addToRolePolicy(
        new iam.PolicyStatement({ actions: ['codebuild:StartBuild'], resources: buildProjectArns }),
      );
    }
    grantTopicPublish(options.notificationTopic, key, fns[name]);
  }
  options.webhookSecret.grantRead(fns['github-webhook']);

  const reconcile = fns.reconcile;
  if (buildProjectArns.length > 0) {
    reconcile.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['codebuild:BatchGetBuilds'], resources: buildProjectArns }),
    );
  }
  reconcile.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:StartExecution', 'states:ListExecutions'],
      resources: [stateMachineArn],
    }),
  );
  // The execution that holds a lock is described to find stranded locks; an environment removed from the
  // definition has its running executions read (input) and stopped.
  const executionArns = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:*`;
  reconcile.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [executionArns],
    }),
  );
  acknowledge(reconcile.role!, {
    id: `AwsSolutions-IAM5[${resourceFinding(scope, executionArns)}]`,
    reason:
      'Executions holding a lock or running into a removed environment are found at run time; execution names are not known at deploy time',
  });
  // A finished build's artifact is copied (server side) from builds/ to its revision key.
  const builds = `${BUILDS_PREFIX}*`;
  const revisions = `${REVISIONS_PREFIX}*`;
  grantObjectsRead(artifactsBucket, builds, reconcile);
  grantObjectsWrite(artifactsBucket, revisions, reconcile);
  acknowledge(
    reconcile.role!,
    {
      id: `AwsSolutions-IAM5[${resourceFinding(scope, artifactsBucket.arnForObjects(builds))}]`,
      reason:
        'Build completion copies the artifact of whichever build just finished; build request ids are made at run time',
    },
    {
      id: `AwsSolutions-IAM5[${resourceFinding(scope, artifactsBucket.arnForObjects(revisions))}]`,
      reason:
        'Build completion writes the artifact of the revision it numbers; revision numbers are not known at deploy time',
    },
  );
  // Manual promotions: the reconcile pass sends the go-ahead requests itself.
  if (options.pipeline.promotions.some((p) => p.approval === 'manual')) {
    options.approvalSigningSecret.grantRead(reconcile);
    grantTopicPublish(options.approvalTopic, key, reconcile);
  }
  // Manual approval steps: a decision the approval API stored but could not deliver (throttling, a network error)
  // is delivered by the next reconcile pass, so no decision waits for the approver to post again.
  if (hasManualApprovalSteps(options.pipeline)) {
    reconcile.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [stateMachineArn],
      }),
    );
  }

  options.approvalSigningSecret.grantRead(fns['approval-request']);
  grantTopicPublish(options.approvalTopic, key, fns['approval-request']);
  options.approvalSigningSecret.grantRead(fns['approval-api']);
  fns['approval-api'].addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
      resources: [stateMachineArn],
    }),
  );

  // The approval-requested notice for the pipeline's notification rules (no link) goes to the notification topic.
  grantTopicPublish(options.notificationTopic, key, fns['approval-request']);

  grantTopicPublish(options.notificationTopic, key, fns['promotion-steps']);
  // The permission-broadening gate reads the security diff a deploy.cdk environment's build wrote beside the revision.
  if (options.pipeline.stages.some((stage) => stage.environments.some((e) => e.deploy.cdk))) {
    const diffs = `${REVISIONS_PREFIX}*/*/${SECURITY_DIFF_FOLDER}/*`;
    grantObjectsRead(artifactsBucket, diffs, fns['promotion-steps']);
    acknowledge(fns['promotion-steps'].role!, {
      id: `AwsSolutions-IAM5[${resourceFinding(scope, artifactsBucket.arnForObjects(diffs))}]`,
      reason:
        'The gate reads the security diff of the revision being promoted; applications, revision numbers and environments are known at run time only',
    });
  }

  // Source repositories: every agent that starts builds reads the branch head when a build starts and the commits
  // since the previous revision (GetBranch, GetCommit); reconcile also compares branch heads to build pushes whose
  // event was dropped. Exactly these actions, on the pipeline's repositories only.
  const repositoryArns = options.repositories.map((r) => r.repositoryArn);
  const agents = [fns['github-webhook'], fns['codecommit-push'], reconcile];
  if (repositoryArns.length > 0) {
    for (const agent of agents) {
      agent.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['codecommit:GetBranch', 'codecommit:GetCommit'],
          resources: repositoryArns,
        }),
      );
    }
  }
  // GitHub: the same reads through GitHub's API, with the token in each package's `tokenSecret`. The secret is named
  // by an ARN that may be complete or partial (without Secrets Manager's six-character suffix): the grant matches
  // exactly that secret in either form.
  const tokenSecrets = [
    ...new Set(
      options.pipeline.packages.flatMap((p) =>
        'github' in p.source && p.source.github.tokenSecret ? [p.source.github.tokenSecret] : [],
      ),
    ),
  ].sort();
  if (tokenSecrets.length > 0) {
    for (const agent of agents) {
      agent.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: tokenSecrets.flatMap((arn) => [arn, `${arn}-??????`]),
        }),
      );
      for (const arn of tokenSecrets) {
        acknowledge(agent.role!, {
          id: `AwsSolutions-IAM5[Resource::${arn}-??????]`,
          reason: `Reads the GitHub token secret ${arn}; "??????" is the six-character suffix of its full ARN when the pipeline names it by its partial ARN`,
        });
      }
    }
  }
}

/** True when some environment's approval workflow has a manual approval step (a Step Functions task token). */
export function hasManualApprovalSteps(pipeline: Pipeline): boolean {
  return pipeline.stages.some((stage) =>
    stage.environments.some((environment) => environment.approval.manual !== undefined),
  );
}

/**
 * The console function beyond its tables: it reads the timelines and the audit log, starts the recovery execution
 * of an operator's rollback, delivers an approver's decision to the waiting workflow, and announces operator
 * actions on the notification topic. Nothing else: no build, no secret, no artifact.
 */
function grantConsolePermissions(options: DeploymentGrantsOptions): void {
  const fn = options.functions['console-api'];
  grantTableData(options.tables.Events, fn, 'read');
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [options.stateMachineArn] }),
  );
  if (hasManualApprovalSteps(options.pipeline)) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [options.stateMachineArn],
      }),
    );
  }
  grantTopicPublish(options.notificationTopic, options.encryptionKey, fn);
}
