/**
 * Composition root of the console handler: its view models read the promotion runtime's stores (the same tables
 * and clock as the agents), its actions run on the runtime's operator, switch and approval dependencies, and its
 * front end comes from a folder. Variables (read when first needed, each naming itself when missing):
 *
 * - `LOCKSTEP_CONSOLE_LOGIN`: `local` (local mode's one-time token) or `cognito` (managed login), and for
 *   `cognito` `LOCKSTEP_CONSOLE_COGNITO_DOMAIN`, `LOCKSTEP_CONSOLE_CLIENT_ID`, `LOCKSTEP_CONSOLE_REDIRECT_URI`;
 * - `LOCKSTEP_CONSOLE_ASSETS_DIR`: the `console/` folder. @default `console` next to the bundle (`/var/task/console`)
 * - `LOCKSTEP_SDK_TABLE` (optional): the SDK publisher's table, for the SDKs page.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireEnv } from '../core/errors';
import { auditDenied as auditDeniedRequest, type ConsoleAction, type ConsoleIdentity } from '../console/auth';
import { consoleOperations } from '../console/operations';
import type { ConsoleAlarms } from '../console/alarm-view';
import type { ConsoleApiDependencies, ConsoleClientConfig } from '../console/dependencies';
import { ConsoleAssets } from './console-assets';
import { DynamoSdkStore } from './dynamo-sdk-store';
import type { Runtime } from './runtime';

export interface ConsoleRuntimeOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Overrides the variables' login settings (local mode passes `{ mode: 'local' }`). */
  readonly clientConfig?: ConsoleClientConfig;
  /** Alarm states and their setter (local mode passes its CloudWatch's). @default none: alarms listed without state */
  readonly alarms?: ConsoleAlarms;
}

/** The login settings the browser reads, from the variables above. */
export function clientConfigFromEnv(env: Readonly<Record<string, string | undefined>>): ConsoleClientConfig {
  const mode = requireEnv('LOCKSTEP_CONSOLE_LOGIN', env);
  if (mode === 'local') return { mode: 'local' };
  if (mode !== 'cognito') throw new RangeError(`LOCKSTEP_CONSOLE_LOGIN must be "local" or "cognito", not "${mode}"`);
  return {
    mode: 'cognito',
    domain: requireEnv('LOCKSTEP_CONSOLE_COGNITO_DOMAIN', env),
    clientId: requireEnv('LOCKSTEP_CONSOLE_CLIENT_ID', env),
    redirectUri: requireEnv('LOCKSTEP_CONSOLE_REDIRECT_URI', env),
    scopes: ['openid', 'email', 'profile'],
  };
}

/** Where the bundle keeps the front end: the CDK copies `console/` next to the handler (`/var/task/console`). */
function defaultAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'console');
}

export function consoleApiDependencies(runtime: Runtime, options: ConsoleRuntimeOptions): ConsoleApiDependencies {
  const { env } = options;
  const events = runtime.eventStore();
  const auditDenied = (identity: ConsoleIdentity, action: ConsoleAction, route: string) =>
    auditDeniedRequest({ events, clock: runtime.clock }, identity, action, { route });
  const sdkTable = env.LOCKSTEP_SDK_TABLE;
  const approvalDependencies = runtime.approvalDependencies();
  return {
    read: {
      agents: runtime.agentDependencies(),
      approvals: runtime.approvalStore(),
      timelines: events,
      ...(sdkTable ? { sdks: new DynamoSdkStore(runtime.clients.dynamodb, sdkTable) } : {}),
      approvalBaseUrl: approvalDependencies.baseUrl,
      ...(options.alarms ? { alarms: options.alarms } : {}),
    },
    operations: consoleOperations({
      switches: runtime.stepDependencies(),
      operators: runtime.operatorDependencies(),
      approvals: approvalDependencies,
    }),
    assets: new ConsoleAssets(env.LOCKSTEP_CONSOLE_ASSETS_DIR ?? defaultAssetsDir()),
    clientConfig: options.clientConfig ?? clientConfigFromEnv(env),
    auditDenied,
  };
}
