/**
 * What the console's view models read: the stores and clock the agents use (so `decide()` sees the same world as
 * the reconcile pass), the approval requests, and the SDK half's store when the SDK publisher runs beside it.
 */
import type { AgentDependencies } from '../promotion/agents';
import type { SdkStore } from '../ports/sdk';
import type { ApprovalStore } from '../ports/stores';

export interface ConsoleReadDependencies {
  /** The agents' stores, pipeline and clock: `loadWorld` and `reconcile` read the world through them. */
  readonly agents: AgentDependencies;
  readonly approvals: ApprovalStore;
  /** The SDK table; absent when no SDK publisher is deployed (the SDKs page then says so). */
  readonly sdks?: SdkStore;
  /** `https://.../approvals`: a pending approval's page is `<approvalBaseUrl>/<requestId>`. */
  readonly approvalBaseUrl?: string;
}

