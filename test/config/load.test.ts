import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  ConfigError,
  checkPipelineFile,
  checkPipelineText,
  definePipeline,
  formatProblems,
  importPipeline,
  loadPipeline,
  parsePipeline,
  validatePipelineObject,
} from '../../lambdas/core/config/load';
import type { ConfigProblem } from '../../lambdas/core/config/problems';
import { basePipeline } from './fixtures';

/** The YAML used by several tests; line numbers below refer to it. */
const YAML = `pipeline:
  name: shop
packages:
  - name: web
    source:
      github: { owner: example, repo: web }
    build:
      commands: [npm ci]
applications:
  - name: web
    packages: [web]
stages:
  - name: Beta
    environments:
      - name: beta
        deploy: { commands: [./deploy.sh] }
  - name: Prod
    environments:
      - name: prod
        deploy: { commands: [./deploy.sh] }
        windows:
          - days: [mon, tue, wed, thu, fri]
            start: "22:00"
            end: "04:00"
            timeZone: Europe/London
promotions:
  - from: { application: web }
    to: beta
  - from: { environment: beta }
    to: prod
`;

function problemsOf(text: string): readonly ConfigProblem[] {
  return checkPipelineText(text, { source: 'lockstep.config.yaml' }).problems;
}

function expectConfigError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parsePipeline', () => {
  it('returns the pipeline with defaults applied', () => {
    const pipeline = parsePipeline(YAML);
    expect(pipeline.pipeline).toEqual({ name: 'shop', enabled: true, automation: true, buildDebounce: '30s' });
    expect(pipeline.packages[0]!.source).toEqual({ github: { owner: 'example', repo: 'web', branch: 'main' } });
    expect(pipeline.promotions[1]).toMatchObject({ strategy: 'latest', approval: 'automatic', enabled: true });
  });

  it('points a problem at the line and column where the value is written', () => {
    const problems = problemsOf(YAML.replace('timeZone: Europe/London', 'timeZone: Europe/Londn'));
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'stages[1].environments[0].windows[0].timeZone',
        line: 25,
        column: 23,
        rule: 'time-zone',
      }),
    ]);
  });

  it('reports every problem at once, schema and cross-reference alike, in file order with positions', () => {
    const text = YAML.replace('  name: shop\n', '  name: shop\n  colour: blue\n') // line 3
      .replace('github: { owner: example, repo: web }', 'github: { owner: example, repo: web, brnch: main }') // line 7
      .replace('packages: [web]', 'packages: [web, lib]') // line 12
      .replace('end: "04:00"', 'end: "22:00"') // line 23: the window opens and closes at 22:00
      .replace('    to: prod\n', '    to: prod\n    strategy: lastest\n'); // line 32
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.line, p.path, p.rule])).toEqual([
      [3, 'pipeline.colour', 'schema'],
      [7, 'packages[0].source.github.brnch', 'schema'],
      [12, 'applications[0].packages[1]', 'unknown-reference'],
      [23, 'stages[1].environments[0].windows[0]', 'time-window'],
      [32, 'promotions[1].strategy', 'schema'],
    ]);
  });

  it('throws a ConfigError whose message lists each problem as file:line:col path: message. Fix: ...', () => {
    const error = expectConfigError(() =>
      parsePipeline(YAML.replace('timeZone: Europe/London', 'timeZone: Mars/Olympus'), {
        source: 'lockstep.config.yaml',
      }),
    );
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(
      'lockstep.config.yaml:25:23 stages[1].environments[0].windows[0].timeZone: "Mars/Olympus" is not an IANA time zone. Fix: use an IANA time zone name',
    );
  });
});

describe('schema problems in plain English', () => {
  it('names the allowed keys for an unknown key and suggests the intended one', () => {
    const [problem] = problemsOf(
      YAML.replace('github: { owner: example, repo: web }', 'github: { owner: example, repo: web, brnch: dev }'),
    );
    expect(problem).toMatchObject({
      path: 'packages[0].source.github.brnch',
      message: 'unknown key "brnch"',
      line: 6,
      column: 44,
    });
    expect(problem!.fix).toBe(
      'did you mean "branch"? Otherwise remove it, or check its spelling; allowed keys: owner, repo, branch, connectionArn, tokenSecret',
    );
  });

  it('lists allowed values and suggests the closest for an enum', () => {
    const [problem] = problemsOf(YAML.replace('days: [mon, tue,', 'days: [mon, tuesday,'));
    expect(problem).toMatchObject({
      path: 'stages[1].environments[0].windows[0].days[1]',
      message: '"tuesday" is not an allowed value',
    });
    expect(problem!.fix).toBe('did you mean "tue"? use one of: mon, tue, wed, thu, fri, sat, sun');
  });

  it('says which key is missing and what to add', () => {
    const [problem] = problemsOf(YAML.replace('            timeZone: Europe/London\n', ''));
    expect(problem).toMatchObject({
      path: 'stages[1].environments[0].windows[0].timeZone',
      message: 'missing required key "timeZone"',
      fix: 'add timeZone: Europe/London (an IANA time zone)',
    });
    // Points at the window that lacks it.
    expect(problem!.line).toBe(22);
  });

  it('explains a single value where a list is expected', () => {
    const [problem] = problemsOf(YAML.replace('packages: [web]', 'packages: web'));
    expect(problem).toMatchObject({ path: 'applications[0].packages', message: 'must be a list, not the text "web"' });
    expect(problem!.fix).toContain('[web]');
  });

  it('uses the format directions the schema gives', () => {
    const [problem] = problemsOf(YAML.replace('start: "22:00"', 'start: "10pm"'));
    expect(problem).toMatchObject({
      message: '"10pm" is not valid as a time such as "22:00"',
      fix: 'use a 24-hour "HH:MM" time such as "22:00"',
    });
  });

  it('describes the accepted forms when a source matches none of them', () => {
    const [problem] = problemsOf(YAML.replace('github: { owner: example, repo: web }', 'gitlab: { project: web }'));
    expect(problem!.path).toBe('packages[0].source');
    expect(problem!.message).toContain('not in a recognized form');
    expect(problem!.fix).toContain('{ github: { owner, repo, branch, connectionArn, tokenSecret } }');
    expect(problem!.fix).toContain('{ codecommit: { repository, branch } }');
  });

  it('suggests the key of a promotion source that is misspelled', () => {
    const [problem] = problemsOf(YAML.replace('from: { environment: beta }', 'from: { enviroment: beta }'));
    expect(problem!.path).toBe('promotions[1].from');
    expect(problem!.fix).toContain('did you mean "environment"?');
  });

  it('reports an empty command list with the schema direction', () => {
    const [problem] = problemsOf(YAML.replace('commands: [npm ci]', 'commands: []'));
    expect(problem).toMatchObject({
      path: 'packages[0].build.commands',
      message: 'is empty',
      fix: 'list at least one shell command',
      line: 8,
    });
  });
});

describe('checks that continue past schema problems', () => {
  it('does not report references to an item the schema rejected as unknown', () => {
    // The beta environment is invalid (no deploy commands): its promotion and its name are not reported again.
    const problems = problemsOf(
      YAML.replace(
        '        deploy: { commands: [./deploy.sh] }\n  - name: Prod',
        '        deploy: { commands: [] }\n  - name: Prod',
      ),
    );
    expect(problems.map((p) => p.path)).toEqual(['stages[0].environments[0].deploy.commands']);
  });

  it('maps paths back past removed list items', () => {
    const text = YAML.replace(
      '          - days: [mon, tue, wed, thu, fri]',
      '          - days: [noday]\n            start: "01:00"\n            end: "02:00"\n            timeZone: UTC\n          - days: [mon, tue, wed, thu, fri]',
    ).replace('timeZone: Europe/London', 'timeZone: Europe/Londn');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.path)).toEqual([
      'stages[1].environments[0].windows[0].days[0]',
      'stages[1].environments[0].windows[1].timeZone',
    ]);
  });

  it('does not call a stage empty when its only environment was rejected', () => {
    const problems = problemsOf(
      YAML.replace(
        '      - name: prod\n        deploy: { commands: [./deploy.sh] }',
        '      - name: prod\n        deploy: { commands: [] }',
      ),
    );
    expect(problems.map((p) => p.rule)).toEqual(['schema']);
  });
});

describe('YAML handling', () => {
  it('refuses an alias bomb with a clear error instead of expanding it', () => {
    const bomb = [
      'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
      'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
    ].join('\n');
    const problems = problemsOf(bomb);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('aliases');
    expect(problems[0]!.message).toContain('billion laughs');
  });

  it('accepts a few anchors, aliases and merge keys for repeated parts', () => {
    const text = YAML.replace(
      '      - name: beta\n        deploy: { commands: [./deploy.sh] }',
      '      - &env\n        name: beta\n        deploy: { commands: [./deploy.sh, ./smoke.sh] }',
    ).replace(
      '      - name: prod\n        deploy: { commands: [./deploy.sh] }',
      '      - <<: *env\n        name: prod',
    );
    const pipeline = parsePipeline(text);
    expect(pipeline.stages[1]!.environments[0]).toMatchObject({
      name: 'prod',
      deploy: { commands: ['./deploy.sh', './smoke.sh'] },
    });
    expect(pipeline.stages[1]!.environments[0]!.windows[0]!.timeZone).toBe('Europe/London');
  });

  it('reports YAML syntax errors with their position', () => {
    const problems = problemsOf(YAML.replace('  name: shop', '  name: [shop'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.rule).toBe('yaml');
    expect(problems[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('reports a key written twice', () => {
    const problems = problemsOf(YAML.replace('  name: shop\n', '  name: shop\n  name: store\n'));
    expect(problems).toEqual([
      expect.objectContaining({ rule: 'yaml', line: 3, message: 'key "name" appears twice in the same mapping' }),
    ]);
  });

  it('reports an empty file as empty', () => {
    expect(problemsOf('')[0]!.message).toBe('the definition is empty');
  });
});

describe('JSON and TypeScript definitions', () => {
  it('reads JSON with positions', () => {
    const json = JSON.stringify({ ...basePipeline(), pipeline: { name: 'shop', colour: 'blue' } }, null, 2);
    const problems = checkPipelineText(json, { source: 'pipeline.json' }).problems;
    expect(problems).toEqual([expect.objectContaining({ path: 'pipeline.colour', line: 4 })]);
  });

  it('reports JSON syntax errors', () => {
    const problems = checkPipelineText('{ "pipeline": { "name": "shop" }, }', { format: 'json' }).problems;
    expect(problems[0]!.rule).toBe('json');
    expect(problems[0]!.message).toContain('not valid JSON');
  });

  it('validates a typed object and throws every problem without positions', () => {
    expect(validatePipelineObject(definePipeline(basePipeline())).stages).toHaveLength(2);
    const input = basePipeline();
    input.promotions![1]!.to = 'prd';
    input.stages[1]!.environments[0]!.windows![0]!.timeZone = 'Nowhere/City';
    const error = expectConfigError(() => validatePipelineObject(input));
    expect(error.problems.map((p) => p.rule)).toEqual(['time-zone', 'unknown-reference', 'unreachable-environment']);
    expect(error.problems.every((p) => p.line === undefined)).toBe(true);
  });

  it('imports a TypeScript module that exports a definition', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'lockstep-config-'));
    const file = join(folder, 'pipeline.ts');
    writeFileSync(file, `export default ${JSON.stringify(basePipeline())};\n`);
    expect((await importPipeline(file)).pipeline.name).toBe('shop');
  });
});

describe('files', () => {
  it('names the missing path and how to fix it', async () => {
    const missing = join(tmpdir(), 'no-such-dir', 'lockstep.config.yaml');
    const error = expectConfigError(() => loadPipeline(missing));
    expect(error.problems[0]!.message).toBe(`there is no pipeline definition at ${missing}`);
    expect((await checkPipelineFile(missing)).problems[0]!.fix).toContain('examples/three-stage/lockstep.config.yaml');
  });
});

describe('formatProblems', () => {
  it('prints file:line:col, path, message and fix on one line, and leaves out what is unknown', () => {
    const text = formatProblems(
      [
        { path: 'stages[0].name', message: 'bad name', fix: 'rename it', line: 4, column: 9 },
        { path: '', message: 'the definition is empty', fix: 'start from an example.' },
      ],
      'lockstep.config.yaml',
    );
    expect(text.split('\n')).toEqual([
      'lockstep.config.yaml:4:9 stages[0].name: bad name. Fix: rename it.',
      'lockstep.config.yaml: the definition is empty. Fix: start from an example.',
    ]);
  });
});
