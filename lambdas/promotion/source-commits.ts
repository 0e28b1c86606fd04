/**
 * What a push brought, read from the source repository itself: CodeCommit's push event names only the new head and
 * the pusher, so the commits (their authors, which `separation-of-duties` compares with the approver) are read
 * through a `RepositoryReader`. The same reader lets the reconcile pass find pushes whose event never arrived
 * (`missedPushes`): a tracked branch whose head is no push Lockstep knows.
 */
import type { PackageDefinition, Pipeline } from '../core/config/schema';
import type { Push } from '../core/decide/autobuild';
import type { Commit } from '../core/model';
import type { RepositoryReader, SourceCommit } from '../ports/services';

/** As many commits per push as GitHub's push delivery lists, so both sources record alike. */
export const MAX_PUSH_COMMITS = 20;
const MESSAGE_LIMIT = 500;

/**
 * The readers by source kind; a kind without one is not read. GitHub is read only for packages that name a
 * `tokenSecret` (its deliveries carry their commits; the API is for branch heads and lost deliveries).
 */
export interface RepositoryReaders {
  readonly codecommit?: RepositoryReader;
  readonly github?: RepositoryReader;
  readonly local?: RepositoryReader;
}

/** The reader and repository name for a package, when its source kind has a reader. */
export function repositoryOf(
  pkg: PackageDefinition,
  readers: RepositoryReaders,
): { reader: RepositoryReader; repository: string; branch: string } | undefined {
  const source = pkg.source;
  if ('codecommit' in source && readers.codecommit)
    return { reader: readers.codecommit, repository: source.codecommit.repository, branch: source.codecommit.branch };
  if ('github' in source && source.github.tokenSecret && readers.github)
    return { reader: readers.github, repository: githubRepository(source.github), branch: source.github.branch };
  if ('local' in source && readers.local)
    return { reader: readers.local, repository: source.local.path, branch: source.local.branch };
  return undefined;
}

/** How a GitHub source names its repository to the reader: `owner/repo`. */
export function githubRepository(source: { readonly owner: string; readonly repo: string }): string {
  return `${source.owner}/${source.repo}`;
}

/** The `tokenSecret` of the package(s) whose GitHub repository is `owner/repo`; undefined when none names one. */
export function githubTokenSecret(pipeline: Pipeline, repository: string): string | undefined {
  for (const pkg of pipeline.packages) {
    const source = pkg.source;
    if ('github' in source && source.github.tokenSecret && githubRepository(source.github) === repository)
      return source.github.tokenSecret;
  }
  return undefined;
}

/**
 * Commits reachable from `head` and not past `before`, oldest first and `head` last, at most `limit` (the newest
 * ones). Walks parents one `commit` call at a time, so a push of N commits costs N reads.
 */
export async function commitsBetween(
  reader: RepositoryReader,
  repository: string,
  head: string,
  before: string | undefined,
  limit = MAX_PUSH_COMMITS,
): Promise<SourceCommit[]> {
  const found: SourceCommit[] = [];
  const seen = new Set<string>(before ? [before] : []);
  const queue = [head];
  while (queue.length > 0 && found.length < limit) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const commit = await reader.commit(repository, id);
    found.push(commit);
    queue.push(...commit.parents.filter((p) => !seen.has(p)));
  }
  return parentsFirst(found, head);
}

/**
 * `commits` ordered so that every commit comes after those of its parents that are among them, `head` last: the
 * order they were made in, which author dates (whole seconds, and rewritable) cannot tell.
 */
function parentsFirst(commits: readonly SourceCommit[], head: string): SourceCommit[] {
  const byId = new Map(commits.map((c) => [c.id, c]));
  const ordered: SourceCommit[] = [];
  const placed = new Set<string>();
  // Iterative depth-first walk (a long history must not overflow the stack): a commit is placed once its parents are.
  const stack: { commit: SourceCommit; expanded: boolean }[] = [];
  const push = (id: string) => {
    const commit = byId.get(id);
    if (commit && !placed.has(id)) stack.push({ commit, expanded: false });
  };
  // Every commit found was reached from `head` through found commits, so one walk from `head` places them all.
  push(head);
  while (stack.length > 0) {
    const top = stack.at(-1)!;
    if (placed.has(top.commit.id)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      for (const parent of [...top.commit.parents].reverse()) push(parent);
      continue;
    }
    stack.pop();
    placed.add(top.commit.id);
    ordered.push(top.commit);
  }
  return ordered;
}

export function toCommit(c: SourceCommit): Commit {
  return { id: c.id, message: c.message.slice(0, MESSAGE_LIMIT), author: c.author, timestamp: c.timestamp };
}

/**
 * Fills pushes with the commits they brought and the head commit's author and message, read from the repository.
 * Pushes of a package whose source kind has no reader are returned as they are.
 */
export async function withSourceCommits(
  pipeline: Pipeline,
  readers: RepositoryReaders,
  pushes: readonly Push[],
): Promise<Push[]> {
  return Promise.all(
    pushes.map(async (push) => {
      const pkg = pipeline.packages.find((p) => p.name === push.package);
      const source = pkg && repositoryOf(pkg, readers);
      if (!source) return push;
      const commits = await commitsBetween(source.reader, source.repository, push.commit, push.before);
      const head = commits.at(-1)!;
      return {
        ...push,
        author: head.author,
        message: head.message.slice(0, MESSAGE_LIMIT),
        commits: commits.map(toCommit),
      };
    }),
  );
}

/**
 * Pushes whose event never arrived: for each auto-built package with a reader, the branch head when it is no
 * commit Lockstep has a push for. `before` is the newest known push of that branch, so the missed push lists the
 * commits since then. The delivery id is `reconcile:<package>:<commit>`, so finding the same head twice records it
 * once (pushes are idempotent per (package, commit) anyway).
 */
export async function missedPushes(
  pipeline: Pipeline,
  readers: RepositoryReaders,
  known: readonly Push[],
  now: number,
  onError: (pkg: string, error: unknown) => void,
): Promise<Push[]> {
  const missed: Push[] = [];
  for (const pkg of pipeline.packages) {
    if (!pkg.autoBuild) continue;
    const source = repositoryOf(pkg, readers);
    if (!source) continue;
    try {
      const head = await source.reader.branchHead(source.repository, source.branch);
      if (!head) continue;
      const ofBranch = known.filter((p) => p.package === pkg.name && p.branch === source.branch);
      if (ofBranch.some((p) => p.commit === head || p.commits?.some((c) => c.id === head))) continue;
      const before = ofBranch.reduce<Push | undefined>(
        (newest, p) => (!newest || p.receivedAt > newest.receivedAt ? p : newest),
        undefined,
      )?.commit;
      const commits = await commitsBetween(source.reader, source.repository, head, before);
      const last = commits.at(-1)!;
      missed.push({
        package: pkg.name,
        branch: source.branch,
        commit: head,
        author: last.author,
        message: last.message.slice(0, MESSAGE_LIMIT),
        commits: commits.map(toCommit),
        ...(before ? { before } : {}),
        receivedAt: now,
        deliveryId: `reconcile:${pkg.name}:${head}`,
      });
    } catch (error) {
      // One unreadable repository (deleted, no permission yet) must not stop the pass for every other package.
      onError(pkg.name, error);
    }
  }
  return missed;
}
