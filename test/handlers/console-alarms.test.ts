// The bakes' alarms in the console's HTTP answers, over real stores (dynalite) and local mode's CloudWatch through
// the bake's own adapter: each card's alarms with their states, "Set ALARM"/"Set OK" in local mode (who may, what an
// unknown alarm or a bad body gets), and on AWS the alarms listed without state and never set.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloudWatchClient, DeleteAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchAlarmReader } from '../../lambdas/adapters/cloudwatch-alarm-reader';
import { CloudWatchAlarmStateSetter } from '../../lambdas/adapters/cloudwatch-alarm-setter';
import { consoleApiDependencies } from '../../lambdas/adapters/console-runtime';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { createHandler } from '../../lambdas/handlers/console-api';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { LocalCloudWatch } from '../../local/cloudwatch/cloudwatch';
import { seedBakeAlarms } from '../../local/cloudwatch/seed';
import { readPipelineFile } from '../../lambdas/adapters/pipeline-file';
import { clientConfig, tempDataDir } from '../local/helpers';
import { callConsole as call, jsonBody as body, operator, viewer } from '../support/console-requests';
import { startRuntimeEnv, TEST_PIPELINE, type RuntimeEnv } from '../support/runtime-env';

const PIPELINE: PipelineInput = {
  ...TEST_PIPELINE,
  stages: TEST_PIPELINE.stages.map((stage) => ({
    ...stage,
    environments: stage.environments.map((environment) =>
      environment.name === 'Beta'
        ? {
            ...environment,
            approval: {
              ...environment.approval,
              bakeTime: {
                duration: '30m',
                alarms: ['web-5xx', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-latency'],
              },
            },
          }
        : environment,
    ),
  })),
};

let env: RuntimeEnv;
let data: Awaited<ReturnType<typeof tempDataDir>>;
let server: RunningAwsServer;
let client: CloudWatchClient;
let local: ReturnType<typeof createHandler>;
let aws: ReturnType<typeof createHandler>;

const betaAlarms = async (api: ReturnType<typeof createHandler>) => {
  const view = body(await call(api, 'GET', '/console/api/pipeline', { claims: viewer }));
  return {
    alarmControl: view.alarmControl as boolean,
    alarms: view.stages[0].environments.find((e: { name: string }) => e.name === 'Beta').alarms as unknown[],
  };
};

beforeAll(async () => {
  env = await startRuntimeEnv({}, PIPELINE);
  data = await tempDataDir('lockstep-console-alarms-');
  const cloudWatch = await LocalCloudWatch.open({ dataDir: data.dir });
  await seedBakeAlarms(cloudWatch, readPipelineFile(env.variables.LOCKSTEP_PIPELINE_FILE!));
  server = await startAwsServer(cloudWatch.definition());
  client = new CloudWatchClient({ ...clientConfig, endpoint: server.endpoint });
  const options = { env: { ...env.variables, LOCKSTEP_CONSOLE_LOGIN: 'local' } };
  local = createHandler(
    consoleApiDependencies(env.runtime, {
      ...options,
      alarms: {
        reader: new CloudWatchAlarmReader({ clientFor: () => client }),
        setter: new CloudWatchAlarmStateSetter(client),
      },
    }),
  );
  aws = createHandler(consoleApiDependencies(env.runtime, options));
});

afterAll(async () => {
  client.destroy();
  await server.close();
  await env.close();
  await data.cleanup();
});

describe('the console in local mode', () => {
  it("shows each alarm of the environment's bake with its state, ARNs as names", async () => {
    const { alarmControl, alarms } = await betaAlarms(local);
    expect(alarmControl).toBe(true);
    expect(alarms).toEqual([
      expect.objectContaining({ name: 'web-5xx', state: 'OK', reason: 'created by lockstep local' }),
      expect.objectContaining({ name: 'web-latency', state: 'OK' }),
    ]);
  });

  it('sets an alarm for an operator, in the CloudWatch the bake reads, with who set it as the reason', async () => {
    const response = await call(local, 'POST', '/console/api/alarms/web-5xx', {
      claims: operator,
      body: { state: 'ALARM' },
    });
    expect(response.statusCode).toBe(200);
    expect(body(response)).toEqual({ ok: true, outcome: { name: 'web-5xx', state: 'ALARM' } });
    const [state] = await new CloudWatchAlarmReader({ clientFor: () => client }).states({}, ['web-5xx']);
    expect(state).toMatchObject({ state: 'ALARM', reason: 'set from the console by otto@example.com' });
    expect((await betaAlarms(local)).alarms[0]).toMatchObject({ name: 'web-5xx', state: 'ALARM' });

    await call(local, 'POST', '/console/api/alarms/web-5xx', {
      claims: operator,
      body: { state: 'OK', reason: 'fixed' },
    });
    expect((await betaAlarms(local)).alarms[0]).toMatchObject({ state: 'OK', reason: 'fixed' });
  });

  it('refuses a viewer (403) and leaves the alarm as it was', async () => {
    const response = await call(local, 'POST', '/console/api/alarms/web-5xx', {
      claims: viewer,
      body: { state: 'ALARM' },
    });
    expect(response.statusCode).toBe(403);
    expect((await betaAlarms(local)).alarms[0]).toMatchObject({ state: 'OK' });
  });

  it('answers an unknown alarm with 404 and the alarms there are, and a bad state with 400', async () => {
    const unknown = await call(local, 'POST', '/console/api/alarms/nope', { claims: operator, body: { state: 'OK' } });
    expect(unknown.statusCode).toBe(404);
    expect(body(unknown).message).toBe(
      'No alarm "nope" in local CloudWatch. Known alarms: web-5xx, web-latency (local mode creates the alarms of the bakes when it starts)',
    );
    const bad = await call(local, 'POST', '/console/api/alarms/web-5xx', { claims: operator, body: { state: 'RED' } });
    expect(bad.statusCode).toBe(400);
    expect(body(bad).message).toContain('The alarm request is not valid (state:');
  });

  it('shows an alarm the bake watches but CloudWatch lacks as MISSING', async () => {
    await client.send(new DeleteAlarmsCommand({ AlarmNames: ['web-latency'] }));
    expect((await betaAlarms(local)).alarms[1]).toEqual({ name: 'web-latency', state: 'MISSING' });
  });
});

describe('the console on AWS', () => {
  it('lists the alarms without state and offers no control', async () => {
    expect(await betaAlarms(aws)).toEqual({
      alarmControl: false,
      alarms: [{ name: 'web-5xx' }, { name: 'web-latency' }],
    });
  });

  it('refuses to set an alarm (409), pointing at CloudWatch', async () => {
    const response = await call(aws, 'POST', '/console/api/alarms/web-5xx', {
      claims: operator,
      body: { state: 'ALARM' },
    });
    expect(response.statusCode).toBe(409);
    expect(body(response).message).toContain('aws cloudwatch set-alarm-state');
  });
});
