/**
 * How a pipeline definition's problems are described: one record per problem with its path, what is wrong and how
 * to fix it, plus the file position when the definition came from a file. The schema check (`load.ts`) and the
 * cross-reference rules (`validate.ts`) both produce these, so the CLI prints them all the same way.
 */
import { LockstepError } from '../errors';

/** One thing wrong with a pipeline definition. */
export interface ConfigProblem {
  /** Where, as a path into the definition, e.g. `stages[1].environments[0].windows[0].timeZone` (`""` for the whole file). */
  readonly path: string;
  /** What is wrong, in plain English, without repeating the path. */
  readonly message: string;
  /** What to change to fix it. */
  readonly fix: string;
  /** 1-based line in the source file, when the definition came from YAML or JSON text. */
  readonly line?: number;
  /** 1-based column in the source file. */
  readonly column?: number;
  /** Which check found it (`schema`, `yaml`, or a rule id such as `unknown-reference`), for machine readers. */
  readonly rule?: string;
}

/**
 * A pipeline definition that cannot be used. Carries every problem found, so a user fixes them in one pass.
 * Its message lists them in the CLI's format, so printing `err.message` is enough.
 */
export class ConfigError extends LockstepError {
  readonly problems: readonly ConfigProblem[];
  /** File (or other label) the definition came from, when known. */
  readonly source?: string;

  constructor(problems: readonly ConfigProblem[], options: { source?: string; cause?: unknown } = {}) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`${options.source ?? 'pipeline definition'} has ${count}:\n${formatProblems(problems, options.source)}`, {
      cause: options.cause,
      details: { source: options.source, problems: problems.length },
    });
    this.problems = problems;
    this.source = options.source;
  }
}

/** A path segment: an object key or an array index. */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * Renders path segments the way problems show them: `stages[1].environments[0].name`.
 * Keys that are not plain identifiers are quoted (`["my key"]`) so `parsePath` can read them back.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Reads a path written by `formatPath` back into segments. */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const token = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g;
  for (const match of path.matchAll(token)) {
    if (match[1] !== undefined) segments.push(Number(match[1]));
    else if (match[2] !== undefined) segments.push(JSON.parse(match[2]) as string);
    else if (match[3] !== undefined) segments.push(match[3]);
  }
  return segments;
}

/**
 * Formats problems one per line as `file:line:col path: message. Fix: fix`, the shape editors and CI logs link.
 *
 * @example
 * formatProblems(err.problems, 'lockstep.config.yaml');
 * // lockstep.config.yaml:42:9 stages[1].environments[0].windows[0].timeZone: "Europe/Londn" is not an IANA time zone. Fix: use "Europe/London"
 */
export function formatProblems(problems: readonly ConfigProblem[], source?: string): string {
  return problems.map((problem) => formatProblem(problem, source)).join('\n');
}

function formatProblem(problem: ConfigProblem, source?: string): string {
  let where = source ?? '';
  if (source !== undefined && problem.line !== undefined) {
    where += `:${problem.line}`;
    if (problem.column !== undefined) where += `:${problem.column}`;
  }
  const head = [where, problem.path].filter((part) => part !== '').join(' ');
  const message = endSentence(problem.message);
  const fix = endSentence(problem.fix);
  return `${head === '' ? '' : `${head}: `}${message} Fix: ${fix}`;
}

function endSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
