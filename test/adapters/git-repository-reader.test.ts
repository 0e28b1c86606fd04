/**
 * `GitRepositoryReader.branchHead` runs on every reconcile pass (missed pushes, then AutoBuild). In local mode a
 * process spawn blocks the one event loop that also runs the promotion hops, so a branch with a loose ref is read
 * from its file without starting git; git answers everything else, with the same results.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GitRepositoryReader, type GitRunner } from '../../lambdas/adapters/git-repository-reader';

let root: string;
const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'a',
      GIT_AUTHOR_EMAIL: 'a@example.com',
      GIT_COMMITTER_NAME: 'a',
      GIT_COMMITTER_EMAIL: 'a@example.com',
    },
  }).trim();

/** A reader over `root` that counts the git processes it starts. */
function countingReader(): { reader: GitRepositoryReader; spawns: string[][] } {
  const spawns: string[][] = [];
  const run: GitRunner = (args) => {
    spawns.push([...args]);
    return promisify(execFile)('git', [...args], { encoding: 'utf8' });
  };
  return { reader: new GitRepositoryReader(root, run), spawns };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-git-reader-'));
  execFileSync('git', ['init', '-q', '-b', 'main', join(root, 'repo')]);
  git(join(root, 'repo'), 'commit', '-q', '--allow-empty', '-m', 'first');
  git(join(root, 'repo'), 'branch', 'feature/x');
  git(join(root, 'repo'), 'commit', '-q', '--allow-empty', '-m', 'second');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('GitRepositoryReader.branchHead', () => {
  it('reads a loose branch ref without starting git, and follows each new commit', async () => {
    const { reader, spawns } = countingReader();
    expect(await reader.branchHead('repo', 'main')).toBe(git(join(root, 'repo'), 'rev-parse', 'main'));
    expect(await reader.branchHead('repo', 'feature/x')).toBe(git(join(root, 'repo'), 'rev-parse', 'feature/x'));
    git(join(root, 'repo'), 'commit', '-q', '--allow-empty', '-m', 'third');
    expect(await reader.branchHead('repo', 'main')).toBe(git(join(root, 'repo'), 'rev-parse', 'main'));
    expect(spawns).toEqual([]);
  });

  it('asks git for a missing branch, and answers undefined', async () => {
    const { reader, spawns } = countingReader();
    expect(await reader.branchHead('repo', 'nope')).toBeUndefined();
    expect(spawns).toHaveLength(1);
  });

  it('asks git for a packed ref, and gives the same head', async () => {
    execFileSync('git', ['clone', '-q', join(root, 'repo'), join(root, 'packed')]);
    const packed = join(root, 'packed');
    git(packed, 'pack-refs', '--all', '--prune');
    const { reader, spawns } = countingReader();
    expect(await reader.branchHead('packed', 'main')).toBe(git(packed, 'rev-parse', 'main'));
    expect(spawns).toHaveLength(1);
  });

  it('asks git for branch names it does not read from files', async () => {
    const { reader, spawns } = countingReader();
    expect(await reader.branchHead('repo', '../../HEAD')).toBeUndefined();
    expect(spawns).toHaveLength(1);
  });
});
