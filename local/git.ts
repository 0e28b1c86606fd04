import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { sign } from '@octokit/webhooks-methods';
import { LocalModeError } from './errors';
import { exists } from './codebuild/files';
import { whenMissing } from './files';

const execFileAsync = promisify(execFile);

/**
 * The local git side of local mode: a repository holding the sample application under the data folder, and a
 * `push` that sends what GitHub would send for it: a `push` event payload signed with `X-Hub-Signature-256`, so the
 * real webhook handler verifies and records it exactly as it would on AWS.
 */
export const SAMPLE_APP_SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'sample-app');

const ZERO_SHA = '0'.repeat(40);
const AUTHOR = { name: 'Lockstep Local', email: 'local@lockstep.invalid' };

export class GitError extends LocalModeError {}

export async function git(dir: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', ['-C', dir, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new GitError(`git ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, {
      cause: error,
      details: { dir },
    });
  }
}

export interface LocalRepository {
  readonly dir: string;
  readonly branch: string;
  /** True when this call created it (false: it existed and was left as it was). */
  readonly created: boolean;
}

/**
 * Creates `<dataDir>/repos/<name>` from the sample application with one commit, or returns it when it exists
 * (its history is what earlier pushes referred to, so it is never recreated).
 */
export async function createSampleRepository(options: {
  dataDir: string;
  name?: string;
  source?: string;
  branch?: string;
}): Promise<LocalRepository> {
  const name = options.name ?? 'sample-app';
  const branch = options.branch ?? 'main';
  const dir = join(options.dataDir, 'repos', name);
  if (await exists(join(dir, '.git'))) return { dir, branch, created: false };
  await mkdir(dir, { recursive: true });
  await cp(options.source ?? SAMPLE_APP_SOURCE, dir, {
    recursive: true,
    filter: (path) => !/(^|\/)(dist|node_modules)(\/|$)/.test(path.slice((options.source ?? SAMPLE_APP_SOURCE).length)),
  });
  await git(dir, 'init', '--quiet', '--initial-branch', branch);
  // Identity set in the repository only: the user's global git config is not touched.
  await git(dir, 'config', 'user.name', AUTHOR.name);
  await git(dir, 'config', 'user.email', AUTHOR.email);
  await git(dir, 'add', '--all');
  await git(dir, 'commit', '--quiet', '--message', `Add ${name}`);
  return { dir, branch, created: true };
}

/**
 * Commits file changes (`null` deletes a file) and returns the new commit id.
 *
 * @example
 * await commitChange(repo.dir, { message: 'Break the tests', files: { FAIL_TESTS: 'on purpose\n' } });
 */
export async function commitChange(
  dir: string,
  change: { message: string; files: Readonly<Record<string, string | null>>; author?: { name: string; email: string } },
): Promise<string> {
  for (const [path, content] of Object.entries(change.files)) {
    const full = resolve(dir, path);
    if (!full.startsWith(resolve(dir) + '/')) throw new GitError(`${path} is outside the repository`);
    if (content === null) {
      await rm(full, { force: true });
    } else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }
  await git(dir, 'add', '--all');
  const author = change.author ? ['--author', `${change.author.name} <${change.author.email}>`] : [];
  await git(dir, 'commit', '--quiet', '--allow-empty', '--message', change.message, ...author);
  return (await git(dir, 'rev-parse', 'HEAD')).trim();
}

/** A person as git names them. */
export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

/**
 * Who pushes from `dir`: the identity git would commit as there (the repository's `user.name`/`user.email`, else
 * the user's global ones), as GitHub names the pusher of a push; Lockstep's local identity when git has none.
 */
export async function localPusher(dir: string): Promise<GitIdentity> {
  const read = (key: string) =>
    git(dir, 'config', '--get', key).then(
      (v) => v.trim() || undefined,
      () => undefined,
    );
  const [name, email] = await Promise.all([read('user.name'), read('user.email')]);
  return { name: name ?? AUTHOR.name, email: email ?? AUTHOR.email };
}

export interface PushPayloadOptions {
  readonly dir: string;
  /** Who the push names as its pusher. @default `localPusher(dir)` */
  readonly pusher?: GitIdentity;
  readonly branch?: string;
  /** Commit the branch pointed at before the push; all-zero (a new branch) when omitted. */
  readonly before?: string;
  /** `owner/repo` as the pipeline names it. @default `local/<folder name>` */
  readonly repositoryFullName?: string;
}

/** A GitHub `push` event payload for `before..HEAD` of `branch` (just HEAD for a new branch). */
export async function pushPayload(options: PushPayloadOptions): Promise<Record<string, unknown>> {
  const branch = options.branch ?? 'main';
  const after = (await git(options.dir, 'rev-parse', `refs/heads/${branch}`)).trim();
  const before = options.before ?? ZERO_SHA;
  const fullName = options.repositoryFullName ?? `local/${options.dir.split('/').filter(Boolean).pop()}`;
  const [owner, repoName] = fullName.split('/') as [string, string];
  const pusher = options.pusher ?? (await localPusher(options.dir));
  const htmlUrl = pathToFileURL(options.dir).href;
  const range = before === ZERO_SHA ? ['-1', after] : [`${before}..${after}`];
  const SEP = '\x1f';
  const END = '\x1e';
  const log = await git(
    options.dir,
    'log',
    '--reverse',
    `--format=%H${SEP}%T${SEP}%an${SEP}%ae${SEP}%aI${SEP}%cn${SEP}%ce${SEP}%B${END}`,
    ...range,
  );
  const commits = [];
  for (const entry of log
    .split(END)
    .map((e) => e.replace(/^\n/, ''))
    .filter(Boolean)) {
    const [id, tree, authorName, authorEmail, timestamp, committerName, committerEmail, message] = entry.split(SEP);
    const changes = await git(options.dir, 'show', '--no-renames', '--name-status', '--format=', id!);
    const files = { added: [] as string[], removed: [] as string[], modified: [] as string[] };
    for (const line of changes.split('\n').filter(Boolean)) {
      const [status, path] = line.split('\t') as [string, string];
      (status.startsWith('A') ? files.added : status.startsWith('D') ? files.removed : files.modified).push(path);
    }
    commits.push({
      id,
      tree_id: tree,
      distinct: true,
      message: message!.trim(),
      timestamp,
      url: `${htmlUrl}#${id}`,
      author: { name: authorName, email: authorEmail, username: authorName },
      committer: { name: committerName, email: committerEmail, username: committerName },
      ...files,
    });
  }
  return {
    ref: `refs/heads/${branch}`,
    before,
    after,
    created: before === ZERO_SHA,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${htmlUrl}#${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits,
    head_commit: commits[commits.length - 1] ?? null,
    repository: {
      id: 1,
      name: repoName,
      full_name: fullName,
      private: true,
      owner: { name: owner, login: owner },
      html_url: htmlUrl,
      clone_url: htmlUrl,
      default_branch: branch,
      master_branch: branch,
    },
    pusher: { name: pusher.name, email: pusher.email },
    sender: { login: owner },
  };
}

export interface PushResult {
  readonly status: number;
  readonly body: string;
  readonly deliveryId: string;
  readonly payload: Record<string, unknown>;
}

/**
 * POSTs the push of `before..HEAD` to the webhook URL, signed with `secret` as GitHub signs it. `before` defaults to
 * what the last successful push from this repository sent (kept in `.git/lockstep-last-push`).
 */
export async function pushToWebhook(
  options: PushPayloadOptions & { url: string; secret: string },
): Promise<PushResult> {
  const marker = join(options.dir, '.git', 'lockstep-last-push');
  const before = options.before ?? ((await readFile(marker, 'utf8').catch(whenMissing(''))).trim() || undefined);
  const payload = await pushPayload({ ...options, ...(before ? { before } : {}) });
  const body = JSON.stringify(payload);
  const deliveryId = randomUUID();
  const response = await fetch(options.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/lockstep-local',
      'x-github-event': 'push',
      'x-github-delivery': deliveryId,
      'x-github-hook-id': '1',
      'x-hub-signature-256': await sign(options.secret, body),
    },
    body,
  });
  const text = await response.text();
  if (response.ok) await writeFile(marker, `${String(payload.after)}\n`);
  return { status: response.status, body: text, deliveryId, payload };
}
