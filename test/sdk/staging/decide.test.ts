import { describe, expect, it } from '@jest/globals';
import {
  contentsKey,
  decideBatch,
  decideStaging,
  recheckWaiting,
  type StagedPackage,
  type StagingArea,
} from '../../../lambdas/sdk/staging/decide';
import type { PackageContents } from '../../../lambdas/sdk/staging/duplicates';
import { StagingError } from '../../../lambdas/sdk/staging/errors';
import { sdk } from './fixtures';

const analytics6 = sdk('analytics', '6.1.0');
const analytics7 = sdk('analytics', '7.0.2');
const geo = sdk('geo', '3.1.0', { analytics: '^6.0.0' });

const staged = (
  metadata: StagedPackage['metadata'],
  status: StagedPackage['status'] = 'CONVERTED',
  batchId?: string,
): StagedPackage => ({
  metadata,
  status,
  batchId,
});

describe('decideStaging', () => {
  it('makes a package wait for a missing dependency, naming the range and what exists', () => {
    const area: StagingArea = {
      published: [analytics6],
      staged: [staged(sdk('social', '1.3.0', { analytics: '^7.0.0' }))],
    };
    const decision = decideStaging(area, { name: 'social', version: '1.3.0' });
    expect(decision.status).toBe('WAITING');
    expect(decision.reason).toBe('waiting for analytics ^7.0.0 (required by social 1.3.0; available: 6.1.0)');
  });

  it('lists every missing direct dependency at once', () => {
    const area: StagingArea = {
      published: [analytics6],
      staged: [staged(sdk('social', '1.3.0', { analytics: '^7.0.0', crash: '^1.0.0' }))],
    };
    const decision = decideStaging(area, { name: 'social', version: '1.3.0' });
    expect(decision.status === 'WAITING' && decision.missing.map((m) => `${m.name} ${m.range}`)).toEqual([
      'analytics ^7.0.0',
      'crash ^1.0.0',
    ]);
  });

  it('waits when a dependency deeper in the tree is missing', () => {
    const area: StagingArea = {
      published: [],
      staged: [staged(sdk('maps', '2.0.0', { geo: '^3.0.0' })), staged(geo, 'WAITING')],
    };
    const decision = decideStaging(area, { name: 'maps', version: '2.0.0' });
    expect(decision.status).toBe('WAITING');
    expect(decision.reason).toContain('waiting for analytics ^6.0.0 (required by geo 3.1.0; available: none)');
  });

  it('moves a waiting package on by itself when its dependency arrives', () => {
    const social = staged(sdk('social', '1.3.0', { analytics: '^7.0.0' }), 'WAITING');
    const before: StagingArea = { published: [analytics6], staged: [social] };
    expect(recheckWaiting(before, [])).toEqual([]);

    const after: StagingArea = { published: [analytics6, analytics7], staged: [social] };
    const moved = recheckWaiting(after, [{ name: 'analytics', version: '7.0.2' }]);
    expect(moved).toHaveLength(1);
    expect(moved[0]!.refs).toEqual([{ name: 'social', version: '1.3.0' }]);
    expect(moved[0]!.decision).toMatchObject({
      status: 'READY',
      resolved: [
        { name: 'analytics', version: '7.0.2' },
        { name: 'social', version: '1.3.0' },
      ],
    });
    expect(moved[0]!.decision.reason).toContain('after analytics 7.0.2 arrived');
  });

  it('releases a chain of waiting packages when the last dependency arrives', () => {
    const area: StagingArea = {
      published: [analytics6],
      staged: [
        staged(sdk('maps', '2.0.0', { geo: '^3.0.0' }), 'WAITING'),
        staged(sdk('geo', '3.1.0', { analytics: '^6.0.0', tiles: '^1.0.0' }), 'WAITING'),
        staged(sdk('tiles', '1.0.0'), 'READY'),
      ],
    };
    const moved = recheckWaiting(area, [{ name: 'tiles', version: '1.0.0' }]);
    expect(moved.map((t) => [t.refs[0]!.name, t.decision.status])).toEqual([
      ['geo', 'READY'],
      ['maps', 'READY'],
    ]);
  });

  it('reports a conflict with the chain of requirements, the available versions and the owners to notify', () => {
    const area: StagingArea = {
      published: [analytics6, analytics7, geo],
      staged: [
        staged(sdk('maps', '2.0.0', { geo: '^3.0.0' }), 'READY'),
        staged(sdk('social', '1.3.0', { analytics: '^7.0.0' })),
      ],
    };
    const decision = decideStaging(area, { name: 'social', version: '1.3.0' });
    expect(decision.status).toBe('CONFLICT');
    if (decision.status !== 'CONFLICT') return;
    expect(decision.explanation).toContain('maps 2.0.0 (staged) requires geo ^3.0.0');
    expect(decision.explanation).toContain('geo 3.1.0 requires analytics ^6.0.0');
    expect(decision.explanation).toContain('social 1.3.0 (staged) requires analytics ^7.0.0');
    expect(decision.explanation).toContain(
      'no version of analytics satisfies both ^6.0.0 and ^7.0.0 (available: 6.1.0, 7.0.2)',
    );
    expect(decision.involved).toEqual([
      { name: 'analytics', contacts: ['analytics-team@example.com'] },
      { name: 'geo', contacts: ['geo-team@example.com'] },
      { name: 'maps', contacts: ['maps-team@example.com'] },
      { name: 'social', contacts: ['social-team@example.com'] },
    ]);
  });

  it('does not hold a package back for staged packages that are themselves waiting or failed', () => {
    const area: StagingArea = {
      published: [analytics6, analytics7, geo],
      staged: [
        staged(sdk('maps', '2.0.0', { geo: '^3.0.0' }), 'TEST_FAILED'),
        staged(sdk('social', '1.3.0', { analytics: '^7.0.0' })),
      ],
    };
    expect(decideStaging(area, { name: 'social', version: '1.3.0' }).status).toBe('READY');
  });

  it('reports two SDKs embedding the same library as a conflict with the fix', () => {
    const crashlog = { path: 'Frameworks/libcrashlog.a', sha256: 'ab'.repeat(32), size: 48_000 };
    const contents = new Map<string, PackageContents>([
      [contentsKey({ name: 'maps', version: '2.0.0' }), { files: [crashlog], symbols: ['_crashlog_init'] }],
      [
        contentsKey({ name: 'social', version: '1.3.0' }),
        { files: [{ ...crashlog, path: 'lib/libcrashlog.a' }], symbols: ['_crashlog_init'] },
      ],
    ]);
    const area: StagingArea = {
      published: [analytics7],
      staged: [staged(sdk('maps', '2.0.0'), 'READY'), staged(sdk('social', '1.3.0', { analytics: '^7.0.0' }))],
      contents,
    };
    const decision = decideStaging(area, { name: 'social', version: '1.3.0' });
    expect(decision.status).toBe('CONFLICT');
    if (decision.status !== 'CONFLICT') return;
    expect(decision.explanation).toContain('maps 2.0.0 and social 1.3.0 both embed crashlog');
    expect(decision.explanation).toContain(
      'publish crashlog as its own SDK package that maps and social both depend on',
    );
    expect(decision.involved.map((s) => s.name)).toEqual(['maps', 'social']);
  });

  it('refuses to decide a package that is not staged', () => {
    expect(() => decideStaging({ published: [], staged: [] }, { name: 'maps', version: '9.9.9' })).toThrow(
      StagingError,
    );
  });
});

describe('decideBatch', () => {
  it('publishes a batch all together, dependencies first, when every member resolves', () => {
    const area: StagingArea = {
      published: [],
      staged: [
        staged(sdk('maps', '2.0.0', { analytics: '^7.0.0', geo: '^3.0.0' }), 'CONVERTED', 'release-42'),
        staged(sdk('geo', '3.2.0', { analytics: '^7.0.0' }), 'CONVERTED', 'release-42'),
        staged(sdk('analytics', '7.0.0'), 'CONVERTED', 'release-42'),
      ],
    };
    const batch = decideBatch(area, 'release-42');
    expect(batch.decision.status).toBe('READY');
    expect(batch.publishPlan.map((r) => r.name)).toEqual(['analytics', 'geo', 'maps']);
    expect(batch.members.every((m) => m.status === 'READY')).toBe(true);
  });

  it('holds the whole batch when one member waits, with that member’s reason', () => {
    const area: StagingArea = {
      published: [analytics7],
      staged: [
        staged(sdk('maps', '2.0.0', { analytics: '^7.0.0' }), 'CONVERTED', 'release-43'),
        staged(sdk('social', '1.3.0', { crash: '^2.0.0' }), 'CONVERTED', 'release-43'),
      ],
    };
    const batch = decideBatch(area, 'release-43');
    expect(batch.decision.status).toBe('WAITING');
    expect(batch.publishPlan).toEqual([]);
    const byName = Object.fromEntries(batch.members.map((m) => [m.ref.name, m]));
    expect(byName.social).toMatchObject({
      status: 'WAITING',
      reason: 'waiting for crash ^2.0.0 (required by social 1.3.0; available: none)',
    });
    expect(byName.maps).toMatchObject({
      status: 'WAITING',
      reason: expect.stringContaining('held with batch release-43: waiting for crash ^2.0.0'),
    });
  });

  it('holds the whole batch when two members conflict', () => {
    const area: StagingArea = {
      published: [analytics6, analytics7, geo],
      staged: [
        staged(sdk('maps', '2.0.0', { geo: '^3.0.0' }), 'CONVERTED', 'release-44'),
        staged(sdk('social', '1.3.0', { analytics: '^7.0.0' }), 'CONVERTED', 'release-44'),
      ],
    };
    const batch = decideBatch(area, 'release-44');
    expect(batch.decision.status).toBe('CONFLICT');
    expect(batch.publishPlan).toEqual([]);
    expect(batch.members.map((m) => m.status)).toEqual(['CONFLICT', 'CONFLICT']);
  });

  it('releases a waiting batch as one when the missing dependency arrives', () => {
    const members = [
      staged(sdk('maps', '2.0.0', { analytics: '^7.0.0' }), 'WAITING', 'release-45'),
      staged(sdk('social', '1.3.0', { crash: '^2.0.0' }), 'WAITING', 'release-45'),
    ];
    const moved = recheckWaiting({ published: [analytics7, sdk('crash', '2.1.0')], staged: members }, [
      { name: 'crash', version: '2.1.0' },
    ]);
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ batchId: 'release-45', decision: { status: 'READY' } });
    expect(moved[0]!.refs.map((r) => r.name)).toEqual(['maps', 'social']);
  });
});

describe('false conflicts and their recovery (issue 14, item 16)', () => {
  const maps = sdk('maps', '1.0.0', { analytics: '>=7' });
  const analytics64 = sdk('analytics', '6.4.0');
  const analytics70 = sdk('analytics', '7.0.0');
  const ref = { name: 'maps', version: '1.0.0' };

  it('replays the maps/analytics sequence: a staged analytics 6.4.0 is no conflict, and maps moves on when 7.0.0 comes', () => {
    // maps 1.0.0 needs only analytics >=7 and waits for it.
    const waiting: StagingArea = { published: [], staged: [staged(maps, 'WAITING')] };
    expect(decideStaging(waiting, ref).status).toBe('WAITING');

    // analytics 6.4.0 is staged and tested: maps still waits (6.4.0 is one more version, not a requirement).
    const with64: StagingArea = { published: [], staged: [staged(maps, 'WAITING'), staged(analytics64, 'TESTING')] };
    expect(recheckWaiting(with64, [{ name: 'analytics', version: '6.4.0' }])).toEqual([]);
    const decision = decideStaging(with64, ref);
    expect(decision.status).toBe('WAITING');
    expect(decision.reason).toBe('waiting for analytics >=7 (required by maps 1.0.0; available: 6.4.0)');

    // analytics 7.0.0 is staged while 6.4.0 is still on its way: maps resolves with 7.0.0, no conflict with 6.4.0.
    const with70: StagingArea = {
      published: [],
      staged: [staged(maps, 'WAITING'), staged(analytics70, 'TESTING'), staged(analytics64, 'READY')],
    };
    const moved = recheckWaiting(with70, [{ name: 'analytics', version: '7.0.0' }]);
    expect(moved).toHaveLength(1);
    expect(moved[0]!.decision).toMatchObject({
      status: 'READY',
      resolved: [{ name: 'analytics', version: '7.0.0' }, ref],
    });
  });

  it('clears a recorded CONFLICT by itself once the published set allows it', () => {
    // What the old code recorded: maps in CONFLICT with a staged analytics 6.4.0.
    const before: StagingArea = { published: [analytics64], staged: [staged(maps, 'CONFLICT')] };
    const toWaiting = recheckWaiting(before, [{ name: 'analytics', version: '6.4.0' }]);
    expect(toWaiting).toMatchObject([{ refs: [ref], from: 'CONFLICT', decision: { status: 'WAITING' } }]);

    const after: StagingArea = { published: [analytics64, analytics70], staged: [staged(maps, 'CONFLICT')] };
    const cleared = recheckWaiting(after, [{ name: 'analytics', version: '7.0.0' }]);
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatchObject({
      refs: [ref],
      from: 'CONFLICT',
      decision: { status: 'READY', resolved: [{ name: 'analytics', version: '7.0.0' }, ref] },
    });
    expect(cleared[0]!.decision.reason).toContain('after analytics 7.0.0 arrived');
  });

  it('leaves a real conflict in CONFLICT when it is re-checked', () => {
    const area: StagingArea = {
      published: [analytics6, analytics7, geo],
      staged: [
        staged(sdk('maps', '2.0.0', { geo: '^3.0.0' }), 'CONFLICT', 'release-9'),
        staged(sdk('social', '1.3.0', { analytics: '^7.0.0' }), 'CONFLICT', 'release-9'),
      ],
    };
    expect(recheckWaiting(area, [])).toEqual([]);
  });
});

describe('duplicate embedded libraries against what is published (issue 14, item 13)', () => {
  const tinyjson = { path: 'lib/libtinyjson.a', sha256: 'cd'.repeat(32), size: 20_000 };
  const linux = (name: string, version: string, extra: Partial<StagedPackage['metadata']> = {}) =>
    sdk(
      name,
      version,
      {},
      { platform: { name: 'linux', minimumVersion: '5.10', architectures: ['x86_64'] }, ...extra },
    );
  const contentsOf = (entries: Array<[string, string, PackageContents]>) =>
    new Map(entries.map(([name, version, c]) => [contentsKey({ name, version }), c]));

  it('refuses a package that embeds a library a published SDK it does not depend on embeds too', () => {
    const area: StagingArea = {
      published: [linux('parser', '1.0.0')],
      staged: [staged(linux('config', '2.0.0'))],
      contents: contentsOf([
        ['parser', '1.0.0', { files: [tinyjson] }],
        ['config', '2.0.0', { files: [{ ...tinyjson, path: 'lib/vendor/libtinyjson.a' }] }],
      ]),
    };
    const decision = decideStaging(area, { name: 'config', version: '2.0.0' });
    expect(decision.status).toBe('CONFLICT');
    expect(decision.reason).toContain('config 2.0.0 and parser 1.0.0 both embed tinyjson');
    expect(decision.status === 'CONFLICT' && decision.involved.map((s) => s.name)).toEqual(['config', 'parser']);
  });

  it('finds duplicate symbols against a published SDK as well', () => {
    const area: StagingArea = {
      published: [linux('parser', '1.0.0')],
      staged: [staged(linux('config', '2.0.0'))],
      contents: contentsOf([
        ['parser', '1.0.0', { files: [], symbols: ['tinyjson_parse', 'tinyjson_free'] }],
        ['config', '2.0.0', { files: [], symbols: ['tinyjson_parse', 'config_load'] }],
      ]),
    };
    expect(decideStaging(area, { name: 'config', version: '2.0.0' }).reason).toContain(
      '1 symbol defined in both (tinyjson_parse)',
    );
  });

  it('checks only the newest published version of another SDK, and only SDKs of the same platform', () => {
    const area: StagingArea = {
      published: [linux('parser', '1.0.0'), linux('parser', '1.1.0'), sdk('ios-json', '3.0.0')],
      staged: [staged(linux('config', '2.0.0'))],
      contents: contentsOf([
        ['parser', '1.0.0', { files: [tinyjson] }],
        ['parser', '1.1.0', { files: [] }],
        ['ios-json', '3.0.0', { files: [tinyjson] }],
        ['config', '2.0.0', { files: [tinyjson] }],
      ]),
    };
    expect(decideStaging(area, { name: 'config', version: '2.0.0' }).status).toBe('READY');
  });

  it('clears a duplicate-library CONFLICT when the other SDK is withdrawn', () => {
    const contents = contentsOf([
      ['parser', '1.0.0', { files: [tinyjson] }],
      ['config', '2.0.0', { files: [tinyjson] }],
    ]);
    const stagedConfig = staged(linux('config', '2.0.0'), 'CONFLICT');
    expect(recheckWaiting({ published: [linux('parser', '1.0.0')], staged: [stagedConfig], contents }, [])).toEqual([]);
    const moved = recheckWaiting({ published: [], staged: [stagedConfig], contents }, [
      { name: 'parser', version: '1.0.0' },
    ]);
    expect(moved).toMatchObject([{ from: 'CONFLICT', decision: { status: 'READY' } }]);
  });
});
