import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { tempDataDir } from '../local/helpers';
import {
  builds,
  deployed,
  deploysOf,
  eventually,
  notifications,
  runCli,
  startLocal,
  type LocalProcess,
} from './support';

// `lockstep local` as a child process, killed with SIGKILL (its whole process group, as a crash or a closed terminal
// would) in the middle of a deploy and in the middle of an approval wait, then started again on the same data folder.
const CONFIG = `
pipeline: { name: crashtest, buildDebounce: 1s }
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
        deploy:
          commands:
            # Holds every deploy until the test creates the release file: the crash lands mid-deploy.
            - while [ ! -e "$LOCKSTEP_DEPLOY_ROOT/../release-deploys" ]; do sleep 0.05; done
            - node scripts/deploy.js
  - name: Beta
    environments:
      - name: beta
        deploy: { commands: [node scripts/deploy.js] }
        approval:
          manual: { approvers: [release-manager@example.com], timeout: 1h }
promotions:
  - { from: { application: sample-app }, to: alpha }
  - { from: { environment: alpha }, to: beta }
`;

describe('crash and restart of lockstep local', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let configFile: string;
  let current: LocalProcess | undefined;

  const start = (): LocalProcess =>
    (current = startLocal(['--data-dir', data.dir, '--config', configFile, '--dynamodb', 'dynalite', '--no-sdk']));
  const crash = (running: LocalProcess) => running.crash();
  const cli = (...args: string[]) => runCli([...args, '--data-dir', data.dir]);
  const status = () => {
    const result = cli('status', '--json');
    if (result.status !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout) as {
      environments: Array<{ name: string; lock: unknown; applications: Record<string, { approved: number[] }> }>;
    };
  };
  const executionRecord = async (name: string) =>
    JSON.parse(
      await readFile(join(data.dir, 'executions', 'lockstep-crashtest-promotion', `${name}.json`), 'utf8'),
    ) as { status: string; resumeCount: number };

  // Each test gets its own data folder and its own system, so it passes alone and in any order.
  beforeEach(async () => {
    data = await tempDataDir('lockstep-e2e-crash-');
    configFile = join(data.dir, 'crashtest.yaml');
    await writeFile(configFile, CONFIG);
  });

  afterEach(async () => {
    await current?.crash();
    current = undefined;
    await data?.cleanup();
  });

  /** Lets the alpha deploys run (the config holds them until this file exists). */
  const releaseDeploys = async () => {
    await mkdir(join(data.dir, 'deployments'), { recursive: true });
    await writeFile(join(data.dir, 'release-deploys'), 'go\n');
  };

  it('resumes a promotion killed mid-deploy: the deploy is not run again, the promotion rolls back and frees the lock', async () => {
    const first = start();
    const cutOff = await eventually(
      async () =>
        (await builds(data.dir)).find(
          (b) =>
            b.vars.LOCKSTEP_ENVIRONMENT === 'alpha' && b.vars.LOCKSTEP_STEP === 'deploy' && b.currentPhase === 'BUILD',
        ),
      'the alpha deploy running',
      60_000,
    );
    await crash(first);

    await releaseDeploys();
    const second = start();
    await eventually(() => second.output.includes('Lockstep is ready'), 'the restarted system to be ready', 60_000);
    expect(second.output).toMatch(/resumed 1 promotion execution/);
    const record = await eventually(async () => {
      const r = await executionRecord('sample-app-to-alpha-sample-app-r1').catch(() => undefined);
      return r?.status !== 'RUNNING' ? r : undefined;
    }, 'the resumed execution to end');
    expect(record).toMatchObject({ status: 'FAILED', resumeCount: 1 });

    const deploys = await deploysOf(data.dir, 'alpha', 1);
    expect(deploys.map((d) => d.id)).toEqual([cutOff.id]);
    expect(deploys[0]).toMatchObject({ buildStatus: 'FAILED' });
    expect(await deployed(data.dir, 'alpha')).toBeUndefined(); // the cut-off deploy's commands were ended, not finished later
    expect(
      (await notifications(data.dir)).some(
        (m) => m.attributes.event === 'deployment-failed' && m.attributes.environment === 'alpha',
      ),
    ).toBe(true);
    expect(status().environments.find((e) => e.name === 'alpha')?.lock).toBeNull();
  });

  it('resumes a promotion killed while it waits for approval: the same request and link, one email, approved once', async () => {
    await releaseDeploys();
    const first = start();
    const approvalEmails = async () =>
      (await notifications(data.dir)).filter(
        (m) =>
          m.attributes.event === 'approval-requested' &&
          m.attributes.approver !== undefined &&
          m.attributes.environment === 'beta',
      );
    await eventually(async () => (await approvalEmails()).length === 1, 'the approval email for r1 in beta', 60_000);
    // The crash is to land in the wait, after the request step: its last act is the notification rules' notice,
    // published once the approvers' mail is marked sent. (A crash between the mail and that mark resends the mail:
    // approval mails are at least once, ARCHITECTURE.md.)
    await eventually(
      async () =>
        (await notifications(data.dir)).some(
          (m) =>
            m.attributes.event === 'approval-requested' &&
            m.attributes.approver === undefined &&
            m.attributes.environment === 'beta',
        ),
      'the request step to finish (its notice to the notification rules)',
      60_000,
    );
    await crash(first);

    const second = start();
    await eventually(() => second.output.includes('Lockstep is ready'), 'the restarted system to be ready', 60_000);
    expect(second.output).toMatch(/resumed 1 promotion execution/);
    const [email] = await approvalEmails();
    const requestId = new URL(/Review and decide: (\S+)/.exec(email!.message)![1]!).pathname.split('/').pop()!;
    // Decided through the page's route with the link from before the crash (its port is kept across restarts).
    cli('approve', requestId.slice(0, 8));
    await eventually(
      () =>
        status()
          .environments.find((e) => e.name === 'beta')
          ?.applications['sample-app']?.approved.includes(1),
      'r1 approved in beta',
    );

    expect(await approvalEmails()).toHaveLength(1);
    expect(await deploysOf(data.dir, 'beta', 1)).toHaveLength(1);
    expect(await deployed(data.dir, 'beta')).toMatchObject({ revision: 1, rollback: false });
    const record = await eventually(async () => {
      const r = await executionRecord('alpha-to-beta-sample-app-r1');
      return r.status !== 'RUNNING' ? r : undefined;
    }, 'the resumed execution to end');
    expect(record).toMatchObject({ status: 'SUCCEEDED', resumeCount: 1 });
    expect(status().environments.find((e) => e.name === 'beta')?.lock).toBeNull();
  });
});
