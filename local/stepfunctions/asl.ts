import { LocalConfigurationError } from '../errors';

/**
 * Prepares an ASL definition for aws-local-stepfunctions and records what each Task must be bound to.
 *
 * The engine runs the definition as written except for three rewrites, each for something it lacks:
 *
 * 1. `$$.Task.Token` (unsupported by the engine): every `"X.$": "$$.Task.Token"` in a Task's Parameters becomes
 *    `"X": TASK_TOKEN_SENTINEL`; the Task's local handler mints the token and puts it where the sentinel is before
 *    calling the function. A token used inside an intrinsic function is refused at load, not silently wrong.
 * 2. Wait states sleep on the wall clock in the engine. Each Wait becomes a Task bound to the local clock
 *    (`clock.sleepUntil`) whose Parameters carry the Wait's `Seconds`/`Timestamp`/`SecondsPath`/`TimestampPath`
 *    (so the engine evaluates the paths), with `ResultPath: null` and the Wait's InputPath folded into OutputPath,
 *    so its output is exactly a Wait's. A Wait on a computed timestamp thus ends when the (virtual) clock reaches it.
 * 3. Task timeouts: the engine enforces `TimeoutSeconds` with a wall-clock timer and applies 60 s when none is
 *    given (AWS: no limit). The local handler enforces the Task's own timeout on the local clock instead, and the
 *    engine gets the largest timer it can hold. `TimeoutSecondsPath` is evaluated by the engine as an extra
 *    Parameters member (`t`), next to the original Parameters (`p`), which the handler unwraps.
 */
export const TASK_TOKEN_SENTINEL = '__lockstep_local_task_token__';
/** Resource of the Task a Wait state becomes. */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::lockstep-local:wait';
/** Largest timeout the engine's setTimeout can hold (2^31-1 ms), in whole seconds. */
const ENGINE_MAX_TIMEOUT_SECONDS = 2_147_483;

export type TaskKind =
  'lambda' | 'lambda-invoke' | 'lambda-invoke-wait-for-token' | 'codebuild-start' | 'codebuild-start-sync' | 'wait';

export interface TaskBinding {
  readonly stateName: string;
  readonly kind: TaskKind;
  readonly resource: string;
  /** Task `TimeoutSeconds` (the handler reads `t` instead when the Task used `TimeoutSecondsPath`). */
  readonly timeoutSeconds?: number;
}

/** What a bound handler receives from the engine: original Parameters (or input) and the evaluated timeout. */
export interface WrappedTaskInput {
  readonly p?: unknown;
  readonly t?: number;
}

/** What a Wait-turned-Task receives. */
export interface WaitInput {
  readonly seconds?: number;
  readonly timestamp?: string;
}

export interface PreparedDefinition {
  readonly engineDefinition: Record<string, unknown>;
  /** State name -> binding, for every Task and Wait at any depth (Parallel branches, Map iterators). */
  readonly bindings: ReadonlyMap<string, TaskBinding>;
  /** Names of states that hold a Retry, for instant-retry overrides. */
  readonly retryableStates: readonly string[];
}

type Json = Record<string, unknown>;

export function classifyResource(resource: string): Exclude<TaskKind, 'wait'> | undefined {
  if (/^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/.test(resource)) return 'lambda';
  switch (resource.replace(/^arn:aws[a-z-]*:states:::/, 'states:::')) {
    case 'states:::lambda:invoke':
      return 'lambda-invoke';
    case 'states:::lambda:invoke.waitForTaskToken':
      return 'lambda-invoke-wait-for-token';
    case 'states:::codebuild:startBuild':
      return 'codebuild-start';
    case 'states:::codebuild:startBuild.sync':
      return 'codebuild-start-sync';
    default:
      return undefined;
  }
}

export function prepareDefinition(definition: Json): PreparedDefinition {
  const bindings = new Map<string, TaskBinding>();
  const retryableStates: string[] = [];
  const problems: string[] = [];
  const engineDefinition = structuredClone(definition);

  const walk = (machine: Json, path: string) => {
    const states = machine.States as Record<string, Json> | undefined;
    if (!states || typeof states !== 'object') return;
    for (const [name, state] of Object.entries(states)) {
      const where = `${path}.States.${name}`;
      if (bindings.has(name))
        problems.push(`${where}: state name ${name} is used twice; Step Functions requires unique state names`);
      if (Array.isArray(state.Retry)) retryableStates.push(name);
      switch (state.Type) {
        case 'Parallel':
          (state.Branches as Json[] | undefined)?.forEach((branch, i) => walk(branch, `${where}.Branches[${i}]`));
          break;
        case 'Map':
          walk((state.ItemProcessor ?? state.Iterator) as Json, `${where}.ItemProcessor`);
          break;
        case 'Wait':
          bindings.set(name, { stateName: name, kind: 'wait', resource: LOCAL_WAIT_RESOURCE });
          states[name] = waitAsTask(state);
          break;
        case 'Task': {
          const resource = typeof state.Resource === 'string' ? state.Resource : '';
          const kind = classifyResource(resource);
          if (!kind) {
            problems.push(
              `${where}: Resource ${resource} has no local implementation (Lambda ARNs, lambda:invoke[.waitForTaskToken] and codebuild:startBuild[.sync] do)`,
            );
            break;
          }
          const timeoutSeconds = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined;
          bindings.set(name, {
            stateName: name,
            kind,
            resource,
            ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
          });
          const parameters =
            state.Parameters === undefined
              ? undefined
              : replaceTokenReferences(state.Parameters, `${where}.Parameters`, problems);
          const wrapped: Json = parameters === undefined ? { 'p.$': '$' } : { p: parameters };
          if (typeof state.TimeoutSecondsPath === 'string') wrapped['t.$'] = state.TimeoutSecondsPath;
          state.Parameters = wrapped;
          delete state.TimeoutSecondsPath;
          delete state.HeartbeatSeconds;
          delete state.HeartbeatSecondsPath;
          state.TimeoutSeconds = ENGINE_MAX_TIMEOUT_SECONDS;
          break;
        }
        default:
          break;
      }
    }
  };
  walk(engineDefinition, '$');
  if (problems.length > 0)
    throw new LocalConfigurationError(`The state machine cannot run locally:\n- ${problems.join('\n- ')}`);
  return { engineDefinition, bindings, retryableStates };
}

function replaceTokenReferences(template: unknown, path: string, problems: string[]): unknown {
  if (Array.isArray(template)) return template.map((v, i) => replaceTokenReferences(v, `${path}[${i}]`, problems));
  if (template === null || typeof template !== 'object') return template;
  const out: Json = {};
  for (const [key, value] of Object.entries(template as Json)) {
    if (key.endsWith('.$') && value === '$$.Task.Token') {
      out[key.slice(0, -2)] = TASK_TOKEN_SENTINEL;
    } else if (key.endsWith('.$') && typeof value === 'string' && value.includes('$$.Task.Token')) {
      problems.push(
        `${path}.${key}: pass $$.Task.Token as a value of its own ("Key.$": "$$.Task.Token"); local mode cannot run it inside ${value}`,
      );
      out[key] = value;
    } else {
      out[key] = replaceTokenReferences(value, `${path}.${key}`, problems);
    }
  }
  return out;
}

function waitAsTask(wait: Json): Json {
  const parameters: Json = {};
  if (wait.Seconds !== undefined) parameters.seconds = wait.Seconds;
  if (wait.Timestamp !== undefined) parameters.timestamp = wait.Timestamp;
  if (typeof wait.SecondsPath === 'string') parameters['seconds.$'] = wait.SecondsPath;
  if (typeof wait.TimestampPath === 'string') parameters['timestamp.$'] = wait.TimestampPath;
  const task: Json = {
    Type: 'Task',
    Resource: LOCAL_WAIT_RESOURCE,
    Parameters: parameters,
    ResultPath: null,
    TimeoutSeconds: ENGINE_MAX_TIMEOUT_SECONDS,
  };
  if (wait.Comment !== undefined) task.Comment = wait.Comment;
  if (wait.InputPath !== undefined) task.InputPath = wait.InputPath;
  // A Wait's output is its effective input (after InputPath) through OutputPath; ResultPath null yields the raw
  // input, so InputPath is applied again in front of OutputPath.
  const outputPath = composePaths(
    wait.InputPath as string | null | undefined,
    wait.OutputPath as string | null | undefined,
  );
  if (outputPath !== undefined) task.OutputPath = outputPath;
  if (wait.Next !== undefined) task.Next = wait.Next;
  if (wait.End !== undefined) task.End = wait.End;
  return task;
}

function composePaths(
  inputPath: string | null | undefined,
  outputPath: string | null | undefined,
): string | null | undefined {
  if (inputPath === null || outputPath === null) return null;
  if (inputPath === undefined || inputPath === '$') return outputPath;
  if (outputPath === undefined || outputPath === '$') return inputPath;
  return inputPath + outputPath.slice(1);
}

/** Replaces every occurrence of the sentinel in a payload with the minted token. */
export function insertTaskToken(payload: unknown, token: string): unknown {
  if (payload === TASK_TOKEN_SENTINEL) return token;
  if (Array.isArray(payload)) return payload.map((v) => insertTaskToken(v, token));
  if (payload !== null && typeof payload === 'object') {
    return Object.fromEntries(Object.entries(payload as Json).map(([k, v]) => [k, insertTaskToken(v, token)]));
  }
  return payload;
}

/** Substitutes `${Name}` placeholders as CDK `definitionSubstitutions` does; leftovers are an error. */
export function substitutePlaceholders(text: string, substitutions: Readonly<Record<string, string>>): string {
  const result = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => substitutions[name] ?? whole);
  const missing = [...new Set([...result.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))];
  if (missing.length > 0)
    throw new LocalConfigurationError(`No substitution given for ${missing.map((m) => `\${${m}}`).join(', ')}`);
  return result;
}
