import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CodeBuildRunner } from '../../lambdas/adapters/codebuild-runner';
import { buildArtifactKey, buildProject, codeBuildProjects, stepProjectName } from '../../lambdas/core/buildspecs';
import { parsePipeline } from '../../lambdas/core/config/load';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { LocalCodeBuild } from '../../local/codebuild/codebuild';
import { localProject } from '../../local/codebuild/projects';
import { createSampleRepository, git } from '../../local/git';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';
import { clientConfig, tempDataDir } from './helpers';

// The projects lambdas/core/buildspecs.ts defines, started through the handlers' own CodeBuild adapter: what local
// mode runs when a push is built and deployed.
describe('pipeline CodeBuild projects on the local CodeBuild', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let s3: LocalS3;
  let service: LocalCodeBuild;
  let server: RunningAwsServer;
  let client: CodeBuildClient;
  let runner: CodeBuildRunner;
  let pipeline: ReturnType<typeof parsePipeline>;
  let head: string;

  beforeAll(async () => {
    data = await tempDataDir();
    s3 = await startLocalS3({ dataDir: data.dir, buckets: ['lockstep-artifacts'] });
    service = await LocalCodeBuild.open({
      dataDir: data.dir,
      s3: localS3Client(s3.endpoint),
      baseEnvironment: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME ?? '/tmp',
        LOCKSTEP_DEPLOY_ROOT: join(data.dir, 'deployments'),
      },
    });
    server = await startAwsServer(service.definition());
    client = new CodeBuildClient({ ...clientConfig, endpoint: server.endpoint });
    runner = new CodeBuildRunner(client);
    const repo = await createSampleRepository({ dataDir: data.dir });
    head = (await git(repo.dir, 'rev-parse', 'HEAD')).trim();
    pipeline = parsePipeline(`
pipeline: { name: local-demo }
packages:
  - name: sample-app
    source: { local: { path: ${JSON.stringify(repo.dir)}, branch: main } }
    build:
      commands: [node scripts/build.js]
      artifacts: ["dist/**", "scripts/**", package.json]
applications:
  - { name: sample-app, packages: [sample-app] }
stages:
  - name: Alpha
    environments:
      - name: alpha
        deploy: { commands: ['node scripts/deploy.js'] }
        approval:
          tests:
            - { name: smoke, commands: ['node scripts/test.js'] }
promotions:
  - { from: { application: sample-app }, to: alpha }
`);
    for (const definition of codeBuildProjects(pipeline)) {
      service.registerProject(localProject(definition, { artifactsBucket: 'lockstep-artifacts' }));
    }
  });

  afterAll(async () => {
    client.destroy();
    await service.close();
    await server.close();
    await s3.stop();
    await data.cleanup();
  });

  it('builds the sample app into a revision artifact and deploys it from that artifact', async () => {
    const artifact = `s3://lockstep-artifacts/${buildArtifactKey('sample-app', 'push-1')}`;
    const build = await runner.start({
      projectName: buildProject(pipeline, 'sample-app').name,
      environment: { LOCKSTEP_BUILD_REQUEST: 'push-1' },
      sourceVersions: { 'sample-app': head },
      artifactLocation: artifact,
    });
    const built = await service.waitForBuild(build.buildId);
    expect(built.failure).toBeUndefined();
    expect(built.buildStatus).toBe('SUCCEEDED');
    const [info] = await runner.get([build.buildId]);
    expect(info?.artifactLocation).toBe(artifact);

    const deploy = await runner.start({
      projectName: stepProjectName(pipeline, 'alpha', 'deploy'),
      sourceLocation: artifact,
      environment: {
        LOCKSTEP_APPLICATION: 'sample-app',
        LOCKSTEP_REVISION: '1',
        LOCKSTEP_FENCING_TOKEN: '1',
        LOCKSTEP_ROLLBACK: 'false',
        LOCKSTEP_ENVIRONMENT: 'alpha',
        LOCKSTEP_STEP: 'deploy',
      },
    });
    const deployed = await service.waitForBuild(deploy.buildId);
    expect(deployed.failure).toBeUndefined();
    const record = JSON.parse(await readFile(join(data.dir, 'deployments', 'alpha', 'revision.json'), 'utf8'));
    expect(record).toMatchObject({ application: 'sample-app', revision: 1, fencingToken: 1, commit: head });
  });

  it('runs the deploy and the test step in one steps project, the step chosen per build', async () => {
    expect(stepProjectName(pipeline, 'alpha', { test: 'smoke' })).toBe(stepProjectName(pipeline, 'alpha', 'deploy'));
    const artifact = `s3://lockstep-artifacts/${buildArtifactKey('sample-app', 'push-1')}`;
    const perBuild = {
      LOCKSTEP_APPLICATION: 'sample-app',
      LOCKSTEP_REVISION: '1',
      LOCKSTEP_FENCING_TOKEN: '1',
      LOCKSTEP_ROLLBACK: 'false',
      LOCKSTEP_ENVIRONMENT: 'alpha',
    };
    const projectName = stepProjectName(pipeline, 'alpha', { test: 'smoke' });
    const test = await runner.start({
      projectName,
      sourceLocation: artifact,
      environment: { ...perBuild, LOCKSTEP_STEP: 'test/smoke' },
    });
    const tested = await service.waitForBuild(test.buildId);
    // The state machine names the log group and the step's stream prefix; the build reports both, as CodeBuild does.
    const logged = await service.startBuild({
      projectName,
      sourceTypeOverride: 'S3',
      sourceLocationOverride: artifact.replace('s3://', ''),
      environmentVariablesOverride: Object.entries({ ...perBuild, LOCKSTEP_STEP: 'test/smoke' }).map(
        ([name, value]) => ({
          name,
          value,
          type: 'PLAINTEXT',
        }),
      ),
      logsConfigOverride: {
        cloudWatchLogs: { status: 'ENABLED', groupName: '/lockstep/local/steps', streamName: 'alpha/test/smoke' },
      },
    });
    expect(logged.build.logs).toMatchObject({
      groupName: '/lockstep/local/steps',
      streamName: expect.stringMatching(/^alpha\/test\/smoke\/[0-9a-f-]{36}$/),
    });
    await service.waitForBuild(logged.build.id);
    expect({ status: tested.buildStatus, failure: tested.failure }).toEqual({
      status: 'SUCCEEDED',
      failure: undefined,
    });
    expect(await readFile(tested.logFile, 'utf8')).toContain('Testing sample-app revision 1 at alpha: step smoke');

    // A step the project does not hold fails before any command runs, naming what it does hold.
    const unknown = await runner.start({
      projectName,
      sourceLocation: artifact,
      environment: { ...perBuild, LOCKSTEP_STEP: 'test/missing' },
    });
    const refused = await service.waitForBuild(unknown.buildId);
    expect(refused.buildStatus).toBe('FAILED');
    expect(await readFile(refused.logFile, 'utf8')).toContain(
      'runs no step alpha/test/missing; it runs alpha/deploy, alpha/test/smoke',
    );
  });
});
