/**
 * Renaming and removing environments at run time: a renamed environment keeps its deployed and previous revision
 * and its lock (so nothing is redeployed and rollback keeps its target); a removed one has its running executions
 * stopped, its lock released, and the removal in the timeline. DynamoDB is dynalite; Step Functions is an
 * aws-sdk-client-mock mock answering ListExecutions/DescribeExecution/StopExecution as AWS does.
 */
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Runtime } from '../../lambdas/adapters/runtime';
import { pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';
import { reconcilePass, type AgentDependencies } from '../../lambdas/promotion/agents';
import { mocks, STATE_MACHINE_ARN, startRuntimeEnv, TEST_PIPELINE, type RuntimeEnv } from '../support/runtime-env';

let env: RuntimeEnv;
let runtime: Runtime;
const running = new Map<string, { environment: string }>([
  ['web-to-Beta-web-r1', { environment: 'Beta' }],
  ['ops-to-Ops-ops-r2', { environment: 'Ops' }],
]);

beforeAll(async () => {
  env = await startRuntimeEnv();
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  mocks.sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: `${STATE_MACHINE_ARN}:${input.name}`,
    startDate: new Date(),
  }));
  mocks.sfn.on(ListExecutionsCommand).callsFake(() => ({
    executions: [...running.keys()].map((name) => ({
      name,
      executionArn: `${STATE_MACHINE_ARN}:${name}`,
      status: 'RUNNING',
    })),
  }));
  mocks.sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    const input_ = running.get(input.executionArn.split(':').at(-1)!);
    return {
      executionArn: input.executionArn,
      status: input_ ? 'RUNNING' : 'ABORTED',
      input: JSON.stringify(input_ ?? {}),
    };
  });
  mocks.sfn.on(StopExecutionCommand).callsFake((input: { executionArn: string }) => {
    running.delete(input.executionArn.split(':').at(-1)!);
    return { stopDate: new Date() };
  });
  runtime = env.runtime;
});
afterAll(() => env.close());

/** The test pipeline with Ops renamed to Operations and Beta (with its promotion) removed. */
function edited(): PipelineInput {
  const input = structuredClone(TEST_PIPELINE);
  input.stages = [
    { name: 'Ops', environments: [{ name: 'Operations', renamedFrom: 'Ops', deploy: { commands: ['./deploy.sh'] } }] },
  ];
  input.promotions = [{ from: { application: 'ops' }, to: 'Operations' }];
  return input;
}

describe('renaming and removing environments', () => {
  it("carries a renamed environment's revisions and lock over, and ends what ran in a removed one", async () => {
    const deps = (pipeline: PipelineInput): AgentDependencies => ({
      ...runtime.agentDependencies(),
      pipeline: pipelineSchema.parse(pipeline),
    });
    const now = Date.now();
    // Before: ops r1 then r2 deployed to Ops (r2 awaiting its approval, under a lock); web r1 deploying to Beta.
    for (const n of [1, 2]) {
      await runtime.revisionStore().create('ops', `build-${n}`, async (number) => ({
        versionSet: { ops: `c${number}` },
        commits: [],
        authors: [],
        artifact: `s3://artifacts/revisions/ops/${number}/artifact.zip`,
        buildId: `build-${n}`,
        createdAt: now,
        priority: false,
      }));
    }
    const environments = runtime.environmentStore();
    const r1 = await environments.recordDeployed(
      'Ops',
      { application: 'ops', number: 1, versionSet: { ops: 'c1' }, deployedAt: now },
      undefined,
    );
    await environments.recordDeployed(
      'Ops',
      { application: 'ops', number: 2, versionSet: { ops: 'c2' }, deployedAt: now },
      r1,
    );
    await environments.markApproved('Ops', 'ops', 1, 1_000);
    await runtime.lockStore().acquire('Ops', 'ops-to-Ops-ops-r2', 3_600_000, now);
    await runtime.lockStore().acquire('Beta', 'web-to-Beta-web-r1', 3_600_000, now);
    await reconcilePass(deps(TEST_PIPELINE)); // the pass that knew Beta and Ops
    mocks.sfn.resetHistory();

    const outcome = await reconcilePass(deps(edited()));

    // The rename: same slot under the new name, so nothing is redeployed and r1 stays the rollback target.
    expect(await environments.slot('Operations', 'ops')).toMatchObject({
      current: { number: 2 },
      previous: { number: 1 },
      approved: [1],
    });
    expect(outcome.decisions.find((d) => d.destination === 'Operations')?.decision.kind).toBe('in-sync');
    expect(mocks.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);

    // Both old names are gone from the definition: their executions are stopped and every lock they held released.
    const stops = mocks.sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input);
    expect(stops.map((s) => s.executionArn!.split(':').at(-1)).sort()).toEqual([
      'ops-to-Ops-ops-r2',
      'web-to-Beta-web-r1',
    ]);
    expect(stops.every((s) => s.error === 'EnvironmentRemovedError')).toBe(true);
    expect(stops.find((s) => s.executionArn!.endsWith('ops-to-Ops-ops-r2'))!.cause).toContain('renamed to Operations');
    const later = Date.now();
    for (const name of ['Beta', 'Ops', 'Operations']) expect(await runtime.lockStore().get(name, later)).toBeNull();
    expect(outcome.environmentsRemoved).toEqual([
      { environment: 'Beta', stopped: ['web-to-Beta-web-r1'], locksReleased: 1 },
      { environment: 'Ops', renamedTo: 'Operations', stopped: ['ops-to-Ops-ops-r2'], locksReleased: 2 },
    ]);
    const removed = await runtime.eventStore().list({ environment: 'Beta' });
    expect(removed.find((e) => e.type === 'environment-removed')?.message).toMatch(
      /removed from pipeline shop: stopped web-to-Beta-web-r1, released its lock/,
    );
    const renamed = await runtime.eventStore().list({ environment: 'Operations' });
    expect(renamed.find((e) => e.type === 'environment-renamed')?.message).toMatch(
      /Ops was renamed to Operations: ops carried over.*lock held by ops-to-Ops-ops-r2/,
    );

    // A later pass has nothing more to end or carry.
    mocks.sfn.resetHistory();
    const again = await reconcilePass(deps(edited()));
    expect(again.environmentsRemoved).toEqual([]);
    expect(mocks.sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
    // The stopped execution was r2's approval workflow, so r2 was never approved in Operations: like any execution
    // that ended outside its own Catch, it is rolled back to r1, the last approved revision, by a recovery execution.
    expect(again.recoveriesStarted).toEqual([expect.stringMatching(/^recover-Operations-.+-ops-r2$/)]);
  });
});
