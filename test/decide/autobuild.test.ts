import { describe, expect, it } from '@jest/globals';
import { BUILD_DEBOUNCE_CAP, planBuilds, type BuildRecord, type Push } from '../../lambdas/core/decide/autobuild';
import { threeStagePipeline } from './fixtures';

const T0 = Date.parse('2024-01-03T12:00:00Z');
const S = 1000;
const DEBOUNCE = 30 * S; // threeStagePipeline: buildDebounce 30s
const pipeline = threeStagePipeline();

let seq = 0;
function push(pkg: string, commit: string, at: number, extra: Partial<Push> = {}): Push {
  const branch = pkg === 'b-core' ? 'release' : 'main';
  return {
    package: pkg,
    branch,
    commit,
    author: `${commit}-dev`,
    message: `change ${commit}`,
    receivedAt: at,
    deliveryId: `d-${++seq}`,
    ...extra,
  };
}

function build(
  id: string,
  status: BuildRecord['status'],
  startedAt: number,
  versionSet: Record<string, string>,
  commits: Array<[string, string]>,
): BuildRecord {
  return {
    id,
    status,
    startedAt,
    versionSet,
    commits: commits.map(([pkg, c]) => ({
      package: pkg,
      id: c,
      message: '',
      author: `${c}-dev`,
      timestamp: startedAt,
    })),
  };
}

describe('planBuilds', () => {
  it('groups pushes to several packages of one application within the debounce into one build request', () => {
    const pushes = [push('a-core', 'a1', T0), push('a-core', 'a2', T0 + 10 * S)];
    const early = planBuilds(pipeline, pushes, {}, T0 + 20 * S);
    expect(early.requests).toEqual([]);
    expect(early.lookAgainAt).toBe(T0 + 10 * S + DEBOUNCE);

    const plan = planBuilds(pipeline, pushes, {}, T0 + 40 * S);
    expect(plan.requests).toHaveLength(1);
    expect(plan.requests[0]).toMatchObject({
      application: 'A',
      versionSet: { 'a-core': 'a2' },
      authors: ['a1-dev', 'a2-dev'],
    });
    expect(plan.requests[0]!.commits.map((c) => c.id)).toEqual(['a1', 'a2']);
  });

  it('builds the latest head when two pushes to a branch arrive in the same millisecond, whatever order they are stored in', () => {
    const first = push('a-core', 'a1', T0, { before: 'a0' });
    const second = push('a-core', 'a2', T0, { before: 'a1' });
    for (const stored of [
      [first, second],
      [second, first],
    ]) {
      const plan = planBuilds(pipeline, stored, {}, T0 + DEBOUNCE);
      expect(plan.requests[0]!.versionSet).toEqual({ 'a-core': 'a2' });
      expect(plan.requests[0]!.commits.map((c) => c.id)).toEqual(['a1', 'a2']);
    }
  });

  it('builds a steady stream of pushes at the latest after the debounce cap', () => {
    const pushes = Array.from({ length: 20 }, (_, i) => push('a-core', `a${i}`, T0 + i * 10 * S));
    const capAt = T0 + BUILD_DEBOUNCE_CAP * DEBOUNCE;
    expect(
      planBuilds(
        pipeline,
        pushes.filter((p) => p.receivedAt <= capAt - S),
        {},
        capAt - S,
      ).requests,
    ).toEqual([]);
    const plan = planBuilds(
      pipeline,
      pushes.filter((p) => p.receivedAt <= capAt),
      {},
      capAt,
    );
    expect(plan.requests).toHaveLength(1);
  });

  it('builds each application that uses a pushed package', () => {
    const plan = planBuilds(pipeline, [push('shared', 's1', T0)], {}, T0 + DEBOUNCE);
    expect(plan.requests.map((r) => r.application)).toEqual(['A', 'B']);
  });

  it('never triggers on a package with autoBuild off or on an untracked branch', () => {
    const pushes = [
      push('docs', 'd1', T0),
      push('a-core', 'x1', T0, { branch: 'feature/x' }),
      push('b-core', 'b1', T0, { branch: 'main' }),
    ];
    const plan = planBuilds(pipeline, pushes, {}, T0 + DEBOUNCE);
    expect(plan.requests).toEqual([]);
    expect(plan.lookAgainAt).toBeNull();
  });

  it('counts a repeated delivery or a repeated commit once', () => {
    const first = push('a-core', 'a1', T0);
    const pushes = [first, { ...first, receivedAt: T0 + 20 * S }, push('a-core', 'a1', T0 + 25 * S)];
    const plan = planBuilds(pipeline, pushes, {}, T0 + DEBOUNCE);
    expect(plan.requests).toHaveLength(1); // the duplicates did not extend the quiet period
    expect(plan.requests[0]!.commits).toHaveLength(1);
    expect(plan.requests[0]!.deliveryIds).toEqual([first.deliveryId]);
  });

  it('takes untouched packages from the last build and overlays the latest pushed commit per package', () => {
    const history = {
      A: [build('b1', 'succeeded', T0 - 100 * S, { 'a-core': 'a0', shared: 's0', docs: 'd0' }, [['a-core', 'a0']])],
    };
    const plan = planBuilds(
      pipeline,
      [push('shared', 's1', T0), push('shared', 's2', T0 + 5 * S)],
      history,
      T0 + 60 * S,
    );
    const a = plan.requests.find((r) => r.application === 'A')!;
    expect(a.versionSet).toEqual({ 'a-core': 'a0', shared: 's2', docs: 'd0' });
    expect(a.retryOf).toBeUndefined();
  });

  it('starts nothing while a build of the application runs, and builds the pending pushes after it ends', () => {
    const running = build('b1', 'running', T0, { 'a-core': 'a1' }, [['a-core', 'a1']]);
    const pushes = [push('a-core', 'a1', T0 - DEBOUNCE), push('a-core', 'a2', T0 + 10 * S)];
    const during = planBuilds(pipeline, pushes, { A: [running] }, T0 + 60 * S);
    expect(during.requests).toEqual([]);
    expect(during.applications[0]).toEqual({ application: 'A', state: 'running', build: 'b1', pending: 1 });

    const after = planBuilds(pipeline, pushes, { A: [{ ...running, status: 'succeeded' }] }, T0 + 60 * S);
    expect(after.requests).toHaveLength(1);
    expect(after.requests[0]!.commits.map((c) => c.id)).toEqual(['a2']);
  });

  it('does not rebuild a failed build on its own, and retries it with the next change', () => {
    const failed = build('b2', 'failed', T0, { 'a-core': 'a1', shared: 's0' }, [['a-core', 'a1']]);
    const pushes = [push('a-core', 'a1', T0 - DEBOUNCE)];
    expect(planBuilds(pipeline, pushes, { A: [failed] }, T0 + 600 * S).requests).toEqual([]);

    const fix = push('shared', 's1', T0 + 100 * S, { author: 'fixer' });
    const plan = planBuilds(pipeline, [...pushes, fix], { A: [failed] }, T0 + 200 * S);
    const a = plan.requests.find((r) => r.application === 'A')!;
    expect(a.retryOf).toBe('b2');
    expect(a.versionSet).toEqual({ 'a-core': 'a1', shared: 's1' });
    expect(a.commits.map((c) => c.id)).toEqual(['a1', 's1']);
    expect(a.authors).toEqual(['a1-dev', 'fixer']);
  });

  it('gives the same request id for the same pending pushes, so a repeated pass starts nothing twice', () => {
    const pushes = [push('a-core', 'a1', T0)];
    const one = planBuilds(pipeline, pushes, {}, T0 + DEBOUNCE);
    const two = planBuilds(pipeline, [...pushes].reverse(), {}, T0 + 2 * DEBOUNCE);
    expect(one.requests[0]!.requestId).toBe(two.requests[0]!.requestId);
  });
});
