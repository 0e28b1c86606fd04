import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';
import { eventually } from './support';

// Two quickstart systems in one process, each with its own data folder, services, secrets and clock: what a
// test suite or a demo that runs a staging and a production pipeline side by side does. Nothing may cross.
describe('two local systems in one process', () => {
  const dirs: Array<Awaited<ReturnType<typeof tempDataDir>>> = [];
  const systems: LocalSystem[] = [];
  const clocks = [
    new ManualClock(Date.parse('2030-01-07T12:00:00Z')),
    new ManualClock(Date.parse('2031-06-02T08:00:00Z')),
  ];

  beforeAll(async () => {
    for (const [i, clock] of clocks.entries()) {
      const data = await tempDataDir(`lockstep-two-${i}-`);
      dirs.push(data);
      // The first pushes its sample repository at once; the second starts quiet.
      systems.push(
        await startLocalSystem({
          dataDir: data.dir,
          clock,
          javaPreference: 'dynalite',
          instantRetries: true,
          sdkPublishing: false,
          firstPush: i === 0,
          progress: false,
          write: () => undefined,
        }),
      );
    }
  });

  afterAll(async () => {
    for (const system of systems) await system.stop();
    for (const data of dirs) await data.cleanup();
  });

  it('starts both, each on its own endpoints, and neither refuses to start beside the other', () => {
    const [a, b] = systems as [LocalSystem, LocalSystem];
    expect(a.services.endpoints.http).not.toBe(b.services.endpoints.http);
    expect(a.services.endpoints.dynamodb).not.toBe(b.services.endpoints.dynamodb);
  });

  it("builds the first system's push in the first system only", async () => {
    const [a, b] = systems as [LocalSystem, LocalSystem];
    clocks[0]!.advance(2_500);
    const first = await a.reconcile();
    clocks[1]!.advance(2_500);
    const second = await b.reconcile();
    expect(first?.buildsStarted).toHaveLength(1);
    // The second system was never pushed to: its reconcile pass finds its own sample repository's head, which no
    // delivery announced, and builds that (missed-push recovery). A push of the first system's would arrive as a
    // delivered push, not a recovered one.
    expect(second?.buildsStarted.length).toBeLessThanOrEqual(1);
    const timelineB = await b.runtime.eventStore().list({});
    const pushesB = timelineB.filter((e) => e.type === 'push-recorded');
    expect(pushesB.map((e) => e.details?.recovered)).toEqual(pushesB.map(() => true));
    // The second system's timeline holds only its own passes, dated on its own clock.
    expect(timelineB.every((e) => e.at >= Date.parse('2031-06-02T08:00:00Z'))).toBe(true);
    const pushesA = (await a.runtime.eventStore().list({})).filter((e) => e.type === 'push-recorded');
    expect(pushesA.map((e) => e.details?.recovered)).toEqual([undefined]);
  });

  it("accepts a push signed with the second system's own secret, and each handler reads its own clock", async () => {
    const [a, b] = systems as [LocalSystem, LocalSystem];
    const pushed = await b.push({ message: 'Only in the second system' });
    expect(pushed.status).toBe(202);
    expect(a.runtime.clock()).toBe(clocks[0]!.now());
    expect(b.runtime.clock()).toBe(clocks[1]!.now());
    clocks[1]!.advance(2_500);
    await b.reconcile();
    const built = await eventually(
      async () => (await b.runtime.eventStore().list({})).find((e) => e.type === 'build-started'),
      'the second system builds its push',
    );
    expect(built.at).toBeGreaterThanOrEqual(Date.parse('2031-06-02T08:00:00Z'));
    // The first system saw none of it: its pushes are its own first push only.
    const timelineA = await a.runtime.eventStore().list({});
    expect(timelineA.filter((e) => e.type === 'push-recorded')).toHaveLength(1);
    expect(timelineA.every((e) => e.at < Date.parse('2031-01-01T00:00:00Z'))).toBe(true);
  });
});
