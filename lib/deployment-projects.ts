/**
 * The CodeBuild projects of one pipeline (`codeBuildProjects` in `lambdas/core/buildspecs.ts`): build projects
 * that check out the application's packages and upload a zip under `builds/<application>/`, and steps projects
 * (one per set of step grants: role, applications, secrets, deploy permissions) that receive a revision zip as
 * their source and run the deploy or test step StartBuild selects. Each may touch exactly its own objects. Steps
 * projects log to one log group, each build under the stream prefix `<environment>/<step>` the state machine sets.
 */
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  BUILDS_PREFIX,
  REVISION_ARTIFACT_FILE,
  REVISIONS_PREFIX,
  SECURITY_DIFF_FOLDER,
  type CodeBuildProjectDefinition,
  type PackageCheckout,
} from '../lambdas/core/buildspecs';
import type { EnvironmentDefinition, Pipeline } from '../lambdas/core/config/schema';
import { buildProject } from './codebuild-projects';
import { ConnectionSource, S3ObjectSource } from './codebuild-sources';
import { grantObjectsRead, grantObjectsWrite } from './grants';
import { buildLogGroup, type LogGroupDefaults } from './log-groups';
import { acknowledge, resourceFinding } from './nag';

export interface PipelineProjectsOptions {
  readonly pipeline: Pipeline;
  readonly definitions: readonly CodeBuildProjectDefinition[];
  readonly artifactsBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /** @default - `DEFAULT_BUILD_IMAGE`, small compute */
  readonly environment?: codebuild.BuildEnvironment;
  readonly logDefaults: LogGroupDefaults;
}

export interface PipelineProjects {
  /** CodeBuild projects by name (`names.ts`). */
  readonly projects: Map<string, codebuild.Project>;
  /** The CodeCommit repositories the projects check out, by name. */
  readonly repositories: Map<string, codecommit.IRepository>;
  /** Where every steps project logs (`<environment>/<step>/<build>` streams); none without steps projects. */
  readonly stepsLogGroup?: logs.ILogGroup;
}

/**
 * Creates every project of `definitions` in `scope`, construct ids `BuildProject-<application>` and
 * `StepsProject-<account>-<hash>` (the tail of the project name).
 */
export function buildPipelineProjects(scope: Construct, options: PipelineProjectsOptions): PipelineProjects {
  const projects = new Map<string, codebuild.Project>();
  const stepsLogGroup = options.definitions.some((d) => d.kind === 'steps')
    ? buildLogGroup(scope, 'StepsLogs', options.logDefaults)
    : undefined;
  const repositories = new Map<string, codecommit.IRepository>();
  const repository = (name: string): codecommit.IRepository => {
    let found = repositories.get(name);
    if (!found) {
      found = codecommit.Repository.fromRepositoryName(scope, `Repository-${name}`, name);
      repositories.set(name, found);
    }
    return found;
  };
  for (const definition of options.definitions) {
    const id = projectId(definition);
    const sources = projectSources(id, definition, options.artifactsBucket, repository);
    const project = buildProject(scope, id, {
      projectName: definition.name,
      description: projectDescription(definition),
      buildspec: definition.buildspec as unknown as Record<string, unknown>,
      source: sources[0]!,
      secondarySources: sources.slice(1),
      ...(definition.kind === 'build'
        ? { artifacts: new BuildArtifacts(options.artifactsBucket, `${BUILDS_PREFIX}${definition.application}`) }
        : {}),
      ...(options.environment ? { environment: options.environment } : {}),
      defaultComputeType: codebuild.ComputeType.SMALL,
      environmentVariables: {
        ...Object.fromEntries(
          Object.entries(definition.environmentVariables).map(([name, value]) => [name, { value }]),
        ),
        ...secretVariables(definition.grants?.secrets ?? {}),
      },
      encryptionKey: options.encryptionKey,
      keyDescription: 'the system key',
      logGroup:
        stepsLogGroup && definition.kind === 'steps'
          ? stepsLogGroup
          : buildLogGroup(scope, `${id}Logs`, options.logDefaults),
      sourceBucket: options.artifactsBucket,
    });
    grantProjectAccess(scope, project, definition, options.artifactsBucket);
    grantSecretReads(project, definition.grants?.secrets ?? {});
    grantDeployPermissions(scope, id, project, definition.grants?.permissions);
    if (definition.source.type !== 'revision-artifact') {
      for (const checkout of definition.source.packages) {
        if ('github' in checkout.location && checkout.location.github.connectionArn)
          grantConnectionUse(project, checkout.location.github.connectionArn);
      }
    }
    projects.set(definition.name, project);
  }
  return { projects, repositories, ...(stepsLogGroup ? { stepsLogGroup } : {}) };
}

function projectId(definition: CodeBuildProjectDefinition): string {
  if (definition.kind === 'build') return `BuildProject-${definition.application}`;
  return `StepsProject-${definition.name.slice(definition.name.indexOf('-steps-') + '-steps-'.length)}`;
}

/** At most 255 characters (CodeBuild's limit): the environments whose steps the project runs, as many as fit. */
function projectDescription(definition: CodeBuildProjectDefinition): string {
  if (definition.kind === 'build') return `Lockstep build project (${definition.application})`;
  const steps = definition.steps ?? [];
  const environments = [...new Set(steps.map((step) => step.environment))];
  const head = `Lockstep deploy and test steps (${steps.length}) of ${environments.length} environment${environments.length === 1 ? '' : 's'}: `;
  const listed = environments.join(', ');
  return head.length + listed.length <= 255 ? head + listed : `${(head + listed).slice(0, 251)} ...`;
}

function projectSources(
  id: string,
  definition: CodeBuildProjectDefinition,
  artifactsBucket: s3.IBucket,
  repository: (name: string) => codecommit.IRepository,
): codebuild.ISource[] {
  if (definition.source.type === 'revision-artifact') {
    // The revision zip is chosen per build (sourceLocationOverride); this default points at the prefix.
    return [new S3ObjectSource(artifactsBucket, `${REVISIONS_PREFIX}none/0/artifact.zip`)];
  }
  return definition.source.packages.map((checkout) => packageSource(id, checkout, repository));
}

function packageSource(
  id: string,
  checkout: PackageCheckout,
  repository: (name: string) => codecommit.IRepository,
): codebuild.ISource {
  const location = checkout.location;
  if ('github' in location) {
    const source = codebuild.Source.gitHub({
      owner: location.github.owner,
      repo: location.github.repo,
      branchOrRef: location.github.branch,
      identifier: checkout.identifier,
      // Builds start from Lockstep's own webhook handler, which groups pushes; no CodeBuild webhook.
      webhook: false,
    });
    return location.github.connectionArn ? new ConnectionSource(source, location.github.connectionArn) : source;
  }
  if ('codecommit' in location) {
    return codebuild.Source.codeCommit({
      repository: repository(location.codecommit.repository),
      branchOrRef: location.codecommit.branch,
      identifier: checkout.identifier,
    });
  }
  // checkProps refuses local sources before any project is made.
  throw new Error(`${id}: local sources cannot be deployed`);
}

function grantProjectAccess(
  scope: Construct,
  project: codebuild.Project,
  definition: CodeBuildProjectDefinition,
  artifactsBucket: s3.IBucket,
): void {
  if (definition.kind === 'build') {
    // Each build uploads under its own build request id, known only when the build starts.
    const pattern = `${BUILDS_PREFIX}${definition.application}/*`;
    grantObjectsWrite(artifactsBucket, pattern, project);
    acknowledge(project, {
      id: `AwsSolutions-IAM5[${resourceFinding(scope, artifactsBucket.arnForObjects(pattern))}]`,
      reason: `Build request ids of ${definition.application} are made per build, so the build may write under ${pattern} and nowhere else`,
    });
    return;
  }
  if (definition.source.type !== 'revision-artifact') return;
  const environments = [...new Set((definition.steps ?? []).map((step) => step.environment))];
  const where = environments.length === 1 ? environments[0]! : `any of its ${environments.length} environments`;
  for (const application of definition.source.applications) {
    const pattern = `${REVISIONS_PREFIX}${application}/*`;
    grantObjectsRead(artifactsBucket, pattern, project);
    acknowledge(project, {
      id: `AwsSolutions-IAM5[${resourceFinding(scope, artifactsBucket.arnForObjects(pattern))}]`,
      reason: `Deploy and test steps receive whichever revision of ${application} is promoted to ${where}; revision numbers are not known at deploy time`,
    });
  }
  if (definition.roleArn) {
    project.addToRolePolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [definition.roleArn] }));
  }
  if (definition.grants?.cdk) grantCdkSteps(scope, project, definition, artifactsBucket, where);
}

/**
 * A `deploy.cdk` environment's steps: the security diff writes its verdict beside the revision it checked (and
 * nowhere else), and without a role of its own the project deploys through the CDK bootstrap roles of Lockstep's
 * own account (lookup for the diff; deploy and asset publishing for `cdk deploy`), which hold the deploy rights.
 */
function grantCdkSteps(
  scope: Construct,
  project: codebuild.Project,
  definition: CodeBuildProjectDefinition,
  artifactsBucket: s3.IBucket,
  where: string,
): void {
  for (const application of definition.grants?.applications ?? []) {
    const pattern = `${REVISIONS_PREFIX}${application}/*/${SECURITY_DIFF_FOLDER}/*`;
    grantObjectsWrite(artifactsBucket, pattern, project);
    acknowledge(project, {
      id: `AwsSolutions-IAM5[${resourceFinding(scope, artifactsBucket.arnForObjects(pattern))}]`,
      reason: `The security diff of whichever revision of ${application} is promoted to ${where} is written beside it; revision numbers are not known at deploy time`,
    });
  }
  if (definition.roleArn) return;
  const { account, partition } = Stack.of(scope);
  const bootstrapRoles = ['lookup', 'deploy', 'file-publishing', 'image-publishing'].map(
    (role) => `arn:${partition}:iam::${account}:role/cdk-*-${role}-role-${account}-*`,
  );
  project.addToRolePolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: bootstrapRoles }));
  acknowledge(
    project,
    ...bootstrapRoles.map((arn) => ({
      id: `AwsSolutions-IAM5[${resourceFinding(scope, arn)}]`,
      reason:
        'The CDK bootstrap roles carry the qualifier and region in their names (cdk-<qualifier>-<role>-role-<account>-<region>); cdk diff and cdk deploy assume them, in this account only',
    })),
  );
}

/** A reference as CodeBuild resolves it: Secrets Manager by ARN (with any json-key suffix), Parameter Store by name. */
function secretVariables(
  secrets: Readonly<Record<string, string>>,
): Record<string, codebuild.BuildEnvironmentVariable> {
  return Object.fromEntries(
    Object.entries(secrets).map(([name, arn]) => {
      const parameter = /^arn:[^:]+:ssm:[^:]+:\d{12}:parameter\/(.+)$/.exec(arn)?.[1];
      return [
        name,
        parameter === undefined
          ? { type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER, value: arn }
          : // A parameter ARN drops the leading "/" of a hierarchical name.
            {
              type: codebuild.BuildEnvironmentVariableType.PARAMETER_STORE,
              value: parameter.includes('/') ? `/${parameter}` : parameter,
            },
      ];
    }),
  );
}

/**
 * Lets the project read exactly the referenced secrets and parameters. For SECRETS_MANAGER variables the CDK's
 * Project grants `secretsmanager:GetSecretValue` on each secret's ARN followed by `*` by itself (a partial ARN
 * lacks the six-character suffix; CodeBuild's `:json-key:stage:id` suffix is not part of the ARN), and each of those
 * is acknowledged here. Parameters are granted by their own ARN (the CDK's grant assumes this stack's account and
 * region). Secrets under a customer-managed key also need `kms:Decrypt`, which that key's policy grants.
 */
function grantSecretReads(project: codebuild.Project, secrets: Readonly<Record<string, string>>): void {
  const parameterArns = new Set<string>();
  for (const [name, arn] of Object.entries(secrets)) {
    if (arn.includes(':ssm:')) {
      parameterArns.add(arn);
      continue;
    }
    const secretArn = arn.split(':').slice(0, 7).join(':');
    acknowledge(project, {
      id: `AwsSolutions-IAM5[Resource::${secretArn}*]`,
      reason: `The step reads the secret ${secretArn} as ${name}; the "*" covers the six-character suffix of the secret's full ARN`,
    });
  }
  if (parameterArns.size > 0) {
    project.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameters'], resources: [...parameterArns].sort() }),
    );
  }
}

/** Lets the project check out through the connection (CodeBuild fetches a token for each build). */
function grantConnectionUse(project: codebuild.Project, connectionArn: string): void {
  const service = connectionArn.split(':')[2]!;
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [`${service}:UseConnection`, `${service}:GetConnectionToken`, `${service}:GetConnection`],
      resources: [connectionArn],
    }),
  );
}

/**
 * The permissions the pipeline definition gives a deploy step without a role of its own: managed policies and an
 * inline policy document on the deploy project's role. They are the operator's explicit choice, acknowledged one
 * by one for cdk-nag.
 */
function grantDeployPermissions(
  scope: Construct,
  id: string,
  project: codebuild.Project,
  permissions: EnvironmentDefinition['deploy']['permissions'],
): void {
  if (!permissions) return;
  for (const arn of permissions.managedPolicyArns ?? []) {
    project.role!.addManagedPolicy(
      iam.ManagedPolicy.fromManagedPolicyArn(scope, `${id}Policy-${arn.split('/').pop()}`, arn),
    );
    acknowledge(project, {
      id: `AwsSolutions-IAM4[Policy::${arn}]`,
      reason: `The pipeline definition gives this deploy step the managed policy ${arn} (deploy.permissions.managedPolicyArns)`,
    });
  }
  if (permissions.policyDocument) {
    const policy = new iam.Policy(scope, `${id}Permissions`, {
      document: iam.PolicyDocument.fromJson(permissions.policyDocument),
      roles: [project.role!],
    });
    const wildcards = new Set<string>();
    for (const statement of permissions.policyDocument.Statement as Array<{
      Action?: string | string[];
      Resource?: string | string[];
    }>) {
      for (const action of [statement.Action ?? []].flat())
        if (action.includes('*')) wildcards.add(`Action::${action}`);
      for (const resource of [statement.Resource ?? []].flat())
        if (resource.includes('*')) wildcards.add(`Resource::${resource}`);
    }
    for (const finding of wildcards) {
      acknowledge(policy, {
        id: `AwsSolutions-IAM5[${finding}]`,
        reason: `The pipeline definition gives this deploy step ${finding.replace('::', ' ')} in deploy.permissions.policyDocument, its operator's explicit choice`,
      });
    }
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
      artifactsProperty: {
        ...base,
        location: this.bucket.bucketName,
        path: this.path,
        name: REVISION_ARTIFACT_FILE,
        namespaceType: 'NONE',
        packaging: 'ZIP',
      },
    };
  }
}
