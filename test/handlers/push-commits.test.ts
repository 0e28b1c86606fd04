import { BatchGetBuildsCommand, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { GetBranchCommand, GetCommitCommand } from '@aws-sdk/client-codecommit';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { sign } from '@octokit/webhooks-methods';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { fakeDateOnly } from '../support/fake-date';
import type { Revision } from '../../lambdas/core/model';
import type { Runtime } from '../../lambdas/adapters/runtime';
import { createHandler as createCodeCommitPush } from '../../lambdas/handlers/codecommit-push';
import { createHandler as createWebhook } from '../../lambdas/handlers/github-webhook';
import { createHandler as createReconcile } from '../../lambdas/handlers/reconcile';
import { evaluatePolicy } from '../../lambdas/promotion/compliance';
import { mocks, STATE_MACHINE_ARN, startRuntimeEnv, type RuntimeEnv } from '../support/runtime-env';

let env: RuntimeEnv;
let webhook: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let codecommit: (event: unknown) => Promise<{ status: string; recorded?: number }>;
let reconcile: (event: unknown) => Promise<unknown>;
let runtime: Runtime;

beforeAll(async () => {
  env = await startRuntimeEnv({ webhook: JSON.stringify({ current: 'webhook-secret' }) });
  mocks.codebuild.on(StartBuildCommand).callsFake((input: { projectName: string }) => ({
    build: { id: `${input.projectName}:${mocks.codebuild.commandCalls(StartBuildCommand).length}` },
  }));
  mocks.codebuild.on(BatchGetBuildsCommand).callsFake((input: { ids: string[] }) => ({
    builds: input.ids.map((id) => ({ id, buildStatus: 'SUCCEEDED', endTime: new Date() })),
  }));
  mocks.s3.on(CopyObjectCommand).resolves({});
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm' });
  mocks.sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: `${STATE_MACHINE_ARN}:${input.name}`,
    startDate: new Date(),
  }));
  runtime = env.runtime;
  webhook = createWebhook(runtime.webhookDependencies()) as never;
  codecommit = createCodeCommitPush(runtime.agentDependencies()) as never;
  reconcile = createReconcile(runtime.reconcileDependencies()) as never;
});
afterAll(() => {
  jest.useRealTimers();
  return env.close();
});

const commit = (id: string, email: string, name: string, message: string, timestamp: string) => ({
  id,
  message,
  timestamp,
  author: { email, name },
  committer: { email, name },
});

async function deliver(payload: unknown, delivery: string): Promise<number> {
  const body = JSON.stringify(payload);
  const response = await webhook({
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': delivery,
      'x-hub-signature-256': await sign('webhook-secret', body),
    },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST' } },
  } as unknown as APIGatewayProxyEventV2);
  return response.statusCode ?? 0;
}

/** Waits out the build debounce, lets the build start, then finish, and returns the revision it made. */
async function buildRevision(application: string, at: string): Promise<Revision> {
  jest.setSystemTime(new Date(Date.parse(at) + 5_000));
  await reconcile({});
  jest.setSystemTime(new Date(Date.parse(at) + 60_000));
  await reconcile({});
  const revisions = await runtime.revisionStore().list(application);
  return revisions.at(-1)!;
}

const evidence = (revision: Revision, approver: string) => ({
  environment: 'Beta',
  revision,
  configuredTests: 1,
  approver,
});

describe('pushes with several commits', () => {
  it('records every commit and author of a GitHub push in the revision, so the approver cannot have authored any of them', async () => {
    fakeDateOnly();
    jest.setSystemTime(new Date('2030-02-01T10:00:00Z'));
    const [first, second, head] = ['1a'.repeat(20), '2b'.repeat(20), '3c'.repeat(20)];
    const status = await deliver(
      {
        ref: 'refs/heads/main',
        before: '0f'.repeat(20),
        after: head,
        deleted: false,
        repository: { full_name: 'acme/web', name: 'web', owner: { login: 'acme' } },
        commits: [
          commit(first, 'ann@example.com', 'Ann', 'Add discount codes', '2030-02-01T09:50:00Z'),
          commit(second, 'carl@example.com', 'Carl', 'Validate discount codes', '2030-02-01T09:55:00Z'),
          commit(head, 'carl@example.com', 'Carl', 'Show discount in cart', '2030-02-01T09:58:00Z'),
        ],
        head_commit: commit(head, 'carl@example.com', 'Carl', 'Show discount in cart', '2030-02-01T09:58:00Z'),
        pusher: { name: 'carl', email: 'carl@example.com' },
      },
      'multi-commit',
    );
    expect(status).toBe(202);

    const revision = await buildRevision('web', '2030-02-01T10:00:00Z');
    expect(revision.versionSet).toEqual({ web: head });
    expect(revision.commits.map((c) => [c.id, c.author, c.message])).toEqual([
      [first, 'ann@example.com', 'Add discount codes'],
      [second, 'carl@example.com', 'Validate discount codes'],
      [head, 'carl@example.com', 'Show discount in cart'],
    ]);
    expect(revision.commits[0]!.timestamp).toBe(Date.parse('2030-02-01T09:50:00Z'));
    expect([...revision.authors].sort()).toEqual(['ann@example.com', 'carl@example.com']);
    // Carl pushed all three: the revision records him as each commit's pusher.
    expect(revision.commits.map((c) => c.pushedBy)).toEqual(Array(3).fill('carl@example.com'));

    // Ann authored only the first commit, under Carl's head: she still may not approve.
    const byAnn = evaluatePolicy('separation-of-duties', evidence(revision, 'Ann@Example.com'))!;
    expect(byAnn.passed).toBe(false);
    expect(byAnn.findings[0]!.message).toContain('authored');
    expect(evaluatePolicy('separation-of-duties', evidence(revision, 'bob@example.com'))!.passed).toBe(true);
  });

  it('records the commits of a CodeCommit push with their own authors, read through GetCommit, not the pusher', async () => {
    jest.setSystemTime(new Date('2030-02-01T11:00:00Z'));
    const before = 'b0'.repeat(20);
    const middle = 'c0de'.repeat(10);
    const head = 'dead'.repeat(10);
    const history: Record<string, { parents: string[]; email: string; message: string }> = {
      [head]: { parents: [middle], email: 'ann@example.com', message: 'Tune the retry policy' },
      [middle]: { parents: [before], email: 'carol@example.com', message: 'Add the ops dashboard' },
    };
    mocks.codecommit.on(GetCommitCommand).callsFake((input: { repositoryName: string; commitId: string }) => {
      const c = history[input.commitId]!;
      return {
        commit: {
          commitId: input.commitId,
          parents: c.parents,
          message: c.message,
          author: { name: c.email, email: c.email, date: '1896170400 +0000' },
        },
      };
    });
    const result = await codecommit({
      version: '0',
      id: 'event-sso-push',
      'detail-type': 'CodeCommit Repository State Change',
      source: 'aws.codecommit',
      detail: {
        event: 'referenceUpdated',
        repositoryName: 'ops',
        referenceType: 'branch',
        referenceName: 'main',
        commitId: head,
        oldCommitId: before,
        // The pusher (a release engineer) authored neither commit.
        callerUserArn: 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Developer_0123/Bob@example.com',
      },
    });
    expect(result.recorded).toBe(1);
    const reads = mocks.codecommit.commandCalls(GetCommitCommand).map((c) => c.args[0].input);
    expect(reads).toEqual([
      { repositoryName: 'ops', commitId: head },
      { repositoryName: 'ops', commitId: middle },
    ]);

    const revision = await buildRevision('ops', '2030-02-01T11:00:00Z');
    expect(revision.commits.map((c) => [c.id, c.author, c.message])).toEqual([
      [middle, 'carol@example.com', 'Add the ops dashboard'],
      [head, 'ann@example.com', 'Tune the retry policy'],
    ]);
    expect(revision.authors).toEqual(expect.arrayContaining(['carol@example.com', 'ann@example.com']));
    // The SSO session named the pusher by email: each commit records Bob as its pusher.
    expect(revision.commits.map((c) => c.pushedBy)).toEqual(['bob@example.com', 'bob@example.com']);
    // Both authors and the pusher are kept from approving the change; an uninvolved approver is not.
    expect(evaluatePolicy('separation-of-duties', evidence(revision, 'carol@example.com'))!.passed).toBe(false);
    expect(evaluatePolicy('separation-of-duties', evidence(revision, 'ann@example.com'))!.passed).toBe(false);
    const byBob = evaluatePolicy('separation-of-duties', evidence(revision, 'bob@example.com'))!;
    expect(byBob.passed).toBe(false);
    expect(byBob.findings[0]!.message).toBe(
      `bob@example.com approved a revision they pushed commit ${middle.slice(0, 12)} in`,
    );
    expect(evaluatePolicy('separation-of-duties', evidence(revision, 'dora@example.com'))!.passed).toBe(true);
  });

  it('records who pushed each commit of a burst of GitHub pushes built as one revision', async () => {
    jest.setSystemTime(new Date('2030-02-01T12:00:00Z'));
    const [first, second] = ['4d'.repeat(20), '5e'.repeat(20)];
    const previous = (await runtime.revisionStore().list('web')).at(-1)!.versionSet.web!;
    const push = (id: string, before: string, pusher: string, delivery: string) =>
      deliver(
        {
          ref: 'refs/heads/main',
          before,
          after: id,
          repository: { full_name: 'acme/web', name: 'web', owner: { login: 'acme' } },
          commits: [commit(id, 'dev@example.com', 'Dev', `Change ${id.slice(0, 2)}`, '2030-02-01T11:59:00Z')],
          head_commit: commit(id, 'dev@example.com', 'Dev', `Change ${id.slice(0, 2)}`, '2030-02-01T11:59:00Z'),
          pusher: { name: pusher.split('@')[0], email: pusher },
        },
        delivery,
      );
    // Delivered out of order, within one debounce: the build is of both, each commit with its own pusher.
    expect(await push(second, first, 'erin@example.com', 'burst-2')).toBe(202);
    expect(await push(first, previous, 'fay@example.com', 'burst-1')).toBe(202);
    const revision = await buildRevision('web', '2030-02-01T12:00:00Z');
    expect(revision.commits.map((c) => [c.id, c.pushedBy])).toEqual([
      [first, 'fay@example.com'],
      [second, 'erin@example.com'],
    ]);
    expect(evaluatePolicy('separation-of-duties', evidence(revision, 'fay@example.com'))!.findings[0]!.message).toBe(
      `fay@example.com approved a revision they pushed commit ${first.slice(0, 12)} in`,
    );
  });

  it('gives a commit the build read from the repository the pusher of a delivery that arrived while it built', async () => {
    jest.setSystemTime(new Date('2030-02-01T13:00:00Z'));
    const previous = (await runtime.revisionStore().list('ops')).at(-1)!.versionSet.ops!;
    const [first, second] = ['f1'.repeat(20), 'f2'.repeat(20)];
    const history: Record<string, { parents: string[]; email: string }> = {
      [second]: { parents: [first], email: 'dev@example.com' },
      [first]: { parents: [previous], email: 'dev@example.com' },
    };
    mocks.codecommit.on(GetCommitCommand).callsFake((input: { commitId: string }) => ({
      commit: {
        commitId: input.commitId,
        parents: history[input.commitId]!.parents,
        message: `Commit ${input.commitId.slice(0, 2)}`,
        author: { name: 'Dev', email: history[input.commitId]!.email, date: '1896170400 +0000' },
      },
    }));
    mocks.codecommit.on(GetBranchCommand).resolves({ branch: { branchName: 'main', commitId: second } });
    const event = (id: string, commitId: string, oldCommitId: string, pusher: string) =>
      codecommit({
        version: '0',
        id,
        'detail-type': 'CodeCommit Repository State Change',
        source: 'aws.codecommit',
        detail: {
          event: 'referenceUpdated',
          repositoryName: 'ops',
          referenceType: 'branch',
          referenceName: 'main',
          commitId,
          oldCommitId,
          callerUserArn: `arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_0123/${pusher}`,
        },
      });
    // The second push arrives first; the build reads both commits from the branch, the first without its pusher.
    expect((await event('late-2', second, first, 'erin@example.com')).recorded).toBe(1);
    jest.setSystemTime(new Date(Date.parse('2030-02-01T13:00:00Z') + 5_000));
    await reconcile({});
    // The first push's event comes while the build runs: the revision still names its pusher.
    expect((await event('late-1', first, previous, 'fay@example.com')).recorded).toBe(1);
    jest.setSystemTime(new Date(Date.parse('2030-02-01T13:00:00Z') + 60_000));
    await reconcile({});
    const revision = (await runtime.revisionStore().list('ops')).at(-1)!;
    expect(revision.commits.map((c) => [c.id, c.pushedBy])).toEqual([
      [first, 'fay@example.com'],
      [second, 'erin@example.com'],
    ]);
    expect(evaluatePolicy('separation-of-duties', evidence(revision, 'fay@example.com'))!.passed).toBe(false);
  });
});
