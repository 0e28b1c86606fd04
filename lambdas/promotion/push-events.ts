/**
 * From a GitHub push delivery or a CodeCommit `referenceUpdated` event to the decision core's `Push` records, or a
 * reason to ignore it. Pure: signature checks and storage happen in the handlers.
 */
import type { PackageDefinition, Pipeline } from '../core/config/schema';
import type { Push } from '../core/decide/autobuild';

export type PushIntake = { readonly kind: 'pushes'; readonly pushes: readonly Push[] } | { readonly kind: 'ignored'; readonly reason: string };

interface GitHubPushPayload {
  ref?: unknown;
  after?: unknown;
  deleted?: unknown;
  repository?: { full_name?: unknown; name?: unknown; url?: unknown; owner?: { login?: unknown; name?: unknown } };
  head_commit?: { id?: unknown; message?: unknown; author?: { email?: unknown; name?: unknown; username?: unknown } } | null;
  pusher?: { email?: unknown; name?: unknown };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const ZERO_SHA = /^0+$/;

function branchOf(pkg: PackageDefinition): string {
  const s = pkg.source;
  return 'github' in s ? s.github.branch : 'codecommit' in s ? s.codecommit.branch : s.local.branch;
}

/**
 * Whether a package is the repository a GitHub-format push names. GitHub sources match `owner/repo`
 * (case-insensitive, as GitHub treats them). Local sources (local mode sends GitHub-format pushes) match
 * `repository.url` equal to the source path, or `repository.full_name` equal to `local/<package>`.
 */
function matchesGitHub(pkg: PackageDefinition, fullName: string | undefined, url: string | undefined): boolean {
  const s = pkg.source;
  if ('github' in s) return fullName?.toLowerCase() === `${s.github.owner}/${s.github.repo}`.toLowerCase();
  if ('local' in s) return (url !== undefined && url === s.local.path) || fullName === `local/${pkg.name}`;
  return false;
}

/** Reads a GitHub `push` payload. */
export function githubPushIntake(pipeline: Pipeline, payload: unknown, deliveryId: string, receivedAt: number): PushIntake {
  const p = (payload ?? {}) as GitHubPushPayload;
  const ref = str(p.ref);
  if (!ref) return { kind: 'ignored', reason: 'the push names no ref' };
  if (ref.startsWith('refs/tags/')) return { kind: 'ignored', reason: `tag push (${ref}): only branch pushes are built` };
  if (!ref.startsWith('refs/heads/')) return { kind: 'ignored', reason: `${ref} is not a branch` };
  const branch = ref.slice('refs/heads/'.length);
  const after = str(p.after);
  if (p.deleted === true || !after || ZERO_SHA.test(after)) return { kind: 'ignored', reason: `branch ${branch} was deleted` };
  const fullName =
    str(p.repository?.full_name) ??
    (str(p.repository?.owner?.login ?? p.repository?.owner?.name) && str(p.repository?.name)
      ? `${String(p.repository?.owner?.login ?? p.repository?.owner?.name)}/${String(p.repository?.name)}`
      : undefined);
  const url = str(p.repository?.url);
  const repoPackages = pipeline.packages.filter((pkg) => matchesGitHub(pkg, fullName, url));
  if (repoPackages.length === 0) return { kind: 'ignored', reason: `repository ${fullName ?? url ?? '(unnamed)'} is not tracked by pipeline ${pipeline.pipeline.name}` };
  const packages = repoPackages.filter((pkg) => branchOf(pkg) === branch);
  if (packages.length === 0) {
    return { kind: 'ignored', reason: `branch ${branch} of ${fullName ?? url} is not tracked (tracked: ${[...new Set(repoPackages.map(branchOf))].join(', ')})` };
  }
  const building = packages.filter((pkg) => pkg.autoBuild);
  if (building.length === 0) return { kind: 'ignored', reason: `autoBuild is off for ${packages.map((pkg) => pkg.name).join(', ')}` };
  const author =
    str(p.head_commit?.author?.email) ?? str(p.head_commit?.author?.username) ?? str(p.head_commit?.author?.name) ?? str(p.pusher?.email) ?? str(p.pusher?.name) ?? 'unknown';
  const message = str(p.head_commit?.message) ?? '';
  return {
    kind: 'pushes',
    pushes: building.map((pkg) => ({ package: pkg.name, branch, commit: after, author, message, receivedAt, deliveryId })),
  };
}

interface CodeCommitEvent {
  id?: unknown;
  'detail-type'?: unknown;
  detail?: {
    event?: unknown;
    repositoryName?: unknown;
    referenceType?: unknown;
    referenceName?: unknown;
    commitId?: unknown;
    callerUserArn?: unknown;
  };
}

/** Reads an EventBridge `CodeCommit Repository State Change` event. */
export function codecommitIntake(pipeline: Pipeline, event: unknown, receivedAt: number): PushIntake {
  const e = (event ?? {}) as CodeCommitEvent;
  const d = e.detail ?? {};
  const kind = str(d.event);
  if (kind !== 'referenceUpdated' && kind !== 'referenceCreated') return { kind: 'ignored', reason: `CodeCommit event ${kind ?? '(none)'} is not a push` };
  if (str(d.referenceType) !== 'branch') return { kind: 'ignored', reason: `${String(d.referenceType)} ${String(d.referenceName)} is not a branch` };
  const repository = str(d.repositoryName);
  const branch = str(d.referenceName);
  const commit = str(d.commitId);
  if (!repository || !branch || !commit) return { kind: 'ignored', reason: 'the event names no repository, branch or commit' };
  const repoPackages = pipeline.packages.filter((pkg) => 'codecommit' in pkg.source && pkg.source.codecommit.repository === repository);
  if (repoPackages.length === 0) return { kind: 'ignored', reason: `repository ${repository} is not tracked by pipeline ${pipeline.pipeline.name}` };
  const packages = repoPackages.filter((pkg) => branchOf(pkg) === branch && pkg.autoBuild);
  if (packages.length === 0) return { kind: 'ignored', reason: `branch ${branch} of ${repository} is not tracked` };
  const caller = str(d.callerUserArn);
  const author = caller ? caller.replace(/^arn:[^:]+:(iam|sts)::\d+:/, '') : 'unknown';
  const deliveryId = str(e.id) ?? `${repository}:${branch}:${commit}`;
  return { kind: 'pushes', pushes: packages.map((pkg) => ({ package: pkg.name, branch, commit, author, message: '', receivedAt, deliveryId })) };
}
