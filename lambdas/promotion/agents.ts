/**
 * The agents: AutoBuild (record pushes, start grouped builds, turn finished builds into revisions), AutoDeploy and
 * AutoPromote (one reconcile pass through the decision core, acting on each decision). Level-triggered and
 * idempotent: two passes at once never start one build request twice (a conditional claim per request and one
 * active build per application) nor one promotion twice (execution names are Step Functions' idempotency key).
 */
import { z } from 'zod';
import { promotionId, type Pipeline } from '../core/config/schema';
import { commitsOf, planBuilds, type BuildCommit, type BuildRequest, type Push } from '../core/decide/autobuild';
import { reconcile, type PromotionDecision, type World } from '../core/decide/snapshots';
import type { EnvironmentPin } from '../core/model';
import { attemptOf, buildProjectName, executionName } from '../core/names';
import type { ArtifactStore } from '../ports/artifacts';
import type {
  BuildRunner,
  ExecutionController,
  ExecutionOutcome,
  Notifier,
  PromotionOrchestrator,
} from '../ports/services';
import type {
  BuildStore,
  EnvironmentStore,
  EventStore,
  ExecutionStore,
  LockStore,
  OperatorStore,
  RevisionStore,
  StoredBuild,
} from '../ports/stores';
import type { ApprovalDependencies } from './approvals';
import { deliverUndelivered, sendApprovalRequest } from './approvals';
import { missingCommit, resolveBuildRequest } from './build-heads';
import { ConcurrentUpdateError } from './errors';
import { buildArtifactUri, environmentDefinition, executionInput, revisionArtifactUri } from './execution-input';
import { carryRenamedEnvironments, endRemovedEnvironments, type RemovedEnvironmentReport } from './environment-changes';
import { buildFailed, promotionFailed, rollbackDone } from './notifications';
import { missedPushes, type RepositoryReaders } from './source-commits';
import { lastApproved } from './steps';
import { loadInFlightWorld } from './world-loader';

export interface AgentDependencies {
  readonly pipeline: Pipeline;
  readonly artifactsBucket: string;
  readonly revisions: RevisionStore;
  readonly environments: EnvironmentStore;
  readonly locks: LockStore;
  readonly events: EventStore;
  readonly builds: BuildStore;
  readonly executions: ExecutionStore;
  readonly artifacts: ArtifactStore;
  readonly runner: BuildRunner;
  readonly notifier: Notifier;
  readonly orchestrator: PromotionOrchestrator;
  /**
   * For manual promotions' go-ahead requests and for delivering approval decisions whose first delivery failed;
   * omitted: neither happens in the pass (e.g. no approval topic).
   */
  readonly approvals?: ApprovalDependencies;
  /**
   * Source repositories by kind: CodeCommit pushes are read for their commits, and the reconcile pass compares each
   * tracked branch's head with the pushes it knows, so a push whose event was lost is still built. Omitted: neither.
   */
  readonly repositories?: RepositoryReaders;
  /**
   * Lists and stops running promotion executions, for environments that left the definition. Omitted: renamed
   * environments still carry their state over, but nothing is stopped for a removed one.
   */
  readonly executionControl?: ExecutionController;
  /**
   * Operators' pins: `decide()` promotes nothing into a pinned environment and the pass rolls nothing back there.
   * Omitted: no pins.
   */
  readonly operators?: OperatorStore;
  /** Where a repository that cannot be read is reported (the pass goes on). @default console.warn */
  readonly warn?: (message: string, error: unknown) => void;
  readonly clock: () => number;
}

/** A build whose claimer never started it (crashed between claim and StartBuild) is failed after this time. */
export const UNSTARTED_BUILD_MS = 5 * 60_000;
/** How long a manual promotion's go-ahead request stays open. */
export const PROMOTION_APPROVAL_SECONDS = 7 * 24 * 3600;

export interface PushOutcome {
  readonly recorded: number;
  readonly duplicates: number;
  readonly buildsStarted: readonly string[];
}

/** Records pushes for AutoBuild, then runs the AutoBuild step (a build starts now if the grouping says so). */
export async function intakePushes(
  deps: AgentDependencies,
  pushes: readonly Push[],
  actor: string,
): Promise<PushOutcome> {
  let recorded = 0;
  for (const push of pushes) {
    if (await deps.builds.recordPush(push)) {
      recorded++;
      await deps.events.append({
        at: push.receivedAt,
        type: 'push-recorded',
        actor,
        message: `Push to ${push.package} ${push.branch}: ${push.commit.slice(0, 12)} by ${push.author}`,
        details: { package: push.package, commit: push.commit, deliveryId: push.deliveryId },
      });
    }
  }
  const buildsStarted = await autoBuild(deps);
  return { recorded, duplicates: pushes.length - recorded, buildsStarted };
}

/**
 * Plans builds from every known push and the build history, and starts those that are due. A disabled pipeline
 * (or one with automation off) starts no build: its pushes are recorded and wait, and the first pass after it is
 * switched on builds them (README: "a disabled pipeline starts nothing").
 */
export async function autoBuild(deps: AgentDependencies): Promise<string[]> {
  const now = deps.clock();
  const switches = await deps.environments.switches({
    enabled: deps.pipeline.pipeline.enabled,
    automation: deps.pipeline.pipeline.automation,
  });
  if (!switches.enabled || !switches.automation) return [];
  const applications = deps.pipeline.applications.map((a) => a.name);
  const [pushes, history] = await Promise.all([deps.builds.pushes(), deps.builds.history(applications)]);
  const plan = planBuilds(deps.pipeline, pushes, history, now);
  const started: string[] = [];
  for (const planned of plan.requests) {
    const resolved = deps.repositories
      ? await resolveBuildRequest(
          deps.pipeline,
          deps.repositories,
          planned,
          history[planned.application] ?? [],
          warnOf(deps),
        )
      : ({ kind: 'build', request: planned } as const);
    const request = resolved.request;
    if (resolved.kind === 'unchanged') {
      await noteNothingToBuild(deps, request, now);
      continue;
    }
    if (!(await deps.builds.claim(request, now))) continue; // another pass has it, or another build runs
    const projectName = buildProjectName(deps.pipeline.pipeline.name, request.application);
    if (resolved.kind === 'missing') {
      // Recorded as a failed build, so its pushes count as built and are not retried until the next push.
      await deps.builds.complete(request.application, request.requestId, {
        status: 'failed',
        finishedAt: deps.clock(),
        failure: resolved.error.message,
      });
      await reportBuildFailure(deps, request.application, request.requestId, resolved.error.message, request.commits);
      continue;
    }
    try {
      const { buildId } = await deps.runner.start({
        projectName,
        sourceVersions: request.versionSet,
        environment: {
          LOCKSTEP_APPLICATION: request.application,
          LOCKSTEP_BUILD_REQUEST: request.requestId,
          LOCKSTEP_VERSION_SET: JSON.stringify(request.versionSet),
        },
        artifactLocation: buildArtifactUri(deps.artifactsBucket, request.application, request.requestId),
        idempotencyToken: request.requestId,
      });
      await deps.builds.started(request.application, request.requestId, buildId);
      started.push(buildId);
      await deps.events.append({
        at: now,
        type: 'build-started',
        actor: 'agent:autobuild',
        message: `Building ${request.application} from ${request.commits.length} new commits (${buildId})`,
        application: request.application,
        details: { buildId, requestId: request.requestId, versionSet: request.versionSet, retryOf: request.retryOf },
      });
    } catch (error) {
      await deps.builds.complete(request.application, request.requestId, {
        status: 'failed',
        finishedAt: deps.clock(),
      });
      await reportBuildFailure(
        deps,
        request.application,
        request.requestId,
        `could not start ${projectName}: ${(error as Error).message}`,
        request.commits,
      );
    }
  }
  return started;
}

function warnOf(deps: AgentDependencies): (message: string, error: unknown) => void {
  return deps.warn ?? ((message: string, error: unknown) => console.warn(message, error));
}

/** Says once per request that its pushes name nothing new on their branches (they were force-pushed away). */
async function noteNothingToBuild(deps: AgentDependencies, request: BuildRequest, now: number): Promise<void> {
  const heads = Object.entries(request.versionSet)
    .map(([pkg, commit]) => `${pkg} ${commit.slice(0, 12)}`)
    .join(', ');
  const summary = `nothing-to-build: ${request.requestId}`;
  if (!(await deps.environments.noteDecision('autobuild', request.application, summary, now))) return;
  await deps.events.append({
    at: now,
    type: 'build-skipped',
    actor: 'agent:autobuild',
    message: `Nothing new to build for ${request.application}: its branch heads (${heads}) are those of its last revision, and the pending pushes name commits no longer on their branch (force-pushed away?)`,
    application: request.application,
    details: { requestId: request.requestId, versionSet: request.versionSet, deliveryIds: request.deliveryIds },
  });
}

async function reportBuildFailure(
  deps: AgentDependencies,
  application: string,
  buildId: string,
  failure: string | undefined,
  commits: StoredBuild['commits'],
): Promise<void> {
  await deps.events.append({
    at: deps.clock(),
    type: 'build-failed',
    actor: 'agent:autobuild',
    message: `Build of ${application} failed${failure ? `: ${failure}` : ''}`,
    application,
    details: { buildId },
  });
  await deps.notifier.publish(
    buildFailed({
      pipeline: deps.pipeline.pipeline.name,
      application,
      buildId,
      ...(failure ? { failure } : {}),
      commits: commits.map((c) => `${c.package} ${c.id.slice(0, 12)} ${c.message.split('\n')[0] ?? ''} (${c.author})`),
    }),
  );
}

/** Turns finished builds into revisions (or recorded failures). Returns the revision numbers created. */
export async function completeBuilds(deps: AgentDependencies): Promise<{ application: string; revision: number }[]> {
  const now = deps.clock();
  const applications = deps.pipeline.applications.map((a) => a.name);
  const history = await deps.builds.history(applications);
  const running = Object.values(history).flatMap((builds) => builds.filter((b) => b.status === 'running'));
  for (const build of running.filter((b) => !b.buildId && b.startedAt < now - UNSTARTED_BUILD_MS)) {
    if (await deps.builds.complete(build.application, build.id, { status: 'failed', finishedAt: now })) {
      await reportBuildFailure(
        deps,
        build.application,
        build.id,
        'the build was claimed but never started',
        build.commits,
      );
    }
  }
  const started = running.filter((b): b is StoredBuild & { buildId: string } => typeof b.buildId === 'string');
  if (started.length === 0) return [];
  const infos = new Map((await deps.runner.get(started.map((b) => b.buildId))).map((info) => [info.id, info]));
  const created: { application: string; revision: number }[] = [];
  for (const build of started) {
    const info = infos.get(build.buildId);
    if (!info || info.status === 'IN_PROGRESS') continue;
    if (info.status !== 'SUCCEEDED') {
      // A commit that left its repository while the build waited or ran is the real reason, whatever the source
      // tool said about it (its wording differs between git, CodeBuild and GitHub).
      const missing = deps.repositories
        ? await missingCommit(deps.pipeline, deps.repositories, build.versionSet)
        : undefined;
      const failure = missing?.message ?? info.failure ?? info.status;
      if (
        await deps.builds.complete(build.application, build.id, {
          status: 'failed',
          finishedAt: info.endedAt ?? now,
          failure,
        })
      ) {
        await reportBuildFailure(deps, build.application, build.buildId, failure, build.commits);
      }
      continue;
    }
    const source = info.artifactLocation ?? buildArtifactUri(deps.artifactsBucket, build.application, build.id);
    const commits = await withPushers(deps, build.commits);
    let revision;
    try {
      revision = await deps.revisions.create(build.application, build.buildId, async (number) => {
        const artifact = revisionArtifactUri(deps.artifactsBucket, build.application, number);
        await deps.artifacts.copy(source, artifact);
        return {
          versionSet: build.versionSet,
          commits: commits.map(({ id, message, author, timestamp, pushedBy }) => ({
            id,
            message,
            author,
            timestamp,
            ...(pushedBy !== undefined ? { pushedBy } : {}),
          })),
          authors: [...new Set(build.commits.map((c) => c.author))],
          artifact,
          buildId: build.buildId,
          createdAt: info.endedAt ?? now,
          priority: false,
        };
      });
    } catch (error) {
      if (error instanceof ConcurrentUpdateError) continue; // another pass is recording it
      throw error;
    }
    if (
      await deps.builds.complete(build.application, build.id, {
        status: 'succeeded',
        finishedAt: info.endedAt ?? now,
        revision: revision.number,
      })
    ) {
      created.push({ application: build.application, revision: revision.number });
      await deps.events.append({
        at: now,
        type: 'revision-created',
        actor: 'agent:autobuild',
        message: `${build.application} revision ${revision.number} built from ${revision.commits.length} commits`,
        application: build.application,
        revision: revision.number,
        details: { buildId: build.buildId, artifact: revision.artifact, versionSet: revision.versionSet },
      });
    }
  }
  return created;
}

/**
 * The build's commits, each with its pusher: a commit whose push delivery arrived after the build was planned (a
 * late or redelivered webhook, a burst whose deliveries crossed, a commit first found in the repository by the
 * build's head read) is matched with that delivery now, so the revision records who pushed it. The pushes are read
 * only when a commit lacks its pusher.
 */
async function withPushers(
  deps: Pick<AgentDependencies, 'builds'>,
  commits: readonly BuildCommit[],
): Promise<BuildCommit[]> {
  if (commits.every((c) => c.pushedBy !== undefined)) return [...commits];
  const pushers = new Map<string, string>();
  for (const push of await deps.builds.pushes()) {
    for (const c of commitsOf(push)) {
      const key = `${push.package}@${c.id}`;
      // The first delivery that names a commit pushed it; later ones (a re-push to another branch) only repeat it.
      if (c.pushedBy !== undefined && !pushers.has(key)) pushers.set(key, c.pushedBy);
    }
  }
  return commits.map((c) => {
    const pushedBy = c.pushedBy ?? pushers.get(`${c.package}@${c.id}`);
    return pushedBy !== undefined ? { ...c, pushedBy } : c;
  });
}

/**
 * Reads what the decision core needs from the stores: what is in flight, not the history (`loadInFlightWorld`).
 * The reconcile pass also migrates a share of approval lists written by older versions into the approved index.
 */
export async function loadWorld(
  deps: AgentDependencies,
  options: { readonly migrateApprovedIndex?: boolean } = {},
): Promise<World> {
  const [world, pins] = await Promise.all([loadInFlightWorld(deps, options), loadPins(deps)]);
  return { ...world, pins };
}

/** Every operator pin, in one query of its own (kept apart from the rest of the world's reads). */
export async function loadPins(deps: Pick<AgentDependencies, 'operators'>): Promise<EnvironmentPin[]> {
  return deps.operators ? deps.operators.pins() : [];
}

export interface PassOutcome {
  readonly revisionsCreated: readonly { application: string; revision: number }[];
  readonly buildsStarted: readonly string[];
  readonly executionsStarted: readonly string[];
  readonly decisions: readonly PromotionDecision[];
  /** Approval requests whose decision this pass delivered (the approver's own delivery had failed). */
  readonly decisionsDelivered: readonly string[];
  /** Environments whose lock this pass released because the execution holding it had ended. */
  readonly locksReleased: readonly string[];
  /** Recovery executions this pass started (see `recoverEnvironments`). */
  readonly recoveriesStarted: readonly string[];
  /** Environments that left the definition since the last pass, and what was ended for them. */
  readonly environmentsRemoved?: readonly RemovedEnvironmentReport[];
}

/**
 * One reconcile pass: approval decisions not yet delivered sent, finished builds into revisions, AutoBuild flush,
 * then every promotion decided and acted on.
 */
export async function reconcilePass(deps: AgentDependencies): Promise<PassOutcome> {
  const decisionsDelivered = deps.approvals ? await deliverUndelivered(deps.approvals) : [];
  const recovery = await recoverEnvironments(deps);
  // After recovery, which works on the environments as the last pass left them: a renamed environment's state and
  // lock move to its new name, and what still runs in removed (or renamed) environments is stopped. An unapproved
  // revision that a stopped execution leaves behind is rolled back by the next pass's recovery.
  await carryRenamedEnvironments(deps);
  const environmentsRemoved = deps.executionControl
    ? await endRemovedEnvironments({ ...deps, executions: deps.executionControl })
    : [];
  const revisionsCreated = await completeBuilds(deps);
  await indexLegacyCommits(deps);
  await recoverMissedPushes(deps);
  const buildsStarted = await autoBuild(deps);
  const world = await loadWorld(deps, { migrateApprovedIndex: true });
  const now = deps.clock();
  const decisions = reconcile(deps.pipeline, world, now);
  const executionsStarted: string[] = [];
  for (const d of decisions) {
    const decision = d.decision;
    if (decision.kind === 'deploy') {
      const input = executionInput(deps.pipeline, {
        promotion: d.promotion,
        execution: decision.executionName,
        environment: d.destination,
        revision: decision.revision,
      });
      const result = await deps.orchestrator.start(decision.executionName, input);
      const attempt = attemptOf(decision.executionName);
      await deps.executions.record({
        promotion: d.promotion,
        application: d.application,
        revision: decision.revision.number,
        executionName: decision.executionName,
        attempt,
        ...(result.executionArn ? { executionArn: result.executionArn } : {}),
        startedAt: now,
      });
      if (result.started) {
        executionsStarted.push(decision.executionName);
        await deps.events.append({
          at: now,
          type: 'promotion-started',
          actor: 'agent:reconcile',
          message: `Promoting ${d.application} revision ${decision.revision.number} to ${d.destination}${attempt > 1 ? ` (attempt ${attempt})` : ''} (${decision.reason})`,
          environment: d.destination,
          application: d.application,
          revision: decision.revision.number,
          promotion: d.promotion,
          execution: decision.executionName,
        });
      }
      continue;
    }
    if (decision.kind === 'awaiting-approval' && deps.approvals) {
      await requestPromotionApproval(deps, deps.approvals, d, decision.revision, now);
    }
    // Record why nothing happened, once per change, so the timeline explains a promotion that does not move.
    const summary = `${decision.kind}: ${decision.reason}`;
    if (await deps.environments.noteDecision(d.promotion, d.application, summary, now)) {
      await deps.events.append({
        at: now,
        type: `promotion-${decision.kind}`,
        actor: 'agent:reconcile',
        message: decision.reason,
        environment: d.destination,
        application: d.application,
        promotion: d.promotion,
        ...('revision' in decision && typeof decision.revision === 'number' ? { revision: decision.revision } : {}),
      });
    }
  }
  return {
    revisionsCreated,
    buildsStarted,
    executionsStarted,
    decisions,
    decisionsDelivered,
    environmentsRemoved,
    ...recovery,
  };
}

/** How many revisions written before the commit index each pass indexes per application (a few batch writes). */
export const LEGACY_COMMIT_INDEX_BUDGET = 200;

/**
 * Indexes by commit a share of the revisions an older Lockstep wrote, so the console's "open a change by commit"
 * reads one item for them too (`RevisionStore.findByCommit`). Once all are indexed this costs nothing. A failure
 * is reported and left for the next pass: it must not hold up promotions.
 */
async function indexLegacyCommits(deps: AgentDependencies): Promise<void> {
  for (const application of deps.pipeline.applications) {
    try {
      await deps.revisions.indexLegacyCommits(application.name, LEGACY_COMMIT_INDEX_BUDGET);
    } catch (error) {
      warnOf(deps)(
        `Could not index older revisions of ${application.name} by commit; the next pass tries again`,
        error,
      );
    }
  }
}

/**
 * Records pushes whose event never reached Lockstep (a GitHub delivery lost or throttled, a CodeCommit event dropped
 * after EventBridge's retries): each tracked branch whose head is no known push. AutoBuild then builds them.
 */
export async function recoverMissedPushes(deps: AgentDependencies): Promise<string[]> {
  if (!deps.repositories) return [];
  const now = deps.clock();
  const warn = warnOf(deps);
  const missed = await missedPushes(deps.pipeline, deps.repositories, await deps.builds.pushes(), now, (pkg, error) =>
    warn(`Could not read the branch of package ${pkg}; missed pushes to it are found once it can be read`, error),
  );
  const recovered: string[] = [];
  for (const push of missed) {
    if (!(await deps.builds.recordPush(push))) continue;
    recovered.push(push.commit);
    await deps.events.append({
      at: now,
      type: 'push-recorded',
      actor: 'agent:reconcile',
      message: `Push to ${push.package} ${push.branch}: ${push.commit.slice(0, 12)} by ${push.author}, found by the reconcile pass (its event never arrived)`,
      details: { package: push.package, commit: push.commit, deliveryId: push.deliveryId, recovered: true },
    });
  }
  return recovered;
}

async function requestPromotionApproval(
  deps: AgentDependencies,
  approvals: ApprovalDependencies,
  d: PromotionDecision,
  revision: number,
  now: number,
): Promise<void> {
  if (!(await deps.environments.claimPromotionRequest(d.promotion, d.application, revision, now))) return;
  const promotion = deps.pipeline.promotions.find((p) => promotionId(p) === d.promotion);
  const approvers =
    promotion?.approvers ?? environmentDefinition(deps.pipeline, d.destination)?.approval.manual?.approvers ?? [];
  if (approvers.length === 0) return; // validation requires approvers for manual promotions
  await sendApprovalRequest(approvals, {
    kind: 'promotion',
    execution: executionName(d.promotion, d.application, revision),
    environment: d.destination,
    application: d.application,
    revision,
    promotion: d.promotion,
    approvers,
    timeoutSeconds: PROMOTION_APPROVAL_SECONDS,
  });
}

/** Lock owners that are executions; an operator's hold is `manual:<user>`, never ended by the pass. */
function heldByExecution(owner: string): boolean {
  return !owner.includes(':');
}

/** What a promotion execution's input says it deployed (read from DescribeExecution, for the notification). */
function subjectOf(outcome: ExecutionOutcome): { application?: string; revision?: number } {
  const parsed = executionSubjectSchema.safeParse(outcome.input);
  return parsed.success ? { application: parsed.data.application, revision: parsed.data.revision.number } : {};
}

/** Only what names the deploy; the rest of a dead execution's input may be anything (it may be why it died). */
const executionSubjectSchema = z.object({
  application: z.string().min(1),
  revision: z.object({ number: z.number().int().positive() }),
});

/**
 * Recovery name: one per (environment, application, unapproved deploy), so concurrent passes start it once and a
 * later incident on the same revision number (a redeploy has a new `deployedAt`) gets its own.
 */
export function recoveryExecutionName(
  environment: string,
  application: string,
  unapproved: { number: number; deployedAt: number },
): string {
  return executionName(`recover-${environment}-${unapproved.deployedAt.toString(36)}`, application, unapproved.number);
}

/**
 * Executions that end outside their own Catch (stopped, timed out, States.Runtime) never reach their rollback and
 * release steps. For every environment the pass:
 *
 * 1. releases a lock whose holder execution has ended, fenced by that execution's token (a newer grant is never
 *    touched), and records and announces it;
 * 2. for every application whose current revision there was never approved, with the lock free: starts a recovery
 *    execution that redeploys the last approved revision (through the same gates, windows and lock as any
 *    promotion), or, with no approved revision, reports once that the environment has no safe revision.
 *
 * `decide()` holds every promotion into such an environment meanwhile (`recovering`, `no-safe-revision`).
 */
export async function recoverEnvironments(
  deps: AgentDependencies,
): Promise<{ locksReleased: string[]; recoveriesStarted: string[] }> {
  const now = deps.clock();
  const { pipeline } = deps;
  const locksReleased: string[] = [];
  const recoveriesStarted: string[] = [];
  for (const environment of pipeline.stages.flatMap((s) => s.environments)) {
    const env = environment.name;
    let lock = await deps.locks.get(env, now);
    let why: string | undefined;
    if (lock && heldByExecution(lock.owner)) {
      const outcome = await deps.orchestrator.describe(lock.owner);
      if (outcome && outcome.status !== 'RUNNING') {
        why = `execution ${lock.owner} ended ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''} while it held the lock`;
        if (await deps.locks.release(env, lock.owner, lock.fencingToken)) {
          locksReleased.push(env);
          const subject = subjectOf(outcome);
          await deps.events.append({
            at: now,
            type: 'lock-released-stranded',
            actor: 'agent:reconcile',
            message: `Released the lock of ${env} (token ${lock.fencingToken}): ${why}`,
            environment: env,
            execution: lock.owner,
            ...subject,
            details: {
              holder: lock.owner,
              fencingToken: lock.fencingToken,
              status: outcome.status,
              error: outcome.error,
              cause: outcome.cause?.slice(0, 2000),
            },
          });
          await deps.notifier.publish(
            promotionFailed({
              pipeline: pipeline.pipeline.name,
              environment: env,
              ...subject,
              stage: 'ended-holding-lock',
              error: outcome.error ?? outcome.status,
              ...(outcome.cause ? { cause: outcome.cause } : {}),
              execution: lock.owner,
            }),
          );
        }
        lock = null;
      }
    }
    if (lock) continue; // held by a live execution or an operator: whatever it deploys is its own business
    const incoming = pipeline.promotions.find((p) => p.to === env);
    for (const [application, slot] of Object.entries(await deps.environments.get(env))) {
      const current = slot.current;
      if (!current || slot.approved.includes(current.number) || slot.cleared === current.number) continue;
      if (await deps.operators?.pin(env, application)) continue; // pinned: automation leaves it to the operator
      const target = lastApproved(slot.approved, current.number);
      const reason = why ?? `r${current.number} was left deployed without approval and nothing holds the lock`;
      if (target === undefined || !incoming) {
        const summary = `no-safe-revision: r${current.number}`;
        if (await deps.environments.noteDecision(`recovery:${env}`, application, summary, now)) {
          await deps.events.append({
            at: now,
            type: 'no-safe-revision',
            actor: 'agent:reconcile',
            message: `${env} has no safe revision of ${application}: it runs r${current.number}, never approved there, and no revision was approved there to roll back to (${reason}). Nothing deploys over it until an operator runs \`lockstep unlock ${env} --allow-deploy\`.`,
            environment: env,
            application,
            revision: current.number,
          });
          // A promotion that ended in its own rollback step announced this already; a stranded one did not.
          if (why) {
            await deps.notifier.publish(
              rollbackDone({
                pipeline: pipeline.pipeline.name,
                environment: env,
                application,
                revision: current.number,
                outcome: 'no-previous',
                execution: 'agent:reconcile',
              }),
            );
          }
        }
        continue;
      }
      const revision = await deps.revisions.get(application, target);
      if (!revision) continue; // an approved revision is never deleted; a missing one is reported by the execution's own steps
      const name = recoveryExecutionName(env, application, current);
      const input = executionInput(pipeline, {
        promotion: promotionId(incoming),
        execution: name,
        environment: env,
        revision,
        recovery: { failedRevision: current.number, reason },
      });
      const result = await deps.orchestrator.start(name, input);
      if (result.started) {
        recoveriesStarted.push(name);
        await deps.events.append({
          at: now,
          type: 'recovery-started',
          actor: 'agent:reconcile',
          message: `Rolling ${env} back from ${application} r${current.number} (never approved there) to r${target}, its last approved revision: ${reason} (execution ${name})`,
          environment: env,
          application,
          revision: current.number,
          promotion: promotionId(incoming),
          execution: name,
          details: { rollbackTo: target },
        });
      }
    }
  }
  return { locksReleased, recoveriesStarted };
}
