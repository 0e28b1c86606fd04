/**
 * Renaming and removing environments: the `renamedFrom` rule, and `lockstep validate --against <old>` saying what a
 * definition change will do before it is deployed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { describeChange } from '../../lambdas/core/config/change';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { validatePipeline } from '../../lambdas/core/config/validate';
import { threeStagePipeline } from '../decide/fixtures';

/** The three-stage fixture with Prod-NA renamed to Prod-US (and the promotion into it following). */
function renamed() {
  const before = threeStagePipeline();
  const input = structuredClone(before) as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  input.stages[2].environments[0] = { ...input.stages[2].environments[0], name: 'Prod-US', renamedFrom: 'Prod-NA' };
  input.promotions[2] = { ...input.promotions[2], to: 'Prod-US' };
  return { before, after: pipelineSchema.parse(input) };
}

describe('renamedFrom', () => {
  it('accepts a rename from a name no longer defined', () => {
    expect(validatePipeline(renamed().after).filter((p) => p.rule === 'renamed-from')).toEqual([]);
  });

  it('refuses a rename from a name still in use, from itself, or claimed twice, saying how to fix it', () => {
    const base = threeStagePipeline();
    const input = structuredClone(base) as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    input.stages[2].environments[0].renamedFrom = 'Beta';
    input.stages[2].environments[1].renamedFrom = 'Prod-EU';
    input.stages[0].environments[0].renamedFrom = 'Old';
    input.stages[1].environments[0].renamedFrom = 'Old';
    const problems = validatePipeline(pipelineSchema.parse(input)).filter((p) => p.rule === 'renamed-from');
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['stages[1].environments[0].renamedFrom', 'environments "Alpha" and "Beta" are both renamed from "Old"'],
      [
        'stages[2].environments[0].renamedFrom',
        'environment "Prod-NA" is renamed from "Beta", but "Beta" is still defined',
      ],
      ['stages[2].environments[1].renamedFrom', 'environment "Prod-EU" says it was renamed from itself'],
    ]);
    expect(problems.every((p) => p.fix.length > 0)).toBe(true);
  });
});

describe('describeChange', () => {
  it('says a renamed environment carries its state over instead of being removed and added', () => {
    const { before, after } = renamed();
    const changes = describeChange(before, after);
    expect(changes.map((c) => `${c.kind} ${c.subject}`)).toEqual(['renamed environment Prod-NA']);
    expect(changes[0]!.message).toMatch(/previous revisions.*carry over.*nothing is redeployed/);
  });

  it('says what removing an environment and adding another will do', () => {
    const before = threeStagePipeline();
    const input = structuredClone(before) as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    input.stages[2].environments[1] = { ...input.stages[2].environments[1], name: 'Prod-AP' };
    input.promotions[3] = { ...input.promotions[3], to: 'Prod-AP' };
    const changes = describeChange(before, pipelineSchema.parse(input));
    expect(changes.map((c) => `${c.kind} ${c.subject}`)).toEqual([
      'added environment Prod-AP',
      'removed environment Prod-EU',
      'added promotion Beta-to-Prod-AP',
      'removed promotion Beta-to-Prod-EU',
    ]);
    expect(changes[1]!.message).toMatch(/executions in flight to Prod-EU are stopped, its lock is released/);
    expect(changes[1]!.message).toContain('renamedFrom: Prod-EU');
    expect(changes[0]!.message).toContain('after a manual go-ahead');
  });

  it('finds nothing to say about an unchanged definition', () => {
    expect(describeChange(threeStagePipeline(), threeStagePipeline())).toEqual([]);
  });
});

describe('lockstep validate --against', () => {
  it('prints what the change will do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-against-'));
    const old = readFileSync('examples/three-stage/lockstep.config.yaml', 'utf8');
    const edited = old
      .replace(/- name: prod-na\n/, '- name: prod-us\n        renamedFrom: prod-na\n')
      .replaceAll('to: prod-na', 'to: prod-us')
      .replace('[prod-na, prod-eu]', '[prod-us, prod-eu]');
    expect(edited).not.toBe(old);
    writeFileSync(join(dir, 'old.yaml'), old);
    writeFileSync(join(dir, 'new.yaml'), edited);
    const tsx = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      tsx,
      'bin/lockstep.ts',
      'validate',
      join(dir, 'new.yaml'),
      '--against',
      join(dir, 'old.yaml'),
    ]);
    expect(stdout).toContain('is valid');
    expect(stdout).toMatch(/Against .*old\.yaml:\n {2}renamed environment prod-na: Renamed to prod-us/);
  });
});
