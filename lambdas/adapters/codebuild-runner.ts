/**
 * CodeBuild as the build runner. Project layout (see `lambdas/core/buildspecs.ts` and ARCHITECTURE.md): a build
 * project's primary source is the application's first package and the others are secondary sources whose
 * `sourceIdentifier` is the package name with every character outside `[A-Za-z0-9_]` replaced by `_`.
 */
import {
  BatchGetBuildsCommand,
  StartBuildCommand,
  type Build,
  type CodeBuildClient,
  type StartBuildCommandInput,
} from '@aws-sdk/client-codebuild';
import { parseS3Uri } from '../ports/artifacts';
import type { BuildInfo, BuildRequest, BuildRunner } from '../ports/services';

/** CodeBuild's name for a secondary source of a package. */
export function sourceIdentifier(packageName: string): string {
  return packageName.replace(/[^A-Za-z0-9_]/g, '_');
}

export class CodeBuildRunner implements BuildRunner {
  constructor(private readonly client: CodeBuildClient) {}

  async start(request: BuildRequest): Promise<{ buildId: string }> {
    const input: StartBuildCommandInput = {
      projectName: request.projectName,
      environmentVariablesOverride: Object.entries(request.environment).map(([name, value]) => ({
        name,
        value,
        type: 'PLAINTEXT',
      })),
      ...(request.idempotencyToken ? { idempotencyToken: request.idempotencyToken } : {}),
    };
    if (request.sourceLocation) {
      const { bucket, key } = parseS3Uri(request.sourceLocation);
      input.sourceTypeOverride = 'S3';
      input.sourceLocationOverride = `${bucket}/${key}`;
    }
    const versions = Object.entries(request.sourceVersions ?? {});
    if (versions.length > 0) {
      input.sourceVersion = versions[0]![1];
      if (versions.length > 1) {
        input.secondarySourcesVersionOverride = versions
          .slice(1)
          .map(([pkg, version]) => ({ sourceIdentifier: sourceIdentifier(pkg), sourceVersion: version }));
      }
    }
    if (request.artifactLocation) {
      const { bucket, key } = parseS3Uri(request.artifactLocation);
      const slash = key.lastIndexOf('/');
      input.artifactsOverride = {
        type: 'S3',
        location: bucket,
        path: slash > 0 ? key.slice(0, slash) : '',
        name: key.slice(slash + 1),
        packaging: 'ZIP',
        namespaceType: 'NONE',
      };
    }
    const result = await this.client.send(new StartBuildCommand(input));
    const id = result.build?.id;
    if (!id) throw new Error(`CodeBuild returned no build id for ${request.projectName}`);
    return { buildId: id };
  }

  async get(buildIds: readonly string[]): Promise<BuildInfo[]> {
    const builds: BuildInfo[] = [];
    // BatchGetBuilds takes at most 100 ids.
    for (let i = 0; i < buildIds.length; i += 100) {
      const result = await this.client.send(new BatchGetBuildsCommand({ ids: buildIds.slice(i, i + 100) }));
      builds.push(...(result.builds ?? []).map(toInfo));
    }
    return builds;
  }
}

function toInfo(build: Build): BuildInfo {
  const failed = build.phases?.find(
    (phase) => phase.phaseStatus && phase.phaseStatus !== 'SUCCEEDED' && phase.phaseStatus !== 'IN_PROGRESS',
  );
  const location = build.artifacts?.location;
  return {
    id: build.id ?? '',
    status: build.buildStatus ?? 'IN_PROGRESS',
    ...(build.startTime ? { startedAt: build.startTime.getTime() } : {}),
    ...(build.endTime ? { endedAt: build.endTime.getTime() } : {}),
    // CodeBuild reports `arn:aws:s3:::bucket/key`.
    ...(location ? { artifactLocation: location.replace(/^arn:aws[a-z-]*:s3:::/, 's3://') } : {}),
    ...(failed
      ? {
          failure: `${failed.phaseType ?? 'build'} ${failed.phaseStatus}: ${
            failed.contexts
              ?.map((c) => c.message)
              .filter(Boolean)
              .join('; ') ?? ''
          }`.trim(),
        }
      : {}),
    ...(build.logs?.deepLink ? { logUrl: build.logs.deepLink } : {}),
  };
}
