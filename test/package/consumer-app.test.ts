// SLOW: about 3 minutes on the shared 2-core machine (measured: pack 7 s, npm install 45 s, cdk synth 35 s, the
// CLI runs 35 s). Lockstep as a team installs it: packs this repository with `npm pack`, installs the tarball into
// a temporary copy of examples/consumer-app (offline from the npm cache when it holds every package's metadata,
// else preferring the cache), synthesizes the app there with the CDK CLI, and runs the installed `lockstep`
// command from it: no tsx, no esbuild and no path into this repository. dist/ is built first only when it is
// missing or older than a source file (.ci/run builds it before the tests).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { HANDLERS } from '../../lib/handlers';
import { SDK_HANDLERS } from '../../lib/sdk-handlers';

const ROOT = process.cwd();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SOURCES = ['bin', 'lib', 'lambdas', 'local', 'statemachines', 'scripts', 'package.json', 'tsconfig.build.json'];

/** The environment of a user's shell: none of the npm variables `npm test` sets for this repository. */
const USER_ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_'))),
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = USER_ENV): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The newest change under `path`, documentation aside (it is not part of dist/). */
function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith('.md') ? 0 : stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

let work: string;
let app: string;
let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> };
let template: {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, string> }>;
};
const timings: Record<string, number> = {};
// Each test starts Node.js processes (the CLI loads local mode's modules too), slow on a loaded machine.
jest.setTimeout(120_000);

function timed<T>(label: string, action: () => T): T {
  const started = Date.now();
  try {
    return action();
  } finally {
    timings[label] = Date.now() - started;
  }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lockstep-consumer-'));
  const built = join(ROOT, 'dist', 'lib', 'index.js');
  if (!existsSync(built) || statSync(built).mtimeMs < Math.max(...SOURCES.map((s) => newestMtime(join(ROOT, s))))) {
    timed('build', () => ok(sh('npm', ['run', 'build'], ROOT), 'npm run build'));
  }
  const pack = timed('pack', () =>
    ok(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT), 'npm pack'),
  );
  packed = (JSON.parse(pack) as (typeof packed)[])[0]!;

  app = join(work, 'consumer-app');
  cpSync(join(ROOT, 'examples', 'consumer-app'), app, {
    recursive: true,
    filter: (file) => !/[/\\](node_modules|cdk\.out)([/\\]|$)/.test(relative(ROOT, file)),
  });
  const tarball = join(work, packed.filename);
  timed('install', () => {
    const offline = sh('npm', ['install', '--offline', tarball], app);
    if (offline.status !== 0) ok(sh('npm', ['install', '--prefer-offline', tarball], app), 'npm install');
  });
  timed('synth', () => ok(sh(join(app, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet'], app), 'cdk synth'));
  template = JSON.parse(readFileSync(join(app, 'cdk.out', 'ShopDelivery.template.json'), 'utf8')) as typeof template;
}, 600_000);

afterAll(() => {
  console.log(`consumer app timings (ms): ${JSON.stringify(timings)}`);
  if (work) rmSync(work, { recursive: true, force: true });
});

const resourcesOf = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);

describe('the npm package', () => {
  it('ships the compiled code, the run-time assets and a prebuilt bundle per handler, and nothing else', () => {
    const files = packed.files.map((f) => f.path);
    expect(files.filter((f) => !f.startsWith('dist/'))).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md']),
    );
    expect(
      files.filter(
        (f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(f),
      ),
    ).toEqual([]);
    const handlers = readdirSync(join(ROOT, 'lambdas', 'handlers')).map((f) => f.replace(/\.ts$/, ''));
    for (const handler of handlers) expect(files).toContain(`dist/bundles/${handler}/index.mjs`);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/bundles/sdk-tester/tester.mjs',
        'dist/bundles/sdk-tester/provider-runner.mjs',
        'dist/bin/lockstep.js',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/config.js',
        'dist/statemachines/promotion.asl.json',
        'dist/statemachines/sdk-publishing.asl.json',
        'dist/examples/quickstart/lockstep.config.yaml',
      ]),
    );
    // Sources stay in the repository: only JavaScript and declarations of them ship.
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/test/') || f.includes('.tsbuildinfo'))).toEqual([]);
  });
});

describe('a CDK app that installed the package', () => {
  it('synthesizes the DeploymentSystem and the SdkPublisher with the prebuilt Lambda bundles', () => {
    // One function per handler of both halves, each running the prebuilt bundle (`index.mjs`, handler `handler`).
    const descriptions = [...Object.values(HANDLERS), ...Object.values(SDK_HANDLERS)].map((h) => h.description);
    const lockstepFunctions = resourcesOf('AWS::Lambda::Function').filter((f) =>
      descriptions.includes(f.Properties?.Description as string),
    );
    expect(lockstepFunctions.map((f) => f.Properties?.Description).sort()).toEqual([...descriptions].sort());
    for (const fn of lockstepFunctions) {
      expect(fn.Properties).toMatchObject({
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
      });
    }
    expect(resourcesOf('AWS::StepFunctions::StateMachine')).toHaveLength(2);
    expect(resourcesOf('AWS::CloudFront::Distribution')).toHaveLength(1);
    expect(resourcesOf('AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(resourcesOf('AWS::DynamoDB::Table').length).toBeGreaterThanOrEqual(6);
    // Build of the shop application, deploys and test of beta and prod, and the SDK tester.
    expect(resourcesOf('AWS::CodeBuild::Project').length).toBeGreaterThanOrEqual(4);
    // Nothing bundled at synth: neither esbuild nor tsx was installed.
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('runs `npx lockstep` from its own node_modules with plain node', () => {
    const bin = realpathSync(join(app, 'node_modules', '.bin', 'lockstep'));
    expect(bin).toBe(realpathSync(join(app, 'node_modules', 'lockstep', 'dist', 'bin', 'lockstep.js')));
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');

    expect(ok(sh('npx', ['--offline', 'lockstep', '--version'], app), 'lockstep --version').trim()).toBe(VERSION);
    const validate = ok(sh('npx', ['--offline', 'lockstep', 'validate'], app), 'lockstep validate');
    expect(validate).toContain('lockstep.config.yaml is valid: pipeline "shop"');
  });

  it('says what to create when `lockstep local` finds no lockstep.config.yaml', () => {
    const empty = join(work, 'empty');
    mkdirSync(empty);
    const result = sh(join(app, 'node_modules', '.bin', 'lockstep'), ['local'], empty);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`there is no lockstep.config.yaml in ${realpathSync(empty)}`);
    expect(result.stderr).toContain('npx lockstep init');

    ok(sh(join(app, 'node_modules', '.bin', 'lockstep'), ['init'], empty), 'lockstep init');
    expect(ok(sh(join(app, 'node_modules', '.bin', 'lockstep'), ['validate'], empty), 'validate')).toContain(
      'is valid',
    );
  });

  it("fails synth with Lockstep's own message when the pipeline file does not exist", () => {
    const result = sh('node', ['bin/app.mjs'], app, {
      ...USER_ENV,
      CDK_CONTEXT_JSON: JSON.stringify({ pipeline: 'pipelines/missing.yaml' }),
      CDK_OUTDIR: join(work, 'missing.out'),
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('DeploymentSystem has 1 invalid prop(s)');
    expect(result.stderr).toContain(
      `there is no pipeline definition at ${join(realpathSync(app), 'pipelines', 'missing.yaml')}`,
    );
    expect(result.stderr).toContain('npx lockstep init');
    expect(result.stderr).not.toContain('ENOENT');
  });

  it('names the supported range when the app has an aws-cdk-lib older than it', () => {
    const cdkPackage = join(app, 'node_modules', 'aws-cdk-lib', 'package.json');
    const original = readFileSync(cdkPackage, 'utf8');
    writeFileSync(cdkPackage, JSON.stringify({ ...(JSON.parse(original) as object), version: '2.100.0' }));
    try {
      const result = sh('node', ['bin/app.mjs'], app, { ...USER_ENV, CDK_OUTDIR: join(work, 'old-cdk.out') });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(
        `Lockstep ${VERSION} needs aws-cdk-lib ^2.276.0, but this app has 2.100.0. Upgrade it with: npm install aws-cdk-lib@^2.276.0`,
      );
    } finally {
      writeFileSync(cdkPackage, original);
    }
  });
});
