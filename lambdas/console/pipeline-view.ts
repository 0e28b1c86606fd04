/**
 * The pipeline page's data: stages as columns, environments as cards, promotions as arrows, the switches, and on
 * each card what runs there (state and since when), the lock, the window (next opening in the window's own time
 * zone), the pending approval and what `decide()` would promote next and why not yet, in the words `lockstep
 * explain` prints. Everything is computed from the stores and the decision core; nothing here decides.
 */
import { promotionId } from '../core/config/schema';
import { reconcile, type PromotionDecision } from '../core/decide/snapshots';
import { describeWindow, formatInZone, isAnyOpen, nextOpeningDetail } from '../core/decide/windows';
import type { ApplicationAtEnvironment } from '../core/model';
import { loadWorld } from '../promotion/agents';
import type { ApprovalRequestRecord, PipelineEvent } from '../ports/stores';
import { alarmViews, type AlarmView } from './alarm-view';
import type { ConsoleReadDependencies } from './dependencies';

/** How many of an environment's newest timeline entries the card reads for its state and pending approval. */
export const CARD_TIMELINE_DEPTH = 20;

/** Where a revision stands at an environment, as a card shows it. */
export type RevisionState = 'deploying' | 'in approval' | 'approved' | 'failed' | 'rolled back';

export interface ApplicationCard {
  readonly application: string;
  readonly revision?: number;
  readonly state?: RevisionState;
  /** Since when the revision is in that state (epoch ms). */
  readonly since?: number;
  readonly previous?: number;
}

export interface PendingApprovalView {
  readonly requestId: string;
  readonly application: string;
  readonly revision: number;
  readonly approvers: readonly string[];
  readonly expiresAt: number;
  /** The approval page, when the approval base URL is known. */
  readonly link?: string;
}

export interface NextPromotionView {
  readonly promotion: string;
  readonly application: string;
  readonly kind: PromotionDecision['decision']['kind'];
  readonly revision?: number;
  /** `decide()`'s reason, word for word. */
  readonly reason: string;
}

export interface EnvironmentCard {
  readonly name: string;
  readonly stage: string;
  readonly region?: string;
  readonly applications: readonly ApplicationCard[];
  readonly lock?: { readonly owner: string; readonly acquiredAt: number; readonly leaseExpiresAt: number };
  /** Absent: no windows (always open). */
  readonly window?: {
    readonly open: boolean;
    readonly windows: readonly string[];
    /** The next opening in the window's own time zone, e.g. `Mon 2030-01-07 22:00 Asia/Tokyo`. */
    readonly nextOpening?: string;
  };
  readonly pendingApprovals: readonly PendingApprovalView[];
  readonly next: readonly NextPromotionView[];
  /** The alarms the environment's bake watches; absent when it watches none. */
  readonly alarms?: readonly AlarmView[];
}

export interface PipelineView {
  readonly pipeline: string;
  readonly at: number;
  readonly switches: { readonly enabled: boolean; readonly automation: boolean };
  /** Whether the console can set alarm states (local mode): the cards then offer "Set ALARM" and "Set OK". */
  readonly alarmControl: boolean;
  readonly stages: readonly { readonly name: string; readonly environments: readonly EnvironmentCard[] }[];
  readonly promotions: readonly {
    readonly id: string;
    readonly from: string;
    readonly to: string;
    readonly enabled: boolean;
  }[];
}

/**
 * Timeline entry types in the order a deploy goes through them, with the state each leaves the environment's
 * revision in. Entries written in the same millisecond (a fast local run, a manual clock) come back from the store
 * in any order; among those the one further along in this list is the newer.
 */
const LIFECYCLE: readonly (readonly [string, RevisionState])[] = [
  ['promotion-started', 'deploying'],
  ['recovery-started', 'deploying'],
  ['lock-acquired', 'deploying'],
  // A deploy.cdk environment's security diff, before its deploy (a broadening then waits in 'approval-requested').
  ['security-diff', 'deploying'],
  ['deployed', 'in approval'],
  ['tests-passed', 'in approval'],
  ['compliance-signed-off', 'in approval'],
  ['approval-requested', 'in approval'],
  ['revision-approved', 'approved'],
  ['promotion-succeeded', 'approved'],
  ['tests-failed', 'failed'],
  ['compliance-refused', 'failed'],
  ['deployment-failed', 'failed'],
  ['approval-workflow-failed', 'failed'],
  // An operator's rollback (console or CLI) runs as a recovery execution, whose record step says how it ended.
  ['rollback-requested', 'deploying'],
  ['rollback-failed', 'failed'],
  ['rollback-no-previous', 'failed'],
  ['rollback-rollback-failed', 'failed'],
  ['rollback-done', 'rolled back'],
  ['rollback-rolled-back', 'rolled back'],
];
const STATE_OF_EVENT = new Map(LIFECYCLE.map(([type, state]) => [type, state]));
const RANK_OF_EVENT = new Map(LIFECYCLE.map(([type], i) => [type, i]));

/** The newest entry that says where a revision of `application` stands (ties broken by `LIFECYCLE`). */
function latestStateEntry(timeline: readonly PipelineEvent[], application: string): PipelineEvent | undefined {
  let latest: PipelineEvent | undefined;
  for (const e of timeline) {
    if ((e.application !== undefined && e.application !== application) || !STATE_OF_EVENT.has(e.type)) continue;
    if (
      !latest ||
      e.at > latest.at ||
      (e.at === latest.at && RANK_OF_EVENT.get(e.type)! > RANK_OF_EVENT.get(latest.type)!)
    )
      latest = e;
  }
  return latest;
}

/**
 * Builds the pipeline page's data.
 *
 * @example
 * const view = await pipelineView(deps);
 * view.stages[0].environments[0].next[0].reason; // "Deploy sample-app revision 2 to alpha ..."
 */
export async function pipelineView(deps: ConsoleReadDependencies): Promise<PipelineView> {
  const { pipeline } = deps.agents;
  const at = deps.agents.clock();
  const world = await loadWorld(deps.agents);
  const decisions = reconcile(pipeline, world, at);
  const environments = pipeline.stages.flatMap((s) => s.environments.map((e) => ({ stage: s.name, env: e })));
  const [timelines, alarms] = await Promise.all([
    Promise.all(environments.map(({ env }) => deps.agents.events.list({ environment: env.name }, CARD_TIMELINE_DEPTH))),
    alarmViews(pipeline, deps.alarms),
  ]);
  const cards = await Promise.all(
    environments.map(async ({ stage, env }, i): Promise<EnvironmentCard> => {
      const state = world.environments[env.name];
      const timeline = timelines[i]!;
      const slots = state?.applications ?? {};
      const applications = Object.entries(slots)
        .filter(([, slot]) => slot.current !== undefined)
        .map(([application, slot]) => applicationCard(application, slot, timeline));
      const lock = state?.lock;
      return {
        name: env.name,
        stage,
        ...(env.region ? { region: env.region } : {}),
        applications,
        ...(lock
          ? { lock: { owner: lock.owner, acquiredAt: lock.acquiredAt, leaseExpiresAt: lock.leaseExpiresAt } }
          : {}),
        ...(env.windows.length > 0 ? { window: windowView(env.windows, at) } : {}),
        pendingApprovals: await pendingApprovals(deps, timeline, at),
        next: decisions
          .filter((d) => d.destination === env.name)
          .map((d) => ({
            promotion: d.promotion,
            application: d.application,
            kind: d.decision.kind,
            ...revisionOf(d),
            reason: d.decision.reason,
          })),
        ...(alarms.has(env.name) ? { alarms: alarms.get(env.name)! } : {}),
      };
    }),
  );
  let index = 0;
  return {
    pipeline: pipeline.pipeline.name,
    at,
    alarmControl: deps.alarms !== undefined,
    switches: {
      enabled: world.switches?.enabled ?? pipeline.pipeline.enabled,
      automation: world.switches?.automation ?? pipeline.pipeline.automation,
    },
    stages: pipeline.stages.map((s) => ({ name: s.name, environments: s.environments.map(() => cards[index++]!) })),
    promotions: pipeline.promotions.map((p) => {
      const id = promotionId(p);
      return {
        id,
        from: 'environment' in p.from ? p.from.environment : ([] as string[]).concat(p.from.application).join(', '),
        to: p.to,
        enabled: world.promotionsEnabled?.[id] ?? p.enabled,
      };
    }),
  };
}

function applicationCard(
  application: string,
  slot: ApplicationAtEnvironment,
  timeline: readonly PipelineEvent[],
): ApplicationCard {
  const current = slot.current!;
  // The newest entry about this application that says where a revision stands; entries older than the deploy of
  // the current revision describe an earlier one.
  const latest = latestStateEntry(timeline, application);
  const approved = slot.approved.includes(current.number);
  let state: RevisionState = approved ? 'approved' : 'in approval';
  let since = current.deployedAt;
  if (latest && latest.at >= current.deployedAt - 1) {
    state = STATE_OF_EVENT.get(latest.type)!;
    since = latest.at;
  } else if (latest && STATE_OF_EVENT.get(latest.type) === 'deploying') {
    state = 'deploying';
    since = latest.at;
  }
  return {
    application,
    revision: current.number,
    state,
    since,
    ...(slot.previous ? { previous: slot.previous.number } : {}),
  };
}

function windowView(windows: Parameters<typeof isAnyOpen>[0], at: number): NonNullable<EnvironmentCard['window']> {
  const open = isAnyOpen(windows, at);
  const next = open ? undefined : nextOpeningDetail(windows, at);
  return {
    open,
    windows: windows.map(describeWindow),
    ...(next ? { nextOpening: formatInZone(next.at, next.window?.timeZone ?? 'UTC') } : {}),
  };
}

/** The requests named by the card's recent `approval-requested` entries that are still pending and unexpired. */
async function pendingApprovals(
  deps: ConsoleReadDependencies,
  timeline: readonly PipelineEvent[],
  now: number,
): Promise<PendingApprovalView[]> {
  const ids = [
    ...new Set(
      timeline
        .filter((e) => e.type === 'approval-requested' && typeof e.details?.requestId === 'string')
        .map((e) => e.details!.requestId as string),
    ),
  ];
  const requests = await Promise.all(ids.map((id) => deps.approvals.get(id)));
  return requests
    .filter((r): r is ApprovalRequestRecord => r?.status === 'pending' && r.expiresAt > now)
    .map((r) => ({
      requestId: r.requestId,
      application: r.application,
      revision: r.revision,
      approvers: r.approvers,
      expiresAt: r.expiresAt,
      ...(deps.approvalBaseUrl ? { link: `${deps.approvalBaseUrl}/${r.requestId}` } : {}),
    }));
}

function revisionOf(d: PromotionDecision): { revision?: number } {
  const decision = d.decision as { revision?: number | { number: number } };
  if (typeof decision.revision === 'number') return { revision: decision.revision };
  if (decision.revision && typeof decision.revision === 'object') return { revision: decision.revision.number };
  return {};
}
