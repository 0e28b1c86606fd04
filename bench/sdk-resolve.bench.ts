/**
 * Joint resolution on a generated universe of 500 SDKs x 20 versions (target: under 1 s, explanation included).
 * Prints the median of several runs for a solvable staged set and an unsolvable one, with the explanation length.
 */
import { performance } from 'node:perf_hooks';
import { resolveSdks, type Resolution, type SdkRelease } from '../lambdas/sdk/staging/resolver';

const SDKS = 500;
const VERSIONS = 20;
const RUNS = 7;

/** Deterministic PRNG (mulberry32) so every run measures the same universe. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function versionOf(k: number): string {
  return `${1 + Math.floor(k / 5)}.${k % 5}.0`;
}

/**
 * SDKs in layers: SDK i depends on 0..4 SDKs with a lower index (a DAG, like foundation libraries under product
 * SDKs), on a caret range of the dependency's major that was current when this version came out; every few
 * versions the chosen dependencies change, as real SDKs add and drop dependencies.
 */
export function generateUniverse(seed = 42): SdkRelease[] {
  const rnd = random(seed);
  const releases: SdkRelease[] = [];
  for (let i = 0; i < SDKS; i++) {
    let deps: number[] = [];
    for (let k = 0; k < VERSIONS; k++) {
      if (k % 5 === 0 && i > 0) {
        const fanOut = Math.min(i, Math.floor(rnd() * 5));
        deps = [...new Set(Array.from({ length: fanOut }, () => Math.floor(rnd() * i)))];
      }
      const dependencies: Record<string, string> = {};
      for (const d of deps) {
        const major = 1 + Math.floor(Math.min(VERSIONS - 1, k + Math.floor(rnd() * 3)) / 5);
        dependencies[`sdk${d}`] = `^${major}.0.0`;
      }
      releases.push({ name: `sdk${i}`, version: versionOf(k), dependencies });
    }
  }
  return releases;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(label: string, run: () => Resolution): Resolution {
  const times: number[] = [];
  let last: Resolution | undefined;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    last = run();
    times.push(performance.now() - start);
  }
  const result = last!;
  const detail = result.ok
    ? `solved: ${result.selected.length} SDKs selected`
    : `conflict: explanation ${result.explanation.length} chars, derivation ${result.derivation.length} lines, ${result.involved.length} SDKs involved`;
  console.log(
    `${label.padEnd(34)} median ${median(times).toFixed(1).padStart(7)} ms  (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)})  ${detail}  [${result.stats.decisions} decisions, ${result.stats.conflicts} conflicts]`,
  );
  return result;
}

export default async function bench(): Promise<void> {
  const universe = generateUniverse();
  console.log(`universe: ${SDKS} SDKs x ${VERSIONS} versions = ${universe.length} releases`);

  // Solvable: three top-layer SDKs staged at new versions, each pulling in a deep dependency tree.
  const solvable: SdkRelease[] = [
    { name: 'app-maps', version: '1.0.0', dependencies: { sdk499: '*', sdk480: '*', sdk450: '>=2.0.0' } },
    { name: 'app-social', version: '1.0.0', dependencies: { sdk498: '*', sdk470: '*' } },
    { name: 'app-feed', version: '1.0.0', dependencies: { sdk497: '*', sdk400: '*', sdk300: '*' } },
  ];
  measure('solvable staged set (3 SDKs)', () => resolveSdks({ available: universe, staged: solvable }));

  // Unsolvable: two staged SDKs need different majors of a foundation SDK far down the graph.
  const unsolvable: SdkRelease[] = [
    { name: 'app-maps', version: '2.0.0', dependencies: { sdk499: '*', sdk3: '^1.0.0' } },
    { name: 'app-social', version: '1.3.0', dependencies: { sdk498: '*', sdk3: '^4.0.0' } },
  ];
  const conflict = measure('unsolvable staged set (2 SDKs)', () =>
    resolveSdks({ available: universe, staged: unsolvable }),
  );
  if (!conflict.ok)
    console.log(`explanation: ${conflict.explanation.slice(0, 400)}${conflict.explanation.length > 400 ? '…' : ''}`);

  // Deep conflict: newer sdk450 versions pull in sdk5 >=2 through several layers, so the solver backtracks through
  // versions of the intermediate SDKs before it can prove that no combination works.
  const deep: SdkRelease[] = [
    { name: 'app-maps', version: '3.0.0', dependencies: { sdk450: '>=3.0.0', sdk5: '<2.0.0' } },
  ];
  const deepConflict = measure('transitive conflict (backtracking)', () =>
    resolveSdks({ available: universe, staged: deep }),
  );
  if (!deepConflict.ok) console.log(`derivation:\n  ${deepConflict.derivation.join('\n  ')}`);
}
