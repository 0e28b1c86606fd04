import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { checkPipelineFile, checkPipelineText, MAX_CONFIG_BYTES } from '../../lambdas/core/config/load';

// Issue 14, items 5 and 9: alias bombs get a position, oversized files are refused at once, a directory and a
// non-UTF-8 byte get clear answers, and sharing one anchor across 120 environments is a normal file.
const HEAD = `pipeline: { name: shop }
packages:
  - name: web
    source: { github: { owner: example, repo: web } }
    build: { commands: [npm ci] }
applications:
  - { name: web, packages: [web] }
`;

function manyEnvironments(count: number): string {
  const lines = [
    HEAD,
    'stages:',
    '  - name: All',
    '    environments:',
    '      - { name: env-0, deploy: &deploy { commands: [./deploy.sh, ./smoke.sh] } }',
  ];
  for (let i = 1; i < count; i++) lines.push(`      - { name: env-${i}, deploy: *deploy }`);
  lines.push('promotions:', '  - { from: { application: web }, to: env-0 }');
  for (let i = 1; i < count; i++) lines.push(`  - { from: { environment: env-0 }, to: env-${i} }`);
  return lines.join('\n');
}

describe('YAML aliases', () => {
  it('refuses an alias bomb naming the alias, its line and column, and the limit', () => {
    const bomb = [
      'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
      'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
    ].join('\n');
    const { problems } = checkPipelineText(bomb);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ rule: 'yaml', line: 5 });
    expect(problems[0]!.column).toBeGreaterThan(1);
    expect(problems[0]!.message).toMatch(
      /would add more than 50,000 nodes when expanded \(this alias \*d alone adds [\d,]+\)/,
    );
  });

  it('accepts a 120-environment pipeline that shares one anchor', () => {
    const result = checkPipelineText(manyEnvironments(120));
    expect(result.problems).toEqual([]);
    expect(result.pipeline?.stages[0]?.environments).toHaveLength(120);
    expect(result.pipeline?.stages[0]?.environments[119]?.deploy.commands).toEqual(['./deploy.sh', './smoke.sh']);
  });

  it('names an alias that refers to no anchor instead of calling it a bomb', () => {
    const { problems } = checkPipelineText('a: *nowhere');
    expect(problems[0]).toMatchObject({ line: 1, message: 'the alias *nowhere refers to no anchor' });
  });
});

describe('definition size', () => {
  it('refuses a definition over 1 MiB at once, with the limit in the message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-limits-'));
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `${HEAD}# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    const started = performance.now();
    return checkPipelineFile(file).then((result) => {
      expect(performance.now() - started).toBeLessThan(500);
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]!.message).toContain('over the 1,048,576-byte (1 MiB) limit');
      expect(checkPipelineText(`${HEAD}#${'x'.repeat(MAX_CONFIG_BYTES)}`).problems[0]!.message).toContain('1 MiB');
    });
  });
});

describe('lockstep validate on odd paths and bytes', () => {
  it('says a directory is a directory, not EISDIR', async () => {
    const result = await checkPipelineFile(tmpdir());
    expect(result.problems[0]!.message).toBe(`${tmpdir()} is a directory, not a pipeline definition file`);
    expect(result.problems[0]!.fix).toContain('lockstep validate');
  });

  it('refuses a command holding a byte that is not UTF-8, at its path and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-latin1-'));
    const file = join(dir, 'lockstep.config.yaml');
    const text = manyEnvironments(2).replace('commands: [npm ci]', 'commands: ["echo caf\u0000"]');
    const bytes = Buffer.from(text, 'utf8');
    bytes[bytes.indexOf(0)] = 0xe9; // "café" as Latin-1
    writeFileSync(file, bytes);
    const result = await checkPipelineFile(file);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ path: 'packages[0].build.commands[0]', line: 5 });
    expect(result.problems[0]!.message).toContain('byte that is not UTF-8');
  });
});
