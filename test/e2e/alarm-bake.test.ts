import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setAlarm } from '../../bin/commands/alarm';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { ManualClock } from '../../local/clock';
import { tempDataDir } from '../local/helpers';
import { deployed, eventually, notifications } from './support';

// Issue 12 item 1 in local mode: the sample app promoted alpha -> prod-na, whose 30-minute bake watches two
// CloudWatch alarms in local mode's CloudWatch (created in OK at start). The same step code as on AWS reads them;
// the test flips one with `lockstep alarm set` (`setAlarm`, the command's own function) during the bake of r2.
// Runs in-process on a manual clock, a minute at a time; each test continues from where the one before left.
const MONDAY_NOON_UTC = Date.parse('2030-01-07T12:00:00Z');
const ERRORS = 'sample-app-prod-na-5xx';
const LATENCY = 'sample-app-prod-na-latency';

const CONFIG = `pipeline:
  name: alarm-bake
  buildDebounce: 2s
packages:
  - name: sample-app
    source:
      local:
        path: repos/sample-app
        branch: main
    build:
      commands: [node scripts/build.js]
      artifacts: [dist/**, scripts/**, package.json]
applications:
  - name: sample-app
    packages: [sample-app]
stages:
  - name: Alpha
    environments:
      - name: alpha
        deploy:
          commands: [node scripts/deploy.js]
  - name: Prod
    environments:
      - name: prod-na
        region: us-east-1
        deploy:
          commands: [node scripts/deploy.js]
        approval:
          tests:
            - name: smoke
              commands: [node scripts/test.js]
          bakeTime:
            duration: 30m
            alarms: [${ERRORS}, ${LATENCY}]
promotions:
  - from: { application: sample-app }
    to: alpha
  - from: { environment: alpha }
    to: prod-na
notifications:
  - events: [approval-workflow-failed, rollback-done, revision-approved]
    emails: [oncall@example.com]
`;

describe('an alarm-watched bake in local mode', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const clock = new ManualClock(MONDAY_NOON_UTC);
  const consoleLines: string[] = [];
  const prodNa = async () => (await system.status()).environments.find((e) => e.name === 'prod-na')!;
  const timeline = () => system.runtime.agentDependencies().events.list({ environment: 'prod-na' }, 200);
  const bakeOf = async (revision: number) =>
    (await timeline()).find((e) => e.type === 'bake-started' && e.revision === revision);
  /**
   * Moves the clock a minute at a time (each BakeWait is a minute) until `done` holds. A minute moved while no Wait
   * is pending only makes the bake end later on the clock, so the probe between two minutes can be short.
   */
  async function minuteByMinute<T>(done: () => Promise<T | undefined | false>, what: string, minutes = 90): Promise<T> {
    for (let minute = 0; minute <= minutes; minute++) {
      const value = await eventually(done, what, 700).catch(() => undefined);
      if (value) return value;
      clock.advance(60_000);
    }
    return eventually(done, what);
  }

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-alarm-bake-');
    const configFile = join(data.dir, 'alarm-bake.config.yaml');
    await writeFile(configFile, CONFIG);
    system = await startLocalSystem({
      dataDir: data.dir,
      configFile,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      sdkPublishing: false,
      write: (line) => consoleLines.push(line),
    });
  }, 120_000);

  afterAll(async () => {
    if (process.env.DEBUG_ALARM_BAKE) console.log(consoleLines.join('\n'));
    await system?.stop();
    await data?.cleanup();
  });

  it('bakes r1 in prod-na for 30 minutes with both alarms clear, then approves it', async () => {
    expect(consoleLines.join('\n')).toContain(`created alarm(s) ${ERRORS}, ${LATENCY} in OK`);
    clock.advance(2_500); // AutoBuild's debounce
    const started = await eventually(() => bakeOf(1), 'the bake of r1 in prod-na');
    expect(started.message).toContain(`watching ${ERRORS}, ${LATENCY} (checked every 60 s)`);
    await minuteByMinute(
      async () => (await prodNa()).applications['sample-app']?.approved.includes(1) && (await prodNa()).lock === null,
      'r1 approved in prod-na',
    );
    const passed = (await timeline()).find((e) => e.type === 'bake-passed' && e.revision === 1);
    expect(passed?.message).toContain(`with none of ${ERRORS}, ${LATENCY} in ALARM`);
    expect(clock.now() - Date.parse(started.details!.startedAt as string)).toBeGreaterThanOrEqual(30 * 60_000);
  });

  it('rolls prod-na back to r1 when an alarm is set to ALARM during the bake of r2, and says which alarm and why', async () => {
    await system.push({ message: 'Second change' });
    clock.advance(2_500);
    await eventually(() => bakeOf(2), 'the bake of r2 in prod-na');
    expect(await deployed(data.dir, 'prod-na')).toMatchObject({ revision: 2, rollback: false });

    clock.advance(5 * 60_000);
    const reason = 'checkout errors above 5% for 3 minutes';
    const said = await setAlarm(ERRORS, 'ALARM', { dataDir: data.dir, reason });
    expect(said).toBe(`${ERRORS}: OK -> ALARM (${reason})`);

    await minuteByMinute(
      async () => (await deployed(data.dir, 'prod-na'))?.rollback === true,
      'prod-na rolled back',
      3,
    );
    expect(await deployed(data.dir, 'prod-na')).toMatchObject({ revision: 1, rollback: true });
    const env = await eventually(async () => ((await prodNa()).lock === null ? prodNa() : undefined), 'unlocked');
    expect(env.applications['sample-app']?.approved).toEqual([1]);

    const outbox = await eventually(async () => {
      const messages = await notifications(data.dir);
      const of = (event: string) =>
        messages.find((m) => m.attributes.event === event && m.attributes.environment === 'prod-na');
      return of('approval-workflow-failed') && of('rollback-done')
        ? { failed: of('approval-workflow-failed')! }
        : undefined;
    }, 'the failure and rollback notifications');
    expect(outbox.failed.message.split('\n')[0]).toMatch(
      new RegExp(
        `^The approval workflow of sample-app revision 2 in prod-na failed\\. Alarm ${ERRORS} went into ALARM at \\S+ during the bake of sample-app revision 2 in prod-na: ${reason}$`,
      ),
    );

    const entries = await timeline();
    const fired = entries.find((e) => e.type === 'bake-alarm-fired' && e.revision === 2);
    expect(fired?.details).toMatchObject({ alarm: ERRORS, reason });
    const failed = entries.find((e) => e.type === 'approval-workflow-failed' && e.revision === 2);
    expect(failed?.message).toContain(`Alarm ${ERRORS} went into ALARM`);
    expect(failed?.message).toContain(reason);
    expect(entries.some((e) => e.type === 'rollback-rolled-back' && e.revision === 2)).toBe(true);
  });
});
