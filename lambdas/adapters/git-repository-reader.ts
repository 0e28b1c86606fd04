/**
 * The `local:` source kind as a `RepositoryReader`: git on the repository folder the pipeline names (local mode's
 * source of truth, and what its CodeCommit stand-in serves). The repository is a path: absolute, or relative to
 * `baseDir`.
 */
import { execFile } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CommitNotFoundError, type RepositoryReader, type SourceCommit } from '../ports/services';

const execFileAsync = promisify(execFile);

/** Fields of `git show -s --format=...`, split on a character that cannot occur in them. */
const SEPARATOR = '\x1f';
const FORMAT = ['%H', '%P', '%ae', '%an', '%at', '%B'].join(SEPARATOR);

export class GitCommandError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'GitCommandError';
  }
}

export class GitRepositoryReader implements RepositoryReader {
  constructor(private readonly baseDir: string = process.cwd()) {}

  async branchHead(repository: string, branch: string): Promise<string | undefined> {
    try {
      return (
        (await this.git(repository, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`)).trim() ||
        undefined
      );
    } catch (error) {
      // `rev-parse --verify --quiet` exits 1 without output for a missing branch; anything else is a real failure.
      if ((error as { cause?: { code?: unknown } }).cause?.code === 1) return undefined;
      throw error;
    }
  }

  async commit(repository: string, commitId: string): Promise<SourceCommit> {
    let out: string;
    try {
      out = await this.git(repository, 'show', '-s', `--format=${FORMAT}`, `${commitId}^{commit}`);
    } catch (error) {
      // git's words for an object (or a whole repository) that is not there, as opposed to a git that cannot run.
      if (
        /bad object|unknown revision|not a valid object|not a git repository|cannot change to/i.test(
          (error as Error).message,
        )
      )
        throw new CommitNotFoundError(repository, commitId, { cause: error });
      throw error;
    }
    const [id = '', parents = '', email = '', name = '', time = '0', ...message] = out.split(SEPARATOR);
    return {
      id,
      parents: parents.split(' ').filter(Boolean),
      author: email || name || 'unknown',
      timestamp: Number(time) * 1000,
      message: message.join(SEPARATOR).trim(),
    };
  }

  private async git(repository: string, ...args: string[]): Promise<string> {
    const dir = isAbsolute(repository) ? repository : resolve(this.baseDir, repository);
    try {
      const { stdout } = await execFileAsync('git', ['-C', dir, ...args], { maxBuffer: 4 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new GitCommandError(`git ${args[0]} in ${dir} failed${stderr ? `: ${stderr}` : ''}`, { cause: error });
    }
  }
}
