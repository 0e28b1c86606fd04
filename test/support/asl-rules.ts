/**
 * Our rules for every ASL file in `statemachines/`, beyond what asl-validator checks, and a walker over nested
 * states (Parallel branches, Map processors) that the state machine tests use to bind Tasks by state name. It lives
 * with the tests because only they use it: CI runs it over every ASL file (test/statemachines/asl-rules.test.ts).
 *
 * Rules (each a pure function over the definition; a finding names the state and the fix):
 * - `jsonpath-only`: no `QueryLanguage`, `Assign`, `Arguments` or `Output` (JSONata and variables; the local engine
 *   runs JSONata silently as JSONPath).
 * - `choice-never-ends`: a Choice has no `End`.
 * - `states-all-last`: in every Catch and Retry list, `States.ALL` appears only in the last entry, alone.
 * - `task-retry-catch`: every Task has a non-empty Retry and Catch.
 * - `callback-timeout`: every `.waitForTaskToken` Task has `TimeoutSeconds` or `TimeoutSecondsPath`.
 */

/** A state as it appears in ASL (the fields the rules read). */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly End?: boolean;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly TimeoutSeconds?: number;
  readonly TimeoutSecondsPath?: string;
  readonly Branches?: readonly AslMachine[];
  readonly ItemProcessor?: AslMachine;
  readonly Iterator?: AslMachine;
  readonly [key: string]: unknown;
}

export interface AslMachine {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
  readonly [key: string]: unknown;
}

export interface AslFinding {
  readonly rule: 'jsonpath-only' | 'choice-never-ends' | 'states-all-last' | 'task-retry-catch' | 'callback-timeout';
  /** Path of state names from the top, e.g. `RunTests/RunTestStep`. */
  readonly state: string;
  readonly message: string;
}

/** Every state with its path, depth first, nested machines included. */
export function* walkStates(
  machine: AslMachine,
  prefix = '',
): Generator<{ name: string; path: string; state: AslState }> {
  for (const [name, state] of Object.entries(machine.States)) {
    const path = prefix ? `${prefix}/${name}` : name;
    yield { name, path, state };
    for (const [i, branch] of (state.Branches ?? []).entries()) yield* walkStates(branch, `${path}[${i}]`);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) yield* walkStates(processor, path);
  }
}

const JSONATA_FIELDS = ['QueryLanguage', 'Assign', 'Arguments', 'Output'] as const;

function statesAllLast(
  list: readonly { ErrorEquals: readonly string[] }[] | undefined,
  field: string,
  path: string,
): AslFinding[] {
  const findings: AslFinding[] = [];
  (list ?? []).forEach((entry, i) => {
    if (!entry.ErrorEquals.includes('States.ALL')) return;
    if (i !== (list ?? []).length - 1 || entry.ErrorEquals.length !== 1) {
      findings.push({
        rule: 'states-all-last',
        state: path,
        message: `${field}[${i}]: States.ALL must be alone in the last entry`,
      });
    }
  });
  return findings;
}

/** Runs every rule; an empty list means the definition passes. */
export function checkAslRules(machine: AslMachine): AslFinding[] {
  const findings: AslFinding[] = [];
  for (const field of JSONATA_FIELDS) {
    if (field in machine)
      findings.push({ rule: 'jsonpath-only', state: '(top level)', message: `remove ${field}: JSONPath only` });
  }
  for (const { path, state } of walkStates(machine)) {
    for (const field of JSONATA_FIELDS) {
      if (field in state)
        findings.push({
          rule: 'jsonpath-only',
          state: path,
          message: `remove ${field}: JSONPath only (use Parameters/ResultSelector/ResultPath)`,
        });
    }
    if (state.Type === 'Choice' && 'End' in state) {
      findings.push({
        rule: 'choice-never-ends',
        state: path,
        message: 'a Choice cannot end: add a Default that leads to a Succeed or Fail state',
      });
    }
    findings.push(...statesAllLast(state.Catch, 'Catch', path), ...statesAllLast(state.Retry, 'Retry', path));
    if (state.Type === 'Task') {
      if (!state.Retry || state.Retry.length === 0)
        findings.push({ rule: 'task-retry-catch', state: path, message: 'add a Retry for transient errors' });
      if (!state.Catch || state.Catch.length === 0)
        findings.push({ rule: 'task-retry-catch', state: path, message: 'add a Catch ending in States.ALL' });
      if (
        state.Resource?.endsWith('.waitForTaskToken') &&
        state.TimeoutSeconds === undefined &&
        state.TimeoutSecondsPath === undefined
      ) {
        findings.push({
          rule: 'callback-timeout',
          state: path,
          message: 'a .waitForTaskToken Task needs TimeoutSeconds (or TimeoutSecondsPath)',
        });
      }
    }
  }
  return findings;
}
