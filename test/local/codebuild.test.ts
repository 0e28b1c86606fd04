import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
  ResourceNotFoundException,
  StartBuildCommand,
  StopBuildCommand,
  type Build,
} from '@aws-sdk/client-codebuild';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { LocalCodeBuild } from '../../local/codebuild/codebuild';
import { unzipTo, zipFiles } from '../../local/codebuild/files';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';
import { clientConfig, tempDataDir } from './helpers';

describe('local CodeBuild', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let s3: LocalS3;
  let s3Client: S3Client;
  let service: LocalCodeBuild;
  let server: RunningAwsServer;
  let client: CodeBuildClient;

  beforeAll(async () => {
    data = await tempDataDir();
    s3 = await startLocalS3({ dataDir: data.dir, buckets: ['artifacts'] });
    s3Client = localS3Client(s3.endpoint);
    service = await LocalCodeBuild.open({ dataDir: data.dir, s3: s3Client });
    server = await startAwsServer(service.definition());
    client = new CodeBuildClient({ ...clientConfig, endpoint: server.endpoint });
  });

  afterAll(async () => {
    client.destroy();
    await service.close();
    await server.close();
    s3Client.destroy();
    await s3.stop();
    await data.cleanup();
  });

  async function finished(id: string): Promise<Build> {
    await service.waitForBuild(id);
    const { builds } = await client.send(new BatchGetBuildsCommand({ ids: [id] }));
    return builds![0]!;
  }

  /** Resolves once a phase shell of the build runs (it may already when the caller asks). */
  function commandRunning(id: string): Promise<void> {
    return new Promise<void>((ok) => {
      const unsubscribe = service.subscribe((record) => {
        if (record.id === id && record.pid !== undefined) {
          unsubscribe();
          ok();
        }
      });
      if (service.getBuild(id)?.pid !== undefined) {
        unsubscribe();
        ok();
      }
    });
  }

  async function s3Text(key: string): Promise<string> {
    const object = await s3Client.send(new GetObjectCommand({ Bucket: 'artifacts', Key: key }));
    return object.Body!.transformToString();
  }

  it('runs the phases, uploads the zipped artifact to local S3 and reports SUCCEEDED', async () => {
    service.registerProject({
      name: 'writes-artifact',
      buildspec: {
        version: 0.2,
        env: { variables: { GREETING: 'hello' } },
        phases: {
          build: { commands: ['mkdir -p out', 'echo "$GREETING from $CODEBUILD_BUILD_ID" > out/greeting.txt'] },
        },
        artifacts: { files: ['out/**/*'] },
      },
    });
    const started = await client.send(
      new StartBuildCommand({
        projectName: 'writes-artifact',
        artifactsOverride: {
          type: 'S3',
          location: 'artifacts',
          path: 'revisions/web/1',
          name: 'artifact.zip',
          packaging: 'ZIP',
        },
      }),
    );
    expect(started.build?.buildStatus).toBe('IN_PROGRESS');
    const build = await finished(started.build!.id!);

    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(build.buildComplete).toBe(true);
    expect(build.phases?.map((p) => p.phaseType)).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'BUILD',
      'POST_BUILD',
      'UPLOAD_ARTIFACTS',
      'FINALIZING',
      'COMPLETED',
    ]);
    expect(build.artifacts?.location).toBe('arn:aws:s3:::artifacts/revisions/web/1/artifact.zip');
    expect(build.startTime).toBeInstanceOf(Date);

    const zip = await s3Client.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'revisions/web/1/artifact.zip' }));
    const unpacked = join(data.dir, 'unpacked-1');
    await unzipTo(Buffer.from(await zip.Body!.transformToByteArray()), unpacked);
    expect(await readFile(join(unpacked, 'out/greeting.txt'), 'utf8')).toBe(`hello from ${build.id}\n`);
  });

  it('reports a failing command with its output, and still runs post_build with CODEBUILD_BUILD_SUCCEEDING=0', async () => {
    service.registerProject({
      name: 'fails',
      buildspec: {
        version: 0.2,
        phases: {
          build: { commands: ['echo step one', 'echo "about to fail"; ls /definitely/not/here', 'echo never printed'] },
          post_build: { commands: ['echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"'] },
        },
      },
    });
    const { build: started } = await client.send(new StartBuildCommand({ projectName: 'fails' }));
    const build = await finished(started!.id!);

    expect(build.buildStatus).toBe('FAILED');
    const buildPhase = build.phases?.find((p) => p.phaseType === 'BUILD');
    expect(buildPhase?.phaseStatus).toBe('FAILED');
    expect(buildPhase?.contexts?.[0]?.message).toBe(
      'Error while executing command: echo "about to fail"; ls /definitely/not/here. Reason: exit status 2',
    );
    expect(build.phases?.find((p) => p.phaseType === 'POST_BUILD')?.phaseStatus).toBe('SUCCEEDED');

    const failure = service.getBuild(build.id!)?.failure;
    expect(failure?.command).toBe('echo "about to fail"; ls /definitely/not/here');
    expect(failure?.output.join('\n')).toContain('about to fail');
    expect(failure?.output.join('\n')).toContain('/definitely/not/here');
    const log = await readFile(service.getBuild(build.id!)!.logFile, 'utf8');
    expect(log).toContain('succeeding=0');
    expect(log).not.toContain('never printed');
  });

  it('skips to FINALIZING when pre_build fails', async () => {
    service.registerProject({
      name: 'pre-build-fails',
      buildspec: {
        version: 0.2,
        phases: { pre_build: { commands: ['false'] }, build: { commands: ['echo building'] } },
      },
    });
    const { build: started } = await client.send(new StartBuildCommand({ projectName: 'pre-build-fails' }));
    const build = await finished(started!.id!);
    expect(build.buildStatus).toBe('FAILED');
    expect(build.phases?.map((p) => p.phaseType)).not.toContain('BUILD');
  });

  it('applies variable precedence and carries exports and cd from phase to phase', async () => {
    service.registerProject({
      name: 'variables',
      buildspec: {
        version: 0.2,
        env: { variables: { A: 'buildspec', B: 'buildspec', C: 'buildspec' } },
        phases: {
          install: { commands: ['mkdir -p sub && cd sub', 'export CARRIED="from install"'] },
          build: { commands: ['echo "$A $B $C|$CARRIED|$(basename "$PWD")" > "$CODEBUILD_SRC_DIR/vars.txt"'] },
        },
        artifacts: { files: ['vars.txt'] },
      },
      environmentVariables: { B: 'project', C: 'project' },
      artifacts: { type: 'S3', location: 'artifacts', path: 'vars', packaging: 'NONE' },
    });
    const { build: started } = await client.send(
      new StartBuildCommand({
        projectName: 'variables',
        environmentVariablesOverride: [{ name: 'C', value: 'override', type: 'PLAINTEXT' }],
      }),
    );
    const build = await finished(started!.id!);
    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(await s3Text('vars/variables/vars.txt')).toBe('buildspec project override|from install|sub\n');
  });

  it('builds from an S3 zip source, keeping file modes', async () => {
    const sourceDir = join(data.dir, 'zip-source');
    await mkdir(sourceDir, { recursive: true });
    await writeFile(join(sourceDir, 'run.sh'), '#!/bin/sh\necho "ran from zip"\n', { mode: 0o755 });
    await writeFile(
      join(sourceDir, 'buildspec.yml'),
      'version: 0.2\nphases:\n  build:\n    commands:\n      - ./run.sh > result.txt\nartifacts:\n  files:\n    - result.txt\n',
    );
    await s3Client.send(
      new PutObjectCommand({
        Bucket: 'artifacts',
        Key: 'sources/app.zip',
        Body: await zipFiles(sourceDir, ['run.sh', 'buildspec.yml']),
      }),
    );
    service.registerProject({
      name: 'from-zip',
      artifacts: { type: 'S3', location: 'artifacts', path: 'zip-out', name: 'x', packaging: 'NONE' },
    });

    const { build: started } = await client.send(
      new StartBuildCommand({
        projectName: 'from-zip',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: 'artifacts/sources/app.zip',
      }),
    );
    const build = await finished(started!.id!);
    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(await s3Text('zip-out/x/result.txt')).toBe('ran from zip\n');
  });

  it('clones local git repositories at a commit, secondary sources in CODEBUILD_SRC_DIR_<id>', async () => {
    const repo = async (name: string, content: string) => {
      const dir = join(data.dir, 'repos', name);
      await mkdir(dir, { recursive: true });
      const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
      git('init', '-q', '-b', 'main');
      git('config', 'user.email', 'test@example.com');
      git('config', 'user.name', 'Test');
      await writeFile(join(dir, 'file.txt'), `${content} v1\n`);
      git('add', '.');
      git('commit', '-qm', 'v1');
      const first = git('rev-parse', 'HEAD');
      await writeFile(join(dir, 'file.txt'), `${content} v2\n`);
      git('commit', '-qam', 'v2');
      return { dir, first };
    };
    const primary = await repo('primary', 'primary');
    const secondary = await repo('lib', 'lib');
    service.registerProject({
      name: 'from-git',
      buildspec: {
        version: 0.2,
        phases: {
          build: {
            commands: [
              'cat file.txt "$CODEBUILD_SRC_DIR_lib/file.txt" > both.txt',
              'echo "$CODEBUILD_RESOLVED_SOURCE_VERSION" >> both.txt',
            ],
          },
        },
        artifacts: { files: ['both.txt'] },
      },
      source: { type: 'GIT', location: primary.dir },
      secondarySources: [{ type: 'GIT', location: `file://${secondary.dir}`, sourceIdentifier: 'lib' }],
      artifacts: { type: 'S3', location: 'artifacts', path: 'git-out', packaging: 'NONE' },
    });
    const { build: started } = await client.send(
      new StartBuildCommand({ projectName: 'from-git', sourceVersion: primary.first }),
    );
    const build = await finished(started!.id!);
    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(build.resolvedSourceVersion).toBe(primary.first);
    expect(await s3Text('git-out/from-git/both.txt')).toBe(`primary v1\nlib v2\n${primary.first}\n`);
  });

  it('fails a build of a commit missing from the repository with a message that says so, recorded on the build', async () => {
    const missing = 'deadbeef'.repeat(5);
    const { build: started } = await client.send(
      new StartBuildCommand({ projectName: 'from-git', sourceVersion: missing }),
    );
    const build = await finished(started!.id!);
    expect(build.buildStatus).toBe('FAILED');
    const download = build.phases?.find((p) => p.phaseType === 'DOWNLOAD_SOURCE');
    expect(download?.phaseStatus).toBe('FAILED');
    expect(download?.contexts?.[0]?.message).toBe(
      `commit ${missing} is not in ${join(data.dir, 'repos', 'primary')}: was the push force-overwritten or the repository replaced?`,
    );
  });

  it('stops a running build', async () => {
    service.registerProject({
      name: 'sleeps',
      buildspec: { version: 0.2, phases: { build: { commands: ['echo started', 'sleep 30'] } } },
    });
    const { build: started } = await client.send(new StartBuildCommand({ projectName: 'sleeps' }));
    await commandRunning(started!.id!);
    await client.send(new StopBuildCommand({ id: started!.id! }));
    const build = await finished(started!.id!);
    expect(build.buildStatus).toBe('STOPPED');
    expect(build.phases?.find((p) => p.phaseType === 'BUILD')?.phaseStatus).toBe('STOPPED');
  });

  it('lists builds of a project, newest first, and rejects an unknown project', async () => {
    // Its own project and builds: the test passes alone and in any order.
    service.registerProject({ name: 'listed', buildspec: { version: 0.2, phases: { build: { commands: ['true'] } } } });
    const { build: first } = await client.send(new StartBuildCommand({ projectName: 'listed' }));
    await finished(first!.id!);
    const { build: second } = await client.send(new StartBuildCommand({ projectName: 'listed' }));
    await finished(second!.id!);
    const { ids } = await client.send(new ListBuildsForProjectCommand({ projectName: 'listed' }));
    expect(ids).toEqual([second!.id, first!.id]);
    await expect(client.send(new StartBuildCommand({ projectName: 'nope' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('reports a build that was running when the service died as FAILED after a restart', async () => {
    service.registerProject({
      name: 'interrupted',
      buildspec: { version: 0.2, phases: { build: { commands: ['sleep 30'] } } },
    });
    const { build: started } = await client.send(new StartBuildCommand({ projectName: 'interrupted' }));
    await commandRunning(started!.id!);
    // A second service opening the same data folder is what a restart after a crash sees: the record says
    // IN_PROGRESS and no process of this service runs it.
    const restarted = await LocalCodeBuild.open({ dataDir: data.dir, s3: s3Client });
    const record = restarted.getBuild(started!.id!);
    expect(record?.buildStatus).toBe('FAILED');
    const failedPhase = record?.phases.find((p) => p.phaseStatus === 'FAILED');
    expect(failedPhase?.phaseType).toBe('BUILD');
    expect(failedPhase?.contexts?.[0]?.message).toMatch(/stopped while this build ran/);
    await service.waitForBuild(started!.id!);
  });
});
