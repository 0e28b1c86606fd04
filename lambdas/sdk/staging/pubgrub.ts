/**
 * A PubGrub version solver (the algorithm of Dart's pub and uv) over a finite, fully known universe of SDK
 * versions: unit propagation over incompatibilities, conflict-driven clause learning with backjumping, and a
 * derivation tree kept on every learned incompatibility so a failure can be explained step by step.
 *
 * Because every version of every SDK is known up front, a set of versions is a bit mask over the SDK's versions
 * (sorted ascending, bit i = i-th version). One extra bit, above the versions, stands for "this SDK is not
 * selected". A positive term `maps ^2.0.0` is the mask of the matching versions; a negative term `not maps ^2.0.0`
 * is every other version plus the "not selected" bit. Intersection, union, complement and subset of terms are then
 * single bit operations, whatever the polarity.
 *
 * Internal to `staging/`: callers use `resolveSdks` in `resolver.ts`.
 */
import semver from 'semver';
import { ResolutionInputError } from './errors';

export type Mask = bigint;

/** A release the solver can pick: one version of one SDK with its dependency ranges. */
export interface SdkRelease {
  readonly name: string;
  readonly version: string;
  /** SDK name -> semver range. */
  readonly dependencies: Readonly<Record<string, string>>;
}

/** Everything the solver knows about one SDK. Index 0 is the virtual root package. */
export interface Domain {
  readonly name: string;
  /** Normalised versions, ascending. */
  readonly versions: readonly string[];
  readonly releases: readonly SdkRelease[];
  /** `staged[i]`: version i is staged (must-have or newly arrived), not published. */
  readonly staged: readonly boolean[];
  /** The "not selected" bit. */
  readonly none: Mask;
  /** Every version bit. */
  readonly all: Mask;
  /** Every version bit plus the "not selected" bit. */
  readonly full: Mask;
}

/** A set of versions of one SDK, with polarity folded into the mask (see the file comment). */
export interface Term {
  readonly pkg: number;
  readonly mask: Mask;
  /** How a person wrote this version set (a range such as `^6.0.0`, or a version), when known. */
  readonly label?: string;
}

export type Cause =
  | { readonly kind: 'root' }
  /** A requirement of the root: a staged version that must be in the solution, or a consumer manifest range. */
  | { readonly kind: 'requirement'; readonly source: RequirementSource }
  | { readonly kind: 'dependency' }
  /** No version of the SDK lies in the term's set. */
  | { readonly kind: 'noVersions' }
  | { readonly kind: 'conflict'; readonly conflict: Incompatibility; readonly other: Incompatibility };

export type RequirementSource = 'staged' | 'manifest';

/** A set of terms that must not all be true at once. */
export interface Incompatibility {
  readonly id: number;
  readonly terms: readonly Term[];
  readonly cause: Cause;
}

interface Assignment {
  readonly pkg: number;
  readonly mask: Mask;
  readonly label?: string;
  readonly level: number;
  /** Undefined for a decision. */
  readonly cause?: Incompatibility;
  readonly index: number;
}

interface PackageState {
  acc: Mask;
  label?: string;
  assignments: Assignment[];
  decision?: number;
}

const enum Relation {
  Satisfied,
  Contradicted,
  Inconclusive,
}

/** A requirement the root places on the solution. */
export interface RootRequirement {
  readonly name: string;
  /** A semver range, or an exact version. */
  readonly range: string;
  readonly source: RequirementSource;
}

export interface SolverInput {
  readonly releases: Iterable<SdkRelease>;
  /** Releases that are staged (shown as "(staged)" in explanations). Also selectable. */
  readonly staged: Iterable<SdkRelease>;
  readonly requirements: readonly RootRequirement[];
  /** SDK name -> version to try first (a lock file's choice), when still allowed. */
  readonly preferred: ReadonlyMap<string, string>;
}

export interface SolverStats {
  readonly decisions: number;
  readonly conflicts: number;
  readonly incompatibilities: number;
}

export type SolverOutcome =
  | { readonly ok: true; readonly selected: ReadonlyMap<string, string>; readonly stats: SolverStats }
  | {
      readonly ok: false;
      readonly failure: Incompatibility;
      readonly domains: readonly Domain[];
      readonly stats: SolverStats;
    };

// Unwinds the solver to solve(), which turns it into an outcome; an Error so that anything else that catches it
// still gets a stack and a name.
class SolveFailure extends Error {
  constructor(readonly incompatibility: Incompatibility) {
    super('no solution: see the incompatibility');
    this.name = 'SolveFailure';
  }
}

export const ROOT = 0;
const ROOT_NAME = '(root)';

/** Whether a term (or accumulated assignment) says the SDK is selected. */
export function isPositive(domain: Domain, mask: Mask): boolean {
  return (mask & domain.none) === 0n;
}

/** The versions a term talks about: the matching set of a positive term, the excluded set of a negative one. */
export function versionSet(domain: Domain, mask: Mask): Mask {
  return isPositive(domain, mask) ? mask : domain.all & ~mask;
}

export function bitCount(mask: Mask): number {
  let n = 0;
  for (let m = mask; m !== 0n; m &= m - 1n) n++;
  return n;
}

function highestBit(mask: Mask): number {
  let i = -1;
  for (let m = mask; m !== 0n; m >>= 1n) i++;
  return i;
}

function bitsBetween(lo: number, hi: number): Mask {
  return ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

const rangeCache = new Map<string, semver.Range>();

/** Parses a range once per process: the same few ranges recur across thousands of releases. */
export function parseRange(range: string, owner: string): semver.Range {
  let parsed = rangeCache.get(range);
  if (parsed === undefined) {
    try {
      parsed = new semver.Range(range);
    } catch (cause) {
      throw new ResolutionInputError(
        `${owner} declares the dependency range "${range}", which is not a semver range; use a range such as "^2.0.0" or ">=2.1.0 <3.0.0"`,
        { cause, details: { owner, range } },
      );
    }
    rangeCache.set(range, parsed);
  }
  return parsed;
}

function normaliseVersion(name: string, version: string): string {
  const parsed = semver.parse(version);
  if (parsed === null) {
    throw new ResolutionInputError(
      `${name} has the version "${version}", which is not semver; use a version such as "2.1.0"`,
      {
        details: { name, version },
      },
    );
  }
  return parsed.version;
}

export class PubGrubSolver {
  private readonly domains: Domain[] = [];
  private readonly byName = new Map<string, number>();
  private readonly incompatibilities: Incompatibility[][] = [];
  private readonly states: PackageState[] = [];
  private readonly assignments: Assignment[] = [];
  private readonly rangeMasks = new Map<string, Mask>();
  private readonly dependencyKeys = new Set<string>();
  private readonly requirements: readonly RootRequirement[];
  private readonly preferred: ReadonlyMap<string, string>;
  private level = 0;
  private nextId = 0;
  private decisions = 0;
  private conflicts = 0;

  constructor(input: SolverInput) {
    const grouped = new Map<string, Map<string, { release: SdkRelease; staged: boolean }>>();
    const add = (release: SdkRelease, staged: boolean): void => {
      const version = normaliseVersion(release.name, release.version);
      let versions = grouped.get(release.name);
      if (versions === undefined)
        grouped.set(release.name, (versions = new Map<string, { release: SdkRelease; staged: boolean }>()));
      versions.set(version, {
        release: { ...release, version },
        staged: staged || (versions.get(version)?.staged ?? false),
      });
    };
    for (const release of input.releases) add(release, false);
    for (const release of input.staged) add(release, true);

    this.createDomain(ROOT_NAME, [{ release: { name: ROOT_NAME, version: '0.0.0', dependencies: {} }, staged: false }]);
    for (const name of [...grouped.keys()].sort()) {
      const entries = [...grouped.get(name)!.values()].sort((a, b) =>
        semver.compare(a.release.version, b.release.version),
      );
      this.createDomain(name, entries);
    }
    this.requirements = input.requirements;
    this.preferred = input.preferred;
  }

  /** Runs the solver. Never throws for an unsatisfiable input: that is a `{ ok: false }` outcome. */
  solve(): SolverOutcome {
    try {
      this.addIncompatibility(this.incompatibility([{ pkg: ROOT, mask: this.domains[ROOT]!.none }], { kind: 'root' }));
      let next: number | undefined = ROOT;
      while (next !== undefined) {
        this.propagate(next);
        next = this.chooseAndDecide();
      }
    } catch (error) {
      if (error instanceof SolveFailure)
        return { ok: false, failure: error.incompatibility, domains: this.domains, stats: this.stats() };
      throw error;
    }
    const selected = new Map<string, string>();
    for (let pkg = 1; pkg < this.states.length; pkg++) {
      const decision = this.states[pkg]!.decision;
      if (decision !== undefined) selected.set(this.domains[pkg]!.name, this.domains[pkg]!.versions[decision]!);
    }
    return { ok: true, selected, stats: this.stats() };
  }

  private stats(): SolverStats {
    return {
      decisions: this.decisions,
      conflicts: this.conflicts,
      incompatibilities: this.nextId,
    };
  }

  private createDomain(name: string, entries: readonly { release: SdkRelease; staged: boolean }[]): number {
    const n = entries.length;
    const all = (1n << BigInt(n)) - 1n;
    const none = 1n << BigInt(n);
    const domain: Domain = {
      name,
      versions: entries.map((e) => e.release.version),
      releases: entries.map((e) => e.release),
      staged: entries.map((e) => e.staged),
      none,
      all,
      full: all | none,
    };
    const index = this.domains.length;
    this.domains.push(domain);
    this.byName.set(name, index);
    this.incompatibilities.push([]);
    this.states.push({ acc: domain.full, assignments: [] });
    return index;
  }

  /** SDKs named only as dependencies get an empty domain: no version can ever be picked. */
  private domainOf(name: string): number {
    return this.byName.get(name) ?? this.createDomain(name, []);
  }

  private rangeMask(pkg: number, range: string, owner: string): Mask {
    const key = `${pkg}\u0000${range}`;
    let mask = this.rangeMasks.get(key);
    if (mask === undefined) {
      const parsed = parseRange(range, owner);
      const domain = this.domains[pkg]!;
      mask = 0n;
      // Prereleases follow npm: they match only ranges that name a prerelease of the same major.minor.patch.
      domain.versions.forEach((v, i) => {
        if (parsed.test(v)) mask! |= 1n << BigInt(i);
      });
      this.rangeMasks.set(key, mask);
    }
    return mask;
  }

  private incompatibility(terms: readonly Term[], cause: Cause): Incompatibility {
    let kept = terms;
    // The root is always selected, so a positive root term adds nothing to a learned clause.
    if (
      cause.kind === 'conflict' &&
      kept.length !== 1 &&
      kept.some((t) => t.pkg === ROOT && isPositive(this.domains[ROOT]!, t.mask))
    ) {
      kept = kept.filter((t) => !(t.pkg === ROOT && isPositive(this.domains[ROOT]!, t.mask)));
    }
    const merged = new Map<number, Term>();
    for (const term of kept) {
      const existing = merged.get(term.pkg);
      merged.set(term.pkg, existing === undefined ? term : intersect(existing, term));
    }
    return { id: this.nextId++, terms: [...merged.values()], cause };
  }

  private addIncompatibility(incompatibility: Incompatibility): void {
    for (const term of incompatibility.terms) this.incompatibilities[term.pkg]!.push(incompatibility);
  }

  private relation(term: Term): Relation {
    const state = this.states[term.pkg]!;
    // Nothing known yet is inconclusive even for a term that holds for every value (`not geo <nothing>`): deriving
    // its inverse records "geo must be selected from no version", which the noVersions step then explains.
    if (state.assignments.length === 0) return Relation.Inconclusive;
    const acc = state.acc;
    const full = this.domains[term.pkg]!.full;
    if ((acc & ~term.mask & full) === 0n) return Relation.Satisfied;
    if ((acc & term.mask) === 0n) return Relation.Contradicted;
    return Relation.Inconclusive;
  }

  private propagate(start: number): void {
    let changed: number[] = [start];
    const queued = new Set<number>(changed);
    while (changed.length > 0) {
      const pkg = changed.pop()!;
      queued.delete(pkg);
      const list = this.incompatibilities[pkg]!;
      // Newest first: learned incompatibilities are the most informative and are checked before the rest.
      for (let i = list.length - 1; i >= 0; i--) {
        const incompatibility = list[i]!;
        const result = this.propagateIncompatibility(incompatibility);
        if (result === 'conflict') {
          const learned = this.resolveConflict(incompatibility);
          const derived = this.propagateIncompatibility(learned);
          if (typeof derived !== 'number')
            throw new Error('PubGrub invariant: a learned incompatibility must derive a term after backjumping');
          changed = [derived];
          queued.clear();
          queued.add(derived);
          break;
        }
        if (typeof result === 'number' && !queued.has(result)) {
          changed.push(result);
          queued.add(result);
        }
      }
    }
  }

  private propagateIncompatibility(incompatibility: Incompatibility): number | 'conflict' | 'none' {
    let unsatisfied: Term | undefined;
    for (const term of incompatibility.terms) {
      const relation = this.relation(term);
      if (relation === Relation.Contradicted) return 'none';
      if (relation === Relation.Inconclusive) {
        if (unsatisfied !== undefined) return 'none';
        unsatisfied = term;
      }
    }
    if (unsatisfied === undefined) return 'conflict';
    const domain = this.domains[unsatisfied.pkg]!;
    this.assign(unsatisfied.pkg, domain.full & ~unsatisfied.mask, unsatisfied.label, incompatibility);
    return unsatisfied.pkg;
  }

  private assign(pkg: number, mask: Mask, label: string | undefined, cause: Incompatibility | undefined): void {
    const assignment: Assignment = { pkg, mask, label, level: this.level, cause, index: this.assignments.length };
    this.assignments.push(assignment);
    const state = this.states[pkg]!;
    state.assignments.push(assignment);
    const acc = state.acc & mask;
    state.label = acc === mask ? label : acc === state.acc ? state.label : undefined;
    state.acc = acc;
  }

  private satisfier(term: Term): Assignment {
    const full = this.domains[term.pkg]!.full;
    let acc = full;
    for (const assignment of this.states[term.pkg]!.assignments) {
      acc &= assignment.mask;
      if ((acc & ~term.mask & full) === 0n) return assignment;
    }
    throw new Error(`PubGrub invariant: no satisfier for a term of ${this.domains[term.pkg]!.name}`);
  }

  private backtrack(level: number): void {
    const touched = new Set<number>();
    while (this.assignments.length > 0 && this.assignments[this.assignments.length - 1]!.level > level) {
      const removed = this.assignments.pop()!;
      const state = this.states[removed.pkg]!;
      state.assignments.pop();
      if (removed.cause === undefined) state.decision = undefined;
      touched.add(removed.pkg);
    }
    for (const pkg of touched) {
      const state = this.states[pkg]!;
      let acc = this.domains[pkg]!.full;
      let label: string | undefined;
      for (const a of state.assignments) {
        const next = acc & a.mask;
        label = next === a.mask ? a.label : next === acc ? label : undefined;
        acc = next;
      }
      state.acc = acc;
      state.label = label;
    }
    this.level = level;
  }

  private isFailure(incompatibility: Incompatibility): boolean {
    const terms = incompatibility.terms;
    return (
      terms.length === 0 ||
      (terms.length === 1 && terms[0]!.pkg === ROOT && isPositive(this.domains[ROOT]!, terms[0]!.mask))
    );
  }

  private resolveConflict(start: Incompatibility): Incompatibility {
    this.conflicts++;
    let incompatibility = start;
    let learnedNew = false;
    while (!this.isFailure(incompatibility)) {
      let mostRecentTerm: Term | undefined;
      let mostRecentSatisfier: Assignment | undefined;
      let difference: Term | undefined;
      // Level 1 is the root decision: stopping there keeps the root's requirements near the final conclusion.
      let previousSatisfierLevel = 1;
      for (const term of incompatibility.terms) {
        const satisfier = this.satisfier(term);
        if (mostRecentSatisfier === undefined) {
          mostRecentTerm = term;
          mostRecentSatisfier = satisfier;
        } else if (mostRecentSatisfier.index < satisfier.index) {
          previousSatisfierLevel = Math.max(previousSatisfierLevel, mostRecentSatisfier.level);
          mostRecentTerm = term;
          mostRecentSatisfier = satisfier;
          difference = undefined;
        } else {
          previousSatisfierLevel = Math.max(previousSatisfierLevel, satisfier.level);
        }
        if (mostRecentTerm === term) {
          const full = this.domains[term.pkg]!.full;
          const diff = mostRecentSatisfier.mask & ~term.mask & full;
          difference = diff === 0n ? undefined : { pkg: term.pkg, mask: diff };
          if (difference !== undefined) {
            const inverse = { pkg: term.pkg, mask: full & ~diff };
            previousSatisfierLevel = Math.max(previousSatisfierLevel, this.satisfier(inverse).level);
          }
        }
      }
      const satisfier = mostRecentSatisfier!;
      if (previousSatisfierLevel < satisfier.level || satisfier.cause === undefined) {
        this.backtrack(previousSatisfierLevel);
        if (learnedNew) this.addIncompatibility(incompatibility);
        return incompatibility;
      }
      const cause = satisfier.cause;
      const terms: Term[] = [
        ...incompatibility.terms.filter((t) => t !== mostRecentTerm),
        ...cause.terms.filter((t) => t.pkg !== satisfier.pkg),
      ];
      if (difference !== undefined) {
        const full = this.domains[difference.pkg]!.full;
        terms.push({ pkg: difference.pkg, mask: full & ~difference.mask });
      }
      incompatibility = this.incompatibility(terms, { kind: 'conflict', conflict: incompatibility, other: cause });
      learnedNew = true;
    }
    throw new SolveFailure(incompatibility);
  }

  /** Picks the next undecided SDK that must be selected and decides a version for it. */
  private chooseAndDecide(): number | undefined {
    let best: number | undefined;
    let bestCount = Number.POSITIVE_INFINITY;
    for (let pkg = 0; pkg < this.states.length; pkg++) {
      const state = this.states[pkg]!;
      if (state.decision !== undefined || state.assignments.length === 0) continue;
      const domain = this.domains[pkg]!;
      if (!isPositive(domain, state.acc)) continue;
      // Fewest candidates first: conflicts surface early and the search stays shallow.
      const count = bitCount(state.acc & domain.all);
      if (count < bestCount) {
        best = pkg;
        bestCount = count;
        if (count <= 1) break;
      }
    }
    if (best === undefined) return undefined;

    const pkg = best;
    const state = this.states[pkg]!;
    const domain = this.domains[pkg]!;
    const allowed = state.acc & domain.all;
    if (allowed === 0n) {
      this.addIncompatibility(
        this.incompatibility([{ pkg, mask: state.acc, label: state.label }], { kind: 'noVersions' }),
      );
      return pkg;
    }
    const wanted = this.preferred.get(domain.name);
    const wantedIndex = wanted === undefined ? -1 : domain.versions.indexOf(semver.valid(wanted) ?? wanted);
    const version =
      wantedIndex >= 0 && (allowed & (1n << BigInt(wantedIndex))) !== 0n ? wantedIndex : highestBit(allowed);

    const added = pkg === ROOT ? this.rootIncompatibilities() : this.dependencyIncompatibilities(pkg, version);
    let conflict = false;
    for (const incompatibility of added) {
      this.addIncompatibility(incompatibility);
      conflict ||= incompatibility.terms.every((t) => t.pkg === pkg || this.relation(t) === Relation.Satisfied);
    }
    if (!conflict) {
      this.level++;
      this.decisions++;
      this.assign(pkg, 1n << BigInt(version), domain.versions[version], undefined);
      state.decision = version;
    }
    return pkg;
  }

  private rootIncompatibilities(): Incompatibility[] {
    const root = this.domains[ROOT]!;
    return this.requirements.map((requirement) => {
      const dep = this.domainOf(requirement.name);
      const exact = semver.valid(requirement.range);
      const mask =
        exact !== null ? this.exactMask(dep, exact) : this.rangeMask(dep, requirement.range, 'the consumer manifest');
      return this.requirementOf({ pkg: ROOT, mask: root.all }, dep, mask, exact ?? requirement.range, {
        kind: 'requirement',
        source: requirement.source,
      });
    });
  }

  /**
   * `depender` requires `dep` within `mask`. When no known version lies in `mask`, the clause "not dep <nothing>"
   * would hold for every assignment and PubGrub could not tell why it fails; so the missing range is stated as its
   * own premise (no version satisfies it) and the two are combined here into "depender cannot be used".
   */
  private requirementOf(depender: Term, dep: number, mask: Mask, label: string, cause: Cause): Incompatibility {
    const depDomain = this.domains[dep]!;
    const requirement = this.incompatibility([depender, { pkg: dep, mask: depDomain.full & ~mask, label }], cause);
    if (mask !== 0n) return requirement;
    const missing = this.incompatibility([{ pkg: dep, mask: 0n, label }], { kind: 'noVersions' });
    return this.incompatibility([depender], { kind: 'conflict', conflict: missing, other: requirement });
  }

  private exactMask(pkg: number, version: string): Mask {
    const index = this.domains[pkg]!.versions.indexOf(version);
    return index < 0 ? 0n : 1n << BigInt(index);
  }

  /**
   * One incompatibility per dependency of the chosen version, widened to the neighbouring versions that declare
   * the very same range: the solver then learns about whole runs of versions at once, and explanations say
   * "geo >=3.0.0 <=3.1.0 requires analytics ^6.0.0" instead of one line per version.
   */
  private dependencyIncompatibilities(pkg: number, version: number): Incompatibility[] {
    const domain = this.domains[pkg]!;
    const release = domain.releases[version]!;
    const result: Incompatibility[] = [];
    for (const depName of Object.keys(release.dependencies).sort()) {
      const range = release.dependencies[depName]!;
      let lo = version;
      let hi = version;
      while (lo > 0 && domain.releases[lo - 1]!.dependencies[depName] === range) lo--;
      while (hi < domain.releases.length - 1 && domain.releases[hi + 1]!.dependencies[depName] === range) hi++;
      const key = `${pkg}|${depName}|${lo}|${hi}`;
      if (this.dependencyKeys.has(key)) continue;
      this.dependencyKeys.add(key);
      const dep = this.domainOf(depName);
      const mask = this.rangeMask(dep, range, `${domain.name} ${release.version}`);
      const depender = { pkg, mask: bitsBetween(lo, hi), label: lo === hi ? domain.versions[lo] : undefined };
      result.push(this.requirementOf(depender, dep, mask, range, { kind: 'dependency' }));
    }
    return result;
  }
}

function intersect(a: Term, b: Term): Term {
  const mask = a.mask & b.mask;
  return { pkg: a.pkg, mask, label: mask === a.mask ? a.label : mask === b.mask ? b.label : undefined };
}
