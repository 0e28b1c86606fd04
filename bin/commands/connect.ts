/**
 * How the operator commands (`push`, `status`, `approve`, `reject`, `pipeline`, `automation`) reach a Lockstep:
 * the local system running on `--data-dir` (its `endpoints.json` points the AWS SDK adapters at the local
 * services), or, when no local system runs there and the Lockstep environment variables are set
 * (`LOCKSTEP_TABLE_*`, `LOCKSTEP_PIPELINE_FILE`, ...), the AWS account those name, through the same adapters.
 */
import {
  connectToLocalSystem,
  LocalSystemNotRunningError,
  readConnection,
  type LocalSystemConnection,
} from '../../local/assembly/connection';

export const DATA_DIR_OPTION = ['--data-dir <dir>', 'data folder of the local system', '.lockstep'] as const;

export type Target = { readonly kind: 'local'; readonly connection: LocalSystemConnection } | { readonly kind: 'aws' };

export function connect(dataDir: string): Target {
  if (
    readConnection(dataDir) === undefined &&
    process.env.LOCKSTEP_PIPELINE_FILE &&
    process.env.LOCKSTEP_TABLE_ENVIRONMENTS
  )
    return { kind: 'aws' };
  try {
    return { kind: 'local', connection: connectToLocalSystem(dataDir) };
  } catch (error) {
    if (error instanceof LocalSystemNotRunningError) {
      throw new LocalSystemNotRunningError(
        `${error.message}; or set the Lockstep environment variables to work against AWS`,
      );
    }
    throw error;
  }
}

/** The handlers' composition root, imported only once the environment points at the target. */
export async function adapters() {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  return import('../../lambdas/adapters/runtime');
}

/** Who the operator is, for audit records: `--as`, else the login name. */
export async function operator(as: string | undefined): Promise<string> {
  if (as) return as;
  const { userInfo } = await import('node:os');
  return `cli:${userInfo().username}`;
}
