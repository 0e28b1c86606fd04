import { describe, expect, it } from '@jest/globals';
import { HostError } from '../../../lambdas/sdk/host/errors';
import { buildIndex, indexReleases, lookupVersion } from '../../../lambdas/sdk/host/package-index';
import { published, sha256 } from './fixtures';

const generatedAt = '2026-01-01T00:00:00.000Z';

describe('buildIndex', () => {
  const index = buildIndex(
    [
      published('maps', '1.0.0', { supported: false }),
      published('maps', '2.1.0', { tier: 'early-access', dependencies: { analytics: '^7.0.0' } }),
      published('maps', '2.0.0', { dependencies: { analytics: '^7.0.0' } }),
      published('maps', '3.0.0-beta.1', { tier: 'private' }),
      published('analytics', '7.0.2', { deprecatedInFavorOf: 'telemetry' }),
    ],
    { generatedAt },
  );

  it('lists SDKs by name and versions newest first, with tier, checksum and key', () => {
    expect(index.sdks.map((s) => s.name)).toEqual(['analytics', 'maps']);
    const maps = index.sdks[1]!;
    expect(maps.versions.map((v) => [v.version, v.tier])).toEqual([
      ['3.0.0-beta.1', 'private'],
      ['2.1.0', 'early-access'],
      ['2.0.0', 'public'],
    ]);
    expect(maps.versions[1]!.files).toEqual([
      {
        name: 'maps-2.1.0.zip',
        key: 'early-access/maps/2.1.0/maps-2.1.0.zip',
        sha256: sha256('maps-2.1.0 archive bytes'),
        size: 24,
      },
    ]);
    expect(maps.latest).toBe('2.1.0');
  });

  it('withdraws unsupported versions: absent from the versions, listed with the keys to delete', () => {
    const maps = index.sdks[1]!;
    expect(maps.versions.some((v) => v.version === '1.0.0')).toBe(false);
    expect(maps.withdrawn).toEqual([{ version: '1.0.0', keys: ['public/maps/1.0.0/maps-1.0.0.zip'] }]);
    expect(lookupVersion(index, 'maps', '1.0.0').found).toBe('withdrawn');
    expect(indexReleases(index).some((r) => r.name === 'maps' && r.version === '1.0.0')).toBe(false);
  });

  it('carries deprecations at SDK and version level', () => {
    expect(index.sdks[0]).toMatchObject({ deprecated: true, deprecatedInFavorOf: 'telemetry' });
    expect(index.sdks[0]!.versions[0]).toMatchObject({ deprecated: true, deprecatedInFavorOf: 'telemetry' });
  });

  it('is the same whatever order the packages come in', () => {
    const a = buildIndex([published('b', '1.0.0'), published('a', '1.0.0'), published('a', '2.0.0')], { generatedAt });
    const b = buildIndex([published('a', '2.0.0'), published('b', '1.0.0'), published('a', '1.0.0')], { generatedAt });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('refuses a version published twice and a file name that cannot be a key', () => {
    expect(() => buildIndex([published('maps', '2.0.0'), published('maps', '2.0.0')], { generatedAt })).toThrow(
      HostError,
    );
    const bad = published('maps', '2.0.0');
    expect(() =>
      buildIndex([{ ...bad, files: [{ ...bad.files[0]!, name: '../escape.zip' }] }], { generatedAt }),
    ).toThrow(/cannot be an object key/);
  });
});
