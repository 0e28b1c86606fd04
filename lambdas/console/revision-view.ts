/**
 * The revision detail page (version set, commits with authors, test results per environment, and a diff against
 * what each environment runs now) and the change progress page (every environment a revision has reached, is in,
 * or waits for, with times and `decide()`'s reason for each wait). A change is opened by revision or by commit.
 */
import { applicationsReaching, reconcile } from '../core/decide/snapshots';
import type { Commit, Revision } from '../core/model';
import { loadWorld } from '../promotion/agents';
import type { ConsoleReadDependencies } from './dependencies';
import { ConsoleNotFoundError } from './not-found';

/** How many revisions between an environment's and this one the diff lists the commits of. */
export const DIFF_REVISION_LIMIT = 20;

export interface PackageChange {
  readonly package: string;
  /** The version (commit) the environment runs; absent when it runs none of this package. */
  readonly running?: string;
  /** The version in this revision; absent when this revision has none of this package. */
  readonly revision?: string;
}

export interface EnvironmentDiff {
  readonly environment: string;
  /** The revision the environment runs now; absent when nothing is deployed there. */
  readonly running?: number;
  readonly relation: 'same' | 'newer' | 'older' | 'nothing deployed';
  /** Packages whose versions differ. */
  readonly packages: readonly PackageChange[];
  /** Commits of the revisions between the two (newest first, at most `DIFF_REVISION_LIMIT` revisions). */
  readonly commits: readonly Commit[];
}

export interface RevisionDetail {
  readonly application: string;
  readonly number: number;
  readonly createdAt: number;
  readonly buildId: string;
  readonly priority: boolean;
  readonly versionSet: Readonly<Record<string, string>>;
  readonly commits: readonly Commit[];
  readonly authors: readonly string[];
  readonly testResults: Readonly<Record<string, { readonly passed: number; readonly failed: number }>>;
  readonly environments: readonly EnvironmentDiff[];
}

/** Throws a 404 that names the applications there are when `application` is not one of them. */
export function requireApplication(deps: ConsoleReadDependencies, application: string): void {
  const names = deps.agents.pipeline.applications.map((a) => a.name);
  if (!names.includes(application))
    throw new ConsoleNotFoundError(
      `No application "${application}" in this pipeline; its applications are ${names.join(', ')}`,
      {
        application,
      },
    );
}

async function requireRevision(deps: ConsoleReadDependencies, application: string, number: number): Promise<Revision> {
  requireApplication(deps, application);
  const revision =
    Number.isInteger(number) && number > 0 ? await deps.agents.revisions.get(application, number) : undefined;
  if (!revision)
    throw new ConsoleNotFoundError(
      `${application} has no revision ${number}; open the pipeline page for the revisions that exist`,
      {
        application,
        revision: number,
      },
    );
  return revision;
}

export async function revisionDetail(
  deps: ConsoleReadDependencies,
  application: string,
  number: number,
): Promise<RevisionDetail> {
  const revision = await requireRevision(deps, application, number);
  const reaching = applicationsReaching(deps.agents.pipeline);
  const environments = deps.agents.pipeline.stages
    .flatMap((s) => s.environments.map((e) => e.name))
    .filter((env) => reaching.get(env)?.includes(application));
  const diffs = await Promise.all(
    environments.map(async (environment): Promise<EnvironmentDiff> => {
      const slot = await deps.agents.environments.slot(environment, application);
      const current = slot?.current;
      if (!current) return { environment, relation: 'nothing deployed', packages: [], commits: [] };
      const names = [...new Set([...Object.keys(current.versionSet), ...Object.keys(revision.versionSet)])].sort();
      const packages = names
        .filter((p) => current.versionSet[p] !== revision.versionSet[p])
        .map((p) => ({
          package: p,
          ...(current.versionSet[p] !== undefined ? { running: current.versionSet[p] } : {}),
          ...(revision.versionSet[p] !== undefined ? { revision: revision.versionSet[p] } : {}),
        }));
      const [low, high] = current.number < number ? [current.number, number] : [number, current.number];
      const between = [];
      for (let n = high; n > low && between.length < DIFF_REVISION_LIMIT; n--) between.push(n);
      const revisions = await Promise.all(between.map((n) => deps.agents.revisions.get(application, n)));
      return {
        environment,
        running: current.number,
        relation: current.number === number ? 'same' : current.number < number ? 'newer' : 'older',
        packages,
        commits: revisions.flatMap((r) => r?.commits ?? []),
      };
    }),
  );
  return {
    application,
    number,
    createdAt: revision.createdAt,
    buildId: revision.buildId,
    priority: revision.priority,
    versionSet: revision.versionSet,
    commits: revision.commits,
    authors: revision.authors,
    testResults: revision.testResults,
    environments: diffs,
  };
}

export type ProgressState = 'reached' | 'in' | 'waiting' | 'not yet' | 'superseded';

export interface EnvironmentProgress {
  readonly environment: string;
  readonly stage: string;
  readonly state: ProgressState;
  /** When the revision was deployed there, and when it passed its approval workflow there. */
  readonly deployedAt?: number;
  readonly approvedAt?: number;
  /** `decide()`'s reason for the promotion into the environment, when it is about this revision or waits. */
  readonly reason?: string;
}

export interface ChangeProgress {
  readonly application: string;
  readonly revision: number;
  readonly commits: readonly Commit[];
  readonly environments: readonly EnvironmentProgress[];
}

/**
 * Finds the newest revision built from `commit` (a commit id or its prefix of at least 7 characters): one indexed
 * read per application, however long the history.
 */
export async function revisionOfCommit(
  deps: ConsoleReadDependencies,
  commit: string,
): Promise<{ application: string; number: number }> {
  if (!/^[0-9a-f]{7,64}$/i.test(commit))
    throw new ConsoleNotFoundError(`"${commit}" is not a commit id: give at least 7 hexadecimal characters`);
  // One indexed read per application, in pipeline order: the first application that has the commit answers.
  for (const application of deps.agents.pipeline.applications.map((a) => a.name)) {
    const number = await deps.agents.revisions.findByCommit(application, commit);
    if (number !== undefined) return { application, number };
  }
  throw new ConsoleNotFoundError(
    `No revision was built from commit ${commit} yet; a push is built after the build debounce`,
    { commit },
  );
}

export async function changeProgress(
  deps: ConsoleReadDependencies,
  application: string,
  number: number,
): Promise<ChangeProgress> {
  const revision = await requireRevision(deps, application, number);
  const { pipeline } = deps.agents;
  const now = deps.agents.clock();
  const [world, timeline] = await Promise.all([
    loadWorld(deps.agents),
    deps.agents.events.list({ application, revision: number }, 500),
  ]);
  const decisions = reconcile(pipeline, world, now).filter((d) => d.application === application);
  const reaching = applicationsReaching(pipeline);
  const environments: EnvironmentProgress[] = [];
  for (const stage of pipeline.stages) {
    for (const env of stage.environments) {
      if (!reaching.get(env.name)?.includes(application)) continue;
      const slot = world.environments[env.name]?.applications[application];
      const first = (type: string) => timeline.filter((e) => e.environment === env.name && e.type === type).at(-1)?.at;
      const deployedAt = first('deployed');
      const approvedAt = first('revision-approved');
      const decision = decisions.find((d) => d.destination === env.name)?.decision;
      const about = decision && 'revision' in decision ? decision.revision : undefined;
      const decisionRevision = typeof about === 'number' ? about : about?.number;
      let state: ProgressState;
      if (slot?.approved.includes(number)) state = 'reached';
      else if (slot?.current?.number === number) state = 'in';
      else if (decisionRevision === number) state = 'waiting';
      else if ((slot?.current?.number ?? 0) > number) state = 'superseded';
      else state = 'not yet';
      environments.push({
        environment: env.name,
        stage: stage.name,
        state,
        ...(deployedAt !== undefined ? { deployedAt } : {}),
        ...(approvedAt !== undefined ? { approvedAt } : {}),
        ...(decision && (state === 'waiting' || state === 'not yet' || state === 'in')
          ? { reason: decision.reason }
          : {}),
      });
    }
  }
  return { application, revision: number, commits: revision.commits, environments };
}
