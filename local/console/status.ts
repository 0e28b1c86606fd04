import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pipeline } from '../../lambdas/core/config/schema';
import { reconcile, type PromotionDecision } from '../../lambdas/core/decide/snapshots';
import { describeWindow, formatInZone, isAnyOpen, nextOpeningDetail } from '../../lambdas/core/decide/windows';
import type { ApplicationAtEnvironment, LockState } from '../../lambdas/core/model';
import { loadWorld, type AgentDependencies } from '../../lambdas/promotion/agents';
import type { ApprovalStore } from '../../lambdas/ports/stores';
import type { BuildRecord } from '../codebuild/codebuild';
import { readJsonIfExists, whenMissing } from '../files';
import type { OutboxMessage } from '../sns/sns';
import { BuildDescriber, failureLines } from './builds';

/**
 * The status view of a pipeline: which revision runs where, locks, windows (open, or when the next opens in the
 * window's own zone), what waits for approval with the link to open, why promotions do not move (the decision
 * core's own reasons), and recent failures with the line that failed. The console prints it when local mode is
 * ready and `lockstep status` prints it once; both read the stores through the handlers' adapters.
 */
export interface StatusSources {
  readonly pipeline: Pipeline;
  /** Stores and clock, as the agents see them. */
  readonly agent: AgentDependencies;
  readonly approvals: ApprovalStore;
  /** Local mode's SNS outbox: where approval links are found. Absent on AWS. */
  readonly outboxFile?: string;
  /** Local CodeBuild records (`<dataDir>/builds`): failures with the command that failed. Absent on AWS. */
  readonly buildsDir?: string;
}

export interface EnvironmentStatus {
  readonly name: string;
  readonly stage: string;
  readonly applications: Readonly<Record<string, ApplicationAtEnvironment>>;
  readonly lock: LockState | null;
  /** Undefined: no windows (always open). */
  readonly window?: { readonly open: boolean; readonly nextOpening?: string; readonly windows: readonly string[] };
}

export interface PendingApproval {
  readonly requestId: string;
  readonly environment: string;
  readonly application: string;
  readonly revision: number;
  readonly approver: string;
  readonly link: string;
  readonly expiresAt: number;
}

export interface SystemStatus {
  readonly at: number;
  readonly pipeline: string;
  readonly switches: { readonly enabled: boolean; readonly automation: boolean };
  readonly environments: readonly EnvironmentStatus[];
  readonly decisions: readonly PromotionDecision[];
  readonly approvals: readonly PendingApproval[];
  readonly failures: readonly { readonly at: number; readonly what: string; readonly lines: readonly string[] }[];
}

export async function collectStatus(sources: StatusSources): Promise<SystemStatus> {
  const { pipeline, agent } = sources;
  const at = agent.clock();
  const world = await loadWorld(agent);
  const environments: EnvironmentStatus[] = pipeline.stages.flatMap((stage) =>
    stage.environments.map((env) => {
      const state = world.environments[env.name];
      let window: EnvironmentStatus['window'];
      if (env.windows.length > 0) {
        const open = isAnyOpen(env.windows, at);
        const next = open ? undefined : nextOpeningDetail(env.windows, at);
        window = {
          open,
          ...(next ? { nextOpening: formatInZone(next.at, next.window?.timeZone ?? 'UTC') } : {}),
          windows: env.windows.map(describeWindow),
        };
      }
      return {
        name: env.name,
        stage: stage.name,
        applications: state?.applications ?? {},
        lock: state?.lock ?? null,
        ...(window ? { window } : {}),
      };
    }),
  );
  return {
    at,
    pipeline: pipeline.pipeline.name,
    switches: {
      enabled: world.switches?.enabled ?? pipeline.pipeline.enabled,
      automation: world.switches?.automation ?? pipeline.pipeline.automation,
    },
    environments,
    decisions: reconcile(pipeline, world, at),
    approvals: sources.outboxFile ? await pendingApprovals(sources.outboxFile, sources.approvals, at) : [],
    failures: sources.buildsDir ? await recentFailures(sources.buildsDir, new BuildDescriber(pipeline)) : [],
  };
}

/** Approval emails in the outbox whose request is still pending and unexpired. */
export async function pendingApprovals(
  outboxFile: string,
  approvals: ApprovalStore,
  now: number,
): Promise<PendingApproval[]> {
  const pending: PendingApproval[] = [];
  for (const message of (await readOutbox(outboxFile)).filter((m) => m.attributes.event === 'approval-requested')) {
    const link = approvalLinkOf(message);
    if (!link) continue;
    const requestId = new URL(link).pathname.split('/').pop()!;
    const request = await approvals.get(requestId);
    if (request?.status !== 'pending' || request.expiresAt <= now) continue;
    if (pending.some((p) => p.requestId === requestId && p.approver === message.attributes.approver)) continue;
    pending.push({
      requestId,
      environment: request.environment,
      application: request.application,
      revision: request.revision,
      approver: message.attributes.approver ?? request.approvers[0] ?? '',
      link,
      expiresAt: request.expiresAt,
    });
  }
  return pending;
}

/** The link an approval email carries (the line "Review and decide: <link>"). */
export function approvalLinkOf(message: Pick<OutboxMessage, 'message'>): string | undefined {
  return /Review and decide: (\S+)/.exec(message.message)?.[1];
}

export async function readOutbox(outboxFile: string): Promise<OutboxMessage[]> {
  const text = await readFile(outboxFile, 'utf8').catch(whenMissing(''));
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as OutboxMessage];
      } catch {
        return []; // a line cut short by a crash
      }
    });
}

async function recentFailures(
  buildsDir: string,
  describer: BuildDescriber,
  limit = 3,
): Promise<SystemStatus['failures']> {
  const entries = await readdir(buildsDir, { withFileTypes: true }).catch(whenMissing([]));
  // One unreadable build record must not take the whole status view down: it is left out of the failures list.
  const records = (
    await Promise.all(
      entries
        .filter((e) => e.isDirectory())
        .map((e) => readJsonIfExists<BuildRecord>(join(buildsDir, e.name, 'build.json')).catch(() => undefined)),
    )
  )
    .filter((r): r is BuildRecord => r !== undefined && r.buildComplete && r.buildStatus !== 'SUCCEEDED')
    .sort((a, b) => (b.endTime ?? b.startTime) - (a.endTime ?? a.startTime))
    .slice(0, limit);
  return records.map((r) => ({
    at: r.endTime ?? r.startTime,
    what: `${describer.doing(r)} ${r.buildStatus}`,
    lines: failureLines(r),
  }));
}

const QUIET_DECISIONS = new Set(['in-sync', 'no-candidate']);

/** The status as terminal lines. */
export function formatStatus(status: SystemStatus, pipeline: Pipeline): string[] {
  const lines: string[] = [];
  const switches = `pipeline ${status.switches.enabled ? 'enabled' : 'DISABLED'}, automation ${status.switches.automation ? 'on' : 'OFF'}`;
  lines.push(
    `Pipeline ${status.pipeline} at ${new Date(status.at).toISOString().replace('T', ' ').slice(0, 19)} UTC (${switches})`,
  );
  if (!status.switches.enabled || !status.switches.automation) {
    lines.push(
      '  Pushes are recorded, but nothing builds or deploys until the pipeline is enabled with automation on; in-flight work finishes.',
    );
  }
  const applications = pipeline.applications.map((a) => a.name);
  const rows = status.environments.map((env) => {
    const revisions = applications
      .map((app) => {
        const slot = env.applications[app];
        if (!slot?.current) return undefined;
        const approved = slot.approved.includes(slot.current.number) ? 'approved' : 'not approved';
        return `${applications.length > 1 ? `${app} ` : ''}r${slot.current.number} (${approved}${slot.previous ? `, before: r${slot.previous.number}` : ''})`;
      })
      .filter(Boolean)
      .join('; ');
    const lock = env.lock
      ? `locked by ${env.lock.owner} until ${leaseEnd(env.lock.leaseExpiresAt, status.at)}`
      : 'free';
    const window = !env.window
      ? 'always open'
      : env.window.open
        ? `window open (${env.window.windows.join(', ')})`
        : `window closed, opens ${env.window.nextOpening}`;
    return [env.stage, env.name, revisions || 'nothing deployed', lock, window];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) lines.push(`  ${row.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell)).join('  ')}`);
  if (status.approvals.length > 0) {
    lines.push('Waiting for approval (open the link in a browser, or `lockstep approve <request>`):');
    for (const a of status.approvals) {
      lines.push(
        `  ${a.application} r${a.revision} in ${a.environment}, request ${a.requestId.slice(0, 8)}, for ${a.approver}:`,
        `    ${a.link}`,
      );
    }
  }
  const notes = status.decisions.filter((d) => !QUIET_DECISIONS.has(d.decision.kind));
  if (notes.length > 0) {
    lines.push('Promotions:');
    for (const d of notes) lines.push(`  ${d.promotion}: ${d.decision.reason}`);
  }
  if (status.failures.length > 0) {
    lines.push('Recent failures:');
    for (const f of status.failures) lines.push(`  ${clock(f.at)} ${f.what}`, ...f.lines);
  }
  return lines;
}

function clock(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11, 19);
}

/**
 * A lock's lease end with its date and the time left (`2026-12-05 13:19:51 UTC, in 1d 23h 12m`): a lease can run
 * for days, so a bare time of day does not say which day.
 */
export function leaseEnd(epochMs: number, now: number): string {
  const date = `${new Date(epochMs).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  const left = epochMs - now;
  if (left <= 0) return `${date}, expired`;
  const minutes = Math.ceil(left / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = [days ? `${days}d` : '', hours ? `${hours}h` : '', mins || (!days && !hours) ? `${mins}m` : ''].filter(
    Boolean,
  );
  return `${date}, in ${parts.join(' ')}`;
}
