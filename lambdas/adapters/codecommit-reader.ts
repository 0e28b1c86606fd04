/**
 * CodeCommit as a `RepositoryReader`: `GetBranch` for a branch head, `GetCommit` for a commit (the only two actions
 * the functions are granted). `GetDifferences` is not used: it lists changed files, not the commits of a push.
 */
import { GetBranchCommand, GetCommitCommand, type CodeCommitClient } from '@aws-sdk/client-codecommit';
import type { RepositoryReader, SourceCommit } from '../ports/services';

export class CodeCommitRepositoryReader implements RepositoryReader {
  constructor(private readonly client: CodeCommitClient) {}

  async branchHead(repository: string, branch: string): Promise<string | undefined> {
    try {
      const result = await this.client.send(new GetBranchCommand({ repositoryName: repository, branchName: branch }));
      return result?.branch?.commitId;
    } catch (error) {
      // A branch deleted (or not pushed yet) has no head to build; any other failure is the caller's to report.
      if (error instanceof Error && error.name === 'BranchDoesNotExistException') return undefined;
      throw error;
    }
  }

  async commit(repository: string, commitId: string): Promise<SourceCommit> {
    const commit = (await this.client.send(new GetCommitCommand({ repositoryName: repository, commitId })))?.commit;
    if (!commit) throw new Error(`CodeCommit returned no commit ${commitId} of ${repository}`);
    const author = commit.author ?? {};
    return {
      id: commit.commitId ?? commitId,
      message: commit.message ?? '',
      author: author.email || author.name || 'unknown',
      timestamp: gitDate(author.date),
      parents: commit.parents ?? [],
    };
  }
}

/** CodeCommit reports dates as git does: `<epoch seconds> <zone offset>` (e.g. `1700000000 +0100`). */
function gitDate(date: string | undefined): number {
  const seconds = Number(date?.trim().split(/\s+/)[0]);
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}
