// Lockstep as an npm package, without packing it (consumer-app.test.ts packs and installs it): package.json's
// shape, the supported CDK range, asset lookup, the starter pipeline, how `lockstep local` picks its pipeline, and
// the construct's own message for a pipeline file that does not exist.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { parsePipeline } from '../../lambdas/core/config/load';
import { starterPipeline } from '../../bin/commands/init';
import { localPipelineFile, NoLocalPipelineError } from '../../bin/commands/local';
import { checkProps, DeploymentSystem, DeploymentSystemPropsError } from '../../lib/deployment-system';
import { prebuiltBundleDir } from '../../lib/lockstep-function';
import { assetPath, cdkVersionProblem, LOCKSTEP_VERSION, SUPPORTED_CDK_RANGE } from '../../lib/package-info';
import { QUICKSTART_CONFIG, startLocalSystem } from '../../local/assembly/system';

interface PackageJson {
  version: string;
  private?: boolean;
  bin: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
  files: string[];
  scripts: Record<string, string>;
  peerDependencies: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;

/** The source file a `dist/...js` path is compiled from. */
const sourceOf = (distPath: string) => distPath.replace(/^\.?\/?dist\//, '').replace(/\.(d\.ts|js)$/, '.ts');

describe('package.json', () => {
  it('is publishable, with a semver version and a bin that runs the compiled CLI', () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(pkg.bin).toEqual({ lockstep: 'dist/bin/lockstep.js' });
    expect(readFileSync('bin/lockstep.ts', 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(pkg.files).toEqual(['dist', 'CHANGELOG.md']);
    expect(readFileSync('CHANGELOG.md', 'utf8')).toContain(`## ${pkg.version}`);
  });

  it('exports the constructs, the config schema and the CLI, each compiled from a source that exists', () => {
    expect(Object.keys(pkg.exports)).toEqual(['.', './config', './cli', './package.json']);
    for (const [name, target] of Object.entries(pkg.exports)) {
      if (name === './package.json') continue;
      const { types, default: js } = target as { types: string; default: string };
      expect(sourceOf(types)).toBe(sourceOf(js));
      expect(existsSync(sourceOf(js))).toBe(true);
    }
  });

  it('declares aws-cdk-lib and constructs as peers, kept as devDependencies for the clone', () => {
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(pkg.dependencies['aws-cdk-lib']).toBeUndefined();
    expect(pkg.dependencies.constructs).toBeUndefined();
    expect(pkg.devDependencies['aws-cdk-lib']).toBeDefined();
    expect(pkg.devDependencies.constructs).toBeDefined();
    expect(SUPPORTED_CDK_RANGE).toBe(pkg.peerDependencies['aws-cdk-lib']);
    // The clone develops against a version inside the range it promises.
    expect(cdkVersionProblem(pkg.devDependencies['aws-cdk-lib']!)).toBeUndefined();
  });

  it('keeps type checking, linting and testing apart from building', () => {
    expect(pkg.scripts.typecheck).toBe('tsc --noEmit -p tsconfig.json');
    expect(pkg.scripts.build).toBe('tsx scripts/build-package.ts');
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(pkg.scripts.start).toBe('tsx bin/lockstep.ts local');
  });
});

describe('cdkVersionProblem', () => {
  it('names the range, the version found and the command that fixes it', () => {
    expect(cdkVersionProblem('2.100.0', '^2.276.0')).toBe(
      `Lockstep ${LOCKSTEP_VERSION} needs aws-cdk-lib ^2.276.0, but this app has 2.100.0. Upgrade it with: npm install aws-cdk-lib@^2.276.0 (and aws-cdk, the CLI, to a release that reads its output)`,
    );
    expect(cdkVersionProblem('3.0.0', '^2.276.0')).toContain('this app has 3.0.0');
  });

  it('accepts versions inside the range, release candidates of them included', () => {
    expect(cdkVersionProblem('2.276.0', '^2.276.0')).toBeUndefined();
    expect(cdkVersionProblem('2.300.1', '^2.276.0')).toBeUndefined();
    expect(cdkVersionProblem('2.280.0-rc.1', '^2.276.0')).toBeUndefined();
  });
});

describe('assets', () => {
  it('are found next to the code, in the clone as in the package', () => {
    expect(existsSync(assetPath('statemachines', 'promotion.asl.json'))).toBe(true);
    expect(existsSync(assetPath('examples', 'quickstart', 'lockstep.config.yaml'))).toBe(true);
    expect(LOCKSTEP_VERSION).toBe(pkg.version);
  });

  it('have one prebuilt bundle folder per handler file name', () => {
    expect(prebuiltBundleDir('/x/lambdas/handlers/approval-api.ts', '/pkg/dist/bundles')).toBe(
      '/pkg/dist/bundles/approval-api',
    );
  });
});

describe('lockstep init', () => {
  it('writes a starter pipeline that validates, building the repository it was run in', () => {
    const pipeline = parsePipeline(starterPipeline('My Service', 'trunk'), { source: 'lockstep.config.yaml' });
    expect(pipeline.pipeline.name).toBe('my-service');
    expect(pipeline.packages[0]!.source).toEqual({ local: { path: '..', branch: 'trunk' } });
    expect(pipeline.stages.map((s) => s.name)).toEqual(['Beta', 'Prod']);
  });
});

describe('lockstep local picks its pipeline', () => {
  const folder = () => mkdtempSync(join(tmpdir(), 'lockstep-local-config-'));

  it('says what to create in a folder without lockstep.config.yaml', () => {
    const empty = folder();
    expect(() => localPipelineFile({}, empty)).toThrow(NoLocalPipelineError);
    expect(() => localPipelineFile({}, empty)).toThrow(
      `there is no lockstep.config.yaml in ${empty}. Create one: \`npx lockstep init\` writes a starter pipeline`,
    );
  });

  it('runs lockstep.config.yaml of the folder, --config, or the quickstart when asked or in the clone', () => {
    const dir = folder();
    writeFileSync(join(dir, 'lockstep.config.yaml'), starterPipeline('svc', 'main'));
    expect(localPipelineFile({}, dir)).toBe(join(dir, 'lockstep.config.yaml'));
    expect(localPipelineFile({ config: 'other.yaml' }, dir)).toBe(join(dir, 'other.yaml'));
    expect(localPipelineFile({ quickstart: true }, dir)).toBe(QUICKSTART_CONFIG);
    // `npm start` in the clone: its root has no lockstep.config.yaml and runs the quickstart, as before.
    expect(localPipelineFile({}, process.cwd())).toBe(QUICKSTART_CONFIG);
  });
});

describe("local mode on a team's own repository", () => {
  it('refuses a local source outside the data folder that is not a git repository, saying how to fix it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-own-repo-'));
    const folder = join(dir, 'svc');
    mkdirSync(folder);
    const config = join(dir, 'lockstep.config.yaml');
    writeFileSync(config, starterPipeline('svc', 'main').replace('path: ..', `path: ${folder}`));
    await expect(
      startLocalSystem({ dataDir: join(dir, '.lockstep'), configFile: config, write: () => undefined }),
    ).rejects.toThrow(`package svc: source.local.path ${folder} is not a git repository`);
  });
});

describe('DeploymentSystem given a pipeline file path', () => {
  it("fails synth with Lockstep's own message when the file does not exist", () => {
    const missing = join(tmpdir(), 'no-such-folder', 'lockstep.config.yaml');
    const build = () => new DeploymentSystem(new Stack(new App(), 'Missing'), 'Deploys', { pipeline: missing });
    expect(build).toThrow(DeploymentSystemPropsError);
    expect(build).toThrow(`pipeline: ${missing}: there is no pipeline definition at ${missing}; create ${missing}`);
  });

  it('reads the YAML file, reporting problems with their line', () => {
    expect(checkProps({ pipeline: 'examples/three-stage/lockstep.config.yaml' }).pipeline.name).toBe('three-stage');
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-bad-pipeline-'));
    writeFileSync(join(dir, 'bad.yaml'), 'pipeline:\n  name: shop\n  colour: blue\n');
    expect(() => checkProps({ pipeline: join(dir, 'bad.yaml') })).toThrow(/bad\.yaml:3 pipeline\.colour: unknown key/);
  });

  it('asks for the object when given a TypeScript module', () => {
    expect(() => checkProps({ pipeline: 'pipeline.ts' })).toThrow(
      'pipeline: pipeline.ts is a TypeScript or JavaScript module, which a construct cannot load while it is built',
    );
  });
});
