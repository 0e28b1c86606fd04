import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';
import { checkPipelineObject, checkPipelineText } from '../../lambdas/core/config/load';
import { parsePath } from '../../lambdas/core/config/problems';
import { basePipeline } from './fixtures';

/** Every path into a value, as segment lists. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))];
}

function setAt(root: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === undefined && !Array.isArray(node)) delete node[last];
  else node[last] = replacement;
  return copy;
}

const SECTIONS = ['pipeline', 'packages', 'applications', 'stages', 'promotions', 'notifications'];

describe('checking damaged definitions', () => {
  const paths = pathsOf(basePipeline()).filter((path) => path.length > 0);

  it('never throws, and reports at least one problem with a path into the input whenever a value is broken', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.oneof(
          fc.constant(undefined),
          fc.constant(null),
          fc.integer(),
          fc.string({ maxLength: 5 }),
          fc.constant([]),
          fc.constant({ x: 1 }),
        ),
        (path, replacement) => {
          const input = setAt(basePipeline(), path, replacement);
          const result = checkPipelineObject(input);
          if (result.pipeline) return; // some replacements are valid (an optional key removed, a name changed)
          expect(result.problems.length).toBeGreaterThan(0);
          for (const problem of result.problems) {
            expect(problem.message.length).toBeGreaterThan(0);
            expect(problem.fix.length).toBeGreaterThan(0);
            // Paths name places in the definition, starting at one of its sections.
            expect(SECTIONS).toContain(parsePath(problem.path)[0]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary YAML-ish text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const result = checkPipelineText(text);
        expect(result.pipeline === undefined ? result.problems.length > 0 : true).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
