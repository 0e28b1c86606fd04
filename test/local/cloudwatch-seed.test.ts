// Seeding local CloudWatch with the alarms the pipeline's bakes watch: names from the parsed configuration (an ARN
// reduced to its name), created in OK once, never reset by a restart.
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadPipeline } from '../../lambdas/core/config/load';
import type { Pipeline } from '../../lambdas/core/config/schema';
import { LocalCloudWatch } from '../../local/cloudwatch/cloudwatch';
import { bakeAlarmNames, seedBakeAlarms, SEEDED_ALARM_REASON } from '../../local/cloudwatch/seed';
import { threeStagePipeline } from '../decide/fixtures';
import { tempDataDir } from './helpers';

/** The fixture pipeline with alarm bakes on two environments, as the alarm-bake configuration writes them. */
function withAlarmBakes(): Pipeline {
  const pipeline = threeStagePipeline();
  const environments = pipeline.stages.flatMap((s) => s.environments);
  const bake = (alarms: string[]) => ({ duration: '30m', alarms, acceptInsufficientData: false });
  Object.assign(environments[0]!.approval, { bakeTime: '10m' });
  Object.assign(environments[1]!.approval, {
    bakeTime: bake(['api-5xx', 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:latency-p99']),
  });
  Object.assign(environments[2]!.approval, { bakeTime: bake(['api-5xx']) });
  return pipeline;
}

describe('seeding the bakes alarms', () => {
  it('reads every alarm name of the bakes, ARNs as names, plain durations ignored', () => {
    expect(bakeAlarmNames(withAlarmBakes())).toEqual(['api-5xx', 'latency-p99']);
    expect(bakeAlarmNames(threeStagePipeline())).toEqual([]);
  });

  it('creates the missing alarms in OK and keeps the state of those that exist across a restart', async () => {
    const data = await tempDataDir('lockstep-seed-');
    try {
      const first = await LocalCloudWatch.open({ dataDir: data.dir });
      expect(await seedBakeAlarms(first, withAlarmBakes())).toEqual(['api-5xx', 'latency-p99']);
      await first.setAlarmState({ AlarmName: 'api-5xx', StateValue: 'ALARM', StateReason: 'flipped by hand' });

      const restarted = await LocalCloudWatch.open({ dataDir: data.dir });
      expect(await seedBakeAlarms(restarted, withAlarmBakes())).toEqual([]);
      const { MetricAlarms } = restarted.describeAlarms({});
      expect(MetricAlarms.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
        ['api-5xx', 'ALARM', 'flipped by hand'],
        ['latency-p99', 'OK', SEEDED_ALARM_REASON],
      ]);
    } finally {
      await data.cleanup();
    }
  });

  it('creates every alarm of the three-stage example in OK, so its bakes start on a fresh data folder', async () => {
    const data = await tempDataDir('lockstep-seed-three-stage-');
    try {
      const pipeline = loadPipeline(join(import.meta.dirname, '../../examples/three-stage/lockstep.config.yaml'));
      const cloudWatch = await LocalCloudWatch.open({ dataDir: data.dir });
      const created = await seedBakeAlarms(cloudWatch, pipeline);
      expect(created).toEqual([
        'storefront-prod-eu-5xx',
        'storefront-prod-eu-latency',
        'storefront-prod-fe-5xx',
        'storefront-prod-fe-latency',
        'storefront-prod-na-5xx',
        'storefront-prod-na-latency',
      ]);
      const { MetricAlarms } = cloudWatch.describeAlarms({ StateValue: 'OK' });
      expect(MetricAlarms.map((a) => a.AlarmName)).toEqual(created);
    } finally {
      await data.cleanup();
    }
  });
});
