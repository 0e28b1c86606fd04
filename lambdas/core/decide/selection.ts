/**
 * Which candidate revision a promotion moves to its destination, per selection strategy. Pure and single-pass:
 * no strategy sorts, so a decision costs one scan of the candidates.
 */
import type { SelectionStrategy } from '../config/schema';
import type { Revision, VersionSet } from '../model';

/** What the destination runs for the other applications: `compatible` must agree with these. */
export interface DeployedVersionSet {
  readonly application: string;
  readonly number: number;
  readonly versionSet: VersionSet;
}

/** A package on which a candidate disagrees with an application already on the destination. */
export interface VersionConflict {
  readonly candidate: number;
  readonly package: string;
  readonly candidateVersion: string;
  /** The application on the destination and its revision. */
  readonly deployedApplication: string;
  readonly deployedRevision: number;
  readonly deployedVersion: string;
}

export type SelectionResult =
  | { readonly kind: 'selected'; readonly revision: Revision }
  | { readonly kind: 'no-candidate' }
  | {
      readonly kind: 'no-compatible';
      /** Every candidate number, highest first. */
      readonly candidates: readonly number[];
      /** For each candidate, the first package that conflicts (one per candidate keeps reasons short). */
      readonly conflicts: readonly VersionConflict[];
    };

/**
 * Tests passed across every environment's approval workflow (what `most-tests-passed` ranks by).
 *
 * @example
 * testsPassed(revision); // 23 for { Alpha: { passed: 20, failed: 0 }, Beta: { passed: 3, failed: 1 } }
 */
export function testsPassed(revision: Revision): number {
  let sum = 0;
  for (const env in revision.testResults) sum += revision.testResults[env]!.passed;
  return sum;
}

/**
 * The first package on which `candidate` disagrees with one of `deployed` (a package present in both version sets
 * with different versions), or undefined when it agrees with all of them.
 *
 * @example
 * firstConflict(a2, [{ application: 'B', number: 1, versionSet: { lib: 'v1' } }]);
 * // { candidate: 2, package: 'lib', candidateVersion: 'v2', deployedApplication: 'B', deployedRevision: 1, deployedVersion: 'v1' }
 */
export function firstConflict(
  candidate: Revision,
  deployed: readonly DeployedVersionSet[],
): VersionConflict | undefined {
  for (const other of deployed) {
    for (const pkg in candidate.versionSet) {
      const theirs = other.versionSet[pkg];
      const ours = candidate.versionSet[pkg]!;
      if (theirs !== undefined && theirs !== ours) {
        return {
          candidate: candidate.number,
          package: pkg,
          candidateVersion: ours,
          deployedApplication: other.application,
          deployedRevision: other.number,
          deployedVersion: theirs,
        };
      }
    }
  }
  return undefined;
}

/** Keeps the better of two revisions by `score`, ties going to the higher number. */
function pickBy(candidates: readonly Revision[], score: (r: Revision) => number): Revision | undefined {
  let best: Revision | undefined;
  let bestScore = -Infinity;
  for (const r of candidates) {
    const s = score(r);
    if (!best || s > bestScore || (s === bestScore && r.number > best.number)) {
      best = r;
      bestScore = s;
    }
  }
  return best;
}

/**
 * Selects the revision to promote among `candidates` (for an environment source: the revisions approved there).
 *
 * - `latest`: the highest number.
 * - `priority`: the highest-numbered flagged revision, else the latest.
 * - `most-tests-passed`: the most tests passed summed over environments; ties go to the higher number.
 * - `compatible`: the highest-numbered candidate whose version set agrees with every other application on the
 *   destination (each package present in both has the same version). With no other application there, every
 *   candidate is compatible. When none is, the result names the candidates and their conflicts, never a pick.
 *
 * @param deployed what the destination runs for applications other than the candidates' own (read by
 *   `compatible` only).
 * @example
 * // Source approved A r1 {lib: v1} and A r2 {lib: v2}; the destination runs B r1 built from {lib: v1}.
 * selectRevision('compatible', [a1, a2], [{ application: 'B', number: 1, versionSet: { lib: 'v1' } }]);
 * // { kind: 'selected', revision: a1 }
 */
export function selectRevision(
  strategy: SelectionStrategy,
  candidates: readonly Revision[],
  deployed: readonly DeployedVersionSet[] = [],
): SelectionResult {
  if (candidates.length === 0) return { kind: 'no-candidate' };
  let pick: Revision | undefined;
  switch (strategy) {
    case 'latest':
      pick = pickBy(candidates, () => 0);
      break;
    case 'priority':
      pick = pickBy(candidates, (r) => (r.priority ? 1 : 0));
      break;
    case 'most-tests-passed':
      pick = pickBy(candidates, testsPassed);
      break;
    case 'compatible': {
      if (deployed.length === 0) {
        pick = pickBy(candidates, () => 0);
        break;
      }
      const conflicts: VersionConflict[] = [];
      for (const r of candidates) {
        if (pick && r.number < pick.number) continue; // cannot beat the current pick: skip the comparison
        const conflict = firstConflict(r, deployed);
        if (conflict) conflicts.push(conflict);
        else pick = r;
      }
      if (!pick) {
        conflicts.sort((a, b) => b.candidate - a.candidate);
        return { kind: 'no-compatible', candidates: conflicts.map((c) => c.candidate), conflicts };
      }
      break;
    }
  }
  return { kind: 'selected', revision: pick! };
}

/**
 * A short account of conflicts for reasons: `r2 has lib@v2 where B r1 has lib@v1; r3 has ...`.
 *
 * @example
 * describeConflicts(result.conflicts); // "r2 has lib@v2 where B r1 has lib@v1"
 */
export function describeConflicts(conflicts: readonly VersionConflict[], limit = 3): string {
  const shown = conflicts
    .slice(0, limit)
    .map(
      (c) =>
        `r${c.candidate} has ${c.package}@${c.candidateVersion} where ${c.deployedApplication} r${c.deployedRevision} has ${c.package}@${c.deployedVersion}`,
    );
  const more = conflicts.length > limit ? `; and ${conflicts.length - limit} more` : '';
  return shown.join('; ') + more;
}
