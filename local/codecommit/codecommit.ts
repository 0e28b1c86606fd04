/**
 * The CodeCommit API in local mode (GetBranch, GetCommit: what Lockstep calls), served over awsJson1_1 and backed
 * by git repositories on disk: repository `<name>` is the folder `<reposDir>/<name>` (local mode's
 * `<dataDir>/repos/`, where the sample repository lives). Answers carry CodeCommit's shapes and error codes, so
 * the unchanged `CodeCommitRepositoryReader` (and any AWS SDK client) reads them as it reads AWS.
 */
import { isAbsolute, join, relative } from 'node:path';
import { GitRepositoryReader } from '../../lambdas/adapters/git-repository-reader';
import { AwsApiError, requireString } from '../aws-protocol/errors';
import type { AwsServiceDefinition } from '../aws-protocol/server';
import { exists } from '../codebuild/files';

export class LocalCodeCommit {
  private readonly git: GitRepositoryReader;

  constructor(private readonly reposDir: string) {
    this.git = new GitRepositoryReader(reposDir);
  }

  /** The folder of a repository, refusing names that would leave `reposDir`. */
  private async folder(repositoryName: string): Promise<string> {
    const dir = join(this.reposDir, repositoryName);
    const inside = relative(this.reposDir, dir);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || !(await exists(join(dir, '.git')))) {
      throw new AwsApiError('RepositoryDoesNotExistException', `${repositoryName} does not exist`);
    }
    return dir;
  }

  async getBranch(input: Record<string, unknown>): Promise<unknown> {
    const repositoryName = requireString(input, 'repositoryName');
    const branchName = requireString(input, 'branchName');
    const head = await this.git.branchHead(await this.folder(repositoryName), branchName);
    if (!head)
      throw new AwsApiError('BranchDoesNotExistException', `Branch ${branchName} does not exist in ${repositoryName}`);
    return { branch: { branchName, commitId: head } };
  }

  async getCommit(input: Record<string, unknown>): Promise<unknown> {
    const repositoryName = requireString(input, 'repositoryName');
    const commitId = requireString(input, 'commitId');
    if (!/^[0-9a-f]{40}$/.test(commitId))
      throw new AwsApiError('InvalidCommitIdException', `${commitId} is not a full commit id`);
    const dir = await this.folder(repositoryName);
    let commit;
    try {
      commit = await this.git.commit(dir, commitId);
    } catch (error) {
      throw new AwsApiError('CommitIdDoesNotExistException', `Commit ${commitId} does not exist in ${repositoryName}`, {
        cause: error,
      });
    }
    const date = `${Math.floor(commit.timestamp / 1000)} +0000`;
    const person = { name: commit.author, email: commit.author.includes('@') ? commit.author : '', date };
    return {
      commit: {
        commitId: commit.id,
        parents: commit.parents,
        message: commit.message,
        author: person,
        committer: person,
      },
    };
  }

  definition(): AwsServiceDefinition {
    return {
      serviceName: 'CodeCommit',
      protocol: 'awsJson1_1',
      targetPrefix: 'CodeCommit_20150413',
      operations: {
        GetBranch: (input: Record<string, unknown>) => this.getBranch(input),
        GetCommit: (input: Record<string, unknown>) => this.getCommit(input),
      },
    };
  }
}
