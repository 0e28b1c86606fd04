import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { explain, ExplainInputError, readStateFile } from '../../bin/commands/explain';
import { loadPipeline } from '../../lambdas/core/config/load';
import { WorldStateError } from '../../lambdas/core/decide/world-schema';
import { threeStagePipeline } from './fixtures';

const EXAMPLE = 'examples/three-stage/lockstep.config.yaml';

describe('lockstep explain', () => {
  it('explains the three-stage example with one line per promotion and a variety of decisions', () => {
    const out = explain(loadPipeline(EXAMPLE), EXAMPLE, {}, Date.now());
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe('Pipeline three-stage at 2024-06-05T15:00:00.000Z:');
    const kinds = lines.slice(1).map((l) => l.trim().split(/\s+/)[2]);
    expect(kinds).toEqual(expect.arrayContaining(['deploy', 'wait-window', 'blocked-by-lock', 'in-sync']));
    expect(out).toContain('waits for a deploy window of prod-na: the next opens Wed 2024-06-05 22:00 America/New_York');
  });

  it('decides as of --at, which overrides the state time', () => {
    const out = explain(
      loadPipeline(EXAMPLE),
      EXAMPLE,
      { at: '2024-06-06T03:00:00Z', promotion: 'beta-to-prod-na' },
      0,
    );
    expect(out).toBe(
      'Pipeline three-stage at 2024-06-06T03:00:00.000Z:\n' +
        '  beta-to-prod-na  storefront  deploy  Deploy storefront r5 to prod-na (replacing r4) as execution beta-to-prod-na-storefront-r5.\n',
    );
  });

  it('prints JSON on request', () => {
    const parsed = JSON.parse(explain(loadPipeline(EXAMPLE), EXAMPLE, { json: true, promotion: 'alpha-to-beta' }, 0));
    expect(parsed.decisions[0].decision).toMatchObject({ kind: 'blocked-by-lock', owner: 'manual:oncall@example.com' });
  });

  it('names the known promotions when asked for an unknown one', () => {
    expect(() => explain(loadPipeline(EXAMPLE), EXAMPLE, { promotion: 'nope' }, 0)).toThrow(
      /use one of: storefront-to-alpha, alpha-to-beta/,
    );
  });

  it('explains an empty world when no state file exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'explain-'));
    const out = explain(
      threeStagePipeline(),
      join(dir, 'lockstep.config.yaml'),
      {},
      Date.parse('2024-01-01T00:00:00Z'),
    );
    expect(out).toMatch(
      /A\+B-to-Alpha +A +no-candidate +Nothing to promote to Alpha: no revision of A has been built yet./,
    );
  });

  it('rejects a state file that is not JSON, a bad time, or a state of the wrong shape, saying which', () => {
    const dir = mkdtempSync(join(tmpdir(), 'explain-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => readStateFile(bad)).toThrow(ExplainInputError);
    writeFileSync(bad, JSON.stringify({ at: 'yesterday' }));
    expect(() => readStateFile(bad)).toThrow(/"at" in .*bad\.json must be an ISO time/);
    writeFileSync(bad, JSON.stringify({ environments: { beta: { name: 'beta', lock: { owner: 'x' } } } }));
    expect(() => readStateFile(bad)).toThrow(WorldStateError);
    expect(() => explain(threeStagePipeline(), 'x.yaml', { state: bad, at: 'later' }, 0)).toThrow(WorldStateError);
  });
});
