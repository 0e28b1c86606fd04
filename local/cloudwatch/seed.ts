import { alarmNameOf } from '../../lambdas/adapters/cloudwatch-alarm-reader';
import type { Pipeline } from '../../lambdas/core/config/schema';
import type { LocalCloudWatch } from './cloudwatch';

/** The reason a seeded alarm carries, so `lockstep alarm list` tells seeded alarms from flipped ones. */
export const SEEDED_ALARM_REASON = 'created by lockstep local';

/**
 * Every alarm name the pipeline's bakes watch (`approval.bakeTime.alarms`), ARNs reduced to names, sorted. A bake
 * time may be a plain duration (no alarms); entries are read defensively (a name, or an object with `name`), so a
 * pipeline file of another Lockstep version seeds what it can instead of failing the start.
 */
export function bakeAlarmNames(pipeline: Pipeline): string[] {
  const names = new Set<string>();
  for (const stage of pipeline.stages) {
    for (const environment of stage.environments) {
      const bake: unknown = environment.approval.bakeTime;
      if (bake === null || typeof bake !== 'object' || !('alarms' in bake) || !Array.isArray(bake.alarms)) continue;
      for (const entry of bake.alarms as unknown[]) {
        const name =
          typeof entry === 'string'
            ? entry
            : entry !== null && typeof entry === 'object' && 'name' in entry && typeof entry.name === 'string'
              ? entry.name
              : undefined;
        if (name) names.add(alarmNameOf(name));
      }
    }
  }
  return [...names].sort();
}

/**
 * Creates, in OK, every alarm the pipeline's bakes watch that local CloudWatch does not have yet, so a bake on a
 * fresh data folder never blocks on a missing alarm; alarms that exist keep their state (a restart keeps an alarm
 * the user set to ALARM). Returns the names created.
 */
export function seedBakeAlarms(cloudWatch: LocalCloudWatch, pipeline: Pipeline): Promise<string[]> {
  return cloudWatch.ensureAlarms(bakeAlarmNames(pipeline), 'OK', SEEDED_ALARM_REASON);
}
