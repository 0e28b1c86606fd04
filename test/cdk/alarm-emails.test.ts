/**
 * `alarmEmails`: the addresses that receive Lockstep's own alarms, through the notification topic, filtered to the
 * messages without an `event` attribute (CloudWatch alarm messages). An address that a notification rule names too
 * gets one subscription accepting both: SNS refuses a second subscription of one address with other attributes.
 * One synthesis.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixturePipeline } from './fixtures';

let resources: Record<string, { Type: string; Properties?: Record<string, any> }>;

beforeAll(() => {
  const stack = new LockstepStack(new App(), 'Lockstep-shop', {
    // oncall@example.com is also in the fixture's notification rules; platform@ only receives alarms.
    deploymentSystem: { pipeline: fixturePipeline, alarmEmails: ['oncall@example.com', 'platform@example.com'] },
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  resources = Template.fromStack(stack).toJSON().Resources;
});

const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const subscriptionsOf = (email: string) =>
  ofType('AWS::SNS::Subscription').filter(
    (s) => s.Properties!.Protocol === 'email' && s.Properties!.Endpoint === email,
  );

describe('alarmEmails', () => {
  it('subscribes an alarm-only address to the topic the alarms notify, for messages without an event only', () => {
    const alarmTopics = new Set(
      ofType('AWS::CloudWatch::Alarm').flatMap((a) =>
        (a.Properties!.AlarmActions ?? []).map((t: unknown) => JSON.stringify(t)),
      ),
    );
    expect(alarmTopics.size).toBe(1);
    const [subscription, ...more] = subscriptionsOf('platform@example.com');
    expect(more).toEqual([]);
    expect(subscription!.Properties!.FilterPolicy).toEqual({ event: [{ exists: false }] });
    expect(JSON.stringify(subscription!.Properties!.TopicArn)).toBe([...alarmTopics][0]);
  });

  it('gives an address in both the alarms and a notification rule one subscription that accepts both', () => {
    const [subscription, ...more] = subscriptionsOf('oncall@example.com');
    expect(more).toEqual([]);
    expect(subscription!.Properties!.FilterPolicy).toEqual({
      event: ['deployment-failed', 'revision-approved', 'rollback-done', { exists: false }],
    });
  });

  it("keeps alarms away from the notification rules' other addresses", () => {
    const [subscription] = subscriptionsOf('team@example.com');
    expect(subscription!.Properties!.FilterPolicy).toEqual({ event: ['revision-approved'] });
  });
});
