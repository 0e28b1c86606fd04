/**
 * Staging decisions: pure functions over a snapshot of the staging area, like `decide()` for promotions.
 *
 * - WAITING: some dependency range is satisfied by no published or staged version (directly, or deeper in the
 *   tree). The package moves on by itself when a satisfying version arrives (`recheckWaiting`).
 * - CONFLICT: everything exists, but no joint solution of the package, the other staged packages already on their
 *   way to publication (TESTING, READY) and the published ones exists; or the package embeds a library that another
 *   SDK a consumer could combine with it embeds too (see `duplicatesWith`). The explanation names each requirement
 *   in the chain; `involved` lists the SDKs whose owners are notified.
 *
 *   A staged version of an SDK that the package uses is one more version to choose from, never a requirement: a
 *   staged analytics 6.4.0 does not conflict with maps needing analytics >=7 (issue 14, item 16). Only committed
 *   packages of SDKs outside the package's dependency tree must fit with it, so that what is on its way to
 *   publication together stays combinable.
 * - CONFLICT is not final: `recheckWaiting` decides CONFLICT packages again whenever the staged or published set
 *   changes, so one clears by itself when what caused it goes away.
 * - READY: the resolved set (one version per SDK) the tester builds the sample app with.
 *
 * Batches (several SDKs released as one) are decided together: one waiting or conflicting member holds the whole
 * batch, and the publish plan is all of them or none.
 */
import semver from 'semver';
import type { SdkMetadata, SdkVersionRef, StagingStatus } from '../model';
import { formatAvailable } from './conflict-report';
import { findDuplicateLibraries, type DuplicateLibrary, type PackageContents } from './duplicates';
import { StagingError } from './errors';
import { resolveSdks, type MissingDependency, type SdkRelease } from './resolver';

/** A converted package in the staging host. */
export interface StagedPackage {
  readonly metadata: SdkMetadata;
  readonly status: StagingStatus;
  /** Set when the package was submitted as part of an atomic release of several SDKs. */
  readonly batchId?: string;
}

/** A snapshot of everything staging decisions depend on. */
export interface StagingArea {
  /** Published, supported versions (what the package host's index lists). */
  readonly published: readonly SdkMetadata[];
  readonly staged: readonly StagedPackage[];
  /**
   * Files and symbols per package, keyed `name@version` (see `contentsKey`), for duplicate-library detection.
   * Packages without an entry are not checked for duplicates.
   */
  readonly contents?: ReadonlyMap<string, PackageContents>;
}

/** An SDK named in a conflict, with the owners to notify. */
export interface InvolvedSdk {
  readonly name: string;
  /** Owner contact emails from the SDK's staged and newest published metadata. */
  readonly contacts: readonly string[];
}

export type StagingDecision =
  | {
      readonly status: 'WAITING';
      /** Every range nothing satisfies, with who asks and what exists. */
      readonly missing: readonly MissingDependency[];
      /** e.g. "waiting for analytics ^8.0.0 (required by maps 2.0.0; available: 6.1.0, 7.0.2)". */
      readonly reason: string;
    }
  | {
      readonly status: 'CONFLICT';
      readonly explanation: string;
      /** The step-by-step proof, when the conflict is between versions (empty for duplicate libraries). */
      readonly derivation: readonly string[];
      readonly involved: readonly InvolvedSdk[];
      readonly duplicates: readonly DuplicateLibrary[];
      readonly reason: string;
    }
  | {
      readonly status: 'READY';
      /** One version per SDK, sorted by name: the staged package(s) and everything they need. */
      readonly resolved: readonly SdkVersionRef[];
      readonly reason: string;
    };

export interface BatchMemberDecision {
  readonly ref: SdkVersionRef;
  readonly status: StagingDecision['status'];
  /** The member's own reason, or why it is held with the batch. */
  readonly reason: string;
}

export interface BatchDecision {
  readonly batchId: string;
  readonly decision: StagingDecision;
  readonly members: readonly BatchMemberDecision[];
  /** Members in publication order (dependencies first) when READY; empty otherwise: all or nothing. */
  readonly publishPlan: readonly SdkVersionRef[];
}

export interface Transition {
  readonly refs: readonly SdkVersionRef[];
  readonly batchId?: string;
  readonly from: 'WAITING' | 'CONFLICT';
  readonly decision: StagingDecision;
}

/** Key of `StagingArea.contents`. */
export function contentsKey(ref: SdkVersionRef): string {
  return `${ref.name}@${ref.version}`;
}

/** Staged packages that have passed staging and are headed for publication: new packages must fit with them. */
const COMMITTED: ReadonlySet<StagingStatus> = new Set(['TESTING', 'READY']);
/** Staged packages that can satisfy a dependency. Failed or withdrawn ones cannot. */
const SELECTABLE: ReadonlySet<StagingStatus> = new Set(['CONVERTED', 'WAITING', 'CONFLICT', 'TESTING', 'READY']);

const sameRef = (a: SdkVersionRef, b: SdkVersionRef): boolean => a.name === b.name && a.version === b.version;
const refOf = (m: SdkMetadata): SdkVersionRef => ({ name: m.name, version: m.version });
const release = (m: SdkMetadata): SdkRelease => ({ name: m.name, version: m.version, dependencies: m.dependencies });

/**
 * Decides one staged package. A package that belongs to a batch is decided with its batch (`decideBatch`).
 *
 * @throws StagingError when the package is not in the staging area.
 * @example
 * const decision = decideStaging(area, { name: 'maps', version: '2.0.0' });
 * if (decision.status === 'CONFLICT') notify(decision.involved.flatMap((s) => s.contacts), decision.explanation);
 */
export function decideStaging(area: StagingArea, ref: SdkVersionRef): StagingDecision {
  const pkg = findStaged(area, ref);
  if (pkg.batchId !== undefined) return decideBatch(area, pkg.batchId).decision;
  return decideMembers(area, [pkg.metadata]);
}

/**
 * Decides every member of a batch together. If any member waits or conflicts, the batch holds and each member
 * carries the reason; when READY, `publishPlan` lists all members, dependencies first.
 *
 * @throws StagingError when no staged package has this batch id.
 */
export function decideBatch(area: StagingArea, batchId: string): BatchDecision {
  const members = area.staged.filter((p) => p.batchId === batchId).map((p) => p.metadata);
  if (members.length === 0) {
    throw new StagingError(`No staged package belongs to batch ${batchId}; check the batch id given with the release`, {
      details: { batchId },
    });
  }
  const decision = decideMembers(area, members);
  const culprits = culpritsOf(decision, members);
  const memberDecisions = members.map((m) => {
    const ref = refOf(m);
    const own = culprits.get(m.name);
    const reason =
      decision.status === 'READY' ? decision.reason : (own ?? `held with batch ${batchId}: ${decision.reason}`);
    return { ref, status: decision.status, reason };
  });
  return {
    batchId,
    decision,
    members: memberDecisions,
    publishPlan: decision.status === 'READY' ? publicationOrder(members) : [],
  };
}

/**
 * After the staged or published set changed (packages arrived, were published, withdrawn or failed), finds the
 * WAITING and CONFLICT packages whose decision changes: WAITING -> READY or CONFLICT, CONFLICT -> READY or WAITING
 * (a conflict clears by itself when its cause is gone). Repeats until nothing changes, so a chain (A waits for B,
 * B waits for C) releases together when C arrives. Every waiting and conflicting package is re-checked, since a
 * change deep in the tree can unblock it. Returns one transition per package (or batch) whose status changes, its
 * final decision, in the order they first moved.
 *
 * @example
 * const moved = recheckWaiting(areaWithAnalytics7, [{ name: 'analytics', version: '7.0.0' }]);
 * // [{ refs: [{ name: 'social', version: '1.3.0' }], from: 'WAITING', decision: { status: 'READY', ... } }]
 */
export function recheckWaiting(area: StagingArea, arrived: readonly SdkVersionRef[]): Transition[] {
  let current: StagingArea = area;
  const moved = new Map<string, Transition>();
  const trigger = arrived.map((r) => `${r.name} ${r.version}`).join(', ');
  // A package can move at most twice per pass (e.g. CONFLICT -> WAITING -> READY), so this bound is never reached
  // by a consistent area; it only guards against oscillation.
  for (let progress = true, round = 0; progress && round <= 2 * area.staged.length + 1; round++) {
    progress = false;
    const open = current.staged
      .filter((p) => p.status === 'WAITING' || p.status === 'CONFLICT')
      .sort((a, b) => (contentsKey(refOf(a.metadata)) < contentsKey(refOf(b.metadata)) ? -1 : 1));
    const seenBatches = new Set<string>();
    for (const pkg of open) {
      if (pkg.batchId !== undefined && seenBatches.has(pkg.batchId)) continue;
      const refs =
        pkg.batchId === undefined
          ? [refOf(pkg.metadata)]
          : current.staged.filter((p) => p.batchId === pkg.batchId).map((p) => refOf(p.metadata));
      if (pkg.batchId !== undefined) seenBatches.add(pkg.batchId);
      const decision =
        pkg.batchId === undefined ? decideMembers(current, [pkg.metadata]) : decideBatch(current, pkg.batchId).decision;
      if (decision.status === pkg.status) continue;
      const reason = trigger.length > 0 ? `${decision.reason} (after ${trigger} arrived)` : decision.reason;
      const key = pkg.batchId ?? contentsKey(refOf(pkg.metadata));
      const from = moved.get(key)?.from ?? (pkg.status as 'WAITING' | 'CONFLICT');
      // Re-inserting keeps the first move's position: a Map keeps insertion order of the first set.
      moved.set(key, { refs, batchId: pkg.batchId, from, decision: { ...decision, reason } });
      current = {
        ...current,
        staged: current.staged.map((p) =>
          refs.some((r) => sameRef(r, refOf(p.metadata))) ? { ...p, status: decision.status } : p,
        ),
      };
      progress = true;
    }
  }
  // A package that moved away and back (CONFLICT -> WAITING -> CONFLICT) has not changed.
  return [...moved.values()].filter((t) => t.decision.status !== t.from);
}

function findStaged(area: StagingArea, ref: SdkVersionRef): StagedPackage {
  const pkg = area.staged.find((p) => sameRef(refOf(p.metadata), ref));
  if (pkg === undefined) {
    throw new StagingError(
      `${ref.name} ${ref.version} is not in the staging area; convert and stage it before deciding`,
      {
        details: { name: ref.name, version: ref.version },
      },
    );
  }
  return pkg;
}

function decideMembers(area: StagingArea, members: readonly SdkMetadata[]): StagingDecision {
  const memberNames = new Set(members.map((m) => m.name));
  const selectable = area.staged.filter((p) => SELECTABLE.has(p.status)).map((p) => p.metadata);
  const available = [...area.published, ...selectable];

  const missing = directlyMissing(members, available);
  if (missing.length > 0) return waiting(missing);

  // Committed packages of SDKs the members do not use must stay in any solution (one version per SDK, the members
  // replace their own SDK's). A committed version of an SDK the members use is only one more version to choose:
  // forcing it would turn "a staged version does not satisfy the range" into a false conflict.
  const used = dependencyClosure(members, available);
  const committedVersions = new Map<string, SdkMetadata[]>();
  for (const p of area.staged) {
    if (!COMMITTED.has(p.status) || memberNames.has(p.metadata.name) || used.has(p.metadata.name)) continue;
    committedVersions.set(p.metadata.name, [...(committedVersions.get(p.metadata.name) ?? []), p.metadata]);
  }
  // Two committed versions of one SDK cannot both be in a solution; neither is then forced.
  const committed = new Map(
    [...committedVersions].filter(([, list]) => list.length === 1).map(([name, list]) => [name, list[0]!]),
  );
  const stagedSet = [...members, ...committed.values()];
  const resolution = resolveSdks({ available: available.map(release), staged: stagedSet.map(release) });
  if (!resolution.ok) {
    if (resolution.missing.length > 0) return waiting(resolution.missing);
    return {
      status: 'CONFLICT',
      explanation: resolution.explanation,
      derivation: resolution.derivation,
      involved: involvedSdks(area, resolution.involved),
      duplicates: [],
      reason: `conflict: ${resolution.explanation}`,
    };
  }

  const duplicates = duplicatesWith(area, members, resolution.selected);
  if (duplicates.length > 0) {
    const names = [...new Set(duplicates.flatMap((d) => d.sdks.map((s) => s.name)))].sort();
    const explanation = duplicates.map((d) => `${d.explanation}; ${d.suggestion}`).join('. ');
    return {
      status: 'CONFLICT',
      explanation,
      derivation: [],
      involved: involvedSdks(area, names),
      duplicates,
      reason: `conflict: ${explanation}`,
    };
  }
  const list = members.map((m) => `${m.name} ${m.version}`).join(', ');
  return {
    status: 'READY',
    resolved: resolution.selected,
    reason: `${list} resolved with ${resolution.selected.length} SDKs; ready for testing`,
  };
}

/** Names of every SDK the members may pull in: their dependencies, and those of every available version of those, transitively. */
function dependencyClosure(members: readonly SdkMetadata[], available: readonly SdkMetadata[]): Set<string> {
  const byName = new Map<string, SdkMetadata[]>();
  for (const m of available) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
  const seen = new Set<string>();
  const queue = members.flatMap((m) => Object.keys(m.dependencies));
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    for (const version of byName.get(name) ?? []) queue.push(...Object.keys(version.dependencies));
  }
  return seen;
}

/** Direct dependencies of the members that no published or staged version satisfies, all listed at once. */
function directlyMissing(members: readonly SdkMetadata[], available: readonly SdkMetadata[]): MissingDependency[] {
  const versions = new Map<string, string[]>();
  for (const m of [...available, ...members]) {
    const list = versions.get(m.name) ?? [];
    if (!list.includes(m.version)) list.push(m.version);
    versions.set(m.name, list);
  }
  const out: MissingDependency[] = [];
  for (const member of members) {
    for (const [name, range] of Object.entries(member.dependencies).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const existing = sortVersions(versions.get(name) ?? []);
      // Only checked when the range parses; the resolver reports a bad range with the owner's name.
      if (!existing.some((v) => satisfies(v, range))) {
        out.push({ name, range, requiredBy: [`${member.name} ${member.version}`], available: existing });
      }
    }
  }
  return out;
}

function waiting(missing: readonly MissingDependency[]): StagingDecision {
  const parts = missing.map(
    (m) => `${m.name} ${m.range} (required by ${m.requiredBy.join(', ')}; ${formatAvailable(m.available)})`,
  );
  return { status: 'WAITING', missing, reason: `waiting for ${parts.join('; ')}` };
}

/**
 * Duplicate embedded libraries between the members and every package a consumer could combine with them: the
 * resolved set (what the sample app links), the committed staged packages (TESTING, READY: on their way to
 * publication) and the newest supported published version of every other SDK, of the members' platforms. Scope
 * chosen (issue 14, item 13): every published SDK, not only a consumer group or a tier, because the access policy
 * grants tiers and SDKs to groups independently and a consumer holding several groups links any mix of them; only
 * the newest version of each, because a consumer can always move to it, so an older version that embeds a library
 * is not the newcomer's to fix; one platform, because an iOS app never links a Linux SDK.
 */
function duplicatesWith(
  area: StagingArea,
  members: readonly SdkMetadata[],
  selected: readonly SdkVersionRef[],
): DuplicateLibrary[] {
  if (area.contents === undefined) return [];
  const platforms = new Set(members.map((m) => m.platform.name));
  const memberNames = new Set(members.map((m) => m.name));
  const newest = new Map<string, SdkMetadata>();
  for (const p of area.published) {
    if (memberNames.has(p.name) || !platforms.has(p.platform.name) || semver.valid(p.version) === null) continue;
    const known = newest.get(p.name);
    if (known === undefined || semver.gt(p.version, known.version)) newest.set(p.name, p);
  }
  const committed = area.staged
    .filter(
      (p) => COMMITTED.has(p.status) && !memberNames.has(p.metadata.name) && platforms.has(p.metadata.platform.name),
    )
    .map((p) => p.metadata);
  const candidates = new Map<string, SdkVersionRef>();
  for (const ref of [...selected, ...members.map(refOf), ...committed.map(refOf), ...[...newest.values()].map(refOf)])
    candidates.set(contentsKey(ref), ref);
  const packages = [...candidates.values()].flatMap((ref) => {
    const contents = area.contents!.get(contentsKey(ref));
    return contents === undefined ? [] : [{ ref, contents }];
  });
  // Only report pairs that involve a member: a clash between two published SDKs is not this package's to fix.
  return findDuplicateLibraries(packages).filter((d) => d.sdks.some((s) => members.some((m) => sameRef(refOf(m), s))));
}

function involvedSdks(area: StagingArea, names: readonly string[]): InvolvedSdk[] {
  return names.map((name) => {
    const contacts = new Set<string>();
    for (const p of area.staged) if (p.metadata.name === name && p.metadata.contact) contacts.add(p.metadata.contact);
    const published = area.published.filter((m) => m.name === name);
    const newest = sortVersions(published.map((m) => m.version)).at(-1);
    const newestMeta = published.find((m) => m.version === newest);
    if (newestMeta?.contact) contacts.add(newestMeta.contact);
    return { name, contacts: [...contacts].sort() };
  });
}

/** Which members caused a hold, with their own reason. */
function culpritsOf(decision: StagingDecision, members: readonly SdkMetadata[]): Map<string, string> {
  const out = new Map<string, string>();
  if (decision.status === 'WAITING') {
    for (const member of members) {
      const label = `${member.name} ${member.version}`;
      const own = decision.missing.filter((m) => m.requiredBy.some((r) => r === label || r.startsWith(`${label} `)));
      if (own.length > 0) out.set(member.name, waiting(own).reason);
    }
  } else if (decision.status === 'CONFLICT') {
    const involved = new Set(decision.involved.map((s) => s.name));
    for (const member of members) if (involved.has(member.name)) out.set(member.name, decision.reason);
  }
  return out;
}

/** Members ordered so every member comes after the members it depends on; ties by name. */
function publicationOrder(members: readonly SdkMetadata[]): SdkVersionRef[] {
  const byName = new Map(members.map((m) => [m.name, m]));
  const done = new Set<string>();
  const order: SdkVersionRef[] = [];
  const visit = (m: SdkMetadata, path: Set<string>): void => {
    if (done.has(m.name) || path.has(m.name)) return;
    path.add(m.name);
    for (const dep of Object.keys(m.dependencies).sort()) {
      const inBatch = byName.get(dep);
      if (inBatch !== undefined) visit(inBatch, path);
    }
    path.delete(m.name);
    done.add(m.name);
    order.push(refOf(m));
  };
  for (const m of [...members].sort((a, b) => (a.name < b.name ? -1 : 1))) visit(m, new Set());
  return order;
}

function satisfies(version: string, range: string): boolean {
  return semver.validRange(range) === null ? true : semver.satisfies(version, range);
}

function sortVersions(versions: readonly string[]): string[] {
  return [...versions].filter((v) => semver.valid(v) !== null).sort(semver.compare);
}
