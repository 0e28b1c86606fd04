import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fetchStatus, pushSdks, resolveApi } from '../../bin/commands/sdk';
import { buildExampleSdks } from '../../examples/sdks/build';
import { tempDataDir } from '../local/helpers';
import { builds, eventually } from './support';

// `lockstep local` with its SDK half as a child process, killed with SIGKILL (its whole process group) while an SDK
// is TESTING, then started again on the same data folder: the interrupted publish finishes by itself (issue 14,
// item 12), as crash.test.ts shows for promotions.
const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'bin', 'lockstep.ts')] as const;

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

interface Running {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<void>;
}

describe('crash and restart of lockstep local while an SDK is TESTING', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let configFile: string;
  let gate: string;
  let current: Running | undefined;
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

  const start = (): Running => {
    const child = spawn(
      CLI[0],
      [...CLI.slice(1), 'local', '--data-dir', data.dir, '--config', configFile, '--dynamodb', 'dynalite'],
      {
        cwd: ROOT,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const running: Running = { child, output: '', exited: new Promise((ok) => child.once('exit', () => ok())) };
    child.stdout.on('data', (chunk: Buffer) => (running.output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (running.output += chunk.toString()));
    current = running;
    return running;
  };
  const crash = async (running: Running) => {
    process.kill(-running.child.pid!, 'SIGKILL');
    await running.exited;
  };

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-sdk-crash-');
    configFile = join(data.dir, 'sdkcrash.yaml');
    await writeFile(configFile, CONFIG);
    // The checks script waits for this gate (in a folder the sandboxed script may read): the crash lands mid-test.
    gate = await mkdtemp(join(tmpdir(), 'lockstep-sdk-crash-gate-'));
    await chmod(gate, 0o755);
  });

  afterAll(async () => {
    if (current?.child.exitCode === null) await crash(current);
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
