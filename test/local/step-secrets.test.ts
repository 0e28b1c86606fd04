/**
 * A deploy or test step's `secrets:` in local mode: CodeBuild resolves them when a build starts on AWS, and local
 * mode does the same through its Secrets Manager stand-in, matching the pipeline's real ARNs by secret name.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { codeBuildProjects, stepProjectName } from '../../lambdas/core/buildspecs';
import { parsePipeline } from '../../lambdas/core/config/load';
import { LocalCodeBuild } from '../../local/codebuild/codebuild';
import { localProject } from '../../local/codebuild/projects';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';
import { LocalSecretsManager } from '../../local/secrets/secrets-manager';
import { tempDataDir } from './helpers';

const ACCOUNT_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret';

describe('step secrets in local mode', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let s3: LocalS3;
  let secrets: LocalSecretsManager;
  let service: LocalCodeBuild;
  const pipeline = parsePipeline(`
pipeline: { name: local-demo }
packages:
  - name: app
    source: { local: { path: repos/app, branch: main } }
    build: { commands: ['true'] }
applications:
  - { name: app, packages: [app] }
stages:
  - name: Alpha
    environments:
      - name: alpha
        deploy:
          commands: ['printf "%s|%s" "$DEPLOY_TOKEN" "$DB_PASSWORD" > "$OUT/deploy.txt"']
          secrets:
            DEPLOY_TOKEN: ${ACCOUNT_ARN}:prod/deploy-token-AbC123
            DB_PASSWORD: '${ACCOUNT_ARN}:prod/db:password::'
        approval:
          tests:
            - name: smoke
              commands: ['printf "%s" "$API_KEY" > "$OUT/smoke.txt"']
              secrets:
                API_KEY: ${ACCOUNT_ARN}:smoke/api
            - name: missing
              commands: ['true']
              secrets:
                NOPE: ${ACCOUNT_ARN}:not/there
promotions:
  - { from: { application: app }, to: alpha }
`);

  beforeAll(async () => {
    data = await tempDataDir();
    await writeFile(
      join(data.dir, 'secrets.json'),
      JSON.stringify({
        'prod/deploy-token': { value: 'tok-123456789' },
        'prod/db': { value: JSON.stringify({ password: 'pw-987654321', user: 'app' }) },
        'smoke/api': { value: 'key-555555555' },
      }),
    );
    secrets = await LocalSecretsManager.open({ dataDir: data.dir });
    s3 = await startLocalS3({ dataDir: data.dir, buckets: ['lockstep-artifacts'] });
    service = await LocalCodeBuild.open({
      dataDir: data.dir,
      s3: localS3Client(s3.endpoint),
      baseEnvironment: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', OUT: data.dir },
      resolveSecret: (id) => secrets.valueOf(id),
    });
    // Each step's secrets are part of its grants, so each of the three steps runs in a steps project of its own.
    for (const definition of codeBuildProjects(pipeline).filter((p) => p.kind === 'steps')) {
      // The steps' commands need no revision artifact here: only their variables are under test.
      service.registerProject({
        ...localProject(definition, { artifactsBucket: 'lockstep-artifacts' }),
        source: { type: 'NO_SOURCE' },
      });
    }
  });

  afterAll(async () => {
    await service.close();
    await s3.stop();
    await data.cleanup();
  });

  const run = async (step: 'deploy' | { test: string }) => {
    const started = await service.startBuild({
      projectName: stepProjectName(pipeline, 'alpha', step),
      environmentVariablesOverride: [
        { name: 'LOCKSTEP_ENVIRONMENT', value: 'alpha' },
        { name: 'LOCKSTEP_STEP', value: step === 'deploy' ? 'deploy' : `test/${step.test}` },
        { name: 'LOCKSTEP_APPLICATION', value: 'app' },
        { name: 'LOCKSTEP_REVISION', value: '1' },
        { name: 'LOCKSTEP_FENCING_TOKEN', value: '1' },
        { name: 'LOCKSTEP_ROLLBACK', value: 'false' },
      ],
    });
    return service.waitForBuild(started.build.id);
  };

  it("resolves a deploy step's secrets by the ARN's secret name, full or partial, with CodeBuild's json-key", async () => {
    const build = await run('deploy');
    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(await readFile(join(data.dir, 'deploy.txt'), 'utf8')).toBe('tok-123456789|pw-987654321');
  });

  it("resolves a test step's secrets", async () => {
    const build = await run({ test: 'smoke' });
    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(await readFile(join(data.dir, 'smoke.txt'), 'utf8')).toBe('key-555555555');
  });

  it('fails a build whose secret local mode does not hold, saying where to add it', async () => {
    const build = await run({ test: 'missing' });
    expect(build.buildStatus).not.toBe('SUCCEEDED');
    const log = await readFile(build.logFile, 'utf8');
    expect(log).toContain(`serves secrets from ${join(data.dir, 'secrets.json')}: add "not/there": { "value": "..." }`);
  });
});
