import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { commitChange } from '../../local/git';
import { tempDataDir } from '../local/helpers';
import { deployed, eventually } from './support';

// A push whose GitHub delivery never arrived (GitHub does not retry a failed one; a throttled webhook drops it) is
// still built: the reconcile pass compares the branch head in the local git repository, the source of truth, with
// the pushes Lockstep knows.
describe('a lost push delivery in local mode', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const clock = new ManualClock(Date.parse('2030-01-07T12:00:00Z'));

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-lost-');
    // No first push: the sample repository is created, and its webhook delivery never sent.
    system = await startLocalSystem({
      dataDir: data.dir,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      firstPush: false,
      sdkPublishing: false,
      write: () => undefined,
    });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await data?.cleanup();
  });

  it('builds and deploys a commit whose push never reached the webhook', async () => {
    const repo = join(data.dir, 'repos', 'sample-app');
    const head = await commitChange(repo, {
      message: 'Delivered to nobody',
      files: { 'lost.txt': 'lost\n' },
      author: { name: 'Eve', email: 'eve@example.com' },
    });
    await system.reconcile(); // finds the head no push named
    clock.advance(2_500); // past the 2-second build debounce
    await system.reconcile();
    const alpha = await eventually(
      async () => {
        const d = await deployed(data.dir, 'alpha');
        return d?.commit === head ? d : undefined;
      },
      'the missed commit deployed to alpha',
      120_000,
    );
    expect(alpha.revision).toBe(1);
    const status = await system.status();
    expect(JSON.stringify(status)).not.toContain('reconcile pass failed');
  }, 180_000);
});
