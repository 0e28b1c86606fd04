/**
 * Turns zod issues into `ConfigProblem`s a person can act on: plain English, the value that was found, and a fix
 * (allowed keys for an unknown key, allowed values for an enum, the expected form for a union, "did you mean").
 *
 * It reads the schema itself (through zod's `_zod.def`) to name allowed keys and expected shapes, so messages stay
 * right when the schema changes.
 */
import type { z } from 'zod';
import { formatPath, type ConfigProblem, type PathSegment } from './problems';
import { clockTimeSchema, durationSchema, nameSchema, pipelineNameSchema } from './schema';
import { didYouMean } from './suggest';

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;

interface Def {
  readonly type: string;
  readonly shape?: Record<string, Schema>;
  readonly element?: Schema;
  readonly innerType?: Schema;
  readonly in?: Schema;
  readonly options?: readonly Schema[];
  readonly valueType?: Schema;
  readonly entries?: Record<string, string | number>;
}

function def(schema: Schema): Def {
  return schema._zod.def;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

/** The schema under optional/default/... wrappers. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const d = def(current);
    if (WRAPPERS.has(d.type) && d.innerType) current = d.innerType;
    else if (d.type === 'pipe' && d.in) current = d.in;
    else return current;
  }
}

/** True when a key with this schema may be left out (it is optional or has a default). */
export function isOptional(schema: Schema | undefined): boolean {
  if (!schema) return false;
  const type = def(schema).type;
  return type === 'optional' || type === 'default' || type === 'prefault';
}

/** Keys an object schema allows, or `[]` when `schema` is not an object. */
export function allowedKeys(schema: Schema | undefined): string[] {
  if (!schema) return [];
  const d = def(unwrap(schema));
  if (d.type === 'object' && d.shape) return Object.keys(d.shape);
  if (d.type === 'union' && d.options) return [...new Set(d.options.flatMap((option) => allowedKeys(option)))];
  return [];
}

/** The schema that governs the value at `path`, following unions by the key that comes next. */
export function schemaAt(root: Schema, path: readonly PathSegment[]): Schema | undefined {
  let current: Schema | undefined = root;
  for (const segment of path) {
    if (!current) return undefined;
    current = childSchema(unwrap(current), segment);
  }
  return current;
}

function childSchema(schema: Schema, segment: PathSegment): Schema | undefined {
  const d = def(schema);
  switch (d.type) {
    case 'object':
      return typeof segment === 'string' ? d.shape?.[segment] : undefined;
    case 'array':
      return typeof segment === 'number' ? d.element : undefined;
    case 'record':
      return d.valueType;
    case 'union':
      for (const option of d.options ?? []) {
        const child = childSchema(unwrap(option), segment);
        if (child) return child;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** The value at `path` in plain data, or `undefined`. */
export function valueAt(value: unknown, path: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** What a value of this schema looks like, for fixes: `a name`, `a list of text`, `{ github: { owner, repo, branch } }`. */
export function describeSchema(schema: Schema, depth = 0): string {
  const named = NAMED_FORMATS.get(schema);
  if (named !== undefined) return named;
  const inner = unwrap(schema);
  if (inner !== schema) return describeSchema(inner, depth);
  const d = def(inner);
  switch (d.type) {
    case 'string':
      return 'text';
    case 'boolean':
      return 'true or false';
    case 'number':
    case 'int':
      return 'a number';
    case 'enum':
      return `one of ${Object.values(d.entries ?? {}).join(', ')}`;
    case 'array':
      return `a list of ${plural(describeSchema(d.element!, depth + 1))}`;
    case 'record':
      return 'a map of names to text';
    case 'union':
      return (d.options ?? []).map((option) => describeSchema(option, depth)).join(' or ');
    case 'object': {
      const keys = Object.keys(d.shape ?? {});
      if (keys.length === 1 && depth < 2) return `{ ${keys[0]}: ${describeSchema(d.shape![keys[0]!]!, depth + 1)} }`;
      return `{ ${keys.join(', ')} }`;
    }
    default:
      return 'a value';
  }
}

function plural(description: string): string {
  if (description === 'a name') return 'names';
  if (description === 'text') return 'text values';
  return description.replace(/^an? /, '') + (description.startsWith('{') ? ' objects' : '');
}

function describeValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  // A primitive by now (null and objects returned above); TypeScript narrows `unknown` only to `{}` here.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return `${typeof value === 'number' ? 'the number' : ''} ${String(value)}`.trim();
}

function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Examples for keys users most often leave out, so "add ..." shows a line they can paste. */
const KEY_EXAMPLES: Record<string, string> = {
  timeZone: 'Europe/London (an IANA time zone)',
  start: '"22:00"',
  end: '"04:00" (earlier than start means the window crosses midnight)',
  days: '[mon, tue, wed, thu, fri]',
  commands: '[npm ci, npm run build]',
  deploy: '{ commands: [./deploy.sh] }',
  build: '{ commands: [npm ci, npm run build] }',
  source: '{ github: { owner: my-org, repo: my-service, branch: main } }',
  to: 'the name of the destination environment',
  from: '{ application: my-service } or { environment: beta }',
  approvers: '[someone@example.com]',
  emails: '[someone@example.com]',
};

/** Shared string schemas whose format has a name users know. */
const NAMED_FORMATS = new Map<Schema, string>([
  [nameSchema, 'a name'],
  [pipelineNameSchema, 'a pipeline name'],
  [clockTimeSchema, 'a time such as "22:00"'],
  [durationSchema, 'a duration such as "30m"'],
]);

/** Fix texts for formats when the schema gives no directions of its own. */
const FORMAT_FIX: Record<string, string> = {
  email: 'use an email address such as ops@example.com',
};

/**
 * Problems for zod issues found while parsing `input` against `root`. Union failures are resolved to the branch
 * the input was evidently meant to be (the one whose keys it uses), so the user hears about their typo rather than
 * about every alternative.
 */
export function schemaProblems(issues: readonly Issue[], input: unknown, root: Schema): ConfigProblem[] {
  return issues.flatMap((issue) => issueProblems(issue, [], input, root));
}

function issueProblems(issue: Issue, prefix: readonly PathSegment[], input: unknown, root: Schema): ConfigProblem[] {
  const path: PathSegment[] = [...prefix, ...(issue.path as PathSegment[])];
  const value = valueAt(input, path);
  const schema = schemaAt(root, path);
  const key = [...path].reverse().find((segment): segment is string => typeof segment === 'string') ?? 'value';
  const problem = (message: string, fix: string, at: readonly PathSegment[] = path): ConfigProblem => ({
    rule: 'schema',
    path: formatPath(at),
    message,
    fix,
  });

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema);
      return issue.keys.map((unknownKey) => {
        const suggestion = didYouMean(unknownKey, allowed);
        return problem(
          `unknown key "${unknownKey}"`,
          `${suggestion === '' ? '' : `${suggestion}Otherwise `}remove it, or check its spelling; allowed keys: ${allowed.join(', ')}`,
          [...path, unknownKey],
        );
      });
    }
    case 'invalid_type': {
      const expected = schema ? describeSchema(schema) : issue.expected;
      if (value === undefined)
        return [problem(`missing required key "${key}"`, `add ${key}: ${KEY_EXAMPLES[key] ?? expected}`)];
      if (value === null) return [problem('has no value', `give it ${expected}`)];
      // zod reports a fraction where an integer belongs as a type error ("must be a number, not the number 1.5").
      if (issue.expected === 'int' && typeof value === 'number')
        return [
          problem(
            `must be a whole number, not ${value}`,
            issue.message.startsWith('use ') ? issue.message : 'write it without a fraction',
          ),
        ];
      if (issue.expected === 'array' && !Array.isArray(value) && typeof value !== 'object') {
        // A primitive here (the condition above), which TypeScript cannot narrow `unknown` to.
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        return [
          problem(
            `must be a list, not ${describeValue(value)}`,
            `write it as a list, e.g. [${text}], or as lines starting with "- "`,
          ),
        ];
      }
      return [problem(`must be ${expected}, not ${describeValue(value)}`, `write it as ${expected}`)];
    }
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      return [
        problem(
          `${quote(value)} is not an allowed value`,
          `${didYouMean(String(value), allowed)}use one of: ${allowed.join(', ')}`,
        ),
      ];
    }
    case 'invalid_format': {
      const named = schema ? NAMED_FORMATS.get(unwrap(schema)) : undefined;
      const noun = issue.format === 'email' ? 'an email address' : named;
      const fix = issue.message.startsWith('use ')
        ? issue.message
        : (FORMAT_FIX[issue.format] ?? 'use the documented format');
      return [
        problem(`${quote(value)} is not ${noun === undefined ? 'in the expected format' : `valid as ${noun}`}`, fix),
      ];
    }
    case 'too_small': {
      const own = /^(use|list) /.test(issue.message) ? issue.message : undefined;
      if (issue.origin === 'array') {
        const count = Array.isArray(value) ? value.length : 0;
        return [
          problem(
            count === 0
              ? 'is empty'
              : `has ${count} item${count === 1 ? '' : 's'}, fewer than the ${String(issue.minimum)} needed`,
            own ?? `list at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`,
          ),
        ];
      }
      return [
        problem(
          value === '' ? 'is empty' : `is too small (minimum ${String(issue.minimum)})`,
          own ?? 'give it a value',
        ),
      ];
    }
    case 'too_big':
      return [problem(`is too big (maximum ${String(issue.maximum)})`, 'shorten it')];
    case 'invalid_union':
      return unionProblems(issue, path, input, schema, root);
    default:
      return [problem(issue.message, 'check this value against the pipeline definition reference')];
  }
}

/** An issue that says "the input is not this union branch at all" rather than "this branch, with a mistake". */
function isMismatch(issue: Issue, value: unknown): boolean {
  const depth = issue.path.length;
  if (depth === 0 && (issue.code === 'invalid_type' || issue.code === 'unrecognized_keys')) return true;
  if (depth === 1 && issue.code === 'invalid_type' && valueAt(value, issue.path as PathSegment[]) === undefined)
    return true;
  if (depth === 0 && issue.code === 'invalid_union') {
    return issue.errors.every((branch) => branch.some((inner) => isMismatch(inner, value)));
  }
  return false;
}

function unionProblems(
  issue: Extract<Issue, { code: 'invalid_union' }>,
  path: PathSegment[],
  input: unknown,
  schema: Schema | undefined,
  root: Schema,
): ConfigProblem[] {
  const value = valueAt(input, path);
  const intended = issue.errors
    .filter((branch) => !branch.some((inner) => isMismatch(inner, value)))
    .sort((a, b) => a.length - b.length)[0];
  if (intended) return intended.flatMap((inner) => issueProblems(inner, path, input, root));

  const forms = schema ? (def(unwrap(schema)).options ?? []).map((option) => describeSchema(option)) : [];
  const written = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  const hint = written.map((k) => didYouMean(k, allowedKeys(schema))).find((text) => text !== '') ?? '';
  return [
    {
      rule: 'schema',
      path: formatPath(path),
      message: `is not in a recognized form (found ${describeValue(value)}${written.length > 0 ? ` with keys ${written.join(', ')}` : ''})`,
      fix: hint === '' ? `write it as ${forms.join(', or as ')}` : `${hint}The accepted forms are ${forms.join(', ')}`,
    },
  ];
}
