import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { pipelineSchema } from '../../lambdas/core/config/schema';
import { planBuilds, type BuildRecord, type Push } from '../../lambdas/core/decide/autobuild';

// Issue 14, item 6: GitHub does not guarantee delivery order. Three pushes delivered newest first built the oldest
// commit while the revision listed all three; ten concurrent pushes built "burst 8", not the head "burst 9".
const pipeline = pipelineSchema.parse({
  pipeline: { name: 'shop', buildDebounce: '1s' },
  packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['make'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [{ name: 'Beta', environments: [{ name: 'Beta', deploy: { commands: ['deploy'] } }] }],
  promotions: [{ from: { application: 'web' }, to: 'Beta' }],
});

const sha = (label: string) => createHash('sha1').update(label).digest('hex');

/** A chain of pushes on main, each on top of the one before: c1 (before `base`), c2, ... */
function chain(prefix: string, count: number, base: string): Push[] {
  const pushes: Push[] = [];
  let before = base;
  for (let i = 1; i <= count; i++) {
    const commit = sha(`${prefix}${i}`);
    pushes.push({
      package: 'web',
      branch: 'main',
      commit,
      before,
      author: 'dev',
      message: `${prefix} ${i}`,
      commits: [{ id: commit, message: `${prefix} ${i}`, author: 'dev', timestamp: i }],
      receivedAt: 0,
      deliveryId: `${prefix}-${i}`,
    });
    before = commit;
  }
  return pushes;
}

/** Deterministic shuffle (Fisher-Yates over a small LCG), so a failure replays. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const lastBuild: BuildRecord = {
  id: 'b0',
  status: 'succeeded',
  startedAt: -10_000,
  finishedAt: -5_000,
  versionSet: { web: sha('base') },
  commits: [{ package: 'web', id: sha('base'), message: 'base', author: 'dev', timestamp: 0 }],
};

describe('AutoBuild with out-of-order and concurrent deliveries', () => {
  it('builds the head of three pushes delivered newest first, listing exactly the three commits oldest first', () => {
    const pushes = chain('ooo', 3, sha('base'))
      .reverse()
      .map((p, i) => ({ ...p, receivedAt: i * 100 }));
    const [request] = planBuilds(pipeline, pushes, { web: [lastBuild] }, 60_000).requests;
    expect(request?.versionSet).toEqual({ web: sha('ooo3') });
    expect(request?.commits.map((c) => c.message)).toEqual(['ooo 1', 'ooo 2', 'ooo 3']);
  });

  it('builds "burst 9" from ten concurrent pushes received in one millisecond, in any order', () => {
    const pushes = chain('burst', 10, sha('base')).map((p, i) => ({
      ...p,
      message: `burst ${i}`,
      commits: [{ ...p.commits![0]!, message: `burst ${i}` }],
    }));
    for (let seed = 1; seed <= 25; seed++) {
      const [request] = planBuilds(pipeline, shuffled(pushes, seed), { web: [lastBuild] }, 60_000).requests;
      expect(request?.versionSet).toEqual({ web: pushes[9]!.commit });
      expect(request?.commits.map((c) => c.message)).toEqual(pushes.map((p) => p.message));
    }
  });

  it('lists only commits after the head of the previous build when older pushes were built already', () => {
    const all = chain('c', 4, sha('base'));
    const built: BuildRecord = {
      id: 'b1',
      status: 'succeeded',
      startedAt: -1000,
      versionSet: { web: all[1]!.commit },
      commits: all.slice(0, 2).map((p) => ({ package: 'web', ...p.commits![0]! })),
    };
    const [request] = planBuilds(pipeline, shuffled(all, 7), { web: [lastBuild, built] }, 60_000).requests;
    expect(request?.versionSet).toEqual({ web: all[3]!.commit });
    expect(request?.commits.map((c) => c.message)).toEqual(['c 3', 'c 4']);
  });
});
