import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fetchStatus, pushSdks, resolveApi } from '../../bin/commands/sdk';
import { buildExampleSdks } from '../../examples/sdks/build';
import { tempDataDir } from '../local/helpers';
import { builds, eventually, startLocal, type LocalProcess } from './support';

// `lockstep local` with its SDK half as a child process, killed with SIGKILL (its whole process group) while an SDK
// is TESTING, then started again on the same data folder: the interrupted publish finishes by itself (issue 14,
// item 12), as crash.test.ts shows for promotions.
const CONFIG = `
pipeline: { name: sdkcrash }
packages:
  - name: sample-app
    source: { local: { path: repos/sample-app, branch: main } }
    build:
      commands: [node scripts/build.js]
      artifacts: ["dist/**", "scripts/**", package.json]
applications:
  - { name: sample-app, packages: [sample-app] }
stages:
  - name: Alpha
    environments:
      - name: alpha
        deploy: { commands: [node scripts/deploy.js] }
promotions:
  - { from: { application: sample-app }, to: alpha }
`;

describe('crash and restart of lockstep local while an SDK is TESTING', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let configFile: string;
  let gate: string;
  let current: LocalProcess | undefined;

  const start = (): LocalProcess =>
    (current = startLocal(['--data-dir', data.dir, '--config', configFile, '--dynamodb', 'dynalite']));
  const crash = (running: LocalProcess) => running.crash();

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-sdk-crash-');
    configFile = join(data.dir, 'sdkcrash.yaml');
    await writeFile(configFile, CONFIG);
    // The checks script waits for this gate (in a folder the sandboxed script may read): the crash lands mid-test.
    gate = await mkdtemp(join(tmpdir(), 'lockstep-sdk-crash-gate-'));
    await chmod(gate, 0o755);
  });

  afterAll(async () => {
    await current?.crash();
    await data?.cleanup();
    await rm(gate, { recursive: true, force: true });
  });

  it('finishes the interrupted publish by itself: the test runs again and the SDK is PUBLISHED, with no dead end', async () => {
    const first = start();
    await eventually(() => first.output.includes('Lockstep is ready'), 'local mode to be ready', 90_000);
    const built = await buildExampleSdks(join(data.dir, 'examples'));
    const analytics = built['analytics@6.1.0']!;
    await writeFile(
      join(analytics, 'lockstep-checks.sh'),
      `while [ ! -e ${gate}/release ]; do sleep 0.1; done\necho "released"\n`,
    );
    const provider = resolveApi({ dataDir: data.dir }, 'provider');
    const [pushed] = await pushSdks(provider, [analytics]);
    expect(pushed).toMatchObject({ started: true });

    await eventually(
      async () =>
        (await builds(data.dir)).find((b) => b.projectName === 'lockstep-sdk-tester' && b.currentPhase === 'BUILD'),
      'the tester running',
      90_000,
    );
    expect((await fetchStatus(provider, 'analytics@6.1.0'))[0]?.status).toBe('TESTING');
    await crash(first);

    await writeFile(join(gate, 'release'), 'go\n');
    await chmod(join(gate, 'release'), 0o644);
    const second = start();
    await eventually(() => second.output.includes('Lockstep is ready'), 'the restarted system to be ready', 90_000);
    expect(second.output).toMatch(/\[local sdk\] resuming analytics-6_1_0-intake-/);

    const status = await eventually(
      async () => {
        const [found] = await fetchStatus(resolveApi({ dataDir: data.dir }, 'provider'), 'analytics@6.1.0');
        return found?.status === 'PUBLISHED' || found?.status === 'TEST_FAILED' ? found : undefined;
      },
      'the interrupted publish to finish',
      120_000,
    );
    expect(status.status).toBe('PUBLISHED');
    expect(status.history.map((h) => h.status)).toEqual(expect.arrayContaining(['TESTING', 'READY', 'PUBLISHED']));
    expect(status.intakes.map((i) => i.state)).not.toContain('REJECTED');
    // The cut-off tester build is FAILED by the restart; the resumed execution ran the test again.
    const testers = (await builds(data.dir)).filter((b) => b.projectName === 'lockstep-sdk-tester');
    expect(testers.map((b) => b.buildStatus).sort()).toEqual(['FAILED', 'SUCCEEDED']);
  }, 400_000);
});
