/**
 * SetAlarmState for local mode's console and `lockstep alarm set`: the one place an alarm's state is written, on
 * the local CloudWatch stand-in the bake reads. Nothing builds one against AWS (there, CloudWatch's own
 * `set-alarm-state` is the tool; docs/ARCHITECTURE.md, "Local CloudWatch").
 */
import {
  paginateDescribeAlarms,
  ResourceNotFound,
  SetAlarmStateCommand,
  type CloudWatchClient,
} from '@aws-sdk/client-cloudwatch';
import { UnknownAlarmError, type AlarmStateSetter } from '../console/alarm-view';
import type { AlarmStateValue } from '../ports/services';

export class CloudWatchAlarmStateSetter implements AlarmStateSetter {
  constructor(private readonly client: CloudWatchClient) {}

  async set(name: string, state: AlarmStateValue, reason: string): Promise<void> {
    try {
      await this.client.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: reason }));
    } catch (error) {
      if (error instanceof ResourceNotFound) throw new UnknownAlarmError(name, await this.names());
      throw error;
    }
  }

  async names(): Promise<string[]> {
    const names: string[] = [];
    const pages = paginateDescribeAlarms(
      { client: this.client },
      { AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100 },
    );
    for await (const page of pages) {
      for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])])
        if (alarm.AlarmName) names.push(alarm.AlarmName);
    }
    return names.sort();
  }
}
