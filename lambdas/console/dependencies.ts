/**
 * What the console's view models read: the stores and clock the agents use (so `decide()` sees the same world as
 * the reconcile pass), the approval requests, and the SDK half's store when the SDK publisher runs beside it.
 */
import type { AgentDependencies } from '../promotion/agents';
import type { SdkStore } from '../ports/sdk';
import type { ApprovalStore, TimelineReader } from '../ports/stores';
import type { ConsoleOperations } from './actions';
import type { ConsoleAlarms } from './alarm-view';
import type { ConsoleAction, ConsoleIdentity } from './auth';

export interface ConsoleReadDependencies {
  /** The agents' stores, pipeline and clock: `loadWorld` and `reconcile` read the world through them. */
  readonly agents: AgentDependencies;
  readonly approvals: ApprovalStore;
  /** The timelines again, read by position: the console's timeline pages. */
  readonly timelines: TimelineReader;
  /** The SDK table; absent when no SDK publisher is deployed (the SDKs page then says so). */
  readonly sdks?: SdkStore;
  /** `https://.../approvals`: a pending approval's page is `<approvalBaseUrl>/<requestId>`. */
  readonly approvalBaseUrl?: string;
  /**
   * The bakes' alarms with their states, and a setter: local mode only. Absent (on AWS), cards list the alarms
   * without state and the console sets none.
   */
  readonly alarms?: ConsoleAlarms;
}

/** A static file of the front end. */
export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The front end's files by name (`app.js`); undefined for a name that is not one of them. */
export interface ConsoleAssetSource {
  get(name: string): Promise<StaticAsset | undefined>;
}

/** How the browser logs in: served as `/console/config.json`, read by `console/auth.js`. */
export type ConsoleClientConfig =
  | { readonly mode: 'local' }
  | {
      readonly mode: 'cognito';
      /** `https://<prefix>.auth.<region>.amazoncognito.com` (managed login). */
      readonly domain: string;
      readonly clientId: string;
      readonly redirectUri: string;
      readonly scopes?: readonly string[];
    };

export interface ConsoleApiDependencies {
  readonly read: ConsoleReadDependencies;
  readonly operations: ConsoleOperations;
  readonly assets: ConsoleAssetSource;
  readonly clientConfig: ConsoleClientConfig;
  /** Records a refused request in the audit log (who, what, from where). */
  readonly auditDenied: (identity: ConsoleIdentity, action: ConsoleAction, route: string) => Promise<void>;
}
