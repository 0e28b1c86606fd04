/**
 * Turns a PubGrub failure (the derivation tree ending in "no solution") into what an SDK owner reads: a one-line
 * chain of the requirements that clash, the step-by-step proof, the SDKs involved (their owners get notified), and
 * the ranges nothing satisfies (those make a package wait rather than conflict).
 */
import {
  ROOT,
  bitCount,
  isPositive,
  versionSet,
  type Domain,
  type Incompatibility,
  type Mask,
  type Term,
} from './pubgrub';

/** A range that no published or staged version satisfies. */
export interface MissingDependency {
  readonly name: string;
  readonly range: string;
  /** Who asks for it, e.g. `maps 2.0.0 (staged)` or `the manifest`. */
  readonly requiredBy: readonly string[];
  /** Versions that exist (published or staged), ascending. */
  readonly available: readonly string[];
}

export interface ConflictReport {
  /** The requirements in the chain, then why they cannot hold together, joined with "; ". */
  readonly explanation: string;
  /** The derivation, one step per line ("Because ... and ..., ..."), ending in the conclusion. */
  readonly derivation: readonly string[];
  /** Every SDK named by a requirement in the chain, sorted. */
  readonly involved: readonly string[];
  readonly missing: readonly MissingDependency[];
}

const MAX_LISTED_VERSIONS = 12;

export function formatAvailable(versions: readonly string[]): string {
  if (versions.length === 0) return 'available: none';
  if (versions.length <= MAX_LISTED_VERSIONS) return `available: ${versions.join(', ')}`;
  const newest = versions.slice(-(MAX_LISTED_VERSIONS - 2));
  return `available: ${versions[0]}, …, ${newest.join(', ')} (${versions.length} versions)`;
}

export class ConflictReporter {
  constructor(
    private readonly domains: readonly Domain[],
    /** Last words of the proof, e.g. "the staged set cannot be resolved". */
    private readonly conclusion: string,
  ) {}

  report(failure: Incompatibility): ConflictReport {
    const leaves = this.leaves(failure);
    return {
      explanation: this.chain(leaves),
      derivation: this.derivation(failure),
      involved: this.involved(leaves),
      missing: this.missing(leaves),
    };
  }

  // ---- rendering of sets and terms ----

  /** A version set as a person would write it: the original range when known, else versions and intervals. */
  renderSet(pkg: number, set: Mask, label?: string): string {
    if (label !== undefined) return label;
    const domain = this.domains[pkg]!;
    const n = domain.versions.length;
    if (set === 0n) return 'no version';
    if (set === domain.all) return '*';
    const runs: string[] = [];
    let i = 0;
    while (i < n) {
      if ((set & (1n << BigInt(i))) === 0n) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && (set & (1n << BigInt(j + 1))) !== 0n) j++;
      const lo = domain.versions[i]!;
      const hi = domain.versions[j]!;
      if (i === j) runs.push(lo);
      else if (i === 0) runs.push(`<=${hi}`);
      else if (j === n - 1) runs.push(`>=${lo}`);
      else runs.push(`>=${lo} <=${hi}`);
      i = j + 1;
    }
    return runs.join(' || ');
  }

  /** `maps 2.0.0 (staged)`, `geo ^3.0.0`, `any version of geo`. */
  phrase(pkg: number, set: Mask, label?: string, quantifier: 'any' | 'every' = 'any'): string {
    const domain = this.domains[pkg]!;
    if (label === undefined && set === domain.all && domain.versions.length > 1)
      return `${quantifier} version of ${domain.name}`;
    const staged =
      bitCount(set) === 1 &&
      domain.staged[domain.versions.findIndex((_, i) => (set & (1n << BigInt(i))) !== 0n)] === true;
    return `${domain.name} ${this.renderSet(pkg, set, label)}${staged ? ' (staged)' : ''}`;
  }

  private termPhrase(term: Term, quantifier: 'any' | 'every' = 'any'): string {
    return this.phrase(term.pkg, versionSet(this.domains[term.pkg]!, term.mask), term.label, quantifier);
  }

  private positive(term: Term): boolean {
    return isPositive(this.domains[term.pkg]!, term.mask);
  }

  /** One sentence for one incompatibility. */
  sentence(incompatibility: Incompatibility): string {
    const cause = incompatibility.cause;
    const terms = incompatibility.terms.filter((t) => !(t.pkg === ROOT && this.positive(t)));
    if (cause.kind === 'requirement') {
      const term = terms[0];
      if (term === undefined) return 'the root has a requirement';
      const name = this.domains[term.pkg]!.name;
      const set = this.renderSet(term.pkg, versionSet(this.domains[term.pkg]!, term.mask), term.label);
      return cause.source === 'staged' ? `${name} ${set} is staged` : `the manifest requires ${name} ${set}`;
    }
    if (cause.kind === 'noVersions') {
      const term = terms[0]!;
      const domain = this.domains[term.pkg]!;
      if (domain.versions.length === 0) return `${domain.name} is neither published nor staged`;
      return `no version of ${domain.name} satisfies ${this.renderSet(term.pkg, term.mask & domain.all, term.label)} (${formatAvailable(domain.versions)})`;
    }
    if (terms.length === 0) return this.conclusion;
    if (terms.length === 1) {
      const term = terms[0]!;
      return this.positive(term) ? `${this.termPhrase(term)} cannot be used` : `${this.termPhrase(term)} is required`;
    }
    const positives = terms.filter((t) => this.positive(t));
    const negatives = terms.filter((t) => !this.positive(t));
    if (positives.length === 0) return `either ${negatives.map((t) => this.termPhrase(t)).join(' or ')} is required`;
    if (negatives.length === 0) {
      return positives.length === 2
        ? `${this.termPhrase(positives[0]!)} is incompatible with ${this.termPhrase(positives[1]!)}`
        : `${positives.map((t) => this.termPhrase(t)).join(', ')} cannot all be used together`;
    }
    return `${positives.map((t) => this.termPhrase(t, 'every')).join(' and ')} requires ${negatives.map((t) => this.termPhrase(t)).join(' or ')}`;
  }

  // ---- the proof ----

  private derivation(failure: Incompatibility): string[] {
    const refs = new Map<number, number>();
    const count = (inc: Incompatibility): void => {
      if (inc.cause.kind !== 'conflict') return;
      for (const child of [inc.cause.conflict, inc.cause.other]) {
        const seen = refs.get(child.id) ?? 0;
        refs.set(child.id, seen + 1);
        if (seen === 0) count(child);
      }
    };
    count(failure);

    interface Line {
      readonly id: number;
      readonly build: (numberOf: (id: number) => string) => string;
      readonly cites: number[];
    }
    const lines: Line[] = [];
    const lineIndex = new Map<number, number>();
    const visit = (inc: Incompatibility, isConclusion: boolean): void => {
      if (inc.cause.kind !== 'conflict') return;
      const children = [inc.cause.conflict, inc.cause.other];
      for (const child of children)
        if (child.cause.kind === 'conflict' && !lineIndex.has(child.id)) visit(child, false);
      const previous = lines[lines.length - 1];
      // A derived step used only here and written just above reads as "And because ...".
      const collapsed = children.find(
        (c) => c.cause.kind === 'conflict' && previous?.id === c.id && refs.get(c.id) === 1,
      );
      const shown = children.filter((c) => c !== collapsed);
      const cites = shown.filter((c) => c.cause.kind === 'conflict').map((c) => c.id);
      const conclusion = isConclusion ? this.conclusion : this.sentence(inc);
      const build = (numberOf: (id: number) => string): string => {
        const parts = shown.map((c) =>
          c.cause.kind === 'conflict' ? `${this.sentence(c)} ${numberOf(c.id)}` : this.sentence(c),
        );
        return `${collapsed === undefined ? 'Because' : 'And because'} ${parts.join(' and ')}, ${conclusion}.`;
      };
      lineIndex.set(inc.id, lines.length);
      lines.push({ id: inc.id, build, cites });
    };
    visit(failure, true);
    const cited = new Set(lines.flatMap((l) => l.cites));
    const numbers = new Map<number, number>();
    for (const line of lines) if (cited.has(line.id)) numbers.set(line.id, numbers.size + 1);
    const numberOf = (id: number): string => `(${numbers.get(id) ?? '?'})`;
    return lines.map((line) => {
      const text = line.build(numberOf);
      const n = numbers.get(line.id);
      return n === undefined ? text : `(${n}) ${text}`;
    });
  }

  // ---- the chain ----

  /** External incompatibilities of the derivation tree: the premises of the proof, in first-use order. */
  private leaves(failure: Incompatibility): Incompatibility[] {
    const seen = new Set<number>();
    const leaves: Incompatibility[] = [];
    const walk = (inc: Incompatibility): void => {
      if (seen.has(inc.id)) return;
      seen.add(inc.id);
      if (inc.cause.kind === 'conflict') {
        walk(inc.cause.conflict);
        walk(inc.cause.other);
      } else if (inc.cause.kind !== 'root') {
        leaves.push(inc);
      }
    };
    walk(failure);
    return leaves;
  }

  private dependencyParts(inc: Incompatibility): { from: Term; to: Term } | undefined {
    if (inc.cause.kind !== 'dependency' || inc.terms.length !== 2) return undefined;
    const [from, to] = inc.terms as [Term, Term];
    return { from, to };
  }

  private requirementTarget(inc: Incompatibility): Term | undefined {
    return inc.cause.kind === 'requirement' ? inc.terms.find((t) => t.pkg !== ROOT) : undefined;
  }

  private chain(leaves: readonly Incompatibility[]): string {
    const requirements = leaves.filter((l) => l.cause.kind === 'requirement').sort((a, b) => a.id - b.id);
    const dependencies = leaves.filter((l) => l.cause.kind === 'dependency').sort((a, b) => a.id - b.id);
    const emitted = new Set<number>();
    const sentences: string[] = [];
    const visited = new Set<number>();
    const follow = (pkg: number): void => {
      if (visited.has(pkg)) return;
      visited.add(pkg);
      for (const dep of dependencies) {
        const parts = this.dependencyParts(dep);
        if (parts?.from.pkg !== pkg || emitted.has(dep.id)) continue;
        emitted.add(dep.id);
        sentences.push(this.sentence(dep));
        follow(parts.to.pkg);
      }
    };
    for (const requirement of requirements) {
      const target = this.requirementTarget(requirement)!;
      const hasDependency = dependencies.some((d) => this.dependencyParts(d)?.from.pkg === target.pkg);
      if (requirement.cause.kind === 'requirement' && (requirement.cause.source === 'manifest' || !hasDependency)) {
        sentences.push(this.sentence(requirement));
      }
      follow(target.pkg);
    }
    for (const leaf of dependencies) if (!emitted.has(leaf.id)) sentences.push(this.sentence(leaf));

    const closing = this.clashes(leaves);
    sentences.push(...closing);
    if (closing.length === 0) sentences.push('no combination of these versions satisfies every requirement');
    return sentences.join('; ');
  }

  /** For each SDK asked for with ranges that share no version: say so, with what exists. */
  private clashes(leaves: readonly Incompatibility[]): string[] {
    const asked = new Map<number, { label: string; set: Mask }[]>();
    const ask = (term: Term): void => {
      const domain = this.domains[term.pkg]!;
      const set = versionSet(domain, term.mask);
      const label = this.renderSet(term.pkg, set, term.label);
      const list = asked.get(term.pkg) ?? [];
      if (!list.some((r) => r.label === label)) list.push({ label, set });
      asked.set(term.pkg, list);
    };
    for (const leaf of leaves) {
      const parts = this.dependencyParts(leaf);
      if (parts !== undefined) ask(parts.to);
      const target = this.requirementTarget(leaf);
      if (target !== undefined) ask(target);
    }
    const out: string[] = [];
    for (const [pkg, ranges] of asked) {
      const domain = this.domains[pkg]!;
      if (ranges.length < 2) continue;
      let pair: [string, string] | undefined;
      for (let i = 0; i < ranges.length && pair === undefined; i++) {
        for (let j = i + 1; j < ranges.length; j++) {
          if ((ranges[i]!.set & ranges[j]!.set) === 0n) {
            pair = [ranges[i]!.label, ranges[j]!.label];
            break;
          }
        }
      }
      if (pair !== undefined) {
        out.push(
          `no version of ${domain.name} satisfies both ${pair[0]} and ${pair[1]} (${formatAvailable(domain.versions)})`,
        );
      } else if (ranges.reduce((acc, r) => acc & r.set, domain.all) === 0n) {
        const labels = ranges.map((r) => r.label);
        out.push(
          `no version of ${domain.name} satisfies all of ${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]} (${formatAvailable(domain.versions)})`,
        );
      }
    }
    for (const leaf of leaves) {
      if (leaf.cause.kind !== 'noVersions') continue;
      const text = this.noVersionSentence(leaf, leaves);
      if (!out.includes(text)) out.push(text);
    }
    return out;
  }

  private noVersionSentence(leaf: Incompatibility, leaves: readonly Incompatibility[]): string {
    const term = leaf.terms[0]!;
    const domain = this.domains[term.pkg]!;
    if (domain.versions.length === 0) return `${domain.name} is neither published nor staged`;
    return `no version of ${domain.name} satisfies ${this.missingRange(term, leaves)} (${formatAvailable(domain.versions)})`;
  }

  /** The range(s) asked for an SDK with no matching version, as written by whoever asked. */
  private missingRange(term: Term, leaves: readonly Incompatibility[]): string {
    if (term.label !== undefined) return term.label;
    const labels = new Set<string>();
    for (const leaf of leaves) {
      const parts = this.dependencyParts(leaf);
      if (parts?.to.pkg === term.pkg && parts.to.label !== undefined) labels.add(parts.to.label);
    }
    return labels.size > 0
      ? [...labels].join(' and ')
      : this.renderSet(term.pkg, term.mask & this.domains[term.pkg]!.all);
  }

  private involved(leaves: readonly Incompatibility[]): string[] {
    const names = new Set<string>();
    for (const leaf of leaves)
      for (const term of leaf.terms) if (term.pkg !== ROOT) names.add(this.domains[term.pkg]!.name);
    return [...names].sort();
  }

  private missing(leaves: readonly Incompatibility[]): MissingDependency[] {
    const out: MissingDependency[] = [];
    for (const leaf of leaves) {
      if (leaf.cause.kind !== 'noVersions') continue;
      const term = leaf.terms[0]!;
      const domain = this.domains[term.pkg]!;
      const range = this.missingRange(term, leaves);
      const requiredBy: string[] = [];
      for (const other of leaves) {
        const parts = this.dependencyParts(other);
        if (parts?.to.pkg === term.pkg) {
          requiredBy.push(
            this.phrase(parts.from.pkg, versionSet(this.domains[parts.from.pkg]!, parts.from.mask), parts.from.label),
          );
        }
        const target = this.requirementTarget(other);
        if (target?.pkg === term.pkg && other.cause.kind === 'requirement')
          requiredBy.push(other.cause.source === 'manifest' ? 'the manifest' : 'staging');
      }
      out.push({ name: domain.name, range, requiredBy, available: domain.versions });
    }
    return out;
  }
}
