// Closing local Step Functions (or stopping an execution) while a waitForTaskToken Task waits must leave no timer
// behind: the engine arms one per Task for its TimeoutSeconds (an hour for an approval), and a live timer keeps the
// process (a Jest worker, `lockstep local` after Ctrl-C) from exiting.
import { createHook } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../local/clock';
import { LocalCodeBuild } from '../../local/codebuild/codebuild';
import type { S3Client } from '@aws-sdk/client-s3';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';
import { LocalStepFunctions } from '../../local/stepfunctions/step-functions';
import { lambdaArn } from '../../local/constants';
import { tempDataDir } from './helpers';

const machine = {
  StartAt: 'RequestApproval',
  States: {
    RequestApproval: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: '${ApprovalRequestFunctionArn}', Payload: { 'taskToken.$': '$$.Task.Token' } },
      TimeoutSeconds: 3600,
      Next: 'Approved',
    },
    Approved: { Type: 'Succeed' },
  },
};

/** Timers the Step Functions engine armed and has not cleared (Jest's and the reporter's own are not counted). */
const engineTimers = new Set<number>();
createHook({
  init(id, type) {
    if (type === 'Timeout' && new Error().stack?.includes('aws-local-stepfunctions')) engineTimers.add(id);
  },
  destroy(id) {
    engineTimers.delete(id);
  },
}).enable();

/** A cleared timer is destroyed a moment after the promise that clears it settles. */
async function engineTimersLeft(): Promise<number> {
  for (let attempt = 0; attempt < 50 && engineTimers.size > 0; attempt++)
    await new Promise<void>((ok) => setTimeout(ok, 10));
  return engineTimers.size;
}

describe('local Step Functions, closed while a task token is out', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let s3: LocalS3;
  let s3Client: S3Client;
  let codeBuild: LocalCodeBuild;

  beforeAll(async () => {
    data = await tempDataDir();
    s3 = await startLocalS3({ dataDir: data.dir, buckets: ['artifacts'] });
    s3Client = localS3Client(s3.endpoint);
    codeBuild = await LocalCodeBuild.open({ dataDir: data.dir, s3: s3Client });
  });

  afterAll(async () => {
    await codeBuild.close();
    s3Client.destroy(); // its keep-alive sockets would outlive the test file
    await s3.stop();
    await data.cleanup();
  });

  it('clears the Task timer of every waiting execution', async () => {
    const service = await LocalStepFunctions.open({ dataDir: data.dir, clock: new ManualClock(0), codeBuild });
    let requested!: () => void;
    const request = new Promise<void>((ok) => (requested = ok));
    service.registerFunction('approval-request', () => {
      requested();
      return {};
    });
    const arn = service.registerStateMachine({
      name: 'approval',
      definition: JSON.stringify(machine),
      substitutions: { ApprovalRequestFunctionArn: lambdaArn('approval-request') },
    });
    await service.startExecution({ stateMachineArn: arn, name: 'waits', input: '{}' });
    await request;
    expect(engineTimers.size).toBeGreaterThan(0); // the Task's one-hour timeout
    await service.close();
    expect(await engineTimersLeft()).toBe(0);
  });
});
