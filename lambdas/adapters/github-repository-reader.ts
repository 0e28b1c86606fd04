/**
 * GitHub as a `RepositoryReader`, through its REST API with `@octokit/request`: `GET /repos/{owner}/{repo}/branches/
 * {branch}` for a branch head and `GET /repos/{owner}/{repo}/commits/{sha}` for a commit. A CodeConnections
 * connection lets CodeBuild clone but gives Lambda no API token, so each package names a Secrets Manager secret with
 * a read-only token (`source.github.tokenSecret`: a fine-grained token with "Contents: read" on that repository);
 * the repository is `owner/repo`.
 */
import { request as octokitRequest } from '@octokit/request';
import { CommitNotFoundError, type RepositoryReader, type SourceCommit } from '../ports/services';

export interface GitHubReaderOptions {
  /** The API token for `owner/repo` (read from its package's `tokenSecret`). */
  readonly token: (repository: string) => Promise<string>;
  /** @default https://api.github.com (GitHub Enterprise Server: `https://<host>/api/v3`) */
  readonly baseUrl?: string;
  /** @default the global fetch */
  readonly fetch?: typeof fetch;
}

/** What the two endpoints answer, as far as Lockstep reads it. */
interface GitHubCommit {
  readonly sha: string;
  readonly parents?: ReadonlyArray<{ readonly sha: string }>;
  readonly commit: {
    readonly message?: string;
    readonly author?: { readonly name?: string; readonly email?: string; readonly date?: string } | null;
  };
}

export class GitHubRepositoryReader implements RepositoryReader {
  private readonly request: typeof octokitRequest;

  constructor(private readonly options: GitHubReaderOptions) {
    this.request = octokitRequest.defaults({
      baseUrl: options.baseUrl ?? 'https://api.github.com',
      headers: { 'x-github-api-version': '2022-11-28', 'user-agent': 'lockstep' },
      ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
    });
  }

  async branchHead(repository: string, branch: string): Promise<string | undefined> {
    const { owner, repo } = split(repository);
    try {
      const response = await this.request('GET /repos/{owner}/{repo}/branches/{branch}', {
        owner,
        repo,
        branch,
        headers: await this.auth(repository),
      });
      return (response.data as { commit?: { sha?: string } }).commit?.sha;
    } catch (error) {
      // 404: no such branch (or repository, or the token may not see it); the reconcile pass reports the latter.
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async commit(repository: string, commitId: string): Promise<SourceCommit> {
    const { owner, repo } = split(repository);
    let data: GitHubCommit;
    try {
      const response = await this.request('GET /repos/{owner}/{repo}/commits/{ref}', {
        owner,
        repo,
        ref: commitId,
        headers: await this.auth(repository),
      });
      data = response.data;
    } catch (error) {
      // 404: no such repository; 422 "No commit found for SHA": no such commit.
      if (statusOf(error) === 404 || statusOf(error) === 422)
        throw new CommitNotFoundError(repository, commitId, { cause: error });
      throw error;
    }
    const author = data.commit.author ?? {};
    return {
      id: data.sha,
      message: data.commit.message ?? '',
      author: author.email || author.name || 'unknown',
      timestamp: author.date ? Date.parse(author.date) : 0,
      parents: (data.parents ?? []).map((p) => p.sha),
    };
  }

  private async auth(repository: string): Promise<{ authorization: string }> {
    return { authorization: `Bearer ${(await this.options.token(repository)).trim()}` };
  }
}

function split(repository: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = repository.split('/');
  if (!owner || !repo || rest.length > 0)
    throw new RangeError(`A GitHub repository is owner/repo, not "${repository}"`);
  return { owner, repo };
}

/** The HTTP status of `@octokit/request`'s RequestError (undefined for a network failure). */
function statusOf(error: unknown): number | undefined {
  const status = error instanceof Error ? (error as Error & { status?: unknown }).status : undefined;
  return typeof status === 'number' ? status : undefined;
}
