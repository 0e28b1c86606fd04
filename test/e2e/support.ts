import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, jest } from '@jest/globals';
import type { BuildRecord } from '../../local/codebuild/codebuild';
import { variables } from '../../local/console/builds';
import { readOutbox } from '../../local/console/status';

/**
 * Every end-to-end test's timeout: generous, because a loaded 2-core machine runs these several times slower than
 * a quiet one. Each test file that imports these helpers gets it.
 */
export const E2E_TEST_TIMEOUT_MS = 240_000;
/** Left of a test's timeout for its assertions after the last wait, and for the teardown of what it started. */
const AFTER_LAST_WAIT_MS = 20_000;
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// The deadline of the test under way: no wait outlasts it, so a slow step fails as "Timed out waiting for <what>"
// rather than as Jest's bare timeout, whatever the steps' own timeouts add up to.
let testDeadline = Number.POSITIVE_INFINITY;
beforeEach(() => {
  testDeadline = Date.now() + E2E_TEST_TIMEOUT_MS - AFTER_LAST_WAIT_MS;
});
afterEach(() => {
  testDeadline = Number.POSITIVE_INFINITY;
});

/**
 * Helpers for the end-to-end tests: they look where a user would look (the deploy folders, the outbox, the build
 * records, the status view) and wait for the system to get there. Waiting polls; nothing asserts on time.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Math.min(Date.now() + timeoutMs, testDeadline);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out waiting for ${what}${lastError ? `: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

/** What the sample app's deploy wrote into `<dataDir>/deployments/<environment>/revision.json`. */
export async function deployed(
  dataDir: string,
  environment: string,
): Promise<{ revision: number; rollback: boolean; fencingToken: number; commit: string } | undefined> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'deployments', environment, 'revision.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

export async function notifications(dataDir: string) {
  return readOutbox(join(dataDir, 'outbox.jsonl'));
}

/** Every build the local CodeBuild ran, with its variables. */
export async function builds(dataDir: string): Promise<Array<BuildRecord & { vars: Record<string, string> }>> {
  const dir = join(dataDir, 'builds');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const records: Array<BuildRecord & { vars: Record<string, string> }> = [];
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const record = JSON.parse(
      await readFile(join(dir, entry.name, 'build.json'), 'utf8').catch(() => 'null'),
    ) as BuildRecord | null;
    if (record) records.push({ ...record, vars: variables(record) });
  }
  return records;
}

/** Deploys (not rollbacks) of `revision` to `environment`. */
export async function deploysOf(dataDir: string, environment: string, revision: number) {
  return (await builds(dataDir)).filter(
    (b) =>
      // Deploys run in steps projects, selected per build by LOCKSTEP_ENVIRONMENT and LOCKSTEP_STEP.
      b.vars.LOCKSTEP_ENVIRONMENT === environment &&
      b.vars.LOCKSTEP_STEP === 'deploy' &&
      b.vars.LOCKSTEP_REVISION === String(revision) &&
      b.vars.LOCKSTEP_ROLLBACK !== 'true',
  );
}

/** Submits the approval page's form for a link from an approval email, as the page's buttons do. */
export async function decide(link: string, decision: 'approve' | 'reject'): Promise<{ status: number; body: string }> {
  const url = new URL(link);
  const form = new URLSearchParams({ ...Object.fromEntries(url.searchParams), decision });
  const response = await fetch(url.origin + url.pathname, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return { status: response.status, body: await response.text() };
}

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The operator CLI as a user runs it (`npm run lockstep --`), without npm's own process in between. */
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'bin', 'lockstep.ts')] as const;
const CLI_ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** `lockstep local` running as a child process, with everything it printed so far. */
export interface LocalProcess {
  readonly child: ChildProcess;
  /** Its stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  readonly exited: Promise<void>;
  /** Ends it as a crash or a closed terminal would: SIGKILL to its whole process group. */
  crash(): Promise<void>;
}

/**
 * Starts `lockstep local <args>` in its own process group (so `crash` kills every build it runs with it), from the
 * repository root.
 */
export function startLocal(args: readonly string[]): LocalProcess {
  const child = spawn(CLI[0], [...CLI.slice(1), 'local', ...args], {
    cwd: ROOT,
    env: CLI_ENV,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    get output() {
      return output;
    },
    exited,
    async crash() {
      // Already gone (it exited, or an earlier crash): nothing to kill, and `kill` would throw ESRCH.
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
  };
}

/** Runs the operator CLI to its end (`lockstep <args>`), as `npm run lockstep -- <args>` would. */
export function runCli(args: readonly string[]) {
  return spawnSync(CLI[0], [...CLI.slice(1), ...args], { cwd: ROOT, env: CLI_ENV, encoding: 'utf8' });
}
