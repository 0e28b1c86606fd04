/**
 * CodeCommit as a `RepositoryReader`: `GetBranch` for a branch head, `GetCommit` for a commit (the only two actions
 * the functions are granted). `GetDifferences` is not used: it lists changed files, not the commits of a push.
 */
import { GetBranchCommand, GetCommitCommand, type CodeCommitClient } from '@aws-sdk/client-codecommit';
import { CommitNotFoundError, type RepositoryReader, type SourceCommit } from '../ports/services';

/** GetCommit's answers for a commit (or repository) that is not there; others (access, throttling) are not that. */
const NOT_THERE = new Set([
  'CommitIdDoesNotExistException',
  'CommitDoesNotExistException',
  'RepositoryDoesNotExistException',
]);

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
    let result;
    try {
      result = await this.client.send(new GetCommitCommand({ repositoryName: repository, commitId }));
    } catch (error) {
      if (error instanceof Error && NOT_THERE.has(error.name))
        throw new CommitNotFoundError(repository, commitId, { cause: error });
      throw error;
    }
    const commit = result?.commit;
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
