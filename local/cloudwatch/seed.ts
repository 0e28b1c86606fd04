import { environmentsWithAlarms } from '../../lambdas/console/alarm-view';
import type { Pipeline } from '../../lambdas/core/config/schema';
import type { LocalCloudWatch } from './cloudwatch';

/** The reason a seeded alarm carries, so `lockstep alarm list` tells seeded alarms from flipped ones. */
export const SEEDED_ALARM_REASON = 'created by lockstep local';

/** Every alarm name the pipeline's bakes watch (`approval.bakeTime.alarms`), ARNs reduced to names, sorted. */
export function bakeAlarmNames(pipeline: Pipeline): string[] {
  return [...new Set(environmentsWithAlarms(pipeline).flatMap((e) => e.alarms))].sort();
}

/**
 * Creates, in OK, every alarm the pipeline's bakes watch that local CloudWatch does not have yet, so a bake on a
 * fresh data folder never blocks on a missing alarm; alarms that exist keep their state (a restart keeps an alarm
 * the user set to ALARM). Returns the names created.
 */
export function seedBakeAlarms(cloudWatch: LocalCloudWatch, pipeline: Pipeline): Promise<string[]> {
  return cloudWatch.ensureAlarms(bakeAlarmNames(pipeline), 'OK', SEEDED_ALARM_REASON);
}
