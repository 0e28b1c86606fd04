import { describe, expect, it } from '@jest/globals';
import semver from 'semver';
import { toCocoaPodsRequirements } from '../../../lambdas/sdk/converter';
import { MetadataError, parseSdkMetadata, type MetadataProblem } from '../../../lambdas/sdk/metadata';
import { goodMetadata } from './fixtures';

const existing = new Set(['analytics', 'acme-maps-legacy', 'acme-maps-v2']);
const sdkExists = (name: string) => existing.has(name);

function parse(meta: Record<string, unknown>) {
  return parseSdkMetadata(JSON.stringify(meta), { fileName: 'lockstep-sdk.json', sdkExists });
}

function problemsOf(meta: Record<string, unknown>): MetadataProblem[] {
  try {
    parse(meta);
  } catch (error) {
    expect(error).toBeInstanceOf(MetadataError);
    return [...(error as MetadataError).problems];
  }
  throw new Error('expected a MetadataError');
}

function fieldsOf(meta: Record<string, unknown>): string[] {
  return problemsOf(meta).map((p) => p.field);
}

describe('SDK metadata rules', () => {
  it('accepts compliant metadata and fills the defaults', () => {
    const { tier: _tier, ...withoutTier } = goodMetadata();
    const metadata = parse(withoutTier);
    expect(metadata).toMatchObject({ name: 'acme-maps', version: '6.2.0', dependencies: { analytics: '^6.0.0' } });
    expect(metadata.tier).toBe('private');
    expect(metadata.deprecated).toBe(false);
    expect(metadata.supported).toBe(true);
    expect(metadata.platform).toEqual({ name: 'ios', minimumVersion: '15.0', architectures: ['arm64', 'x86_64'] });
  });

  it('reports every missing required key, each with a fix', () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.field).sort()).toEqual(
      [
        'authors',
        'contact',
        'description',
        'homepage',
        'license',
        'name',
        'platform',
        'publicName',
        'summary',
        'version',
      ].sort(),
    );
    expect(problems.every((p) => p.message === 'is required' && p.fix.length > 0)).toBe(true);
    expect(fieldsOf(goodMetadata({ platform: {} }))).toEqual([
      'platform.name',
      'platform.minimumVersion',
      'platform.architectures',
    ]);
  });

  it('reports all problems of one document at once, each naming its field', () => {
    const problems = problemsOf(
      goodMetadata({
        name: 'Acme_Maps',
        version: 'v6.2',
        homepage: 'http://maps.example.com',
        contact: 'not-an-email',
        tier: 'secret',
        platform: { name: 'ios', minimumVersion: 'latest', architectures: ['arm64', 'sparc'] },
      }),
    );
    expect(problems.map((p) => p.field)).toEqual([
      'name',
      'version',
      'homepage',
      'contact',
      'platform.minimumVersion',
      'platform.architectures[1]',
      'tier',
    ]);
    for (const p of problems) expect(p.fix).not.toBe('');
  });

  it('names unknown fields and suggests the camelCase name', () => {
    const problems = problemsOf(goodMetadata({ public_name: 'Acme Maps', colour: 'blue' }));
    expect(problems).toContainEqual(
      expect.objectContaining({ field: 'public_name', fix: expect.stringContaining('"publicName"') }),
    );
    expect(problems).toContainEqual(expect.objectContaining({ field: 'colour', message: 'is not a metadata field' }));
  });

  describe('summary and description', () => {
    it('accepts a summary shorter than the description and at most 140 characters', () => {
      expect(() => parse(goodMetadata({ summary: 's'.repeat(140), description: 'd'.repeat(141) }))).not.toThrow();
    });
    it('refuses a summary over 140 characters', () => {
      expect(problemsOf(goodMetadata({ summary: 's'.repeat(141), description: 'd'.repeat(500) }))).toEqual([
        expect.objectContaining({ field: 'summary', message: expect.stringContaining('141 characters') }),
      ]);
    });
    it('refuses a summary as long as the description', () => {
      expect(problemsOf(goodMetadata({ summary: 'Maps.', description: 'Maps.' }))).toEqual([
        expect.objectContaining({
          field: 'summary',
          message: expect.stringContaining('not shorter than the description'),
        }),
      ]);
    });
  });

  describe('homepage', () => {
    it.each(['https://maps.example.com', 'https://example.com/sdk/maps?tab=docs'])('accepts %s', (homepage) => {
      expect(() => parse(goodMetadata({ homepage }))).not.toThrow();
    });
    it.each([
      ['http://maps.example.com', 'does not use https'],
      ['maps.example.com', 'is not a URL'],
      ['ftp://maps.example.com', 'does not use https'],
      ['https://user:pw@maps.example.com', 'holds credentials'],
      ['https://localhost/sdk', 'not a public host name'],
    ])('refuses %s', (homepage, message) => {
      expect(problemsOf(goodMetadata({ homepage }))).toEqual([
        expect.objectContaining({ field: 'homepage', message: expect.stringContaining(message) }),
      ]);
    });
  });

  describe('version', () => {
    // Build metadata is valid semver and kept as written; the upload API refuses a second build of one precedence.
    it.each(['6.2.0', '0.1.0', '7.0.0-beta.1', '1.2.3+build.5', '1.2.3-rc.1+exp.sha.5114f85'])(
      'accepts %s',
      (version) => {
        expect(parse(goodMetadata({ version })).version).toBe(version);
      },
    );
    it.each(['6.2', 'v6.2.0', ' 6.2.0', '=6.2.0', '6.2.0.1', 'latest', '06.2.0', '1.0.0+', '1.0.0+build..5'])(
      'refuses %j',
      (version) => {
        expect(fieldsOf(goodMetadata({ version }))).toContain('version');
      },
    );
  });

  describe('public name', () => {
    it.each(['Acme Maps', 'Acme Maps SDK', 'X-Ray Kit 2', 'Go'])('accepts %j', (publicName) => {
      expect(() => parse(goodMetadata({ publicName }))).not.toThrow();
    });
    it.each([
      ['A', 'has 1 characters'],
      ['x'.repeat(51), 'has 51 characters'],
      ['2Maps', 'not a valid public name'],
      ['Acme  Maps', 'not a valid public name'],
      ['Acme Maps ', 'leading or trailing spaces'],
      ['Acme_Maps!', 'not a valid public name'],
      ['SDK', 'only of reserved words'],
      ['The Kit', 'only of reserved words'],
    ])('refuses %j', (publicName, message) => {
      expect(problemsOf(goodMetadata({ publicName }))).toContainEqual(
        expect.objectContaining({ field: 'publicName', message: expect.stringContaining(message) }),
      );
    });
  });

  describe('name', () => {
    it.each(['maps', 'acme-maps', 'a1', 'x'.repeat(50)])('accepts %j', (name) => {
      expect(() => parse(goodMetadata({ name }))).not.toThrow();
    });
    it.each(['Maps', 'm', '1maps', 'acme--maps', 'acme-', 'acme_maps', 'x'.repeat(51)])('refuses %j', (name) => {
      expect(fieldsOf(goodMetadata({ name }))).toEqual(['name']);
    });
  });

  describe('prerelease tier', () => {
    it('sends a prerelease of a public SDK to early access, and keeps releases public', () => {
      expect(parse(goodMetadata({ version: '1.2.3-beta.1', tier: 'public' })).tier).toBe('early-access');
      expect(parse(goodMetadata({ version: '1.2.3', tier: 'public' })).tier).toBe('public');
      expect(parse(goodMetadata({ version: '1.2.3-beta.1', tier: 'private' })).tier).toBe('private');
    });
    it('follows prereleaseTier when the provider says otherwise', () => {
      expect(parse(goodMetadata({ version: '1.2.3-beta.1', tier: 'public', prereleaseTier: 'public' })).tier).toBe(
        'public',
      );
      expect(fieldsOf(goodMetadata({ version: '1.2.3-beta.1', prereleaseTier: 'everyone' }))).toEqual([
        'prereleaseTier',
      ]);
    });
  });

  describe('license', () => {
    it.each([
      'Apache-2.0',
      'MIT',
      'MIT OR Apache-2.0',
      '(MIT OR Apache-2.0) AND BSD-3-Clause',
      'GPL-2.0-only WITH Classpath-exception-2.0',
      'LicenseRef-Acme-Commercial',
    ])('accepts the SPDX expression %j', (license) => {
      expect(() => parse(goodMetadata({ license }))).not.toThrow();
    });
    it.each([
      ['Apache 2', 'Apache-2.0'],
      ['GPLv3', 'GPL-3.0-or-later'],
      ['MTI', 'MIT'],
      ['BSD-3-Clausee', 'BSD-3-Clause'],
    ])('refuses %j and suggests the nearest SPDX id %j', (license, suggestion) => {
      const problems = problemsOf(goodMetadata({ license }));
      expect(problems).toEqual([
        expect.objectContaining({ field: 'license', message: `"${license}" is not an SPDX license expression` }),
      ]);
      expect(problems[0]!.fix).toMatch(
        new RegExp(`^use "${suggestion.replace(/[.+]/g, '\\$&')}" if that is the license`),
      );
    });
  });

  describe('dependencies', () => {
    it('accepts valid ranges and no dependencies at all', () => {
      expect(
        parse(goodMetadata({ dependencies: { analytics: '~6.1.3', 'acme-core': '>=1.0.0 <3.0.0', net: '*' } }))
          .dependencies,
      ).toEqual({
        analytics: '~6.1.3',
        'acme-core': '>=1.0.0 <3.0.0',
        net: '*',
      });
      const { dependencies: _d, ...none } = goodMetadata();
      expect(parse(none).dependencies).toEqual({});
    });
    it('refuses invalid ranges, a dependency on itself, bad names and unions', () => {
      const problems = problemsOf(
        goodMetadata({
          dependencies: {
            analytics: 'six',
            'acme-maps': '^1.0.0',
            Bad_Name: '^1.0.0',
            social: '^6.0.0 || ^7.0.0',
            empty: '',
          },
        }),
      );
      expect(problems.map((p) => [p.field, p.message])).toEqual([
        ['dependencies.analytics', '"six" is not a valid semver range'],
        ['dependencies.acme-maps', 'the SDK depends on itself'],
        ['dependencies.Bad_Name', '"Bad_Name" is not a valid SDK name'],
        ['dependencies.social', expect.stringContaining('union')],
        ['dependencies.empty', '"" is not a valid semver range'],
      ]);
    });
    it('reads CocoaPods\' pessimistic operator with CocoaPods\' meaning, so "~> 6.0" accepts 6.4.0 and stops before 7', () => {
      const { dependencies } = parse(
        goodMetadata({
          dependencies: { analytics: '~> 6.0', net: '~> 2.1.3', core: '~>1', geo: '~> 0.1', social: '~> 6.0, >= 6.2' },
        }),
      );
      expect(dependencies).toEqual({
        analytics: '>=6.0.0 <7.0.0',
        net: '>=2.1.3 <2.2.0',
        core: '>=1.0.0 <2.0.0',
        geo: '>=0.1.0 <1.0.0',
        social: '>=6.0.0 <7.0.0 >=6.2.0',
      });
      expect(semver.satisfies('6.4.0', dependencies.analytics!)).toBe(true);
      expect(semver.satisfies('7.0.0', dependencies.analytics!)).toBe(false);
      expect(semver.satisfies('7.0.0-beta.1', dependencies.analytics!)).toBe(false);
      expect(semver.satisfies('2.1.9', dependencies.net!)).toBe(true);
      expect(semver.satisfies('2.2.0', dependencies.net!)).toBe(false);
      // And the podspec says it the CocoaPods way again.
      expect(toCocoaPodsRequirements(dependencies.analytics!)).toEqual({ ok: true, requirements: ['~> 6.0'] });
      expect(toCocoaPodsRequirements(dependencies.net!)).toEqual({ ok: true, requirements: ['~> 2.1.3'] });
    });
    it('refuses a pessimistic operator without a version', () => {
      expect(
        problemsOf(goodMetadata({ dependencies: { analytics: '~> six' } })).map((p) => [p.field, p.message]),
      ).toEqual([['dependencies.analytics', '"~> six" is not a valid semver range']]);
    });
    it('refuses a list where a map of ranges is expected', () => {
      expect(fieldsOf(goodMetadata({ dependencies: ['analytics'] }))).toEqual(['dependencies']);
    });
    it('keeps a dependency named __proto__ as data and refuses it by name', () => {
      expect(
        problemsOf(
          JSON.parse(JSON.stringify(goodMetadata()).replace('"analytics"', '"__proto__"')) as Record<string, unknown>,
        ),
      ).toEqual([expect.objectContaining({ field: 'dependencies.__proto__' })]);
    });
  });

  describe('platform', () => {
    it('requires a minimum platform version in version form', () => {
      expect(fieldsOf(goodMetadata({ platform: { name: 'ios', architectures: ['arm64'] } }))).toEqual([
        'platform.minimumVersion',
      ]);
      expect(
        fieldsOf(goodMetadata({ platform: { name: 'ios', minimumVersion: '', architectures: ['arm64'] } })),
      ).toEqual(['platform.minimumVersion']);
      expect(
        problemsOf(goodMetadata({ platform: { name: 'ios', minimumVersion: 15, architectures: ['arm64'] } })),
      ).toEqual([
        expect.objectContaining({
          field: 'platform.minimumVersion',
          message: expect.stringContaining('must be a text value'),
        }),
      ]);
    });
    it('suggests the quoted form of a number, and no "[object Object]" for a map, where text is expected', () => {
      expect(
        problemsOf(goodMetadata({ platform: { name: 'ios', minimumVersion: 15, architectures: ['arm64'] } })),
      ).toEqual([expect.objectContaining({ fix: 'write platform.minimumVersion as a string in quotes, e.g. "15"' })]);
      expect(
        problemsOf(
          goodMetadata({ platform: { name: 'ios', minimumVersion: { major: 15 }, architectures: ['arm64'] } }),
        ),
      ).toEqual([
        {
          field: 'platform.minimumVersion',
          message: 'must be a text value, found a map',
          fix: 'write platform.minimumVersion as a string in quotes',
        },
      ]);
    });
    it.each(['15', '15.0', '10.15.4'])('accepts minimum version %s', (minimumVersion) => {
      expect(
        parse(goodMetadata({ platform: { name: 'ios', minimumVersion, architectures: ['arm64'] } })).platform
          .minimumVersion,
      ).toBe(minimumVersion);
    });
    it('accepts known platforms and architectures and refuses others', () => {
      expect(() =>
        parse(
          goodMetadata({
            platform: { name: 'android', minimumVersion: '24', architectures: ['arm64-v8a', 'armeabi-v7a', 'x86_64'] },
          }),
        ),
      ).not.toThrow();
      expect(
        fieldsOf(
          goodMetadata({
            platform: { name: 'symbian', minimumVersion: '9', architectures: ['arm64', 'arm64', 'mips'] },
          }),
        ),
      ).toEqual(['platform.name', 'platform.architectures[1]', 'platform.architectures[2]']);
      expect(fieldsOf(goodMetadata({ platform: { name: 'ios', minimumVersion: '15', architectures: [] } }))).toEqual([
        'platform.architectures',
      ]);
    });
  });

  describe('tier', () => {
    it.each(['private', 'early-access', 'public'])('accepts %s', (tier) => {
      expect(parse(goodMetadata({ tier })).tier).toBe(tier);
    });
    it('refuses other tiers', () => {
      expect(problemsOf(goodMetadata({ tier: 'internal' }))).toEqual([
        expect.objectContaining({ field: 'tier', fix: 'use one of: private, early-access, public' }),
      ]);
    });
  });

  describe('deprecation', () => {
    it('accepts a replacement that exists, and marks the SDK deprecated', () => {
      const metadata = parse(goodMetadata({ deprecatedInFavorOf: 'acme-maps-v2' }));
      expect(metadata).toMatchObject({ deprecated: true, deprecatedInFavorOf: 'acme-maps-v2' });
      expect(parse(goodMetadata({ deprecated: true })).deprecated).toBe(true);
    });
    it('refuses a replacement that does not exist', () => {
      expect(problemsOf(goodMetadata({ deprecatedInFavorOf: 'acme-maps-v9' }))).toEqual([
        expect.objectContaining({ field: 'deprecatedInFavorOf', message: 'no SDK named "acme-maps-v9" exists' }),
      ]);
    });
    it('refuses deprecation in favor of itself', () => {
      expect(problemsOf(goodMetadata({ deprecatedInFavorOf: 'acme-maps' }))).toEqual([
        expect.objectContaining({
          field: 'deprecatedInFavorOf',
          message: 'an SDK cannot be deprecated in favor of itself',
        }),
      ]);
    });
    it('refuses a replacement with deprecated: false, and a non-boolean deprecated', () => {
      expect(fieldsOf(goodMetadata({ deprecated: false, deprecatedInFavorOf: 'acme-maps-v2' }))).toEqual([
        'deprecatedInFavorOf',
      ]);
      expect(fieldsOf(goodMetadata({ deprecated: 'yes' }))).toEqual(['deprecated']);
    });
  });

  describe('contact and authors', () => {
    it.each(['maps@example.com', 'maps.team+sdk@mail.example.co.uk'])('accepts contact %s', (contact) => {
      expect(() => parse(goodMetadata({ contact }))).not.toThrow();
    });
    it.each(['maps', 'maps@example', 'maps team@example.com', '@example.com', 'maps@-example.com'])(
      'refuses contact %j',
      (contact) => {
        expect(fieldsOf(goodMetadata({ contact }))).toEqual(['contact']);
      },
    );
    it('refuses authors that are not a non-empty list of names', () => {
      expect(fieldsOf(goodMetadata({ authors: 'Acme Inc.' }))).toEqual(['authors']);
      expect(fieldsOf(goodMetadata({ authors: [] }))).toEqual(['authors']);
      expect(fieldsOf(goodMetadata({ authors: ['Acme', 3] }))).toEqual(['authors[1]']);
    });
  });

  it('puts every problem in the error message so logs and the CLI show them', () => {
    const error = (() => {
      try {
        parse(goodMetadata({ version: '6', contact: 'x' }));
      } catch (e) {
        return e as MetadataError;
      }
      throw new Error('expected a MetadataError');
    })();
    expect(error.name).toBe('MetadataError');
    expect(error.message).toContain('2 problems');
    expect(error.message).toContain('version: "6" is not a semantic version');
    expect(error.message).toContain('contact: "x" is not a valid email address');
  });
});
