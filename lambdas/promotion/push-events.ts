/**
 * From a GitHub push delivery or a CodeCommit `referenceUpdated` event to the decision core's `Push` records, or a
 * reason to ignore it. Pure: signature checks and storage happen in the handlers.
 */
import type { PackageDefinition, Pipeline } from '../core/config/schema';
import type { Push } from '../core/decide/autobuild';
import type { Commit } from '../core/model';

export type PushIntake =
  { readonly kind: 'pushes'; readonly pushes: readonly Push[] } | { readonly kind: 'ignored'; readonly reason: string };

interface GitHubPushPayload {
  ref?: unknown;
  before?: unknown;
  after?: unknown;
  deleted?: unknown;
  repository?: { full_name?: unknown; name?: unknown; url?: unknown; owner?: { login?: unknown; name?: unknown } };
  head_commit?: GitHubCommit | null;
  commits?: unknown;
  pusher?: { email?: unknown; name?: unknown };
  sender?: { login?: unknown };
}

interface GitHubCommit {
  id?: unknown;
  message?: unknown;
  timestamp?: unknown;
  author?: { email?: unknown; name?: unknown; username?: unknown };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const ZERO_SHA = /^0+$/;
/** Commit messages are kept to this many characters: a push record must stay well under DynamoDB's item limit. */
const MESSAGE_LIMIT = 500;

/** A GitHub commit's author as approvers are named (by email; `separation-of-duties` compares them): the email, else the name. */
function authorOf(commit: GitHubCommit | null | undefined): string | undefined {
  return str(commit?.author?.email) ?? str(commit?.author?.name);
}

/** `commits[]` of a push as `Commit`s, oldest first (GitHub's order); entries without an id are skipped. */
function githubCommits(p: GitHubPushPayload, receivedAt: number): Commit[] {
  const listed = Array.isArray(p.commits) ? (p.commits as GitHubCommit[]) : [];
  const commits: Commit[] = [];
  for (const c of listed) {
    const id = str(c?.id);
    if (!id || commits.some((known) => known.id === id)) continue;
    const timestamp = Date.parse(str(c.timestamp) ?? '');
    commits.push({
      id,
      message: (str(c.message) ?? '').slice(0, MESSAGE_LIMIT),
      author: authorOf(c) ?? 'unknown',
      timestamp: Number.isNaN(timestamp) ? receivedAt : timestamp,
    });
  }
  return commits;
}

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

/**
 * Reads a GitHub `push` payload. Every entry of `commits[]` is recorded (id, message, author email or else name,
 * timestamp), so a revision lists each commit and each author of a multi-commit push, not only `head_commit`.
 */
export function githubPushIntake(
  pipeline: Pipeline,
  payload: unknown,
  deliveryId: string,
  receivedAt: number,
): PushIntake {
  const p = (payload ?? {}) as GitHubPushPayload;
  const ref = str(p.ref);
  if (!ref) return { kind: 'ignored', reason: 'the push names no ref' };
  if (ref.startsWith('refs/tags/'))
    return { kind: 'ignored', reason: `tag push (${ref}): only branch pushes are built` };
  if (!ref.startsWith('refs/heads/')) return { kind: 'ignored', reason: `${ref} is not a branch` };
  const branch = ref.slice('refs/heads/'.length);
  const after = str(p.after);
  if (p.deleted === true || !after || ZERO_SHA.test(after))
    return { kind: 'ignored', reason: `branch ${branch} was deleted` };
  const fullName =
    str(p.repository?.full_name) ??
    (str(p.repository?.owner?.login ?? p.repository?.owner?.name) && str(p.repository?.name)
      ? `${String(p.repository?.owner?.login ?? p.repository?.owner?.name)}/${String(p.repository?.name)}`
      : undefined);
  const url = str(p.repository?.url);
  const repoPackages = pipeline.packages.filter((pkg) => matchesGitHub(pkg, fullName, url));
  if (repoPackages.length === 0)
    return {
      kind: 'ignored',
      reason: `repository ${fullName ?? url ?? '(unnamed)'} is not tracked by pipeline ${pipeline.pipeline.name}`,
    };
  const packages = repoPackages.filter((pkg) => branchOf(pkg) === branch);
  if (packages.length === 0) {
    return {
      kind: 'ignored',
      reason: `branch ${branch} of ${fullName ?? url} is not tracked (tracked: ${[...new Set(repoPackages.map(branchOf))].join(', ')})`,
    };
  }
  const building = packages.filter((pkg) => pkg.autoBuild);
  if (building.length === 0)
    return { kind: 'ignored', reason: `autoBuild is off for ${packages.map((pkg) => pkg.name).join(', ')}` };
  const commits = githubCommits(p, receivedAt);
  const head = commits.find((c) => c.id === after);
  const author = head?.author ?? authorOf(p.head_commit) ?? str(p.pusher?.email) ?? str(p.pusher?.name) ?? 'unknown';
  const message = head?.message ?? (str(p.head_commit?.message) ?? '').slice(0, MESSAGE_LIMIT);
  const before = str(p.before);
  const pusher = githubPusher(pipeline, p);
  return {
    kind: 'pushes',
    pushes: building.map((pkg) => ({
      package: pkg.name,
      branch,
      commit: after,
      author,
      message,
      receivedAt,
      deliveryId,
      ...(before && !ZERO_SHA.test(before) ? { before } : {}),
      ...(commits.length > 0 ? { commits } : {}),
      ...(pusher ? { pusher } : {}),
    })),
  };
}

/**
 * Who pushed, as approvers are named: the pipeline's `identities` entry for `github:<login>` (the pusher's login is
 * `pusher.name`, the delivery's `sender.login` when that is absent), else `pusher.email`, else `github:<login>`
 * (which matches no approver email: such a pusher is recorded, not recognised).
 */
function githubPusher(pipeline: Pipeline, p: GitHubPushPayload): string | undefined {
  const login = str(p.pusher?.name) ?? str(p.sender?.login);
  const mapped = login ? identityOf(pipeline, [`github:${login}`]) : undefined;
  return mapped ?? str(p.pusher?.email)?.toLowerCase() ?? (login ? `github:${login}` : undefined);
}

/** The approver email the pipeline's `identities` gives the first of `keys` it names (keys compared as written). */
function identityOf(pipeline: Pipeline, keys: readonly string[]): string | undefined {
  const identities = pipeline.identities ?? {};
  for (const key of keys) if (Object.hasOwn(identities, key)) return identities[key]!.toLowerCase();
  return undefined;
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
    oldCommitId?: unknown;
    callerUserArn?: unknown;
  };
}

/**
 * Reads an EventBridge `CodeCommit Repository State Change` event.
 *
 * The event names the new head commit and who pushed it (`callerUserArn`), but no commit list, author or message.
 * This pure step records the pusher as the head commit's author; the CodeCommit handler then replaces that with the
 * push's commits read through the CodeCommit API (`withSourceCommits` in `source-commits.ts`). The pusher's identity is the last part of
 * the caller ARN when it is an email (an IAM Identity Center or federated session is named by email,
 * so it matches an approver), else the ARN's resource (`user/dev`, `assumed-role/Deployer/session`). Commits
 * between the previous head and the new one are not listed: `separation-of-duties` then compares the approver
 * with the pusher only.
 */
export function codecommitIntake(pipeline: Pipeline, event: unknown, receivedAt: number): PushIntake {
  const e = (event ?? {}) as CodeCommitEvent;
  const d = e.detail ?? {};
  const kind = str(d.event);
  if (kind !== 'referenceUpdated' && kind !== 'referenceCreated')
    return { kind: 'ignored', reason: `CodeCommit event ${kind ?? '(none)'} is not a push` };
  if (str(d.referenceType) !== 'branch')
    return { kind: 'ignored', reason: `${String(d.referenceType)} ${String(d.referenceName)} is not a branch` };
  const repository = str(d.repositoryName);
  const branch = str(d.referenceName);
  const commit = str(d.commitId);
  if (!repository || !branch || !commit)
    return { kind: 'ignored', reason: 'the event names no repository, branch or commit' };
  const repoPackages = pipeline.packages.filter(
    (pkg) => 'codecommit' in pkg.source && pkg.source.codecommit.repository === repository,
  );
  if (repoPackages.length === 0)
    return { kind: 'ignored', reason: `repository ${repository} is not tracked by pipeline ${pipeline.pipeline.name}` };
  const packages = repoPackages.filter((pkg) => branchOf(pkg) === branch && pkg.autoBuild);
  if (packages.length === 0) return { kind: 'ignored', reason: `branch ${branch} of ${repository} is not tracked` };
  const caller = str(d.callerUserArn);
  const pusher = caller ? pusherIdentity(pipeline, caller) : undefined;
  const author = pusher ?? 'unknown';
  const message = `(CodeCommit push by ${caller ?? 'an unknown caller'}; the event carries no commit message or author, so the pusher is recorded as the author)`;
  const deliveryId = str(e.id) ?? `${repository}:${branch}:${commit}`;
  const before = str(d.oldCommitId);
  return {
    kind: 'pushes',
    pushes: packages.map((pkg) => ({
      package: pkg.name,
      branch,
      commit,
      author,
      message,
      receivedAt,
      deliveryId,
      ...(before ? { before } : {}),
      ...(pusher ? { pusher } : {}),
    })),
  };
}

/**
 * The pusher a CodeCommit caller ARN names, as approvers are named: the pipeline's `identities` entry for the full
 * ARN, else for its resource (`user/dev`, `assumed-role/Deployer/ci`); else the session or user name when it is an
 * email (IAM Identity Center and most federated sessions are named by email); else the resource.
 *
 * @example
 * pusherIdentity(pipeline, 'arn:aws:sts::1:assumed-role/Role/ann@example.com'); // 'ann@example.com'
 * pusherIdentity(pipeline, 'arn:aws:iam::1:user/dev'); // 'user/dev', or identities['user/dev'] when given
 */
export function pusherIdentity(pipeline: Pipeline, callerArn: string): string {
  const resource = callerArn.replace(/^arn:[^:]+:(iam|sts)::\d+:/, '');
  const mapped = identityOf(pipeline, [callerArn, resource]);
  if (mapped) return mapped;
  const last = resource.split('/').at(-1) ?? '';
  return /^[^@\s]+@[^@\s]+$/.test(last) ? last.toLowerCase() : resource;
}
