/**
 * The `local:` source kind as a `RepositoryReader`: git on the repository folder the pipeline names (local mode's
 * source of truth, and what its CodeCommit stand-in serves). The repository is a path: absolute, or relative to
 * `baseDir`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CommitNotFoundError, type RepositoryReader, type SourceCommit } from '../ports/services';

const execFileAsync = promisify(execFile);

/** Runs git with these arguments and resolves with its stdout (a seam for tests that count the processes). */
export type GitRunner = (args: readonly string[]) => Promise<{ stdout: string }>;

const runGit: GitRunner = (args) => execFileAsync('git', [...args], { maxBuffer: 4 * 1024 * 1024 });

/** An object id as a loose ref file holds it: SHA-1 (40 hex digits) or SHA-256 (64). */
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Branch names read from a loose ref file: nothing that could leave `refs/heads` or needs git's own rules. */
const PLAIN_BRANCH = /^(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9_][A-Za-z0-9._/-]*$/;

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
  constructor(
    private readonly baseDir: string = process.cwd(),
    private readonly run: GitRunner = runGit,
  ) {}

  /**
   * The branch's head. Every reconcile pass asks this (missed pushes, then AutoBuild), and a process spawn blocks
   * the event loop of the local system's one process while it forks, stalling every hop beside it: so the loose ref
   * file (`.git/refs/heads/<branch>`, which git replaces atomically and which overrides a packed ref) is read first,
   * and git runs only when there is none (a packed ref, a missing branch, a bare or linked-worktree repository, the
   * reftable format). Git never points a branch at anything but a commit, so the file's id is what `^{commit}` gives.
   */
  async branchHead(repository: string, branch: string): Promise<string | undefined> {
    const loose = await this.looseBranchRef(repository, branch);
    if (loose) return loose;
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

  private async looseBranchRef(repository: string, branch: string): Promise<string | undefined> {
    if (!PLAIN_BRANCH.test(branch) || branch.endsWith('/') || branch.endsWith('.lock')) return undefined;
    let text: string;
    try {
      text = await readFile(join(this.dirOf(repository), '.git', 'refs', 'heads', ...branch.split('/')), 'utf8');
    } catch (error) {
      // Absent, or a path through a file (`.git` of a linked worktree, reftable's `refs/heads`): git answers.
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes((error as { code?: string }).code ?? '')) return undefined;
      throw error;
    }
    const id = text.trim();
    return OBJECT_ID.test(id) ? id : undefined; // a symbolic ref (`ref: ...`) goes through git
  }

  private dirOf(repository: string): string {
    return isAbsolute(repository) ? repository : resolve(this.baseDir, repository);
  }

  private async git(repository: string, ...args: string[]): Promise<string> {
    const dir = this.dirOf(repository);
    try {
      const { stdout } = await this.run(['-C', dir, ...args]);
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new GitCommandError(`git ${args[0]} in ${dir} failed${stderr ? `: ${stderr}` : ''}`, { cause: error });
    }
  }
}
