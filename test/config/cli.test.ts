import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { parsePipeline } from '../../lambdas/core/config/load';
import { applicationsAt } from '../../lambdas/core/config/validate';

const run = promisify(execFile);
// By URL, so the CLI also starts from a folder without node_modules (the default-file test runs in an empty one).
const TSX = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;

/** Runs the real CLI (`bin/lockstep.ts`) and returns its exit code and output. */
async function lockstep(args: string[], cwd = process.cwd()) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', TSX, join(process.cwd(), 'bin/lockstep.ts'), ...args],
      { cwd },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const examples = readdirSync('examples', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `examples/${entry.name}/lockstep.config.yaml`)
  .filter((file) => existsSync(file));

describe('examples', () => {
  it('include the three-stage and two-applications pipelines', () => {
    expect(examples).toEqual(
      expect.arrayContaining([
        'examples/three-stage/lockstep.config.yaml',
        'examples/two-applications/lockstep.config.yaml',
      ]),
    );
  });

  it.each(examples)('%s passes lockstep validate', async (file) => {
    const result = await lockstep(['validate', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^${file} is valid: pipeline "[^"]+" has \\d+ packages?, \\d+ applications?, \\d+ stages?`),
    );
  });

  it('the two-applications example carries web and api through the shared stage into prod with a compatible promotion', () => {
    const pipeline = parsePipeline(readFileSync('examples/two-applications/lockstep.config.yaml', 'utf8'));
    const reached = applicationsAt(pipeline);
    expect(reached.get('integration')).toEqual(['web', 'api']);
    expect(reached.get('prod')).toEqual(['web', 'api']);
    expect(pipeline.promotions.find((p) => p.to === 'prod')?.strategy).toBe('compatible');
    const shared = pipeline.applications.map((a) => a.packages.includes('shared-lib'));
    expect(shared).toEqual([true, true]);
  });
});

describe('lockstep validate', () => {
  const folder = mkdtempSync(join(tmpdir(), 'lockstep-cli-'));
  const bad = join(folder, 'bad.yaml');
  writeFileSync(
    bad,
    readFileSync('examples/three-stage/lockstep.config.yaml', 'utf8')
      .replace('timeZone: Asia/Tokyo', 'timeZone: Asia/Tokio')
      .replace('    to: prod-fe', '    to: prod-fr'),
  );

  it('exits 1 and prints every problem as file:line:col path: message. Fix: ...', async () => {
    const result = await lockstep(['validate', bad]);
    expect(result.code).toBe(1);
    // In file order: the unreachable prod-fe environment, its window's time zone, then the promotion.
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toContain(
      'stages[2].environments[2]: environment "prod-fe" is not the destination of any promotion',
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ stages\\[2\\]\\.environments\\[2\\]\\.windows\\[0\\]\\.timeZone: "Asia/Tokio" is not an IANA time zone\\. Fix: use "Asia/Tokyo"\\.$`,
      ),
    );
    expect(result.stderr).toContain(
      'promotions[4].to: promotion beta-to-prod-fr goes to environment "prod-fr", which is not defined in any stage. Fix: did you mean "prod-fe"?',
    );
    expect(result.stderr).toContain('3 problems in');
  });

  it('prints machine-readable problems with --json', async () => {
    const result = await lockstep(['validate', bad, '--json']);
    expect(result.code).toBe(1);
    const body = JSON.parse(result.stdout) as {
      valid: boolean;
      problems: Array<{ path: string; line: number; rule: string }>;
    };
    expect(body.valid).toBe(false);
    expect(body.problems.map((p) => p.rule)).toEqual(['unreachable-environment', 'time-zone', 'unknown-reference']);
    expect(body.problems.every((p) => typeof p.line === 'number')).toBe(true);
  });

  it('reads lockstep.config.yaml in the current directory by default, and names the path when it is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lockstep-empty-'));
    const result = await lockstep(['validate'], empty);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`there is no pipeline definition at ${join(empty, 'lockstep.config.yaml')}`);
  });
});

describe('lockstep graph', () => {
  it('prints the Mermaid diagram, fenced with --markdown', async () => {
    const result = await lockstep(['graph', 'examples/three-stage/lockstep.config.yaml', '--markdown']);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('```mermaid\nflowchart LR\n')).toBe(true);
    expect(result.stdout).toContain('  env_beta --> env_prod_na');
  });

  it('refuses to draw an invalid definition and says why', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'lockstep-graph-'));
    const file = join(folder, 'lockstep.config.yaml');
    writeFileSync(file, 'pipeline: { name: x }\n');
    const result = await lockstep(['graph', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('packages: missing required key "packages"');
  });
});
