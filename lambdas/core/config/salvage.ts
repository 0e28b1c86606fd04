/**
 * Lets the cross-reference rules run on a definition that failed the schema, so `lockstep validate` reports every
 * problem in one pass rather than schema problems first and reference problems on the next run.
 *
 * It removes what the schema rejected (unknown keys, invalid optional values, and otherwise the nearest list item
 * holding the mistake), parses again, and remembers how list indices moved so the rules' paths can be mapped back
 * to the user's file. Names carried by removed items are "tolerated": references to them are not reported as
 * unknown, because the schema problem already explains them.
 */
import type { z } from 'zod';
import { formatPath, type PathSegment } from './problems';
import { isOptional, schemaAt, valueAt } from './schema-problems';

type PathMapper = (path: readonly PathSegment[]) => PathSegment[];

export interface Salvaged<T> {
  readonly value: T;
  /** Names defined or referred to by removed items. */
  readonly tolerate: ReadonlySet<string>;
  /** Maps a path in `value` back to the same place in the original input. */
  readonly toOriginal: PathMapper;
}

/** Rounds of remove-and-reparse; each round removes everything zod reported, so two are usually enough. */
const MAX_ROUNDS = 5;

/** Top-level keys whose content no rule reads: a placeholder keeps the rest checkable. */
const PLACEHOLDERS: Record<string, unknown> = { pipeline: { name: 'pipeline' } };

/**
 * Parses what can be parsed of `input`, or returns `undefined` when the mistakes sit where nothing can be removed
 * (for example `packages` missing altogether).
 */
export function salvage<S extends z.ZodType>(input: unknown, schema: S): Salvaged<z.output<S>> | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  // A JSON copy also expands YAML aliases into separate objects, so removing from one place leaves the others.
  let current = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
  const tolerate = new Set<string>();
  const mappers: PathMapper[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const result = schema.safeParse(current);
    if (result.success) {
      return {
        value: result.data,
        tolerate,
        toOriginal: (path) => mappers.reduceRight<PathSegment[]>((acc, mapper) => mapper(acc), [...path]),
      };
    }
    const next = removeRejected(current, result.error.issues, schema, tolerate);
    if (!next) return undefined;
    mappers.push(next.mapper);
    current = next.value;
  }
  return undefined;
}

function removeRejected(
  value: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  tolerate: Set<string>,
): { value: Record<string, unknown>; mapper: PathMapper } | undefined {
  const deletions: Array<{ owner: Record<string, unknown>; key: string }> = [];
  const removals = new Map<string, { array: unknown[]; indices: Set<number> }>();

  const target = (path: readonly PathSegment[]): boolean => {
    for (let depth = path.length; depth >= 1; depth--) {
      const segment = path[depth - 1]!;
      const parentPath = path.slice(0, depth - 1);
      const parent = valueAt(value, parentPath);
      if (typeof segment === 'number' && Array.isArray(parent)) {
        const key = formatPath(parentPath);
        const entry = removals.get(key) ?? { array: parent, indices: new Set<number>() };
        entry.indices.add(segment);
        removals.set(key, entry);
        collectNames(parent[segment], tolerate);
        return true;
      }
      if (depth === 1 && typeof segment === 'string' && segment in PLACEHOLDERS) {
        value[segment] = structuredClone(PLACEHOLDERS[segment]);
        return true;
      }
      if (typeof segment === 'string' && isOptional(schemaAt(schema, path.slice(0, depth))) && isRecord(parent)) {
        collectNames(parent[segment], tolerate);
        deletions.push({ owner: parent, key: segment });
        return true;
      }
    }
    return false;
  };

  for (const issue of issues) {
    const path = issue.path as PathSegment[];
    if (issue.code === 'unrecognized_keys') {
      const owner = valueAt(value, path);
      if (isRecord(owner)) for (const key of issue.keys) deletions.push({ owner, key });
      continue;
    }
    if (!target(path)) return undefined;
  }

  for (const { owner, key } of deletions) delete owner[key];
  const kept = new Map<string, number[]>();
  for (const [key, { array, indices }] of removals) {
    kept.set(
      key,
      array.map((_, index) => index).filter((index) => !indices.has(index)),
    );
    for (const index of [...indices].sort((a, b) => b - a)) array.splice(index, 1);
  }
  const mapper: PathMapper = (path) => {
    const out: PathSegment[] = [];
    for (const segment of path) {
      const indices = typeof segment === 'number' ? kept.get(formatPath(out)) : undefined;
      out.push(indices?.[segment as number] ?? segment);
    }
    return out;
  };
  return { value, mapper };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Names a removed item defines or refers to: its name, a promotion's endpoints, a stage's environments. */
function collectNames(item: unknown, into: Set<string>): void {
  if (typeof item === 'string') {
    into.add(item);
    return;
  }
  if (Array.isArray(item)) {
    for (const element of item) collectNames(element, into);
    return;
  }
  if (!isRecord(item)) return;
  for (const key of ['name', 'to', 'environment', 'application'] as const) collectNames(item[key], into);
  if (isRecord(item.from)) collectNames(item.from, into);
  if (Array.isArray(item.environments)) for (const environment of item.environments) collectNames(environment, into);
  if (Array.isArray(item.packages)) collectNames(item.packages, into);
}
