/**
 * `lockstep explain [file] [--state state.json] [--at ISO-time] [--promotion id]`: runs one reconcile pass over a
 * pipeline and a runtime state, and prints for every (promotion, application) what would happen now and why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_PIPELINE_FILE, importPipeline, loadPipeline } from '../../lambdas/core/config/load';
import { promotionId, type Pipeline } from '../../lambdas/core/config/schema';
import { reconcile, type PromotionDecision, type World } from '../../lambdas/core/decide/snapshots';
import { parseWorld } from '../../lambdas/core/decide/world-schema';
import { LockstepError } from '../../lambdas/core/errors';

/** A bad `explain` argument or state file; the message says what to fix. */
export class ExplainInputError extends LockstepError {}

const EMPTY_WORLD: World = { revisions: {}, environments: {}, promotionApprovals: [], startedExecutions: [] };

/**
 * Reads a state file: a `World` as JSON, optionally with `"at": "<ISO time>"`, the moment the state describes
 * (so an example explains the same way whenever it is run).
 *
 * @throws ExplainInputError for unreadable JSON or a bad `at`; WorldStateError for a state that is not a `World`.
 */
export function readStateFile(path: string): { world: World; at?: number } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ExplainInputError(`Cannot read the state file ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
  let at: number | undefined;
  if (json !== null && typeof json === 'object' && 'at' in json) {
    const { at: atText, ...rest } = json;
    at = parseInstant(atText, `"at" in ${path}`);
    json = rest;
  }
  return { world: parseWorld(json, path), at };
}

function parseInstant(text: unknown, what: string): number {
  const instant = typeof text === 'string' ? Date.parse(text) : NaN;
  if (Number.isNaN(instant)) {
    throw new ExplainInputError(
      `${what} must be an ISO time such as 2024-06-05T15:00:00Z, not ${JSON.stringify(text)}`,
    );
  }
  return instant;
}

/**
 * The lines `explain` prints: a heading, then one aligned line per decision (promotion, application, kind, reason).
 *
 * @example
 * formatDecisions('shop', Date.parse('2024-06-05T15:00:00Z'), reconcile(pipeline, world, at));
 * // ["Pipeline shop at 2024-06-05T15:00:00.000Z:", "  storefront-to-alpha  storefront  deploy  Deploy ..."]
 */
export function formatDecisions(pipeline: string, at: number, decisions: readonly PromotionDecision[]): string[] {
  const lines = [`Pipeline ${pipeline} at ${new Date(at).toISOString()}:`];
  if (decisions.length === 0) return [...lines, '  (no promotions)'];
  const width = (f: (d: PromotionDecision) => string) => Math.max(...decisions.map((d) => f(d).length));
  const wp = width((d) => d.promotion);
  const wa = width((d) => d.application);
  const wk = width((d) => d.decision.kind);
  for (const d of decisions) {
    lines.push(
      `  ${d.promotion.padEnd(wp)}  ${d.application.padEnd(wa)}  ${d.decision.kind.padEnd(wk)}  ${d.decision.reason}`,
    );
  }
  return lines;
}

export interface ExplainOptions {
  readonly state?: string;
  readonly at?: string;
  readonly promotion?: string;
  readonly json?: boolean;
}

/**
 * Runs `explain` for a pipeline already loaded. The state comes from `options.state`, else `state.json` next to
 * the pipeline file when it exists, else an empty world. The time comes from `--at`, else the state's `at`, else
 * `now`.
 */
export function explain(pipeline: Pipeline, file: string, options: ExplainOptions, now: number): string {
  const statePath = options.state ?? join(dirname(file), 'state.json');
  const state =
    options.state !== undefined || existsSync(statePath) ? readStateFile(statePath) : { world: EMPTY_WORLD };
  const at = options.at !== undefined ? parseInstant(options.at, '--at') : (state.at ?? now);
  if (options.promotion !== undefined) {
    const ids = pipeline.promotions.map(promotionId);
    if (!ids.includes(options.promotion)) {
      throw new ExplainInputError(`No promotion "${options.promotion}" in ${file}; use one of: ${ids.join(', ')}`);
    }
  }
  const decisions = reconcile(pipeline, state.world, at, { promotion: options.promotion });
  if (options.json)
    return `${JSON.stringify({ pipeline: pipeline.pipeline.name, at: new Date(at).toISOString(), decisions }, null, 2)}\n`;
  return `${formatDecisions(pipeline.pipeline.name, at, decisions).join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('say what Lockstep would promote now, and why not where it would not')
    .argument('[file]', 'pipeline definition (.yaml, .json, or a .ts module exporting it)', DEFAULT_PIPELINE_FILE)
    .option('--state <file>', 'runtime state as JSON (default: state.json next to the pipeline file, else empty)')
    .option('--at <time>', 'decide as of this ISO time (default: the state\'s "at", else now)')
    .option('--promotion <id>', 'only this promotion, e.g. beta-to-prod-na')
    .option('--json', 'print the decisions as JSON')
    .action(async (file: string, options: ExplainOptions) => {
      const pipeline = /\.[cm]?[tj]s$/.test(file) ? await importPipeline(file) : loadPipeline(file);
      process.stdout.write(explain(pipeline, file, options, Date.now()));
    });
}
