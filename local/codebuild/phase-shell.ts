import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Runs one buildspec phase (or its `finally` block) as one bash process, the way CodeBuild runs version 0.2
 * buildspecs: all commands of the phase share one shell, so `cd` and variables carry from one command to the next;
 * exported variables and the working folder carry into the next phase through a state folder. Each command runs
 * under `set -e -o pipefail`; the first that fails ends the phase. A marker line printed before each command tells
 * which command the output belongs to, so the failing command and its last output lines can be reported.
 */
export interface PhaseCommandFailure {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last output lines of the failing command. */
  readonly output: readonly string[];
}

export interface PhaseShellOptions {
  readonly commands: readonly string[];
  /** Holds `env.sh` and `cwd` between phases. */
  readonly stateDir: string;
  /** Working folder for the first phase (later phases start where the previous one ended). */
  readonly initialCwd: string;
  /** Environment of the shell; the exported variables of earlier phases are restored on top of it. */
  readonly env: Readonly<Record<string, string>>;
  /** Set after the restore, so they win over what earlier phases exported (`CODEBUILD_BUILD_SUCCEEDING`). */
  readonly forcedEnv: Readonly<Record<string, string>>;
  /** Receives each output line and `Running command` notice, in order. */
  readonly onLine: (line: string) => void;
  readonly onCommandStart?: (command: string) => void;
  /** Called with the shell's pid (its process group id) once started, so it can be stopped or found after a crash. */
  readonly onSpawn?: (pid: number) => void;
  readonly signal?: AbortSignal;
}

export interface PhaseShellResult {
  readonly ok: boolean;
  readonly failure?: PhaseCommandFailure;
}

const TAIL_LINES = 40;
/** Variables bash owns; restoring them from a dump would fail (read-only) or lie (PWD, SHLVL). */
const NOT_RESTORED = /^declare -x (BASHOPTS|SHELLOPTS|BASH_[A-Z_]*|SHLVL|_|PWD|OLDPWD|PPID|UID|EUID)(=|$)/;

export async function runPhaseShell(options: PhaseShellOptions): Promise<PhaseShellResult> {
  if (options.commands.length === 0) return { ok: true };
  const nonce = randomBytes(6).toString('hex');
  const marker = `__LOCKSTEP_${nonce}_COMMAND_`;
  const envFile = join(options.stateDir, 'env.sh');
  const cwdFile = join(options.stateDir, 'cwd');
  const scriptFile = join(options.stateDir, `phase-${nonce}.sh`);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

  const lines = [
    'exec 2>&1',
    `if [ -f ${q(envFile)} ]; then . ${q(envFile)}; fi`,
    `if [ -f ${q(cwdFile)} ]; then cd "$(cat ${q(cwdFile)})"; else cd ${q(options.initialCwd)}; fi`,
    ...Object.entries(options.forcedEnv).map(([k, v]) => `export ${k}=${q(v)}`),
    // Saved on every exit, failed or not, as CodeBuild keeps the shell state for the phases that still run.
    `__lockstep_save() { export -p | grep -Ev ${q(NOT_RESTORED.source)} > ${q(envFile + '.tmp')}; mv ${q(envFile + '.tmp')} ${q(envFile)}; pwd > ${q(cwdFile)}; }`,
    'trap __lockstep_save EXIT',
    'set -e -o pipefail',
  ];
  options.commands.forEach((command, index) => {
    lines.push(`printf '%s\\n' '${marker}${index}__'`);
    lines.push(command);
  });
  await writeFile(scriptFile, lines.join('\n') + '\n', { mode: 0o700 });

  const child = spawn('bash', [scriptFile], {
    env: { ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: StopBuild and crash recovery end the shell and everything it started.
    detached: true,
  });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);

  let current = -1;
  let tail: string[] = [];
  let pending = '';
  const consume = (text: string, flush = false) => {
    pending += text;
    const parts = pending.split('\n');
    pending = flush ? '' : parts.pop()!;
    for (const line of parts) {
      if (line.startsWith(marker)) {
        current = Number(line.slice(marker.length, -2));
        tail = [];
        const command = options.commands[current] ?? '';
        options.onCommandStart?.(command);
        options.onLine(`[Container] ${new Date().toISOString()} Running command ${command}`);
        continue;
      }
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine(line);
    }
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => consume(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => consume(d));

  const abort = () => {
    if (child.pid !== undefined) killGroup(child.pid, 'SIGTERM');
  };
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((ok) =>
    child.on('close', (c, s) => ok([c, s])),
  );
  options.signal?.removeEventListener('abort', abort);
  if (pending) consume('\n', true);
  if (code === 0) return { ok: true };
  return {
    ok: false,
    failure: {
      command: options.commands[Math.max(current, 0)] ?? '',
      exitCode: code,
      signal,
      output: tail,
    },
  };
}

/** Signals a process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already exited
  }
}
