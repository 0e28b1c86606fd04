import '../polyfills';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context as LambdaContext } from 'aws-lambda';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { LOCAL_ACCOUNT, LOCAL_REGION, stateMachineArn } from '../constants';
import { LocalConfigurationError } from '../errors';
import { readJsonIfExists, whenMissing, writeJsonAtomic } from '../files';
import { systemClock, type Clock } from '../clock';
import { AwsApiError, requireString } from '../aws-protocol/errors';
import type { AwsServiceDefinition } from '../aws-protocol/server';
import type { LocalCodeBuild } from '../codebuild/codebuild';
import { toApiBuild } from '../codebuild/codebuild';
import {
  insertTaskToken,
  prepareDefinition,
  substitutePlaceholders,
  type PreparedDefinition,
  type TaskBinding,
  type WaitInput,
  type WrappedTaskInput,
} from './asl';

/**
 * The Step Functions API (awsJson1_0) for local mode, backed by aws-local-stepfunctions running the same ASL files
 * as AWS, with every Task bound by its Resource to an in-process implementation (see `asl.ts` for the rewrites):
 *
 * - a Lambda function ARN, or `arn:aws:states:::lambda:invoke` with `FunctionName`: the function registered with
 *   `registerFunction(name, handler)`. A direct ARN yields the handler's result; `lambda:invoke` yields
 *   `{ ExecutedVersion, Payload, StatusCode }`. A thrown error surfaces with its `name` (Retry/Catch match it) and a
 *   Lambda-style JSON cause.
 * - `lambda:invoke.waitForTaskToken`: a token is minted and put where the ASL had `$$.Task.Token`, the function is
 *   called, and the Task waits for SendTaskSuccess/SendTaskFailure with that token, or its TimeoutSeconds on the
 *   local clock (`States.Timeout`). Tokens are an HMAC of (execution, state, visit), so a resumed execution mints
 *   the same token again and a link sent before a restart still works once the Task is reached again.
 * - `codebuild:startBuild[.sync]`: the build starts on the local CodeBuild; `.sync` waits for it and returns
 *   `{ Build }` (PascalCase, as the service integration gives it), failing with `States.TaskFailed` and the build
 *   as cause when the build does not succeed. Stopping the execution stops the build.
 *
 * Executions are persisted as JSON under `<dataDir>/executions/<state machine>/`: after a restart, `listInFlight()`
 * names those that were RUNNING, and `resume(name)` runs one again from the start with the same input. That
 * relies on every Task's handler being idempotent per step (the promotion handlers are).
 */
// Handlers are Lambda handlers: any event in, any JSON-serialisable result out.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LocalFunctionHandler = (event: any, context: LambdaContext) => unknown;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  /** JSON text, as StartExecution received it. */
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** States entered (Parallel branches and Map iterations included): what Step Functions Standard bills. */
  stateTransitions: number;
  /** Task invocations (Lambda calls, builds, retries included; Wait states excluded). */
  taskInvocations: number;
  /** How many times `resume` re-ran this execution after a restart. */
  resumeCount: number;
  /** GetExecutionHistory's events, oldest first (a resumed run appends to them). Absent in records from before. */
  history?: HistoryEvent[];
}

/** One event of an execution's history, in the shape GetExecutionHistory returns (details under `<kind>EventDetails`). */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: number;
  readonly type: string;
  readonly [details: string]: unknown;
}

export interface StateMachineRegistration {
  readonly name: string;
  /** ASL as an object, JSON text, or `{ file }` (read now). */
  readonly definition: Record<string, unknown> | string | { readonly file: string };
  /** `${Placeholder}` -> value, like CDK `definitionSubstitutions`. */
  readonly substitutions?: Readonly<Record<string, string>>;
}

export interface LocalStepFunctionsOptions {
  readonly dataDir: string;
  /** Drives Wait states, Task timeouts and execution dates. @default systemClock */
  readonly clock?: Clock;
  /** Where `codebuild:startBuild[.sync]` Tasks run. */
  readonly codeBuild?: LocalCodeBuild;
  /**
   * Retry intervals of the engine run on the wall clock (it offers no hook for another clock). True makes every
   * retry immediate, for tests that drive a manual clock. @default false
   */
  readonly instantRetries?: boolean;
  /** Reports execution failures of the runner itself. @default console.error */
  readonly onInternalError?: (error: unknown) => void;
}

interface PendingTask {
  readonly executionArn: string;
  readonly stateName: string;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

interface ActiveExecution {
  readonly record: ExecutionRecord;
  readonly controller: AbortController;
  readonly done: Promise<ExecutionRecord>;
  readonly activeStates: Set<string>;
  abort?: () => void;
  stopRequest?: { error?: string; cause?: string };
}

interface RegisteredMachine {
  readonly arn: string;
  readonly name: string;
  readonly definitionText: string;
  readonly prepared: PreparedDefinition;
  readonly engine: StateMachine;
  readonly createdAt: number;
}

const NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** One engine per definition text: building one validates the ASL, which costs ~70 ms. */
const engineCache = new Map<string, { prepared: PreparedDefinition; engine: StateMachine }>();

export class LocalStepFunctions {
  private readonly machines = new Map<string, RegisteredMachine>();
  private readonly functions = new Map<string, LocalFunctionHandler>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly active = new Map<string, ActiveExecution>();
  private readonly tasks = new Map<string, PendingTask>();
  private readonly clock: Clock;

  private constructor(
    private readonly options: LocalStepFunctionsOptions,
    private readonly tokenKey: Buffer,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  static async open(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
    const dir = join(options.dataDir, 'executions');
    await mkdir(dir, { recursive: true });
    const keyFile = join(dir, '.task-token-key');
    let key = await readFile(keyFile).catch(whenMissing(undefined));
    if (!key || key.length < 32) {
      key = randomBytes(32);
      await writeFile(keyFile, key, { mode: 0o600 });
    }
    await loadStatesTimeoutErrorClass();
    const service = new LocalStepFunctions(options, key);
    await service.load();
    return service;
  }

  /** Binds a Lambda function name (or its ARN) to an in-process handler. */
  registerFunction(nameOrArn: string, handler: LocalFunctionHandler): void {
    this.functions.set(functionName(nameOrArn), handler);
  }

  /** The handler bound to a function name (or ARN), e.g. to wrap it with a stopwatch. */
  registeredFunction(nameOrArn: string): LocalFunctionHandler | undefined {
    return this.functions.get(functionName(nameOrArn));
  }

  registerStateMachine(registration: StateMachineRegistration): string {
    const raw =
      typeof registration.definition === 'string'
        ? registration.definition
        : 'file' in registration.definition
          ? readFileSync(registration.definition.file as string, 'utf8')
          : JSON.stringify(registration.definition);
    const text = substitutePlaceholders(raw, registration.substitutions ?? {});
    let cached = engineCache.get(text);
    if (!cached) {
      const prepared = prepareDefinition(JSON.parse(text) as Record<string, unknown>);
      // The engine's validator (asl-validator) runs here, once per definition.
      const engine = new StateMachine(prepared.engineDefinition as never);
      cached = { prepared, engine };
      engineCache.set(text, cached);
    }
    const arn = stateMachineArn(registration.name);
    this.machines.set(arn, {
      arn,
      name: registration.name,
      definitionText: text,
      ...cached,
      createdAt: this.clock.now(),
    });
    return arn;
  }

  // ---- in-process views ----

  getExecution(
    nameOrArn: string,
  ): (ExecutionRecord & { activeStates: string[]; waitingForTaskToken: string[] }) | undefined {
    const record = this.findRecord(nameOrArn);
    if (!record) return undefined;
    const active = this.active.get(record.executionArn);
    return {
      ...record,
      activeStates: active ? [...active.activeStates] : [],
      waitingForTaskToken: [...this.tasks.values()]
        .filter((t) => t.executionArn === record.executionArn)
        .map((t) => t.stateName),
    };
  }

  listExecutionRecords(): ExecutionRecord[] {
    return [...this.executions.values()].sort((a, b) => b.startDate - a.startDate);
  }

  /** Executions recorded as RUNNING that no run in this process drives: they were cut short by a crash. */
  listInFlight(): ExecutionRecord[] {
    return this.listExecutionRecords().filter((r) => r.status === 'RUNNING' && !this.active.has(r.executionArn));
  }

  /** Runs an in-flight execution again from the start with its original input. */
  resume(nameOrArn: string): ExecutionRecord {
    const record = this.findRecord(nameOrArn);
    if (!record) throw new AwsApiError('ExecutionDoesNotExist', `Execution does not exist: ${nameOrArn}`);
    if (record.status !== 'RUNNING' || this.active.has(record.executionArn)) {
      throw new LocalConfigurationError(
        `Execution ${record.name} is not in flight (status ${record.status}${this.active.has(record.executionArn) ? ', running now' : ''})`,
      );
    }
    const machine = this.machines.get(record.stateMachineArn);
    if (!machine)
      throw new LocalConfigurationError(
        `Register state machine ${record.stateMachineArn} before resuming ${record.name}`,
      );
    record.resumeCount++;
    this.run(machine, record);
    return record;
  }

  /** Resolves once the execution has finished. */
  async waitForExecution(nameOrArn: string): Promise<ExecutionRecord> {
    const record = this.findRecord(nameOrArn);
    if (!record) throw new AwsApiError('ExecutionDoesNotExist', `Execution does not exist: ${nameOrArn}`);
    return this.active.get(record.executionArn)?.done ?? record;
  }

  /** Aborts every running execution (their records stay RUNNING on disk: a restart lists them in flight). */
  async close(): Promise<void> {
    const running = [...this.active.values()];
    for (const execution of running) {
      execution.stopRequest = undefined;
      execution.controller.abort();
      execution.abort?.();
    }
    // Only waits for them to settle: each execution's outcome is in its record (close() leaves them RUNNING).
    await Promise.all(running.map((e) => e.done.catch(() => undefined)));
  }

  // ---- API operations ----

  async startExecution(input: Record<string, unknown>) {
    const machineArn = requireString(input, 'stateMachineArn');
    const machine = this.machines.get(machineArn);
    if (!machine) throw new AwsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${machineArn}'`);
    const name = typeof input.name === 'string' ? input.name : randomUUID();
    if (!NAME_PATTERN.test(name)) throw new AwsApiError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = typeof input.input === 'string' ? input.input : '{}';
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(inputText);
    } catch {
      throw new AwsApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input is not valid JSON');
    }
    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Step Functions: the same name and input while RUNNING answers as the first call did; anything else fails.
      if (existing.status === 'RUNNING' && sameJson(existing.input, parsedInput)) {
        return { executionArn, startDate: new Date(existing.startDate) };
      }
      throw new AwsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machineArn,
      name,
      input: inputText,
      status: 'RUNNING',
      startDate: this.clock.now(),
      stateTransitions: 0,
      taskInvocations: 0,
      resumeCount: 0,
    };
    this.executions.set(executionArn, record);
    await this.save(record);
    this.run(machine, record);
    return { executionArn, startDate: new Date(record.startDate) };
  }

  describeExecution(input: Record<string, unknown>) {
    const arn = requireString(input, 'executionArn');
    const record = this.executions.get(arn);
    if (!record) throw new AwsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: new Date(record.startDate),
      stopDate: record.stopDate === undefined ? undefined : new Date(record.stopDate),
      input: record.input,
      inputDetails: { included: true },
      output: record.output,
      ...(record.output !== undefined ? { outputDetails: { included: true } } : {}),
      error: record.error,
      cause: record.cause,
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  listExecutions(input: Record<string, unknown>) {
    const arn = requireString(input, 'stateMachineArn');
    if (!this.machines.has(arn))
      throw new AwsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    const filter = typeof input.statusFilter === 'string' ? input.statusFilter : undefined;
    const all = this.listExecutionRecords().filter(
      (r) => r.stateMachineArn === arn && (!filter || r.status === filter),
    );
    const max = typeof input.maxResults === 'number' && input.maxResults > 0 ? Math.min(input.maxResults, 1000) : 100;
    const offset = typeof input.nextToken === 'string' ? Number(input.nextToken) || 0 : 0;
    return {
      executions: all.slice(offset, offset + max).map((r) => ({
        executionArn: r.executionArn,
        stateMachineArn: r.stateMachineArn,
        name: r.name,
        status: r.status,
        startDate: new Date(r.startDate),
        stopDate: r.stopDate === undefined ? undefined : new Date(r.stopDate),
      })),
      ...(offset + max < all.length ? { nextToken: String(offset + max) } : {}),
    };
  }

  async stopExecution(input: Record<string, unknown>) {
    const arn = requireString(input, 'executionArn');
    const record = this.executions.get(arn);
    if (!record) throw new AwsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    const active = this.active.get(arn);
    const stopRequest = {
      ...(typeof input.error === 'string' ? { error: input.error } : {}),
      ...(typeof input.cause === 'string' ? { cause: input.cause } : {}),
    };
    if (active) {
      active.stopRequest = stopRequest;
      active.controller.abort();
      active.abort?.();
      await active.done;
    } else if (record.status === 'RUNNING') {
      // In flight from before a restart: nothing runs it, so stopping only closes the record.
      await this.close_(record, { status: 'ABORTED', ...stopRequest });
    }
    return { stopDate: new Date(record.stopDate ?? this.clock.now()) };
  }

  sendTaskSuccess(input: Record<string, unknown>) {
    const task = this.takeTask(input);
    const outputText = typeof input.output === 'string' ? input.output : '';
    let output: unknown;
    try {
      output = JSON.parse(outputText);
    } catch {
      throw new AwsApiError('InvalidOutput', 'Invalid Output: output is not valid JSON');
    }
    this.tasks.delete(String(input.taskToken));
    task.resolve(output);
    return {};
  }

  sendTaskFailure(input: Record<string, unknown>) {
    const task = this.takeTask(input);
    this.tasks.delete(String(input.taskToken));
    const name = typeof input.error === 'string' && input.error !== '' ? input.error : 'States.TaskFailed';
    task.reject(namedError(name, typeof input.cause === 'string' ? input.cause : ''));
    return {};
  }

  sendTaskHeartbeat(input: Record<string, unknown>) {
    // HeartbeatSeconds is not enforced locally; a heartbeat only proves the token is live.
    this.takeTask(input);
    return {};
  }

  describeStateMachine(input: Record<string, unknown>) {
    const arn = requireString(input, 'stateMachineArn');
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return {
      stateMachineArn: arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: machine.definitionText,
      roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/lockstep-local`,
      type: 'STANDARD',
      creationDate: new Date(machine.createdAt),
    };
  }

  /**
   * GetExecutionHistory: the events the engine reported, as Step Functions names them (`ExecutionStarted`,
   * `TaskStateEntered`, `TaskScheduled`, `TaskSucceeded`, `ChoiceStateExited`, `ExecutionFailed`, ...), ids from 1,
   * `previousEventId` the event before it (0 for the first), `maxResults` (1-1000, default 100) per page with a
   * `nextToken`, `reverseOrder`, and `includeExecutionData: false` leaving inputs and outputs out.
   */
  getExecutionHistory(input: Record<string, unknown>) {
    const arn = requireString(input, 'executionArn');
    const record = this.executions.get(arn);
    if (!record) throw new AwsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    const max = input.maxResults === undefined || input.maxResults === 0 ? 100 : Number(input.maxResults);
    if (!Number.isInteger(max) || max < 1 || max > 1000)
      throw new AwsApiError('ValidationException', 'maxResults must be between 1 and 1000');
    const offset = typeof input.nextToken === 'string' ? Number(input.nextToken) : 0;
    if (!Number.isInteger(offset) || offset < 0)
      throw new AwsApiError('InvalidToken', 'Invalid Token: the nextToken is not one this execution gave');
    const all = [...(record.history ?? [])];
    if (input.reverseOrder === true) all.reverse();
    const withData = input.includeExecutionData !== false;
    const events = all
      .slice(offset, offset + max)
      .map((event) => ({ ...(withData ? event : withoutData(event)), timestamp: new Date(event.timestamp) }));
    return { events, ...(offset + max < all.length ? { nextToken: String(offset + max) } : {}) };
  }

  listStateMachines() {
    return {
      stateMachines: [...this.machines.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: 'STANDARD',
        creationDate: new Date(m.createdAt),
      })),
    };
  }

  definition(): AwsServiceDefinition {
    type Op = (input: Record<string, unknown>) => unknown;
    const ops: Record<string, Op> = {
      StartExecution: (i) => this.startExecution(i),
      DescribeExecution: (i) => this.describeExecution(i),
      ListExecutions: (i) => this.listExecutions(i),
      StopExecution: (i) => this.stopExecution(i),
      SendTaskSuccess: (i) => this.sendTaskSuccess(i),
      SendTaskFailure: (i) => this.sendTaskFailure(i),
      SendTaskHeartbeat: (i) => this.sendTaskHeartbeat(i),
      DescribeStateMachine: (i) => this.describeStateMachine(i),
      GetExecutionHistory: (i) => this.getExecutionHistory(i),
      ListStateMachines: () => this.listStateMachines(),
    };
    return { serviceName: 'Step Functions', protocol: 'awsJson1_0', targetPrefix: 'AWSStepFunctions', operations: ops };
  }

  // ---- running ----

  private run(machine: RegisteredMachine, record: ExecutionRecord): void {
    const controller = new AbortController();
    const activeStates = new Set<string>();
    const visits = new Map<string, number>();
    const handlers: Record<string, (input: never) => Promise<unknown>> = {};
    for (const binding of machine.prepared.bindings.values()) {
      handlers[binding.stateName] = (input: never) => this.runTask(binding, input, record, controller.signal, visits);
    }
    const retryIntervalOverrides = this.options.instantRetries
      ? Object.fromEntries(machine.prepared.retryableStates.map((s) => [s, 0]))
      : undefined;

    // Before the engine starts: it may call the first Task's handler before `run` returns.
    const history = new ExecutionHistory(record, machine, this.clock);
    if (record.resumeCount === 0 && (record.history ?? []).length === 0) history.started();
    historyOf.set(record, history);
    const execution = machine.engine.run(JSON.parse(record.input) as Parameters<StateMachine['run']>[0], {
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}),
      },
      context: {
        Execution: {
          Id: record.executionArn,
          Name: record.name,
          RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/lockstep-local`,
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    const entry: ActiveExecution = {
      record,
      controller,
      activeStates,
      abort: execution.abort,
      done: Promise.resolve(record),
    };
    this.active.set(record.executionArn, entry);

    const counting = (async () => {
      for await (const event of execution.eventLogs) {
        history.add(event);
        if (event.type === 'StateEntered') {
          record.stateTransitions++;
          activeStates.add(event.state.name);
        } else if (event.type === 'StateExited' || event.type === 'StateFailed') {
          activeStates.delete(event.state.name);
        }
      }
    })();

    (entry as { done: Promise<ExecutionRecord> }).done = execution.result
      .then(
        (output) => this.close_(record, { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
        (error: unknown) => {
          if (error instanceof ExecutionAbortedError || controller.signal.aborted) {
            // close() leaves the record RUNNING on purpose (a restart resumes it); StopExecution closes it.
            if (entry.stopRequest === undefined) return undefined;
            return this.close_(record, { status: 'ABORTED', ...entry.stopRequest });
          }
          if (error instanceof ExecutionTimeoutError)
            return this.close_(record, {
              status: 'TIMED_OUT',
              error: 'States.Timeout',
              cause: 'The execution timed out',
            });
          if (error instanceof ExecutionError) {
            const cause = (error as Error & { cause?: Error }).cause;
            return this.close_(record, {
              status: 'FAILED',
              error: cause?.name ?? 'States.Runtime',
              cause: cause?.message ?? error.message,
            });
          }
          (this.options.onInternalError ?? console.error)(error);
          return this.close_(record, { status: 'FAILED', error: 'States.Runtime', cause: (error as Error).message });
        },
      )
      .then(async () => {
        controller.abort();
        // Waits for the visit counter to stop; its failure was the execution's and is recorded above.
        await counting.catch(() => undefined);
        if (record.status !== 'RUNNING') history.ended();
        for (const [token, task] of this.tasks) if (task.executionArn === record.executionArn) this.tasks.delete(token);
        this.active.delete(record.executionArn);
        if (record.status !== 'RUNNING') await this.save(record);
        return record;
      });
  }

  private async runTask(
    binding: TaskBinding,
    input: WrappedTaskInput & WaitInput,
    record: ExecutionRecord,
    executionSignal: AbortSignal,
    visits: Map<string, number>,
  ): Promise<unknown> {
    if (binding.kind === 'wait') return this.runWait(input, executionSignal);
    record.taskInvocations++;
    const history = historyOf.get(record);
    history?.task(binding, 'TaskScheduled', {
      resourceType: resourceTypeOf(binding.resource),
      resource: resourceNameOf(binding.resource),
      region: LOCAL_REGION,
      parameters: JSON.stringify(input.p ?? {}),
    });
    history?.task(binding, 'TaskStarted', {
      resourceType: resourceTypeOf(binding.resource),
      resource: resourceNameOf(binding.resource),
    });
    try {
      const output = await this.runTaskBody(binding, input, record, executionSignal, visits);
      history?.task(binding, 'TaskSucceeded', {
        resourceType: resourceTypeOf(binding.resource),
        resource: resourceNameOf(binding.resource),
        output: JSON.stringify(output ?? null),
      });
      return output;
    } catch (error) {
      const name = (error as Error)?.name;
      history?.task(binding, name === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed', {
        resourceType: resourceTypeOf(binding.resource),
        resource: resourceNameOf(binding.resource),
        error: name,
        cause: (error as Error)?.message ?? '',
      });
      throw error;
    }
  }

  private async runTaskBody(
    binding: TaskBinding,
    input: WrappedTaskInput & WaitInput,
    record: ExecutionRecord,
    executionSignal: AbortSignal,
    visits: Map<string, number>,
  ): Promise<unknown> {
    const timeoutSeconds = typeof input.t === 'number' ? input.t : binding.timeoutSeconds;
    const taskController = new AbortController();
    const signal = AbortSignal.any([executionSignal, taskController.signal]);
    const work = this.invoke(binding, input.p, record, signal, visits);
    if (timeoutSeconds === undefined) return work;
    // If the timeout wins, a later failure of the abandoned work must not surface as an unhandled rejection.
    work.catch(() => undefined);
    const deadline = this.clock.now() + timeoutSeconds * 1000;
    const timeout = this.clock.sleepUntil(deadline, signal).then(() => {
      if (!signal.aborted) throw new (statesTimeoutErrorClass())();
      return new Promise<never>(() => undefined);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      taskController.abort();
    }
  }

  private async runWait(input: WaitInput, signal: AbortSignal): Promise<unknown> {
    let until: number;
    if (input.timestamp !== undefined) {
      until = Date.parse(String(input.timestamp));
      if (Number.isNaN(until))
        throw namedError('States.Runtime', `Wait timestamp ${String(input.timestamp)} is not an RFC 3339 timestamp`);
    } else {
      const seconds = Number(input.seconds);
      if (!Number.isInteger(seconds) || seconds < 0)
        throw namedError('States.Runtime', `Wait seconds ${String(input.seconds)} is not a non-negative integer`);
      until = this.clock.now() + seconds * 1000;
    }
    await this.clock.sleepUntil(until, signal);
    return {};
  }

  private async invoke(
    binding: TaskBinding,
    parameters: unknown,
    record: ExecutionRecord,
    signal: AbortSignal,
    visits: Map<string, number>,
  ): Promise<unknown> {
    const params = (parameters ?? {}) as Record<string, unknown>;
    switch (binding.kind) {
      case 'lambda':
        return this.callFunction(functionName(binding.resource), parameters);
      case 'lambda-invoke': {
        const payload = await this.callFunction(
          functionName(typeof params.FunctionName === 'string' ? params.FunctionName : ''),
          params.Payload ?? {},
        );
        return { ExecutedVersion: '$LATEST', Payload: payload ?? null, StatusCode: 200 };
      }
      case 'lambda-invoke-wait-for-token': {
        const visit = (visits.get(binding.stateName) ?? 0) + 1;
        visits.set(binding.stateName, visit);
        const token = createHmac('sha256', this.tokenKey)
          .update(`${record.executionArn}\n${binding.stateName}\n${visit}`)
          .digest('base64url');
        let reject!: (error: unknown) => void;
        const outcome = new Promise<unknown>((resolve, rejectOutcome) => {
          reject = rejectOutcome;
          this.tasks.set(token, { executionArn: record.executionArn, stateName: binding.stateName, resolve, reject });
        });
        // Settled on abort (close, StopExecution): a Task left pending would keep the engine's TimeoutSeconds timer,
        // and with it the process, alive for up to the timeout (an hour for an approval). Marked handled because an
        // abort before the call below returns rejects it before anything awaits it.
        signal.addEventListener(
          'abort',
          () => {
            this.tasks.delete(token);
            reject(new ExecutionAbortedError());
          },
          { once: true },
        );
        outcome.catch(() => undefined);
        // Registered before the call: the function may hand the token on and have it completed at once.
        await this.callFunction(
          functionName(typeof params.FunctionName === 'string' ? params.FunctionName : ''),
          insertTaskToken(params.Payload ?? {}, token),
        );
        return outcome;
      }
      case 'codebuild-start':
      case 'codebuild-start-sync':
        return this.runBuild(binding, params, signal);
      default:
        throw namedError('States.Runtime', `No local implementation for ${binding.resource}`);
    }
  }

  private async callFunction(name: string, payload: unknown): Promise<unknown> {
    const handler = this.functions.get(name);
    if (!handler) {
      throw namedError(
        'Lambda.ResourceNotFoundException',
        `Function not found: ${name} (local mode: registerFunction('${name}', handler) first)`,
      );
    }
    const started = Date.now();
    const context: LambdaContext = {
      callbackWaitsForEmptyEventLoop: false,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, 900_000 - (Date.now() - started)),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    try {
      // A JSON round trip both ways, as Lambda serialises events and results.
      const result = await handler(JSON.parse(JSON.stringify(payload ?? null)), context);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      const name_ = (error as Error)?.name || 'Error';
      const message = (error as Error)?.message ?? String(error);
      throw namedError(name_, JSON.stringify({ errorType: name_, errorMessage: message }));
    }
  }

  private async runBuild(binding: TaskBinding, params: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    const codeBuild = this.options.codeBuild;
    if (!codeBuild)
      throw namedError('States.Runtime', 'No local CodeBuild service is configured for codebuild:startBuild Tasks');
    let started;
    try {
      started = await codeBuild.startBuild(camelKeys(params) as Record<string, unknown>);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ServiceException';
      throw namedError(`CodeBuild.${code}`, (error as Error).message);
    }
    if (binding.kind === 'codebuild-start') return { Build: pascalKeys(started.build) };
    const id = started.build.id;
    // Best effort on abort: a build that already ended cannot be stopped, and waitForBuild reports how it ended.
    const onAbort = () => void codeBuild.stopBuild({ id }).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const record = await codeBuild.waitForBuild(id);
      const build = { Build: pascalKeys(toApiBuild(record)) };
      if (record.buildStatus !== 'SUCCEEDED') throw namedError('States.TaskFailed', JSON.stringify(build));
      return build;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  // ---- records ----

  private takeTask(input: Record<string, unknown>): PendingTask {
    const token = requireString(input, 'taskToken');
    if (!TOKEN_PATTERN.test(token)) throw new AwsApiError('InvalidToken', 'Invalid Token: the task token is malformed');
    const task = this.tasks.get(token);
    if (!task)
      throw new AwsApiError(
        'TaskDoesNotExist',
        'Task Does Not Exist: the task is not waiting for this token (completed, timed out, or its execution ended)',
      );
    return task;
  }

  private findRecord(nameOrArn: string): ExecutionRecord | undefined {
    return this.executions.get(nameOrArn) ?? [...this.executions.values()].find((r) => r.name === nameOrArn);
  }

  private async close_(
    record: ExecutionRecord,
    end: { status: ExecutionStatus; output?: string; error?: string; cause?: string },
  ): Promise<ExecutionRecord> {
    record.status = end.status;
    record.stopDate = this.clock.now();
    if (end.output !== undefined) record.output = end.output;
    if (end.error !== undefined) record.error = end.error;
    if (end.cause !== undefined) record.cause = end.cause;
    await this.save(record);
    return record;
  }

  private fileOf(record: ExecutionRecord): string {
    const machine = record.stateMachineArn.split(':').pop() ?? 'unknown';
    return join(this.options.dataDir, 'executions', machine, `${encodeURIComponent(record.name)}.json`);
  }

  private save(record: ExecutionRecord): Promise<void> {
    return writeJsonAtomic(this.fileOf(record), record);
  }

  private async load(): Promise<void> {
    const root = join(this.options.dataDir, 'executions');
    for (const machine of await readdir(root, { withFileTypes: true })) {
      if (!machine.isDirectory()) continue;
      for (const file of await readdir(join(root, machine.name))) {
        if (!file.endsWith('.json')) continue;
        const record = await readJsonIfExists<ExecutionRecord>(join(root, machine.name, file));
        if (record) this.executions.set(record.executionArn, record);
      }
    }
  }
}

function functionName(nameOrArn: string): string {
  const match = /^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:([^:]+)(:[^:]+)?$/.exec(nameOrArn);
  return match ? match[1]! : nameOrArn;
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function sameJson(text: string, value: unknown): boolean {
  try {
    return canonical(JSON.parse(text)) === canonical(value);
  } catch {
    return false;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `{ ProjectName, EnvironmentVariablesOverride: [{ Name }] }` -> `{ projectName, environmentVariablesOverride: [{ name }] }`. */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k.charAt(0).toLowerCase() + k.slice(1),
        camelKeys(v),
      ]),
    );
  }
  return value;
}

/** The service integration's output casing; dates become epoch milliseconds as in its JSON. */
function pascalKeys(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(pascalKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), pascalKeys(v)]),
    );
  }
  return value;
}

/**
 * The engine's own `StatesTimeoutError` class, which it does not export. Its Retry/Catch code treats that class
 * specially (`States.TaskFailed` does not match a timeout, as on AWS), so a timeout raised by the local clock must be
 * an instance of it. It is obtained once by letting a throwaway one-state machine time out after 1 ms.
 */
let timeoutErrorClass: (new () => Error) | undefined;
function statesTimeoutErrorClass(): new () => Error {
  if (!timeoutErrorClass) throw new Error('statesTimeoutErrorClass() called before loadStatesTimeoutErrorClass()');
  return timeoutErrorClass;
}

export async function loadStatesTimeoutErrorClass(): Promise<void> {
  if (timeoutErrorClass) return;
  const probe = new StateMachine(
    {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
          TimeoutSeconds: 0.001,
          End: true,
        },
      },
    } as never,
    { validationOptions: { noValidate: true } },
  );
  let release: () => void = () => undefined;
  const never = new Promise<null>((ok) => (release = () => ok(null)));
  try {
    await probe.run({}, { overrides: { taskResourceLocalHandlers: { T: () => never } } }).result;
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    if (cause?.name === 'States.Timeout') timeoutErrorClass = cause.constructor as new () => Error;
  } finally {
    release();
  }
  if (!timeoutErrorClass) throw new Error('could not obtain the engine States.Timeout error class');
}

const historyOf = new WeakMap<ExecutionRecord, ExecutionHistory>();

/** The engine's event type, which its package does not export by name. */
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** `arn:aws:states:::codebuild:startBuild.sync` -> `codebuild`; a Lambda ARN -> `lambda`. */
function resourceTypeOf(resource: string): string {
  return /^arn:aws:states:::([a-z0-9-]+):/.exec(resource)?.[1] ?? (resource.includes(':lambda:') ? 'lambda' : 'states');
}

/** `arn:aws:states:::codebuild:startBuild.sync` -> `startBuild.sync`; a Lambda ARN -> `invoke`. */
function resourceNameOf(resource: string): string {
  return /^arn:aws:states:::[a-z0-9-]+:(.+)$/.exec(resource)?.[1] ?? 'invoke';
}

/** The event without execution data (GetExecutionHistory with `includeExecutionData: false`). */
function withoutData(event: HistoryEvent): HistoryEvent {
  const out: Record<string, unknown> = { ...event };
  for (const [key, value] of Object.entries(event)) {
    if (!key.endsWith('EventDetails') || value === null || typeof value !== 'object') continue;
    const { input: _input, output: _output, parameters: _parameters, ...rest } = value as Record<string, unknown>;
    out[key] = rest;
  }
  return out as HistoryEvent;
}

/** `TaskStateEntered` -> `stateEnteredEventDetails`; `ExecutionFailed` -> `executionFailedEventDetails`; ... */
function detailsKey(type: string): string {
  const base = type.endsWith('StateEntered') ? 'StateEntered' : type.endsWith('StateExited') ? 'StateExited' : type;
  return `${base.charAt(0).toLowerCase()}${base.slice(1)}EventDetails`;
}

/**
 * Turns the engine's event log into Step Functions history events and keeps them on the execution record. The
 * engine reports states by their own type, but local mode runs a Wait as a Task: the original type is restored.
 */
class ExecutionHistory {
  private readonly stateTypes = new Map<string, string>();
  /** States entered and not yet exited, by name, as the engine's (lagging) event log has reported them. */
  private readonly open = new Map<string, number>();
  /** Task events that happened before the engine's log reported their state entered: written after that entry. */
  private readonly early = new Map<string, Array<[string, Record<string, unknown>]>>();

  constructor(
    private readonly record: ExecutionRecord,
    machine: RegisteredMachine,
    private readonly clock: Clock,
  ) {
    record.history ??= [];
    for (const binding of machine.prepared.bindings.values())
      if (binding.kind === 'wait') this.stateTypes.set(binding.stateName, 'Wait');
  }

  private push(type: string, details?: Record<string, unknown>): void {
    const history = this.record.history!;
    const id = history.length + 1;
    history.push({
      id,
      previousEventId: id - 1,
      timestamp: this.clock.now(),
      type,
      ...(details ? { [detailsKey(type)]: details } : {}),
    });
  }

  started(): void {
    this.push('ExecutionStarted', {
      input: this.record.input,
      inputDetails: { truncated: false },
      roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/lockstep-local`,
    });
  }

  task(binding: TaskBinding, type: string, details: Record<string, unknown>): void {
    if ((this.open.get(binding.stateName) ?? 0) > 0) return this.push(type, details);
    this.early.set(binding.stateName, [...(this.early.get(binding.stateName) ?? []), [type, details]]);
  }

  private flush(name: string): void {
    for (const [type, details] of this.early.get(name) ?? []) this.push(type, details);
    this.early.delete(name);
  }

  add(event: EventLog): void {
    switch (event.type) {
      case 'StateEntered':
        this.push(`${this.typeOf(event.state)}StateEntered`, {
          name: event.state.name,
          input: JSON.stringify(event.state.input ?? null),
          inputDetails: { truncated: false },
        });
        this.open.set(event.state.name, (this.open.get(event.state.name) ?? 0) + 1);
        this.flush(event.state.name);
        return;
      case 'StateFailed':
        this.open.set(event.state.name, Math.max(0, (this.open.get(event.state.name) ?? 0) - 1));
        return;
      case 'StateExited':
        this.open.set(event.state.name, Math.max(0, (this.open.get(event.state.name) ?? 0) - 1));
        this.push(`${this.typeOf(event.state)}StateExited`, {
          name: event.state.name,
          output: JSON.stringify(event.state.output ?? null),
          outputDetails: { truncated: false },
        });
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.push(event.type, { name: event.parentState.name, index: event.index });
        return;
      case 'ParallelBranchStarted':
        this.push('ParallelStateStarted');
        return;
      case 'ParallelBranchFailed':
        this.push('ParallelStateFailed', {
          error: event.Error,
          cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? ''),
        });
        return;
      default:
        // StateFailed, StateRetried, StateCaught: the Task events say it (TaskFailed, then a new TaskScheduled or the
        // exit); the execution's own start and end are recorded from the execution record.
        return;
    }
  }

  ended(): void {
    for (const name of [...this.early.keys()]) this.flush(name);
    const r = this.record;
    if (r.status === 'SUCCEEDED')
      this.push('ExecutionSucceeded', { output: r.output ?? 'null', outputDetails: { truncated: false } });
    else if (r.status === 'FAILED')
      this.push('ExecutionFailed', { error: r.error ?? 'States.Runtime', cause: r.cause ?? '' });
    else if (r.status === 'TIMED_OUT')
      this.push('ExecutionTimedOut', { error: r.error ?? 'States.Timeout', cause: r.cause ?? '' });
    else if (r.status === 'ABORTED') this.push('ExecutionAborted', { error: r.error, cause: r.cause });
  }

  private typeOf(state: { name: string; type: string }): string {
    return this.stateTypes.get(state.name) ?? state.type;
  }
}
