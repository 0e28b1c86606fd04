/**
 * Joint resolution of SDK versions: which version of each SDK to use so that every dependency range holds,
 * transitively, with the staged versions included. Used by staging (`decide.ts`) and by `lockstep sdk install`.
 *
 * Version semantics (npm's): a range matches a prerelease (`7.1.0-beta.1`) only when the range itself names a
 * prerelease of the same major.minor.patch (`^7.1.0-beta.0`), so early-access prereleases never sneak into a
 * consumer's `^7.0.0`. A staged prerelease is still required exactly as staged. Newer versions are preferred.
 */
import type { SdkVersionRef } from '../model';
import { ConflictReporter, type MissingDependency } from './conflict-report';
import { PubGrubSolver, type RootRequirement, type SdkRelease, type SolverStats } from './pubgrub';

export type { SdkRelease, SolverStats } from './pubgrub';
export type { MissingDependency } from './conflict-report';

export interface ResolveRequest {
  /** Published releases (withdrawn ones already left out). */
  readonly available: Iterable<SdkRelease>;
  /** Versions that must be in the solution; they may also satisfy each other's dependencies. */
  readonly staged?: readonly SdkRelease[];
  /** Extra ranges the solution must satisfy, e.g. a consumer manifest `{ maps: "^2.0.0" }`. */
  readonly requirements?: Readonly<Record<string, string>>;
  /** SDK name -> version to keep when still allowed (a lock file's choice); otherwise the newest is taken. */
  readonly preferred?: Readonly<Record<string, string>>;
}

export interface ResolvedSet {
  readonly ok: true;
  /** One version per SDK, sorted by name. */
  readonly selected: readonly SdkVersionRef[];
  readonly stats: SolverStats;
}

export interface ResolutionConflict {
  readonly ok: false;
  /**
   * The chain of requirements, then why they cannot hold together, e.g. "maps 2.0.0 (staged) requires geo ^3.0.0;
   * geo 3.1.0 requires analytics ^6.0.0; social 1.3.0 (staged) requires analytics ^7.0.0; no version of analytics
   * satisfies both ^6.0.0 and ^7.0.0 (available: 6.1.0, 7.0.2)".
   */
  readonly explanation: string;
  /** The step-by-step proof that no solution exists. */
  readonly derivation: readonly string[];
  /** SDKs whose requirements are part of the conflict: notify their owners. Sorted. */
  readonly involved: readonly string[];
  /** Ranges that no published or staged version satisfies (non-empty: waiting for a dependency may fix it). */
  readonly missing: readonly MissingDependency[];
  readonly stats: SolverStats;
}

export type Resolution = ResolvedSet | ResolutionConflict;

/**
 * Resolves staged versions and requirements jointly with the published universe.
 *
 * @throws ResolutionInputError when a version or range does not parse.
 * @example
 * const result = resolveSdks({
 *   available: [{ name: 'analytics', version: '6.1.0', dependencies: {} }],
 *   staged: [{ name: 'maps', version: '2.0.0', dependencies: { analytics: '^6.0.0' } }],
 * });
 * if (result.ok) console.log(result.selected); // [{ name: 'analytics', version: '6.1.0' }, { name: 'maps', ... }]
 * else console.log(result.explanation);
 */
export function resolveSdks(request: ResolveRequest): Resolution {
  const staged = request.staged ?? [];
  const requirements: RootRequirement[] = [
    ...staged.map((r) => ({ name: r.name, range: r.version, source: 'staged' as const })),
    ...Object.entries(request.requirements ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, range]) => ({ name, range, source: 'manifest' as const })),
  ];
  const solver = new PubGrubSolver({
    releases: request.available,
    staged,
    requirements,
    preferred: new Map(Object.entries(request.preferred ?? {})),
  });
  const outcome = solver.solve();
  if (outcome.ok) {
    const selected = [...outcome.selected]
      .map(([name, version]) => ({ name, version }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { ok: true, selected, stats: outcome.stats };
  }
  const conclusion = staged.length > 0 ? 'the staged set cannot be resolved' : 'the manifest cannot be resolved';
  const report = new ConflictReporter(outcome.domains, conclusion).report(outcome.failure);
  return { ok: false, ...report, stats: outcome.stats };
}
