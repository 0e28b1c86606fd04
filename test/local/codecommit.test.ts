/**
 * The local CodeCommit stand-in (GetBranch, GetCommit over the git repositories in `<dataDir>/repos/`), read by the
 * unchanged `CodeCommitRepositoryReader` through a real AWS SDK client: the commits of a push with their own
 * authors, and CodeCommit's errors for what does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CodeCommitClient, GetCommitCommand, RepositoryDoesNotExistException } from '@aws-sdk/client-codecommit';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { CodeCommitRepositoryReader } from '../../lambdas/adapters/codecommit-reader';
import { withSourceCommits } from '../../lambdas/promotion/source-commits';
import { startAwsServer, type RunningAwsServer } from '../../local/aws-protocol/server';
import { LocalCodeCommit } from '../../local/codecommit/codecommit';
import { commitChange, createSampleRepository, git } from '../../local/git';
import { clientConfig, tempDataDir } from './helpers';

describe('local CodeCommit', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let server: RunningAwsServer;
  let client: CodeCommitClient;
  let reader: CodeCommitRepositoryReader;
  let first: string;

  beforeAll(async () => {
    data = await tempDataDir();
    const repo = await createSampleRepository({ dataDir: data.dir, name: 'ops' });
    first = (await git(repo.dir, 'rev-parse', 'HEAD')).trim();
    server = await startAwsServer(new LocalCodeCommit(`${data.dir}/repos`).definition());
    client = new CodeCommitClient({ ...clientConfig, endpoint: server.endpoint });
    reader = new CodeCommitRepositoryReader(client);
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
    await data.cleanup();
  });

  it('answers GetBranch with the branch head and an unknown branch as absent', async () => {
    expect(await reader.branchHead('ops', 'main')).toBe(first);
    expect(await reader.branchHead('ops', 'no-such-branch')).toBeUndefined();
  });

  it("lists a push's commits with their own authors, oldest first, stopping at the head before the push", async () => {
    const dir = `${data.dir}/repos/ops`;
    const a = await commitChange(dir, {
      message: 'Add the dashboard',
      files: { 'a.txt': 'a\n' },
      author: { name: 'Carol', email: 'carol@example.com' },
    });
    const b = await commitChange(dir, {
      message: 'Tune retries\n\nLonger backoff.',
      files: { 'b.txt': 'b\n' },
      author: { name: 'Ann', email: 'ann@example.com' },
    });
    const pipeline = pipelineSchema.parse({
      pipeline: { name: 'shop' },
      packages: [
        { name: 'ops', source: { codecommit: { repository: 'ops', branch: 'main' } }, build: { commands: ['make'] } },
      ],
      applications: [{ name: 'ops', packages: ['ops'] }],
      stages: [{ name: 'Ops', environments: [{ name: 'Ops', deploy: { commands: ['./deploy.sh'] } }] }],
    });
    const [push] = await withSourceCommits(pipeline, { codecommit: reader }, [
      {
        package: 'ops',
        branch: 'main',
        commit: b,
        before: first,
        author: 'user/pusher',
        message: '(placeholder)',
        receivedAt: 1,
        deliveryId: 'e1',
      },
    ]);
    expect(push).toMatchObject({ author: 'ann@example.com', message: 'Tune retries\n\nLonger backoff.' });
    expect(push!.commits!.map((c) => [c.id, c.author])).toEqual([
      [a, 'carol@example.com'],
      [b, 'ann@example.com'],
    ]);
    expect(push!.commits![0]!.timestamp).toBeGreaterThan(0);
  });

  it("answers CodeCommit's own errors for a repository or commit that does not exist", async () => {
    await expect(client.send(new GetCommitCommand({ repositoryName: 'nope', commitId: first }))).rejects.toBeInstanceOf(
      RepositoryDoesNotExistException,
    );
    await expect(
      client.send(new GetCommitCommand({ repositoryName: '../ops', commitId: first })),
    ).rejects.toBeInstanceOf(RepositoryDoesNotExistException);
    await expect(
      client.send(new GetCommitCommand({ repositoryName: 'ops', commitId: 'f'.repeat(40) })),
    ).rejects.toMatchObject({ name: 'CommitIdDoesNotExistException' });
  });
});
