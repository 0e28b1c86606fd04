// The layering of lambdas/ (docs/ARCHITECTURE.md, "Layers"), checked on the source: every relative import is
// read with the TypeScript parser, resolved to a file, and mapped to its layer and its unit (folder). A lower
// layer must never import a higher one, and neither files nor units may import each other in a cycle.
import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const LAMBDAS = path.resolve(import.meta.dirname, '../../lambdas');

/**
 * The layers, lowest first. A file belongs to the first layer with a matching prefix (path relative to
 * lambdas/, without `.ts`); a file may import its own layer and any lower one.
 */
const LAYERS: ReadonlyArray<{ name: string; prefixes: readonly string[] }> = [
  { name: 'core', prefixes: ['core/'] },
  {
    name: 'sdk domain',
    prefixes: [
      'sdk/model',
      'sdk/binary/',
      'sdk/converter/',
      'sdk/metadata/',
      'sdk/staging/',
      'sdk/host/',
      'sdk/install/',
      'sdk/records/',
    ],
  },
  { name: 'ports', prefixes: ['ports/'] },
  { name: 'logic', prefixes: ['promotion/', 'console/', 'sdk/service/', 'sdk/tester/tester', 'sdk/tester/buildspec'] },
  { name: 'adapters', prefixes: ['adapters/'] },
  // Entry points: the Lambda handlers, and the tester's two command lines with their presigned-URL I/O (bundled
  // on their own for CodeBuild).
  {
    name: 'entry points',
    prefixes: ['handlers/', 'sdk/tester/cli', 'sdk/tester/provider-runner-cli', 'sdk/tester/plan-io'],
  },
];

const layerName = (file: string) => LAYERS[layerOf(file)]?.name ?? 'none';

function layerOf(file: string): number {
  const index = LAYERS.findIndex((layer) => layer.prefixes.some((prefix) => file.startsWith(prefix)));
  if (index < 0)
    throw new Error(`lambdas/${file}.ts is in no layer: add its folder to LAYERS in ${import.meta.filename}`);
  return index;
}

/** The folder a file belongs to for the unit-cycle check: `sdk/<part>` in the SDK half, the top folder elsewhere. */
function unitOf(file: string): string {
  const [top = file, second] = file.split('/');
  return top === 'sdk' && second !== undefined && file.split('/').length > 2 ? `sdk/${second}` : top;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** A relative specifier resolved the way the bundler does: `x.ts`, or `x/index.ts` for a folder. */
function resolveImport(fromFile: string, specifier: string): string {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${path.relative(LAMBDAS, fromFile)} imports '${specifier}', which resolves to no .ts file`);
}

const relative = (file: string) => path.relative(LAMBDAS, file).replace(/\\/g, '/').replace(/\.ts$/, '');

/** Every file under lambdas/ with the files it imports (static, dynamic and type-only imports alike). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(LAMBDAS)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((ref) => ref.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => relative(resolveImport(file, specifier)));
    graph.set(relative(file), [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with more than one member (or a self-loop): each one is an import cycle. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

function unitGraph(files: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const units = new Map<string, Set<string>>();
  for (const [file, targets] of files) {
    const from = unitOf(file);
    const set = units.get(from) ?? new Set<string>();
    for (const target of targets) if (unitOf(target) !== from) set.add(unitOf(target));
    units.set(from, set);
  }
  return new Map([...units].map(([unit, set]) => [unit, [...set].sort()]));
}

describe('layers of lambdas/', () => {
  const graph = importGraph();

  it('finds the source (guards against a wrong root making every check pass)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('handlers/sdk-upload-api')).toContain('adapters/sdk-runtime');
  });

  it('puts every file in a layer', () => {
    expect(() => [...graph.keys()].forEach(layerOf)).not.toThrow();
  });

  it('has no import from a lower layer to a higher one', () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((target) => layerOf(target) > layerOf(file))
        .map((target) => `${file} (${layerName(file)}) imports ${target} (${layerName(target)})`),
    );
    expect(upward).toEqual([]);
  });

  it('has no import cycle between files', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    expect(cycles(unitGraph(graph))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find a cycle of two and a self-import, and no cycle in a chain', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', ['d']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b'], ['e']]);
  });

  it('see the old SDK layout as a folder cycle (sdk/service <-> sdk/tester)', () => {
    const old = new Map([
      ['sdk/service/steps', ['sdk/tester/results']],
      ['sdk/tester/results', ['sdk/service/records']],
      ['sdk/service/records', []],
    ]);
    expect(cycles(unitGraph(old))).toEqual([['sdk/service', 'sdk/tester']]);
  });
});
