/**
 * Lost push events: GitHub does not retry a failed delivery (and a throttled webhook drops the push), and a
 * CodeCommit event can be dropped after EventBridge's retries. The reconcile pass compares each tracked branch's
 * head with the pushes Lockstep knows and builds what was missed. The `local:` package's source of truth is a real
 * git repository (as in local mode); CodeCommit is an aws-sdk-client-mock mock; DynamoDB is dynalite.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetBuildsCommand, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { GetBranchCommand, GetCommitCommand } from '@aws-sdk/client-codecommit';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Runtime } from '../../lambdas/adapters/runtime';
import { createHandler as createReconcile } from '../../lambdas/handlers/reconcile';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import { commitChange, createSampleRepository } from '../../local/git';
import { fakeDateOnly } from '../support/fake-date';
import { mocks, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

let env: RuntimeEnv;
let repoDir: string;
let reconcile: (event: unknown) => Promise<{ buildsStarted: string[] }>;
let runtime: Runtime;

const OPS_HEAD = 'c0ffee'.padEnd(40, '7');

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lockstep-missed-'));
  repoDir = (await createSampleRepository({ dataDir, name: 'app' })).dir;
  const pipeline: PipelineInput = {
    pipeline: { name: 'shop', buildDebounce: '1s' },
    packages: [
      { name: 'app', source: { local: { path: repoDir, branch: 'main' } }, build: { commands: ['make'] } },
      { name: 'ops', source: { codecommit: { repository: 'ops', branch: 'main' } }, build: { commands: ['make'] } },
    ],
    applications: [
      { name: 'app', packages: ['app'] },
      { name: 'ops', packages: ['ops'] },
    ],
    stages: [{ name: 'Ops', environments: [{ name: 'Ops', deploy: { commands: ['./deploy.sh'] } }] }],
    promotions: [{ from: { application: ['app', 'ops'] }, to: 'Ops' }],
  };
  env = await startRuntimeEnv({}, pipeline);
  mocks.codebuild.on(StartBuildCommand).callsFake((input: { projectName: string; sourceVersion?: string }) => ({
    build: { id: `${input.projectName}:${input.sourceVersion}` },
  }));
  mocks.codebuild
    .on(BatchGetBuildsCommand)
    .callsFake((input: { ids: string[] }) => ({ builds: input.ids.map((id) => ({ id, buildStatus: 'IN_PROGRESS' })) }));
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  mocks.codecommit
    .on(GetBranchCommand, { repositoryName: 'ops', branchName: 'main' })
    .resolves({ branch: { branchName: 'main', commitId: OPS_HEAD } });
  mocks.codecommit.on(GetCommitCommand, { repositoryName: 'ops', commitId: OPS_HEAD }).resolves({
    commit: {
      commitId: OPS_HEAD,
      parents: [],
      message: 'Rotate the keys',
      author: { name: 'Dana', email: 'dana@example.com', date: '1893456000 +0000' },
    },
  });
  runtime = env.runtime;
  reconcile = createReconcile(runtime.reconcileDependencies()) as never;
});
afterAll(() => {
  jest.useRealTimers();
  return env.close();
});

const builtVersions = () =>
  mocks.codebuild
    .commandCalls(StartBuildCommand)
    .map((c) => [c.args[0].input.projectName, c.args[0].input.sourceVersion]);

describe('pushes whose event never arrived', () => {
  it('builds the head of each tracked branch that no delivered push named, once', async () => {
    fakeDateOnly();
    jest.setSystemTime(new Date('2030-01-07T10:00:00Z'));
    // A commit lands on the local repository, and its push delivery is lost.
    const head = await commitChange(repoDir, {
      message: 'Fix checkout',
      files: { 'fix.txt': 'fixed\n' },
      author: { name: 'Eve', email: 'eve@example.com' },
    });

    await reconcile({}); // finds both missed heads; AutoBuild waits for the debounce
    jest.setSystemTime(new Date('2030-01-07T10:00:05Z'));
    await reconcile({});
    expect(builtVersions().sort()).toEqual([
      ['lockstep-shop-build-app', head],
      ['lockstep-shop-build-ops', OPS_HEAD],
    ]);

    const pushes = await runtime.buildStore().pushes();
    expect(pushes.find((p) => p.commit === head)).toMatchObject({
      package: 'app',
      author: 'eve@example.com',
      message: 'Fix checkout',
      deliveryId: `reconcile:app:${head}`,
    });
    expect(pushes.find((p) => p.commit === OPS_HEAD)).toMatchObject({ package: 'ops', author: 'dana@example.com' });
    const timeline = await runtime.eventStore().list({});
    expect(timeline.filter((e) => e.type === 'push-recorded').map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('found by the reconcile pass')]),
    );

    // Later passes find nothing new: the heads are known pushes now.
    jest.setSystemTime(new Date('2030-01-07T10:01:00Z'));
    await reconcile({});
    expect(builtVersions()).toHaveLength(2);
    jest.useRealTimers();
  });
});
