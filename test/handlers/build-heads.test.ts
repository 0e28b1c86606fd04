/**
 * AutoBuild builds the branch head as the repository has it when the build starts, and lists exactly the commits
 * between the previous revision's head and the built commit, however the push deliveries arrived (issue 14, item
 * 6). A commit the repository does not have fails the build with Lockstep's own message (item 10). And with a
 * GitHub token, the reconcile pass builds a GitHub push whose delivery was lost (issue 9, item 18).
 *
 * The `local:` package is a real git repository (as in local mode); GitHub is an in-process HTTP server speaking
 * the two REST endpoints the reader calls; CodeCommit, CodeBuild, SNS and Secrets Manager are aws-sdk-client-mock
 * mocks; DynamoDB is dynalite.
 */
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetBuildsCommand, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { CommitIdDoesNotExistException, GetBranchCommand, GetCommitCommand } from '@aws-sdk/client-codecommit';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { PipelineInput } from '../../lambdas/core/config/schema';
import type { Push } from '../../lambdas/core/decide/autobuild';
import {
  autoBuild,
  completeBuilds,
  intakePushes,
  recoverMissedPushes,
  type AgentDependencies,
} from '../../lambdas/promotion/agents';
import { commitChange, createSampleRepository, git } from '../../local/git';
import { mocks, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

const TOKEN_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:github-read';
const TOKEN = 'github_pat_read_only';

/** A tiny GitHub: one repository (acme/web) whose commits and `main` head the test sets. */
class FakeGitHub {
  readonly commits = new Map<string, { parents: string[]; message: string; email: string; date: string }>();
  head: string | undefined;
  readonly requests: string[] = [];
  private server: Server | undefined;

  add(label: string, parent: string | undefined): string {
    const sha = createHash('sha1').update(label).digest('hex');
    this.commits.set(sha, {
      parents: parent ? [parent] : [],
      message: label,
      email: 'dev@example.com',
      date: new Date(Date.UTC(2030, 0, 1) + this.commits.size * 60_000).toISOString(),
    });
    return sha;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = req.url ?? '';
      this.requests.push(url);
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return reply(401, { message: 'Bad credentials' });
      const branch = /^\/repos\/acme\/web\/branches\/([^/]+)$/.exec(url);
      if (branch) {
        if (branch[1] !== 'main' || !this.head) return reply(404, { message: 'Branch not found' });
        return reply(200, { name: 'main', commit: { sha: this.head } });
      }
      const commit = /^\/repos\/acme\/web\/commits\/([0-9a-f]+)$/.exec(url);
      if (commit) {
        const found = this.commits.get(commit[1]!);
        if (!found) return reply(422, { message: `No commit found for SHA: ${commit[1]}` });
        return reply(200, {
          sha: commit[1],
          parents: found.parents.map((sha) => ({ sha })),
          commit: { message: found.message, author: { name: 'Dev', email: found.email, date: found.date } },
        });
      }
      return reply(404, { message: 'Not Found' });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }
}

let env: RuntimeEnv;
let deps: AgentDependencies;
let repoDir: string;
let now = Date.UTC(2030, 0, 7, 10);
const github = new FakeGitHub();
const warnings: string[] = [];

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lockstep-heads-'));
  repoDir = (await createSampleRepository({ dataDir, name: 'app' })).dir;
  const pipeline: PipelineInput = {
    pipeline: { name: 'shop', buildDebounce: '1s' },
    packages: [
      { name: 'app', source: { local: { path: repoDir, branch: 'main' } }, build: { commands: ['make'] } },
      {
        name: 'web',
        source: { github: { owner: 'acme', repo: 'web', branch: 'main', tokenSecret: TOKEN_SECRET } },
        build: { commands: ['make'] },
      },
      { name: 'ops', source: { codecommit: { repository: 'ops', branch: 'main' } }, build: { commands: ['make'] } },
    ],
    applications: [
      { name: 'app', packages: ['app'] },
      { name: 'web', packages: ['web'] },
      { name: 'ops', packages: ['ops'] },
    ],
    stages: [{ name: 'Prod', environments: [{ name: 'Prod', deploy: { commands: ['./deploy.sh'] } }] }],
    promotions: [{ from: { application: ['app', 'web', 'ops'] }, to: 'Prod' }],
  };
  const apiUrl = await github.start();
  env = await startRuntimeEnv({}, pipeline, { clock: () => now, variables: { LOCKSTEP_GITHUB_API_URL: apiUrl } });
  mocks.secrets.on(GetSecretValueCommand, { SecretId: TOKEN_SECRET }).resolves({ SecretString: `${TOKEN}\n` });
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  mocks.codebuild.on(StartBuildCommand).callsFake((input: { projectName: string; idempotencyToken?: string }) => ({
    build: { id: `${input.projectName}:${input.idempotencyToken}` },
  }));
  deps = { ...env.runtime.agentDependencies(), warn: (message) => void warnings.push(message) };
});

afterAll(async () => {
  await github.stop();
  await env.close();
  // Every repository was readable: no package fell back to its deliveries.
  expect(warnings).toEqual([]);
});

beforeEach(() => {
  mocks.codebuild.resetHistory();
  mocks.sns.resetHistory();
});

const started = (project: string) =>
  mocks.codebuild
    .commandCalls(StartBuildCommand)
    .map((c) => c.args[0].input)
    .filter((input) => input.projectName === project);

/** The application's newest build record, as the history stores it (and a revision would list it). */
async function newestBuild(application: string) {
  const history = (await deps.builds.history([application]))[application] ?? [];
  return history.sort((a, b) => a.startedAt - b.startedAt).at(-1)!;
}

/** Marks the running build of `application` succeeded, so it is the previous revision of the next one. */
async function succeed(application: string): Promise<void> {
  const build = await newestBuild(application);
  expect(build.status).toBe('running');
  await deps.builds.complete(application, build.id, { status: 'succeeded', finishedAt: now, revision: 1 });
}

function push(pkg: string, commit: string, before: string | undefined, message: string, deliveryId: string): Push {
  return {
    package: pkg,
    branch: 'main',
    commit,
    ...(before ? { before } : {}),
    author: 'dev@example.com',
    message,
    commits: [{ id: commit, message, author: 'dev@example.com', timestamp: now }],
    receivedAt: now,
    deliveryId,
  };
}

/** Commits `count` changes to the local repository: their ids, oldest first. */
async function commitMany(prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    ids.push(await commitChange(repoDir, { message: `${prefix} ${i}`, files: { [`${prefix}.txt`]: `${i}\n` } }));
  }
  return ids;
}

/** Deterministic shuffle, so a failure replays. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('AutoBuild builds the branch head of the repository', () => {
  let base: string;

  it('builds the first push of the local repository', async () => {
    base = (await git(repoDir, 'rev-parse', 'HEAD')).trim();
    await intakePushes(deps, [push('app', base, undefined, 'base', 'd-base')], 'github:dev');
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-app').map((i) => i.sourceVersion)).toEqual([base]);
    await succeed('app');
  });

  it('builds the head of three pushes delivered newest first, listing exactly the three commits', async () => {
    const [o1, o2, o3] = await commitMany('ooo', 3);
    await intakePushes(
      deps,
      [
        push('app', o3!, o2, 'ooo 3', 'd-o3'),
        push('app', o2!, o1, 'ooo 2', 'd-o2'),
        push('app', o1!, base, 'ooo 1', 'd-o1'),
      ],
      'github:dev',
    );
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-app').map((i) => i.sourceVersion)).toEqual([o3]);
    const build = await newestBuild('app');
    expect(build.versionSet).toEqual({ app: o3 });
    expect(build.commits.map((c) => c.message)).toEqual(['ooo 1', 'ooo 2', 'ooo 3']);
    await succeed('app');
  });

  it('builds "burst 10" while the last two of ten concurrent deliveries are still in flight, and nothing after them', async () => {
    const previous = (await git(repoDir, 'rev-parse', 'HEAD')).trim();
    const burst = await commitMany('burst', 10);
    const pushes = burst.map((id, i) =>
      push('app', id, i === 0 ? previous : burst[i - 1], `burst ${i + 1}`, `d-b${i}`),
    );
    // Eight deliveries arrive at once, in any order; the build starts, from three passes at once, before the last two.
    await Promise.all(shuffled(pushes.slice(0, 8), 7).map((p) => intakePushes(deps, [p], 'github:dev')));
    now += 2_000;
    await Promise.all([autoBuild(deps), autoBuild(deps), autoBuild(deps)]);
    expect(started('lockstep-shop-build-app').map((i) => i.sourceVersion)).toEqual([burst[9]]);
    const build = await newestBuild('app');
    expect(build.commits.map((c) => c.message)).toEqual(burst.map((_, i) => `burst ${i + 1}`));
    await succeed('app');

    // The late deliveries name commits the build had: no second build.
    await intakePushes(deps, shuffled(pushes.slice(8), 3), 'github:dev');
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-app')).toHaveLength(1);
  });

  it('builds nothing when the only pending push names a commit force-pushed off its branch, and says so once', async () => {
    const head = (await git(repoDir, 'rev-parse', 'HEAD')).trim();
    const [gone] = await commitMany('gone', 1);
    await git(repoDir, 'reset', '--hard', head); // force-pushed away
    await intakePushes(deps, [push('app', gone!, head, 'gone 1', 'd-gone')], 'github:dev');
    now += 2_000;
    await autoBuild(deps);
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-app')).toEqual([]);
    const skipped = (await deps.events.list({})).filter((e) => e.type === 'build-skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.message).toContain('no longer on their branch');
  });
});

describe('GitHub through its API with a read-only token', () => {
  let c1: string;
  let c2: string;
  let c3: string;

  it('builds the head GitHub has, not the last delivery, with the commits since the previous revision', async () => {
    c1 = github.add('web 1', undefined);
    github.head = c1;
    await intakePushes(deps, [push('web', c1, undefined, 'web 1', 'g-1')], 'github:dev');
    now += 2_000;
    await autoBuild(deps);
    await succeed('web');

    c2 = github.add('web 2', c1);
    c3 = github.add('web 3', c2);
    github.head = c3;
    await intakePushes(deps, [push('web', c2, c1, 'web 2', 'g-2')], 'github:dev'); // c3's delivery is late
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-web').map((i) => i.sourceVersion)).toEqual([c1, c3]);
    const build = await newestBuild('web');
    expect(build.commits.map((c) => c.message)).toEqual(['web 2', 'web 3']);
    expect(github.requests).toContain('/repos/acme/web/branches/main');
    await succeed('web');
  });

  it('builds a push whose delivery was lost, found by the reconcile pass', async () => {
    const c4 = github.add('web 4', c3);
    github.head = c4;
    await recoverMissedPushes(deps);
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-web').map((i) => i.sourceVersion)).toEqual([c4]);
    expect((await newestBuild('web')).commits.map((c) => c.message)).toEqual(['web 4']);
    const recovered = (await deps.builds.pushes()).find((p) => p.commit === c4);
    expect(recovered).toMatchObject({ deliveryId: `reconcile:web:${c4}`, author: 'dev@example.com' });
    await succeed('web');
  });
});

describe('a commit missing from its repository', () => {
  const OPS_HEAD = 'badc0de'.padEnd(40, '0');
  const MESSAGE = `commit ${OPS_HEAD} is not in ops: was the push force-overwritten or the repository replaced?`;

  it("fails the build before it starts, with Lockstep's message on the build, the timeline and the notification", async () => {
    mocks.codecommit
      .on(GetBranchCommand, { repositoryName: 'ops', branchName: 'main' })
      .resolves({ branch: { branchName: 'main', commitId: OPS_HEAD } });
    mocks.codecommit
      .on(GetCommitCommand, { repositoryName: 'ops', commitId: OPS_HEAD })
      .rejects(new CommitIdDoesNotExistException({ message: 'Commit ID does not exist', $metadata: {} }));
    await intakePushes(deps, [push('ops', OPS_HEAD, undefined, 'rotate', 'o-1')], 'codecommit');
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-ops')).toEqual([]);
    const build = await newestBuild('ops');
    expect(build).toMatchObject({ status: 'failed', failure: MESSAGE });
    const failed = (await deps.events.list({})).filter((e) => e.type === 'build-failed' && e.application === 'ops');
    expect(failed.map((e) => e.message)).toEqual([`Build of ops failed: ${MESSAGE}`]);
    const published = mocks.sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Message ?? '');
    expect(published.some((m) => m.includes(MESSAGE))).toBe(true);

    // Its push counts as built: the next pass does not try again until something new is pushed.
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-ops')).toEqual([]);
  });

  it('records the same message for a started build that failed because its commit left the repository', async () => {
    const before = 'a1'.padEnd(40, '1');
    mocks.codecommit.on(GetBranchCommand, { repositoryName: 'ops', branchName: 'main' }).resolves({
      branch: { branchName: 'main', commitId: before },
    });
    mocks.codecommit.on(GetCommitCommand, { repositoryName: 'ops', commitId: before }).resolves({
      commit: {
        commitId: before,
        parents: [],
        message: 'fine',
        author: { email: 'dev@example.com', date: '1893456000 +0000' },
      },
    });
    await intakePushes(deps, [push('ops', before, undefined, 'fine', 'o-2')], 'codecommit');
    now += 2_000;
    await autoBuild(deps);
    expect(started('lockstep-shop-build-ops').map((i) => i.sourceVersion)).toEqual([before]);
    // The repository is replaced while the build runs; CodeBuild fails in DOWNLOAD_SOURCE with its own words.
    mocks.codecommit
      .on(GetCommitCommand, { repositoryName: 'ops', commitId: before })
      .rejects(new CommitIdDoesNotExistException({ message: 'Commit ID does not exist', $metadata: {} }));
    mocks.codebuild.on(BatchGetBuildsCommand).callsFake((input: { ids: string[] }) => ({
      builds: input.ids.map((id) => ({
        id,
        buildStatus: 'FAILED',
        phases: [
          {
            phaseType: 'DOWNLOAD_SOURCE',
            phaseStatus: 'FAILED',
            contexts: [{ statusCode: 'CLIENT_ERROR', message: 'reference not found for primary source' }],
          },
        ],
      })),
    }));
    await completeBuilds(deps);
    expect(await newestBuild('ops')).toMatchObject({
      status: 'failed',
      failure: `commit ${before} is not in ops: was the push force-overwritten or the repository replaced?`,
    });
  });
});
