/**
 * Inputs and outputs of `decide()`: the one decision function that agents, the CLI (`lockstep explain`) and the
 * console share. Everything here is plain data so a snapshot can be saved as JSON and explained later.
 */
import type { PromotionDefinition, SelectionStrategy, TimeWindow } from '../config/schema';
import type {
  ApplicationAtEnvironment,
  EnvironmentPin,
  EnvironmentState,
  LockState,
  PipelineSwitches,
  PromotionApproval,
  RetryRequest,
  Revision,
} from '../model';
import type { VersionConflict } from './selection';

/** What `decide()` needs to know about one promotion edge and one application flowing along it. */
export interface PromotionSnapshot {
  readonly pipeline: PipelineSwitches;
  /** The edge as configured (defaults applied), plus its id (`promotionId()`). */
  readonly promotion: Pick<PromotionDefinition, 'from' | 'to' | 'approval' | 'enabled'> & {
    readonly id: string;
    readonly strategy: SelectionStrategy;
  };
  /** The application this decision is about (a promotion carries one or more). */
  readonly application: string;
  /**
   * Revisions of `application` that are candidates at the source: for an application source every successful
   * build; for an environment source the revisions approved at that environment.
   */
  readonly candidates: readonly Revision[];
  readonly destination: EnvironmentState & { readonly windows: readonly TimeWindow[] };
  /** Manual go-aheads recorded for this promotion (only read when `promotion.approval` is `manual`). */
  readonly promotionApprovals: readonly PromotionApproval[];
  /** Execution names already started for this promotion (a started (promotion, revision, attempt) never starts again). */
  readonly startedExecutions: readonly string[];
  /** Retries requested for this promotion: the highest attempt for the selected revision names its execution. @default none */
  readonly retries?: readonly RetryRequest[];
  /** The operator's pin on (destination, application), when there is one: nothing is promoted. @default none */
  readonly pin?: EnvironmentPin;
  /** Where the destination sits in its stage's `waves`. @default none (the stage has no waves) */
  readonly wave?: WaveGate;
}

/** A wave as `decide()` sees it: "wave 2 (prod-eu)" and its environments. */
export interface WaveSummary {
  /** 1-based, as people count waves. */
  readonly position: number;
  /** "wave 1 (prod-fe)". */
  readonly label: string;
}

/** What gates a destination that belongs to wave `position` of its stage. */
export interface WaveGate extends WaveSummary {
  /** At most this many environments of the wave run a promotion at once. @default no limit */
  readonly maxConcurrent?: number;
  /** The wave's other environments with their locks (a lock held by a promotion counts against `maxConcurrent`). */
  readonly siblings: readonly { readonly name: string; readonly lock: LockState | null }[];
  /** Every earlier wave, first to last, with this application's slot at each of its environments. */
  readonly earlier: readonly (WaveSummary & {
    /** How long the next wave waits after this one approved a revision. @default none */
    readonly bakeAfterMs?: number;
    readonly environments: readonly { readonly name: string; readonly slot?: ApplicationAtEnvironment }[];
  })[];
}

interface DecisionBase {
  /** One sentence a person can act on, e.g. "Waiting for the window Mon-Fri 22:00-04:00 Europe/London". */
  readonly reason: string;
}

export type Decision =
  | (DecisionBase & { readonly kind: 'in-sync'; readonly revision?: number })
  | (DecisionBase & { readonly kind: 'deploy'; readonly revision: Revision; readonly executionName: string })
  | (DecisionBase & { readonly kind: 'wait-window'; readonly revision: number; readonly until: number })
  | (DecisionBase & {
      readonly kind: 'blocked-by-lock';
      readonly revision: number;
      readonly owner: string;
      readonly until: number;
    })
  | (DecisionBase & { readonly kind: 'disabled'; readonly scope: 'pipeline' | 'promotion' })
  /** An operator pinned the destination to the revision it runs: automation leaves it alone until it is unpinned. */
  | (DecisionBase & {
      readonly kind: 'pinned';
      readonly revision: number;
      readonly pinnedBy: string;
      readonly pinnedAt: number;
    })
  | (DecisionBase & { readonly kind: 'automation-off'; readonly revision?: number })
  | (DecisionBase & { readonly kind: 'awaiting-approval'; readonly revision: number })
  | (DecisionBase & { readonly kind: 'rejected'; readonly revision: number })
  /**
   * An earlier wave has not approved the revision yet, is baking after approving it (`until`), or the
   * destination's own wave already runs `maxConcurrent` promotions.
   */
  | (DecisionBase & {
      readonly kind: 'wait-wave';
      readonly revision: number;
      readonly wave: number;
      readonly until?: number;
    })
  /** The revision failed in an earlier wave: later waves never get it. */
  | (DecisionBase & {
      readonly kind: 'wave-stopped';
      readonly revision: number;
      readonly wave: number;
      readonly failedAt: string;
    })
  | (DecisionBase & { readonly kind: 'no-candidate' })
  | (DecisionBase & {
      readonly kind: 'no-compatible-revision';
      readonly candidates: readonly number[];
      /** For each candidate, a package version that disagrees with an application on the destination. */
      readonly conflicts?: readonly VersionConflict[];
    })
  | (DecisionBase & { readonly kind: 'already-started'; readonly revision: number; readonly executionName: string })
  /** The destination runs a revision never approved there and no execution holds its lock: it is rolled back first. */
  | (DecisionBase & {
      readonly kind: 'recovering';
      readonly revision: number;
      readonly unapproved: number;
      readonly rollbackTo: number;
    })
  /** The destination runs a revision never approved there and has no approved revision: an operator must allow deploys. */
  | (DecisionBase & { readonly kind: 'no-safe-revision'; readonly revision: number; readonly unapproved: number });

export type DecisionKind = Decision['kind'];
