/**
 * Runs the buildspecs from `buildspecs.ts` in bash, the way CodeBuild (and the local emulator) does: phases in
 * order in one shell, so a build really produces a revision artifact and a deploy really sees its variables.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ARTIFACT_DIRECTORY,
  applicationsReaching,
  buildspecProblems,
  codeBuildProjects,
  stepCommand,
  stepProjectName,
  type CodeBuildProjectDefinition,
} from '../../lambdas/core/buildspecs';
import { pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';

const work = mkdtempSync(join(tmpdir(), 'lockstep-buildspecs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function gitRepo(name: string, files: Record<string, string>): { path: string; commit: string } {
  const path = join(work, 'repos', name);
  mkdirSync(path, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(path, file, '..'), { recursive: true });
    writeFileSync(join(path, file), content);
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: path })
      .toString()
      .trim();
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-qm', 'init');
  return { path, commit: git('rev-parse', 'HEAD') };
}

/** Runs a project's phases in one bash process, stopping at the first failing command, like CodeBuild. */
function run(project: CodeBuildProjectDefinition, env: Record<string, string>): { status: number; output: string } {
  const phases = (['install', 'pre_build', 'build', 'post_build'] as const).flatMap(
    (phase) => project.buildspec.phases[phase]?.commands ?? [],
  );
  const script = phases.map((command) => `${command}\nrc=$?; [ $rc -eq 0 ] || exit $rc`).join('\n');
  const result = spawnSync('bash', ['-c', script], {
    cwd: env.CODEBUILD_SRC_DIR,
    env: {
      PATH: process.env.PATH,
      HOME: work,
      ...project.buildspec.env.variables,
      ...project.environmentVariables,
      ...env,
    },
    encoding: 'utf8',
  });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

const api = gitRepo('api', { 'src/main.txt': 'api source', 'README.md': 'not shipped' });
const web = gitRepo('web', { 'index.html': '<h1>web</h1>' });

const input: PipelineInput = {
  pipeline: { name: 'demo' },
  packages: [
    {
      name: 'api',
      source: { local: { path: api.path } },
      build: {
        commands: ['mkdir -p dist', 'cp src/main.txt dist/main.txt', 'echo "$GREETING" > dist/greeting.txt'],
        artifacts: ['dist/*'],
        variables: { GREETING: "it's built" },
      },
    },
    { name: 'web-ui', source: { local: { path: web.path } }, build: { commands: ['test -f index.html'] } },
  ],
  applications: [{ name: 'shop', packages: ['api', 'web-ui'] }],
  stages: [
    {
      name: 'beta',
      environments: [
        {
          name: 'Beta',
          deploy: {
            commands: [
              'echo "deploying $LOCKSTEP_APPLICATION r$LOCKSTEP_REVISION rollback=$LOCKSTEP_ROLLBACK token=$LOCKSTEP_FENCING_TOKEN"',
              'cat api/dist/main.txt',
              'echo "color=$COLOR"',
            ],
            variables: { COLOR: 'blue' },
          },
          approval: {
            tests: [{ name: 'smoke', commands: ['test -f lockstep-revision.json', 'echo "step=$LOCKSTEP_TEST_STEP"'] }],
          },
        },
      ],
    },
    { name: 'prod', environments: [{ name: 'Prod', deploy: { commands: ['true'] } }] },
  ],
  promotions: [
    { from: { application: 'shop' }, to: 'Beta' },
    { from: { environment: 'Beta' }, to: 'Prod' },
  ],
};
const pipeline = pipelineSchema.parse(input);
const projects = codeBuildProjects(pipeline);
const byName = (name: string) => projects.find((p) => p.name === name)!;

describe('codeBuildProjects', () => {
  let build: { status: number; output: string };
  const extracted = join(work, 'extracted');

  beforeAll(() => {
    build = run(byName('lockstep-demo-build-shop'), {
      CODEBUILD_SRC_DIR: api.path,
      CODEBUILD_SRC_DIR_web_ui: web.path,
      LOCKSTEP_BUILD_REQUEST: 'req-7',
    });
    mkdirSync(extracted, { recursive: true });
    // The runner zips base-directory as the revision artifact; deploys see it extracted.
    if (build.status === 0) execFileSync('cp', ['-R', `${join(api.path, ARTIFACT_DIRECTORY)}/.`, extracted]);
  });

  it('names one build project per application and one steps project for all steps that share their grants', () => {
    expect(projects.map((p) => `${p.kind}:${p.name}`)).toEqual([
      'build:lockstep-demo-build-shop',
      expect.stringMatching(/^steps:lockstep-demo-steps-home-[0-9a-f]{8}$/),
    ]);
    expect(projects[1]!.steps!.map((step) => `${step.environment}/${step.selector}`)).toEqual([
      'Beta/deploy',
      'Beta/test/smoke',
      'Prod/deploy',
    ]);
    expect(stepProjectName(pipeline, 'Prod', 'deploy')).toBe(projects[1]!.name);
    expect(stepProjectName(pipeline, 'Beta', { test: 'smoke' })).toBe(projects[1]!.name);
  });

  it('keeps apart steps whose grants differ: another role, another application, secrets, deploy permissions', () => {
    const role = 'arn:aws:iam::123456789012:role/deployer';
    const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf';
    const split = pipelineSchema.parse({
      ...input,
      applications: [...input.applications, { name: 'admin', packages: ['web-ui'] }],
      stages: [
        {
          name: 'all',
          environments: [
            { name: 'A', deploy: { commands: ['true'] }, approval: { tests: [{ name: 't', commands: ['true'] }] } },
            { name: 'B', roleArn: role, deploy: { commands: ['true'] } },
            { name: 'C', roleArn: role, region: 'eu-west-1', deploy: { commands: ['true'] } },
            { name: 'D', deploy: { commands: ['true'], secrets: { TOKEN: secret } } },
            {
              name: 'E',
              deploy: {
                commands: ['true'],
                permissions: { managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] },
              },
              approval: { tests: [{ name: 't', commands: ['true'] }] },
            },
            { name: 'F', deploy: { commands: ['true'] } },
          ],
        },
      ],
      promotions: [
        ...['A', 'B', 'C', 'D', 'E'].map((to) => ({ from: { application: 'shop' }, to })),
        { from: { application: 'admin' }, to: 'F' },
      ],
    });
    const steps = codeBuildProjects(split)
      .filter((p) => p.kind === 'steps')
      .map((p) => p.steps!.map((step) => `${step.environment}/${step.selector}`).join(' '));
    // A, its test and E's test share the plain grants; B and C one role (the region is a variable, not a grant).
    expect(steps).toEqual(['A/deploy A/test/t E/test/t', 'B/deploy C/deploy', 'D/deploy', 'E/deploy', 'F/deploy']);
  });

  it('gives steps projects the applications promoted into their environments, through other environments too', () => {
    expect(applicationsReaching(pipeline, 'Prod')).toEqual(['shop']);
    expect(byName(stepProjectName(pipeline, 'Prod', 'deploy')).source).toMatchObject({
      type: 'revision-artifact',
      applications: ['shop'],
    });
  });

  it('builds every package and packages one zip whose manifest records the version set', () => {
    expect({ status: build.status, output: build.output }).toMatchObject({ status: 0 });
    const manifest = JSON.parse(readFileSync(join(extracted, 'lockstep-revision.json'), 'utf8'));
    expect(manifest).toMatchObject({
      pipeline: 'demo',
      application: 'shop',
      buildRequest: 'req-7',
      versionSet: { api: api.commit, 'web-ui': web.commit },
    });
    expect(manifest.packages).toHaveLength(2);
  });

  it('keeps only the artifact globs of a package that lists them, and whole checkouts without .git otherwise', () => {
    expect(readFileSync(join(extracted, 'api/dist/main.txt'), 'utf8')).toBe('api source');
    expect(readFileSync(join(extracted, 'api/dist/greeting.txt'), 'utf8')).toBe("it's built\n");
    expect(() => readFileSync(join(extracted, 'api/README.md'))).toThrow();
    expect(readFileSync(join(extracted, 'web-ui/index.html'), 'utf8')).toBe('<h1>web</h1>');
    expect(() => readFileSync(join(extracted, 'web-ui/.git/HEAD'))).toThrow();
  });

  it('fails a build started without a build request instead of producing an unnamed artifact', () => {
    const result = run(byName('lockstep-demo-build-shop'), {
      CODEBUILD_SRC_DIR: api.path,
      CODEBUILD_SRC_DIR_web_ui: web.path,
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('LOCKSTEP_BUILD_REQUEST must be set');
  });

  it('refuses a build request id that could break the manifest or the S3 key', () => {
    const result = run(byName('lockstep-demo-build-shop'), {
      CODEBUILD_SRC_DIR: api.path,
      CODEBUILD_SRC_DIR_web_ui: web.path,
      LOCKSTEP_BUILD_REQUEST: 'a"b/c',
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('LOCKSTEP_BUILD_REQUEST has characters outside');
  });

  it('runs deploy commands in the extracted artifact with the per-build and configured variables', () => {
    const result = run(byName(stepProjectName(pipeline, 'Beta', 'deploy')), {
      CODEBUILD_SRC_DIR: extracted,
      LOCKSTEP_APPLICATION: 'shop',
      LOCKSTEP_REVISION: '7',
      LOCKSTEP_FENCING_TOKEN: '12',
      LOCKSTEP_ROLLBACK: 'true',
      LOCKSTEP_ENVIRONMENT: 'Beta',
      LOCKSTEP_STEP: 'deploy',
    });
    expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
    expect(result.output).toContain('Rolling back shop revision 7 to Beta');
    expect(result.output).toContain('deploying shop r7 rollback=true token=12');
    expect(result.output).toContain('api source');
    expect(result.output).toContain('color=blue');
  });

  it('runs test steps against the same artifact', () => {
    const result = run(byName(stepProjectName(pipeline, 'Beta', { test: 'smoke' })), {
      CODEBUILD_SRC_DIR: extracted,
      LOCKSTEP_APPLICATION: 'shop',
      LOCKSTEP_REVISION: '7',
      LOCKSTEP_FENCING_TOKEN: '12',
      LOCKSTEP_ENVIRONMENT: 'Beta',
      LOCKSTEP_STEP: 'test/smoke',
    });
    expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
    expect(result.output).toContain('step=smoke');
    // Only the selected step's commands run, with only its own variables.
    expect(result.output).not.toContain('deploying shop');
  });

  it("runs only the selected environment's step, with its variables over any StartBuild passed", () => {
    const result = run(byName(stepProjectName(pipeline, 'Prod', 'deploy')), {
      CODEBUILD_SRC_DIR: extracted,
      LOCKSTEP_APPLICATION: 'shop',
      LOCKSTEP_REVISION: '7',
      LOCKSTEP_FENCING_TOKEN: '12',
      LOCKSTEP_ENVIRONMENT: 'Prod',
      LOCKSTEP_STEP: 'deploy',
      COLOR: 'red',
      LOCKSTEP_TARGET_ROLE_ARN: 'arn:aws:iam::999999999999:role/elsewhere',
    });
    expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
    expect(result.output).toContain('Deploying shop revision 7 to Prod');
    expect(result.output).not.toContain('deploying shop r7');
    expect(result.output).not.toContain('assume');
  });

  it("names a failing step by the pipeline's own command, without the selection around it", () => {
    const commands = byName(stepProjectName(pipeline, 'Beta', 'deploy')).buildspec.phases.build!.commands;
    expect(commands.map(stepCommand)).toEqual([
      'echo "deploying $LOCKSTEP_APPLICATION r$LOCKSTEP_REVISION rollback=$LOCKSTEP_ROLLBACK token=$LOCKSTEP_FENCING_TOKEN"',
      'cat api/dist/main.txt',
      'echo "color=$COLOR"',
      'test -f lockstep-revision.json',
      'echo "step=$LOCKSTEP_TEST_STEP"',
      'true',
    ]);
  });

  it('refuses a step the project does not run, naming the steps it does', () => {
    const result = run(byName(stepProjectName(pipeline, 'Prod', 'deploy')), {
      CODEBUILD_SRC_DIR: extracted,
      LOCKSTEP_APPLICATION: 'shop',
      LOCKSTEP_REVISION: '7',
      LOCKSTEP_FENCING_TOKEN: '12',
      LOCKSTEP_ENVIRONMENT: 'Prod',
      LOCKSTEP_STEP: 'test/smoke',
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('runs no step Prod/test/smoke; it runs Beta/deploy, Beta/test/smoke, Prod/deploy');
  });

  it('assumes the environment role in pre_build only when one is configured', () => {
    const withRole = pipelineSchema.parse({
      ...input,
      stages: [
        {
          name: 'x',
          environments: [
            {
              name: 'X',
              roleArn: 'arn:aws:iam::123456789012:role/deployer',
              region: 'eu-west-1',
              deploy: { commands: ['true'] },
            },
          ],
        },
      ],
      promotions: [],
    });
    const deploy = codeBuildProjects(withRole).find((p) => p.kind === 'steps')!;
    expect(deploy.roleArn).toBe('arn:aws:iam::123456789012:role/deployer');
    expect(deploy.name).toMatch(/^lockstep-demo-steps-123456789012-[0-9a-f]{8}$/);
    const preBuild = deploy.buildspec.phases.pre_build?.commands.join('\n');
    expect(preBuild).toContain(
      "'X/deploy') export LOCKSTEP_TARGET_REGION='eu-west-1' LOCKSTEP_TARGET_ROLE_ARN='arn:aws:iam::123456789012:role/deployer'",
    );
    expect(preBuild).toContain('aws sts assume-role');
    expect(
      byName(stepProjectName(pipeline, 'Beta', 'deploy')).buildspec.phases.pre_build?.commands.join('\n'),
    ).not.toContain('assume-role');
  });

  it('fails a build naming the package whose artifact globs match nothing', () => {
    const broken = pipelineSchema.parse({
      ...input,
      packages: [{ ...input.packages[0], build: { commands: ['true'], artifacts: ['missing/**'] } }, input.packages[1]],
    });
    const result = run(codeBuildProjects(broken)[0]!, {
      CODEBUILD_SRC_DIR: api.path,
      CODEBUILD_SRC_DIR_web_ui: web.path,
      LOCKSTEP_BUILD_REQUEST: 'req-8',
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('Package api: no file matched its build.artifacts');
  });

  it('reports two packages of one application that would share a CodeBuild source identifier', () => {
    const clash = pipelineSchema.parse({
      ...input,
      packages: [input.packages[0], { ...input.packages[1], name: 'web_ui' }, { ...input.packages[1], name: 'web-ui' }],
      applications: [{ name: 'shop', packages: ['api', 'web_ui', 'web-ui'] }],
    });
    expect(buildspecProblems(clash)).toEqual([
      expect.stringContaining('"web_ui" and "web-ui" both become CodeBuild source "web_ui"'),
    ]);
  });

  it('reports variable names a shell cannot export and reserved names, each with its path', () => {
    const bad = pipelineSchema.parse({
      ...input,
      stages: [
        {
          name: 'x',
          environments: [
            { name: 'X', deploy: { commands: ['true'], variables: { 'BAD-NAME': '1', LOCKSTEP_REVISION: '2' } } },
          ],
        },
      ],
      promotions: [],
    });
    expect(buildspecProblems(bad)).toEqual([
      expect.stringContaining('stages[0].environments[0].deploy.variables.BAD-NAME'),
      expect.stringContaining('stages[0].environments[0].deploy.variables.LOCKSTEP_REVISION: names starting with'),
    ]);
    expect(buildspecProblems(pipeline)).toEqual([]);
  });
});

describe('single-package applications', () => {
  it('put the package output at the artifact root, beside the manifest', () => {
    const repo = gitRepo('solo', { 'deploy/deploy.sh': 'echo ok', 'notes.txt': 'dropped' });
    const solo = pipelineSchema.parse({
      ...input,
      packages: [
        {
          name: 'solo',
          source: { local: { path: repo.path } },
          build: { commands: ['true'], artifacts: ['deploy/**'] },
        },
      ],
      applications: [{ name: 'solo', packages: ['solo'] }],
    });
    const result = run(codeBuildProjects(solo)[0]!, { CODEBUILD_SRC_DIR: repo.path, LOCKSTEP_BUILD_REQUEST: 'req-1' });
    expect({ status: result.status, output: result.output }).toMatchObject({ status: 0 });
    const listing = execFileSync('find', ['.', '-type', 'f'], { cwd: join(repo.path, ARTIFACT_DIRECTORY) })
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((f) => f.slice(2))
      .sort();
    expect(listing).toEqual(['deploy/deploy.sh', 'lockstep-revision.json']);
  });
});
