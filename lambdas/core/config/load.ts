/**
 * Reads a pipeline definition (YAML, JSON, or a typed TypeScript object) into a validated `Pipeline`, or throws a
 * `ConfigError` that lists every problem at once: YAML syntax, schema (unknown keys, wrong types, bad formats) and
 * cross-references (`validate.ts`), each with its path, a fix, and for text its line and column.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isAlias, isMap, isPair, isSeq, LineCounter, parseDocument, type Alias, type Document } from 'yaml';
import { locate } from './positions';
import { checkPipelineObject, validatePipelineObject, type PipelineCheck } from './check';
import { ConfigError, formatProblems, parsePath, type ConfigProblem } from './problems';
import type { Pipeline, PipelineInput } from './schema';

export { ConfigError, formatProblems, type ConfigProblem };
export { checkPipelineObject, validatePipelineObject, type PipelineCheck };

/**
 * How many nodes YAML aliases may add when they are expanded. Anchors and aliases are handy for repeated windows,
 * approver lists or whole environments (120 environments sharing one anchor add a few thousand nodes); tens of
 * thousands only come from a "billion laughs" file built to exhaust memory. The expanded size is what is limited,
 * not how often an alias is used.
 */
export const MAX_ALIAS_EXPANSION_NODES = 50_000;

/**
 * The largest pipeline definition read, in bytes (1 MiB). A definition of 500 environments is about 150 KB; bigger
 * files are refused before they are parsed, since parsing and validating megabytes takes seconds.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The default file name `lockstep validate`, `graph` and the CDK app read. */
export const DEFAULT_PIPELINE_FILE = 'lockstep.config.yaml';

export interface ParseOptions {
  /** @default "json" when `source` ends in `.json`, else "yaml" */
  readonly format?: 'yaml' | 'json';
  /** File name (or other label) shown in problems, e.g. `lockstep.config.yaml`. @default none */
  readonly source?: string;
}

/**
 * Parses and validates a pipeline definition from YAML or JSON text.
 *
 * @throws ConfigError listing every problem, each with its line and column.
 * @example
 * const pipeline = parsePipeline(readFileSync('lockstep.config.yaml', 'utf8'), { source: 'lockstep.config.yaml' });
 */
export function parsePipeline(text: string, options: ParseOptions = {}): Pipeline {
  const result = checkPipelineText(text, options);
  if (result.pipeline) return result.pipeline;
  throw new ConfigError(result.problems, { source: options.source });
}

/**
 * Reads, parses and validates the pipeline definition file at `path` (`.yaml`, `.yml` or `.json`).
 * For a TypeScript or JavaScript module use `importPipeline`.
 *
 * @throws ConfigError when the file is missing or the definition has problems.
 */
export function loadPipeline(path: string): Pipeline {
  return parsePipeline(readDefinition(path), { source: path, format: formatOf(path) });
}

/**
 * Imports a module whose default export (or `pipeline` export) is a pipeline definition object, and validates it.
 *
 * @example
 * // pipeline.ts: export default definePipeline({ pipeline: { name: 'shop' }, ... });
 * const pipeline = await importPipeline('pipeline.ts');
 */
export async function importPipeline(path: string): Promise<Pipeline> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw missingFile(path, absolute);
  const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown; pipeline?: unknown };
  return validatePipelineObject(module.default ?? module.pipeline, { source: path });
}

/**
 * Identity function that gives a TypeScript pipeline definition its type, so editors complete and check it.
 *
 * @example
 * export default definePipeline({ pipeline: { name: 'shop' }, packages: [...], applications: [...], stages: [...] });
 */
export function definePipeline(input: PipelineInput): PipelineInput {
  return input;
}

/**
 * Reads and checks the definition at `path` without throwing: a missing file and bad content both come back as
 * problems. `.ts`/`.js` modules are imported (see `importPipeline`); anything else is read as YAML or JSON.
 */
export async function checkPipelineFile(path: string): Promise<PipelineCheck> {
  try {
    if (/\.[cm]?[tj]s$/.test(path)) return { pipeline: await importPipeline(path), problems: [] };
    return checkPipelineText(readDefinition(path), { source: path, format: formatOf(path) });
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems };
    throw err;
  }
}

/** Like `parsePipeline`, but returns the problems instead of throwing (for the CLI's `--json` output). */
export function checkPipelineText(text: string, options: ParseOptions = {}): PipelineCheck {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) return { problems: [tooLarge(bytes)] };
  const format = options.format ?? formatOf(options.source ?? '');
  const lineCounter = new LineCounter();
  // JSON is YAML too, so one parser gives node ranges for both; JSON.parse first gives JSON's own syntax errors.
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      return { problems: [jsonSyntaxProblem(text, err)] };
    }
  }
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      problems: document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return {
          rule: 'yaml',
          path: '',
          message: yamlMessage(error.code, error.message, text.slice(error.pos[0], error.pos[0] + 200)),
          fix: yamlFix(error.code),
          line: position.line,
          column: position.col,
        };
      }),
    };
  }
  const expansion = aliasExpansion(document);
  if (expansion.refused) {
    const at = expansion.refused.alias.range ? lineCounter.linePos(expansion.refused.alias.range[0]) : undefined;
    return {
      problems: [
        {
          rule: 'yaml',
          path: '',
          message: expansion.refused.unresolved
            ? `the alias *${expansion.refused.alias.source} refers to no anchor`
            : expansion.refused.circular
              ? `the alias *${expansion.refused.alias.source} refers to the anchor it is inside of, so it never ends`
              : `the YAML aliases (*name) would add more than ${MAX_ALIAS_EXPANSION_NODES.toLocaleString('en')} nodes when expanded ` +
                `(this alias *${expansion.refused.alias.source} alone adds ${expansion.refused.nodes.toLocaleString('en')}), which looks like an attempt to exhaust memory ("billion laughs"), so the file was not read`,
          fix: expansion.refused.unresolved
            ? `define the anchor &${expansion.refused.alias.source} before this alias, or correct the alias name`
            : expansion.refused.circular
              ? 'point the alias at an anchor outside the node that holds it'
              : 'write the repeated parts out, or use fewer aliases of large anchors',
          ...(at ? { line: at.line, column: at.col } : {}),
        },
      ],
    };
  }
  // The expansion was measured above, so yaml's own count of alias uses (which refuses 100 uses of a tiny anchor) is off.
  const input: unknown = document.toJS({ maxAliasCount: -1 });
  const result = checkPipelineObject(input);
  if (result.pipeline) return result;
  return { problems: positioned(result.problems, document, lineCounter) };
}

interface AliasRefusal {
  readonly alias: Alias;
  readonly nodes: number;
  readonly circular?: boolean;
  readonly unresolved?: boolean;
}

/**
 * Counts the nodes aliases add when the document is expanded, without expanding it: each anchored node's size is
 * computed once, and an alias adds the size of what it refers to. Stops at the first alias that takes the total
 * past `MAX_ALIAS_EXPANSION_NODES`, or that refers to a node it is inside of.
 */
function aliasExpansion(document: Document): { added: number; refused?: AliasRefusal } {
  const sizes = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  let added = 0;
  class Refused extends Error {
    constructor(readonly refusal: AliasRefusal) {
      super('refused');
    }
  }
  const size = (node: unknown): number => {
    if (node === null || node === undefined) return 0;
    if (isAlias(node)) {
      const target = node.resolve(document);
      if (target === undefined) throw new Refused({ alias: node, nodes: 0, unresolved: true });
      if (inProgress.has(target)) throw new Refused({ alias: node, nodes: Infinity, circular: true });
      const nodes = size(target);
      added += nodes;
      if (added > MAX_ALIAS_EXPANSION_NODES) throw new Refused({ alias: node, nodes });
      return nodes;
    }
    const known = sizes.get(node);
    if (known !== undefined) return known;
    inProgress.add(node);
    let total = 1;
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items) total += isPair(item) ? size(item.key) + size(item.value) : size(item);
    }
    inProgress.delete(node);
    sizes.set(node, total);
    return total;
  };
  try {
    size(document.contents);
  } catch (error) {
    if (error instanceof Refused) return { added, refused: error.refusal };
    throw error;
  }
  return { added };
}

function tooLarge(bytes: number): ConfigProblem {
  return {
    rule: 'file',
    path: '',
    message: `the definition is ${bytes.toLocaleString('en')} bytes, over the ${MAX_CONFIG_BYTES.toLocaleString('en')}-byte (1 MiB) limit for a pipeline definition, so it was not read`,
    fix: 'a pipeline of hundreds of environments fits in a few hundred KB: remove generated or pasted content, or share repeated parts with YAML anchors',
  };
}

/** Adds line and column to each problem and orders them as they appear in the file. */
function positioned(problems: readonly ConfigProblem[], document: Document, lineCounter: LineCounter): ConfigProblem[] {
  return problems
    .map((problem, order) => {
      const position = locate(
        document,
        lineCounter,
        parsePath(problem.path),
        problem.message.startsWith('unknown key'),
      );
      return { problem: position ? { ...problem, line: position.line, column: position.column } : problem, order };
    })
    .sort(
      (a, b) =>
        (a.problem.line ?? Infinity) - (b.problem.line ?? Infinity) ||
        (a.problem.column ?? 0) - (b.problem.column ?? 0) ||
        a.order - b.order,
    )
    .map(({ problem }) => problem);
}

function formatOf(path: string): 'yaml' | 'json' {
  return /\.json$/i.test(path) ? 'json' : 'yaml';
}

function readDefinition(path: string): string {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw missingFile(path, absolute);
  const stat = statSync(absolute);
  if (stat.isDirectory()) {
    const inside = join(path, DEFAULT_PIPELINE_FILE);
    throw new ConfigError(
      [
        {
          rule: 'file',
          path: '',
          message: `${absolute} is a directory, not a pipeline definition file`,
          fix: existsSync(resolve(inside))
            ? `pass the file inside it: lockstep validate ${inside}`
            : `pass the path of a .yaml, .json or .ts definition file, e.g. lockstep validate ${inside}`,
        },
      ],
      { source: path },
    );
  }
  // Refused before reading: a huge file costs seconds to parse, and its size says enough.
  if (stat.size > MAX_CONFIG_BYTES) throw new ConfigError([tooLarge(stat.size)], { source: path });
  return readFileSync(absolute, 'utf8');
}

function missingFile(path: string, absolute: string): ConfigError {
  return new ConfigError(
    [
      {
        rule: 'file',
        path: '',
        message: `there is no pipeline definition at ${absolute}`,
        fix: `create ${path} (\`npx lockstep init\` writes a starter for the git repository in this folder; Lockstep's examples/three-stage/lockstep.config.yaml shows more), or pass the path of your definition, e.g. lockstep validate path/to/lockstep.config.yaml`,
      },
    ],
    { source: path },
  );
}

function jsonSyntaxProblem(text: string, err: unknown): ConfigProblem {
  const message = err instanceof Error ? err.message : String(err);
  const offset = /position (\d+)/.exec(message)?.[1];
  const problem: ConfigProblem = {
    rule: 'json',
    path: '',
    message: `the file is not valid JSON: ${message}`,
    fix: 'correct the JSON syntax at that position (a missing comma, quote or bracket is the usual cause)',
  };
  if (offset === undefined) return problem;
  const before = text.slice(0, Number(offset)).split('\n');
  return { ...problem, line: before.length, column: before[before.length - 1]!.length + 1 };
}

function yamlMessage(code: string, message: string, excerpt: string): string {
  if (code === 'DUPLICATE_KEY') {
    const key = /^["']?([^"':\n]+)/.exec(excerpt)?.[1]?.trim();
    return `${key === undefined ? 'a key' : `key "${key}"`} appears twice in the same mapping`;
  }
  // yaml's messages end with a code excerpt after a newline; the position is reported separately.
  return `the file is not valid YAML: ${message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
}

function yamlFix(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'keep one of the two: Lockstep refuses duplicate keys rather than guess which one you meant';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and punctuation at this position';
    default:
      return 'correct the YAML syntax at this position';
  }
}
