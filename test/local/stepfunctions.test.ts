import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
} from '@aws-sdk/client-sfn';
import { ManualClock } from '../../local/clock';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { LocalCodeBuild } from '../../local/codebuild/codebuild';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';
import { LocalStepFunctions } from '../../local/stepfunctions/step-functions';
import { lambdaArn } from '../../local/constants';
import { clientConfig, tempDataDir } from './helpers';

/** Resolves with the next value pushed; lets a test wait for a handler call instead of sleeping. */
function channel<T>() {
  const values: T[] = [];
  const waiters: Array<(v: T) => void> = [];
  return {
    push(value: T) {
      const waiter = waiters.shift();
      if (waiter) waiter(value);
      else values.push(value);
    },
    next(): Promise<T> {
      const value = values.shift();
      return value !== undefined ? Promise.resolve(value) : new Promise((ok) => waiters.push(ok));
    },
  };
}

const approvalMachine = {
  StartAt: 'RequestApproval',
  States: {
    RequestApproval: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: '${ApprovalRequestFunctionArn}',
        Payload: {
          'taskToken.$': '$$.Task.Token',
          'environment.$': '$.environment',
          'execution.$': '$$.Execution.Name',
        },
      },
      TimeoutSeconds: 3600,
      ResultPath: '$.approval',
      Catch: [
        { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Rejected' },
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'TimedOut' },
      ],
      Next: 'Approved',
    },
    Approved: { Type: 'Succeed' },
    Rejected: { Type: 'Fail', Error: 'Rejected', Cause: 'approval rejected' },
    TimedOut: { Type: 'Fail', Error: 'ApprovalTimedOut', Cause: 'nobody decided' },
  },
};

describe('local Step Functions', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let clock: ManualClock;
  let s3: LocalS3;
  let codeBuild: LocalCodeBuild;
  let service: LocalStepFunctions;
  let server: RunningAwsServer;
  let client: SFNClient;
  const approvals = channel<{ taskToken: string; environment: string; execution: string }>();
  let approvalArn: string;

  const register = (svc: LocalStepFunctions) => {
    svc.registerFunction('approval-request', (event: { taskToken: string; environment: string; execution: string }) => {
      approvals.push(event);
      return { sent: true };
    });
    return svc.registerStateMachine({
      name: 'approval',
      definition: JSON.stringify(approvalMachine),
      substitutions: { ApprovalRequestFunctionArn: lambdaArn('approval-request') },
    });
  };

  beforeAll(async () => {
    data = await tempDataDir();
    clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
    s3 = await startLocalS3({ dataDir: data.dir, buckets: ['artifacts'] });
    codeBuild = await LocalCodeBuild.open({ dataDir: data.dir, s3: localS3Client(s3.endpoint) });
    service = await LocalStepFunctions.open({ dataDir: data.dir, clock, codeBuild, instantRetries: true });
    approvalArn = register(service);
    server = await startAwsServer(service.definition());
    client = new SFNClient({ ...clientConfig, endpoint: server.endpoint });
  });

  afterAll(async () => {
    client.destroy();
    await service.close();
    await server.close();
    await codeBuild.close();
    await s3.stop();
    await data.cleanup();
  });

  const describeExecution = async (executionArn: string) => {
    await service.waitForExecution(executionArn);
    return client.send(new DescribeExecutionCommand({ executionArn }));
  };

  it('starts one execution when StartExecution is called twice with the same name and input', async () => {
    const request = {
      stateMachineArn: approvalArn,
      name: 'promote-beta-web-r1',
      input: JSON.stringify({ environment: 'beta' }),
    };
    const first = await client.send(new StartExecutionCommand(request));
    const second = await client.send(new StartExecutionCommand(request));
    expect(second.executionArn).toBe(first.executionArn);
    const { executions } = await client.send(new ListExecutionsCommand({ stateMachineArn: approvalArn }));
    expect(executions?.filter((e) => e.name === 'promote-beta-web-r1')).toHaveLength(1);

    await expect(
      client.send(new StartExecutionCommand({ ...request, input: JSON.stringify({ environment: 'prod' }) })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);

    const request1 = await approvals.next();
    await client.send(new SendTaskSuccessCommand({ taskToken: request1.taskToken, output: '{}' }));
    await service.waitForExecution(first.executionArn!);
  });

  it('completes a waitForTaskToken Task through SendTaskSuccess from another client call', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: approvalArn,
        name: 'approve-me',
        input: JSON.stringify({ environment: 'gamma' }),
      }),
    );
    const request = await approvals.next();
    expect(request.environment).toBe('gamma');
    expect(request.execution).toBe('approve-me');
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    await client.send(
      new SendTaskSuccessCommand({ taskToken: request.taskToken, output: JSON.stringify({ decidedBy: 'alice' }) }),
    );
    const described = await describeExecution(executionArn!);
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!)).toEqual({ environment: 'gamma', approval: { decidedBy: 'alice' } });

    // The token is spent: a second decision is refused as on AWS.
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: request.taskToken, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskDoesNotExist);
  });

  it('routes SendTaskFailure to the Catch for States.TaskFailed', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: approvalArn, name: 'reject-me', input: '{"environment":"prod"}' }),
    );
    const request = await approvals.next();
    await client.send(new SendTaskFailureCommand({ taskToken: request.taskToken, error: 'Rejected', cause: 'by bob' }));
    const described = await describeExecution(executionArn!);
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('Rejected');
  });

  it('times the Task out on the local clock with States.Timeout, which States.TaskFailed does not catch', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: approvalArn,
        name: 'nobody-decides',
        input: '{"environment":"prod"}',
      }),
    );
    await approvals.next();
    await clock.waitForSleepers(1);
    clock.advance(3600 * 1000);
    const described = await describeExecution(executionArn!);
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('ApprovalTimedOut');
  });

  it('ends a Wait on a computed timestamp only when the test clock passes it, inside a Parallel branch too', async () => {
    const arn = service.registerStateMachine({
      name: 'waits',
      definition: {
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            Branches: [
              {
                StartAt: 'UntilWindowOpens',
                States: { UntilWindowOpens: { Type: 'Wait', TimestampPath: '$.opensAt', End: true } },
              },
              { StartAt: 'Bake', States: { Bake: { Type: 'Wait', Seconds: 60, End: true } } },
            ],
            ResultPath: null,
            End: true,
          },
        },
      },
    });
    const opensAt = clock.now() + 2 * 3600 * 1000;
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: arn,
        name: 'window',
        input: JSON.stringify({ opensAt: new Date(opensAt).toISOString() }),
      }),
    );
    await clock.waitForSleepers(2);
    expect(clock.pendingDeadlines()).toEqual([clock.now() + 60_000, opensAt]);

    clock.set(opensAt - 1);
    expect(clock.pendingDeadlines()).toEqual([opensAt]);
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    clock.set(opensAt);
    const described = await describeExecution(executionArn!);
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!)).toEqual({ opensAt: new Date(opensAt).toISOString() });
  });

  it('binds Lambda ARNs and lambda:invoke, surfaces error names to Catch, and counts transitions and invocations', async () => {
    class LockHeldError extends Error {
      override name = 'LockHeldError';
    }
    let attempts = 0;
    service.registerFunction('steps', (event: { action: string }) => {
      if (event.action === 'acquire-lock') {
        attempts++;
        throw new LockHeldError('held by promote-beta-web-r1');
      }
      return { done: event.action };
    });
    const arn = service.registerStateMachine({
      name: 'steps',
      definition: {
        StartAt: 'Check',
        States: {
          Check: {
            Type: 'Task',
            Resource: lambdaArn('steps'),
            Parameters: { action: 'check' },
            ResultPath: '$.check',
            Next: 'Acquire',
          },
          Acquire: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: lambdaArn('steps'), Payload: { action: 'acquire-lock' } },
            Retry: [{ ErrorEquals: ['LockHeldError'], MaxAttempts: 2, IntervalSeconds: 30 }],
            Catch: [{ ErrorEquals: ['LockHeldError'], ResultPath: '$.error', Next: 'Notify' }],
            Next: 'Done',
          },
          Notify: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: 'steps', Payload: { action: 'notify' } },
            ResultSelector: { 'result.$': '$.Payload', 'status.$': '$.StatusCode' },
            ResultPath: '$.notify',
            Next: 'Done',
          },
          Done: { Type: 'Succeed' },
        },
      },
    });
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{}' }));
    const described = await describeExecution(executionArn!);
    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output!);
    expect(output.check).toEqual({ done: 'check' });
    expect(output.error.Error).toBe('LockHeldError');
    expect(JSON.parse(output.error.Cause)).toEqual({
      errorType: 'LockHeldError',
      errorMessage: 'held by promote-beta-web-r1',
    });
    expect(output.notify).toEqual({ result: { done: 'notify' }, status: 200 });
    expect(attempts).toBe(3);

    const record = service.getExecution(executionArn!)!;
    expect(record.stateTransitions).toBe(4); // Check, Acquire, Notify, Done
    expect(record.taskInvocations).toBe(5); // Check, Acquire x3, Notify
  });

  it('runs codebuild:startBuild.sync on the local CodeBuild and fails with States.TaskFailed when the build fails', async () => {
    codeBuild.registerProject({
      name: 'deploy-beta',
      buildspec: { version: 0.2, phases: { build: { commands: ['test "$LOCKSTEP_REVISION" != 13'] } } },
    });
    const arn = service.registerStateMachine({
      name: 'deploys',
      definition: {
        StartAt: 'Deploy',
        States: {
          Deploy: {
            Type: 'Task',
            Resource: 'arn:aws:states:::codebuild:startBuild.sync',
            Parameters: {
              ProjectName: 'deploy-beta',
              EnvironmentVariablesOverride: [{ Name: 'LOCKSTEP_REVISION', 'Value.$': '$.revision', Type: 'PLAINTEXT' }],
            },
            ResultSelector: { 'status.$': '$.Build.BuildStatus', 'id.$': '$.Build.Id' },
            ResultPath: '$.deploy',
            Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'RollBack' }],
            End: true,
          },
          RollBack: { Type: 'Pass', Result: 'rolled back', ResultPath: '$.rollback', End: true },
        },
      },
    });
    const ok = await client.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{"revision":"12"}' }));
    const okOutput = JSON.parse((await describeExecution(ok.executionArn!)).output!);
    expect(okOutput.deploy.status).toBe('SUCCEEDED');
    expect(codeBuild.getBuild(okOutput.deploy.id)?.buildStatus).toBe('SUCCEEDED');

    const bad = await client.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{"revision":"13"}' }));
    const badOutput = JSON.parse((await describeExecution(bad.executionArn!)).output!);
    expect(badOutput.rollback).toBe('rolled back');
    expect(badOutput.error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(badOutput.error.Cause).Build.BuildStatus).toBe('FAILED');
  });

  it('stops an execution with StopExecution', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: approvalArn, name: 'stop-me', input: '{"environment":"beta"}' }),
    );
    await approvals.next();
    await client.send(new StopExecutionCommand({ executionArn, error: 'Superseded', cause: 'newer revision' }));
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('ABORTED');
    expect(described.error).toBe('Superseded');
  });

  it('lists an execution persisted as RUNNING as in flight after a restart, and resumes it with the same task token', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: approvalArn, name: 'survives', input: '{"environment":"prod-eu"}' }),
    );
    const before = await approvals.next();

    await service.close();
    const restarted = await LocalStepFunctions.open({ dataDir: data.dir, clock, codeBuild });
    register(restarted);
    expect(restarted.listInFlight().map((r) => r.name)).toEqual(['survives']);
    expect(restarted.getExecution(executionArn!)?.status).toBe('RUNNING');

    restarted.resume('survives');
    const after = await approvals.next();
    expect(after.taskToken).toBe(before.taskToken);
    expect(restarted.listInFlight()).toEqual([]);
    restarted.sendTaskSuccess({ taskToken: after.taskToken, output: '{"decidedBy":"carol"}' });
    expect((await restarted.waitForExecution('survives')).status).toBe('SUCCEEDED');
    expect(restarted.getExecution('survives')?.resumeCount).toBe(1);
    await restarted.close();
  });
});
