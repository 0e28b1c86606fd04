import { isAbsolute, resolve } from 'node:path';
import type { CodeBuildProjectDefinition, PackageCheckout } from '../../lambdas/core/buildspecs';
import type { Source } from '../../lambdas/core/config/schema';
import { LocalConfigurationError } from '../errors';
import type { EnvironmentVariable, LocalSource, ProjectRegistration } from './codebuild';

/**
 * Turns the CodeBuild projects of lambdas/core/buildspecs.ts into local registrations, as the CDK construct turns
 * them into CodeBuild projects: build projects clone their packages (primary source + secondary sources named by
 * each checkout's identifier), deploy and test projects take the revision artifact zip per build (StartBuild's S3
 * source override). Remote repositories (GitHub, CodeCommit) are looked up in `repositories`, since local mode has
 * no network.
 */
export interface LocalProjectOptions {
  /** Bucket build artifacts go to when StartBuild names none. */
  readonly artifactsBucket: string;
  /** Where relative `local.path` sources start. @default process.cwd() */
  readonly baseDir?: string;
  /** `owner/repo` (GitHub) or repository name (CodeCommit) -> repository path on this machine. */
  readonly repositories?: Readonly<Record<string, string>>;
}

export function localProject(
  definition: CodeBuildProjectDefinition,
  options: LocalProjectOptions,
): ProjectRegistration {
  const base: Omit<ProjectRegistration, 'source' | 'secondarySources'> = {
    name: definition.name,
    buildspec: definition.buildspec,
    environmentVariables: projectVariables(definition),
    artifacts: definition.artifact
      ? { type: 'S3', location: options.artifactsBucket, packaging: 'NONE' }
      : { type: 'NO_ARTIFACTS' },
  };
  if (definition.source.type === 'revision-artifact') {
    // The artifact's location arrives with every StartBuild (sourceTypeOverride S3).
    return { ...base, source: { type: 'S3' } };
  }
  const [primary, ...secondary] = definition.source.packages;
  if (!primary) throw new LocalConfigurationError(`Project ${definition.name} has no packages to build`);
  return {
    ...base,
    source: checkoutSource(primary, options),
    secondarySources: secondary.map((checkout) => ({
      ...checkoutSource(checkout, options),
      sourceIdentifier: checkout.identifier,
    })),
  };
}

/**
 * The project's variables with its step's `secrets:` as CodeBuild gets them on AWS: `SECRETS_MANAGER` variables by
 * ARN (resolved when a build starts, through the local Secrets Manager), `PARAMETER_STORE` by parameter name (which
 * local mode refuses when the build starts: it has no Parameter Store).
 */
function projectVariables(definition: CodeBuildProjectDefinition): EnvironmentVariable[] {
  const plain = Object.entries(definition.environmentVariables).map(([name, value]) => ({ name, value }));
  const secrets = Object.entries(definition.secrets ?? {}).map(([name, arn]): EnvironmentVariable => {
    const parameter = /^arn:[^:]+:ssm:[^:]+:\d{12}:parameter\/(.+)$/.exec(arn)?.[1];
    return parameter === undefined
      ? { name, value: arn, type: 'SECRETS_MANAGER' }
      : { name, value: parameter.includes('/') ? `/${parameter}` : parameter, type: 'PARAMETER_STORE' };
  });
  return [...plain, ...secrets];
}

function checkoutSource(checkout: PackageCheckout, options: LocalProjectOptions): LocalSource {
  return {
    type: 'GIT',
    location: repositoryPath(checkout.location, checkout.package, options),
    sourceVersion: branchOf(checkout.location),
  };
}

function branchOf(source: Source): string {
  if ('github' in source) return source.github.branch;
  if ('codecommit' in source) return source.codecommit.branch;
  return source.local.branch;
}

function repositoryPath(source: Source, packageName: string, options: LocalProjectOptions): string {
  if ('local' in source)
    return isAbsolute(source.local.path)
      ? source.local.path
      : resolve(options.baseDir ?? process.cwd(), source.local.path);
  const key = 'github' in source ? `${source.github.owner}/${source.github.repo}` : source.codecommit.repository;
  const path = options.repositories?.[key];
  if (!path) {
    throw new LocalConfigurationError(
      `Package ${packageName} comes from ${key}, which local mode cannot fetch: map it to a repository on this machine in repositories['${key}'], or use a local source`,
      {
        details: { package: packageName, repository: key },
      },
    );
  }
  return path;
}
