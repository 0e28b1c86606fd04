/**
 * What a planned build builds, read from the repositories when it starts. `planBuilds` works from push deliveries,
 * which GitHub neither orders nor guarantees; the repository knows the branch head. So, for each package whose
 * source has a reader (CodeCommit, `local:`, GitHub with a `tokenSecret`):
 *
 * - the version built is the branch head now, not the last delivery's `after`;
 * - the commits listed are exactly those between the previous revision's head (the last successful build's version
 *   of the package) and the built head, read from the repository, so approvers see what is in the build;
 * - a commit the repository does not have (a force-overwritten push, a replaced repository) fails the build before
 *   it starts, with Lockstep's own message, rather than with the source tool's (git's misleading `--detach does not
 *   take a path argument`, or whatever CodeBuild says).
 *
 * Packages without a reader keep what the plan says. A reader that fails otherwise (throttled, no access yet) leaves
 * its package as planned too: the build goes ahead on the deliveries, as it would without a reader.
 */
import type { Pipeline } from '../core/config/schema';
import type { BuildCommit, BuildRecord, BuildRequest } from '../core/decide/autobuild';
import { CommitNotFoundError } from '../ports/services';
import { commitsBetween, repositoryOf, toCommit, type RepositoryReaders } from './source-commits';

export type ResolvedBuild =
  /** Build this (heads and commits read from the repositories where a reader applies). */
  | { readonly kind: 'build'; readonly request: BuildRequest }
  /** A commit to build is not in its repository: record the build as failed with `error.message`. */
  | { readonly kind: 'missing'; readonly request: BuildRequest; readonly error: CommitNotFoundError }
  /**
   * The branch heads are what the previous revision built, and nothing else changed: the pending pushes name
   * commits that are no longer on their branch (force-pushed away). Nothing to build.
   */
  | { readonly kind: 'unchanged'; readonly request: BuildRequest };

/**
 * Resolves a planned request against the repositories. `builds` is the application's build history (to find the
 * previous revision's heads); `warn` hears about readers that failed (the package is then built as planned).
 */
export async function resolveBuildRequest(
  pipeline: Pipeline,
  readers: RepositoryReaders,
  request: BuildRequest,
  builds: readonly BuildRecord[],
  warn: (message: string, error: unknown) => void,
): Promise<ResolvedBuild> {
  const application = pipeline.applications.find((a) => a.name === request.application);
  if (!application) return { kind: 'build', request };
  const previous = [...builds]
    .filter((b) => b.status === 'succeeded')
    .sort((a, b) => a.startedAt - b.startedAt)
    .at(-1)?.versionSet;
  const versionSet: Record<string, string> = { ...request.versionSet };
  const read = new Map<string, BuildCommit[]>();
  for (const name of application.packages) {
    const pkg = pipeline.packages.find((p) => p.name === name);
    const source = pkg && repositoryOf(pkg, readers);
    if (!source) continue;
    const planned = versionSet[name];
    try {
      const head = await source.reader.branchHead(source.repository, source.branch);
      if (head === undefined) {
        // The branch is gone: build what was planned, if the repository still has it.
        if (planned !== undefined) await source.reader.commit(source.repository, planned);
        continue;
      }
      const commits = await commitsBetween(source.reader, source.repository, head, previous?.[name]);
      versionSet[name] = head;
      // The repository knows the commits, the deliveries know who pushed them: keep the pusher for self-approval.
      const pushedBy = new Map(
        request.commits.filter((c) => c.package === name && c.pushedBy).map((c) => [c.id, c.pushedBy!]),
      );
      read.set(
        name,
        commits.map((c) => {
          const pusher = pushedBy.get(c.id);
          return { package: name, ...toCommit(c), ...(pusher ? { pushedBy: pusher } : {}) };
        }),
      );
    } catch (error) {
      if (error instanceof CommitNotFoundError) return { kind: 'missing', request, error };
      warn(
        `Could not read the branch of package ${name} from ${source.repository}; building it from the push deliveries`,
        error,
      );
    }
  }
  if (read.size === 0) return { kind: 'build', request };
  const commits = application.packages.flatMap(
    (name) => read.get(name) ?? request.commits.filter((c) => c.package === name),
  );
  const resolved: BuildRequest = {
    ...request,
    versionSet,
    commits,
    authors: [...new Set(commits.map((c) => c.author))],
  };
  return commits.length === 0 ? { kind: 'unchanged', request: resolved } : { kind: 'build', request: resolved };
}

/**
 * The first commit of `versionSet` that its repository does not have, as the error to record; undefined when all
 * are there, or cannot be checked. For a build that failed: a commit that vanished while it ran explains it better
 * than the source tool's message.
 */
export async function missingCommit(
  pipeline: Pipeline,
  readers: RepositoryReaders,
  versionSet: Readonly<Record<string, string>>,
): Promise<CommitNotFoundError | undefined> {
  for (const [name, commitId] of Object.entries(versionSet)) {
    const pkg = pipeline.packages.find((p) => p.name === name);
    const source = pkg && repositoryOf(pkg, readers);
    if (!source) continue;
    try {
      await source.reader.commit(source.repository, commitId);
    } catch (error) {
      if (error instanceof CommitNotFoundError) return error;
      // Anything else (throttled, no access) says nothing about the commit: the build's own failure stands.
    }
  }
  return undefined;
}
