/**
 * Runs `statemachines/promotion.asl.json` in aws-local-stepfunctions with every Task bound by state name (found by
 * walking the ASL, nested Map states included) to in-test fakes that record what they were asked to do, in order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { walkStates, type AslMachine } from './asl-rules';
import { pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';
import type { Revision } from '../../lambdas/core/model';
import { executionInput, type ExecutionInput } from '../../lambdas/promotion/execution-input';

export const PLACEHOLDERS: Record<string, string> = {
  PromotionStepsFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:promotion-steps',
  ApprovalRequestFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:approval-request',
  StepsLogGroupName: 'lockstep-steps-logs',
};

/** The ASL with its `${Placeholder}`s filled the way CDK `definitionSubstitutions` fill them. */
export function promotionDefinition(): AslMachine {
  let text = readFileSync(join(import.meta.dirname, '../../statemachines/promotion.asl.json'), 'utf8');
  for (const [name, value] of Object.entries(PLACEHOLDERS)) text = text.replaceAll(`\${${name}}`, value);
  if (/\$\{[A-Za-z]+\}/.test(text)) throw new Error('Unfilled placeholder in promotion.asl.json');
  return JSON.parse(text) as AslMachine;
}

/** An error whose `name` is what Step Functions Catch/Retry match. */
export function named(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export interface Effect {
  readonly state: string;
  readonly kind: 'step' | 'codebuild' | 'approval';
  /** Step action, CodeBuild project, or `request`. */
  readonly what: string;
  readonly input: Record<string, unknown>;
}

export interface Behaviour {
  /** Results of check-gates, in order; the last one repeats. @default proceed */
  gates?: Array<{ proceed: boolean; waitUntil?: string; reason?: string }>;
  /** Results of acquire-lock, in order; the last one repeats. @default acquired with token 7 */
  locks?: Array<{ acquired: boolean; fencingToken?: number; retryAt?: string }>;
  /** What record-previous answers. @default revision 1 exists */
  previous?: { exists: boolean; number?: number; sourceLocation?: string };
  /** Build (`<environment>/<LOCKSTEP_STEP>`) -> error name thrown by that CodeBuild run (`States.TaskFailed` as a failed build). */
  failingBuilds?: Record<string, string>;
  /** Build -> an error thrown by its first `times` StartBuild calls only (e.g. a quota error that clears). */
  flakyBuilds?: Record<string, { error: string; times: number }>;
  /** How long every successful CodeBuild run takes, to observe concurrency. @default 0 */
  buildMs?: number;
  /** How the manual approval ends. @default approved by approver@example.com */
  approval?: 'approve' | 'reject' | 'never';
  /** Step action -> error name it throws. */
  failingSteps?: Record<string, string>;
  /** Step action -> what runs instead of the fake (e.g. the real bake steps over an in-memory CloudWatch). */
  steps?: Record<string, (event: Record<string, unknown>) => Promise<unknown>>;
  /** What read-security-diff answers (deploy.cdk environments). @default no broadening */
  securityDiff?: { broadening: boolean; stacks?: string[]; excerpt?: string; truncated?: boolean };
  /** How the permissions-broadening confirmation ends. @default approved by approver@example.com */
  permissionsApproval?: 'approve' | 'reject' | 'never';
}

export const PIPELINE: PipelineInput = {
  pipeline: { name: 'shop' },
  packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['npm ci'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [
    {
      name: 'Beta',
      environments: [
        {
          name: 'Beta',
          deploy: { commands: ['./deploy.sh'] },
          approval: {
            tests: [
              { name: 'smoke', commands: ['./smoke.sh'] },
              { name: 'api', commands: ['./api.sh'] },
            ],
            compliance: { policy: 'standard' },
            manual: { approvers: ['approver@example.com'], timeout: '1s' },
            bakeTime: '10m',
          },
        },
      ],
    },
  ],
  promotions: [{ from: { application: 'web' }, to: 'Beta' }],
};

export const REVISION: Revision = {
  application: 'web',
  number: 2,
  versionSet: { web: 'c2' },
  commits: [{ id: 'c2', message: 'Add cart', author: 'dev@example.com', timestamp: 1 }],
  authors: ['dev@example.com'],
  artifact: 's3://artifacts/revisions/web/2/artifact.zip',
  buildId: 'build:2',
  createdAt: 1,
  priority: false,
  testResults: {},
};

export function input(pipeline: PipelineInput = PIPELINE): ExecutionInput {
  return executionInput(pipelineSchema.parse(pipeline), {
    promotion: 'web-to-Beta',
    execution: 'web-to-Beta-web-r2',
    environment: 'Beta',
    revision: REVISION,
  });
}

const machines = new Map<string, StateMachine>();

/** Runs one execution; resolves with its effects (in order) and its outcome. */
export async function runPromotion(
  behaviour: Behaviour = {},
  executionInput: ExecutionInput = input(),
): Promise<{
  effects: Effect[];
  status: 'SUCCEEDED' | 'FAILED';
  error?: string;
  output?: unknown;
  maxConcurrentBuilds: number;
}> {
  const definition = promotionDefinition();
  const key = JSON.stringify(definition);
  let machine = machines.get(key);
  if (!machine) {
    machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    machines.set(key, machine);
  }
  const effects: Effect[] = [];
  const gates = [...(behaviour.gates ?? [{ proceed: true }])];
  const locks = [...(behaviour.locks ?? [{ acquired: true, fencingToken: 7 }])];
  const next = <T>(queue: T[]): T => (queue.length > 1 ? queue.shift()! : queue[0]!);

  const handlers: Record<string, (event: Record<string, unknown>) => Promise<unknown>> = {};
  const waits: Record<string, number> = {};
  // Retries happen at once: the scenarios count them, they do not wait them out.
  const retries: Record<string, number> = {};
  let running = 0;
  let maxRunning = 0;
  const flaky = new Map(Object.entries(behaviour.flakyBuilds ?? {}).map(([build, f]) => [build, { ...f }]));
  for (const { name, state } of walkStates(definition)) {
    if (state.Type === 'Wait') waits[name] = 0;
    if (state.Retry) retries[name] = 0;
    if (state.Type !== 'Task') continue;
    if (state.Resource === PLACEHOLDERS.PromotionStepsFunctionArn) {
      handlers[name] = async (event) => {
        const action = String(event.action);
        effects.push({ state: name, kind: 'step', what: action, input: event });
        const failure = behaviour.failingSteps?.[action];
        if (failure) throw named(failure);
        const own = behaviour.steps?.[action];
        if (own) return own(event);
        switch (action) {
          case 'check-gates':
            return { waitUntil: '2030-01-01T00:00:00Z', reason: 'test', ...next(gates) };
          case 'acquire-lock':
            return { retryAt: '2030-01-01T00:00:00Z', ...next(locks) };
          case 'record-previous':
            return (
              behaviour.previous ?? {
                exists: true,
                number: 1,
                sourceLocation: 'artifacts/revisions/web/1/artifact.zip',
              }
            );
          case 'read-security-diff':
            return {
              stacks: [],
              excerpt: '',
              truncated: false,
              location: String(event.diffUri),
              ...(behaviour.securityDiff ?? { broadening: false }),
            };
          case 'record-test-results': {
            const tests = event.tests as Array<{ passed: boolean }>;
            if (tests.some((t) => !t.passed)) throw named('TestsFailedError');
            return { passed: tests.length, failed: 0 };
          }
          default:
            return { ok: true };
        }
      };
    } else if (state.Resource === 'arn:aws:states:::codebuild:startBuild.sync') {
      handlers[name] = async (event) => {
        const project = String(event.ProjectName);
        // Deploy and test steps share steps projects: a build is told apart by the step StartBuild selects.
        const variables = Object.fromEntries(
          (event.EnvironmentVariablesOverride as Array<{ Name: string; Value: string }>).map((v) => [v.Name, v.Value]),
        );
        const build = `${variables.LOCKSTEP_ENVIRONMENT}/${variables.LOCKSTEP_STEP}`;
        effects.push({ state: name, kind: 'codebuild', what: build, input: event });
        const failure = behaviour.failingBuilds?.[build];
        if (failure) throw named(failure, `Build ${build} of ${project} failed`);
        const transient = flaky.get(build);
        if (transient && transient.times > 0) {
          transient.times--;
          throw named(transient.error, `CodeBuild refused to start ${build} of ${project}`);
        }
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (behaviour.buildMs) await new Promise((resolve) => setTimeout(resolve, behaviour.buildMs));
        running--;
        return { Build: { Id: `${project}:1`, BuildStatus: 'SUCCEEDED' } };
      };
    } else if (state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      handlers[name] = async (event) => {
        effects.push({ state: name, kind: 'approval', what: 'request', input: event });
        const outcome =
          (name === 'RequestPermissionsApproval' ? behaviour.permissionsApproval : behaviour.approval) ?? 'approve';
        if (outcome === 'never') return new Promise(() => undefined); // the engine's TimeoutSecondsPath ends it
        if (outcome === 'reject') throw named('ApprovalRejectedError', 'Rejected by approver@example.com');
        return { decision: 'approved', approver: 'approver@example.com' };
      };
    } else {
      throw new Error(`No binding for Task ${name} (${state.Resource})`);
    }
  }
  const execution = machine.run(executionInput, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    },
    // The local engine has no task tokens; the approval binding mints its own in local mode. The execution name is
    // what Step Functions puts in $$.Execution.Name (the builds' idempotency tokens are made from it).
    context: { Task: { Token: 'local-task-token' }, Execution: { Name: executionInput.execution } },
  });
  try {
    const output = await execution.result;
    return { effects, status: 'SUCCEEDED', output, maxConcurrentBuilds: maxRunning };
  } catch (error) {
    return {
      effects,
      status: 'FAILED',
      error: (error as Error).name + ': ' + (error as Error).message,
      maxConcurrentBuilds: maxRunning,
    };
  }
}

/** The effects as short strings: `action`, `codebuild:<project>`, `approval`. */
export function summary(effects: readonly Effect[]): string[] {
  return effects.map((e) => (e.kind === 'step' ? e.what : e.kind === 'codebuild' ? `codebuild:${e.what}` : 'approval'));
}
