import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '../files';
import { LocalModeError } from '../errors';

/**
 * `<dataDir>/endpoints.json`: how the CLI (`lockstep push|status|approve|pipeline ...`) finds a running local
 * system. It holds the endpoints and the same environment the handlers run with (resource names, endpoint
 * variables; no secret values), so a CLI command points the unchanged AWS SDK adapters at the local services.
 */
export interface LocalSystemConnection {
  readonly pid: number;
  readonly startedAt: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly pipelineName: string;
  readonly pipelineFile: string;
  readonly http: string;
  readonly webhookUrl: string;
  readonly outboxFile: string;
  readonly repositories: ReadonlyArray<{ readonly package: string; readonly dir: string; readonly branch: string }>;
  /** What `applyEnvironment` sets for handlers, plus `LOCKSTEP_PIPELINE_FILE`. */
  readonly env: Readonly<Record<string, string>>;
}

export class LocalSystemNotRunningError extends LocalModeError {}

export function connectionFile(dataDir: string): string {
  return join(resolve(dataDir), 'endpoints.json');
}

export function writeConnection(connection: LocalSystemConnection): Promise<void> {
  return writeJsonAtomic(connectionFile(connection.dataDir), connection);
}

export function removeConnection(dataDir: string): void {
  rmSync(connectionFile(dataDir), { force: true });
}

/** The connection file as it is, running system or not (`undefined` when there is none). */
export function readConnection(dataDir: string): LocalSystemConnection | undefined {
  try {
    return JSON.parse(readFileSync(connectionFile(dataDir), 'utf8')) as LocalSystemConnection;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The running local system on `dataDir`, with its environment applied to `process.env` (import adapters after).
 *
 * @throws LocalSystemNotRunningError when nothing runs there (never started, stopped, or killed).
 */
export function connectToLocalSystem(dataDir: string, target: NodeJS.ProcessEnv = process.env): LocalSystemConnection {
  const connection = readConnection(dataDir);
  if (!connection || !processAlive(connection.pid)) {
    throw new LocalSystemNotRunningError(
      `No local Lockstep runs on ${resolve(dataDir)}: start it with \`npm start\` (or \`lockstep local --data-dir ${dataDir}\`)`,
    );
  }
  Object.assign(target, connection.env);
  return connection;
}
