import { describe, expect, it } from '@jest/globals';
import {
  findDuplicateLibraries,
  MIN_EVIDENCE_FILE_SIZE,
  type FileDigest,
} from '../../../lambdas/sdk/staging/duplicates';

const file = (path: string, seed: string, size = 10_000): FileDigest => ({
  path,
  sha256: seed.repeat(64).slice(0, 64),
  size,
});
const maps = { name: 'maps', version: '2.0.0' };
const social = { name: 'social', version: '1.3.0' };

describe('findDuplicateLibraries', () => {
  it('finds the same file in two SDKs and suggests publishing the library on its own', () => {
    const found = findDuplicateLibraries([
      { ref: maps, contents: { files: [file('Frameworks/libcrashlog.a', 'a'), file('Maps/maps.a', 'b')] } },
      { ref: social, contents: { files: [file('lib/libcrashlog.a', 'a'), file('Social/social.a', 'c')] } },
    ]);
    expect(found).toHaveLength(1);
    expect(found[0]!.library).toBe('crashlog');
    expect(found[0]!.files).toEqual([
      { sha256: 'a'.repeat(64), size: 10_000, paths: ['Frameworks/libcrashlog.a', 'lib/libcrashlog.a'] },
    ]);
    expect(found[0]!.explanation).toBe(
      'maps 2.0.0 and social 1.3.0 both embed crashlog: 1 identical file (Frameworks/libcrashlog.a = lib/libcrashlog.a); an app that uses both fails to link with duplicate symbols',
    );
    expect(found[0]!.suggestion).toBe(
      'publish crashlog as its own SDK package that maps and social both depend on, and remove the embedded copies',
    );
  });

  it('finds the same defined symbol in two SDKs’ binaries', () => {
    const found = findDuplicateLibraries([
      { ref: maps, contents: { files: [], symbols: ['_crashlog_init', '_crashlog_send', '_maps_draw'] } },
      { ref: social, contents: { files: [], symbols: ['_crashlog_init', '_crashlog_send', '_social_post'] } },
    ]);
    expect(found).toHaveLength(1);
    expect(found[0]!.symbols).toEqual(['_crashlog_init', '_crashlog_send']);
    expect(found[0]!.library).toBe('crashlog');
    expect(found[0]!.explanation).toContain('2 symbols defined in both (_crashlog_init, _crashlog_send)');
  });

  it('ignores licences, readmes, tiny files and linker-defined symbols', () => {
    const shared = [
      file('LICENSE', 'l'),
      file('README.md', 'r'),
      file('docs/CHANGELOG.txt', 'c'),
      file('VERSION', 'v', MIN_EVIDENCE_FILE_SIZE - 1),
      file('empty', 'e', 0),
    ];
    const found = findDuplicateLibraries([
      { ref: maps, contents: { files: shared, symbols: ['__mh_dylib_header', '_init', '__bss_start'] } },
      { ref: social, contents: { files: shared, symbols: ['__mh_dylib_header', '_init', '__bss_start'] } },
    ]);
    expect(found).toEqual([]);
  });

  it('does not compare two versions of the same SDK', () => {
    const lib = file('libmaps.a', 'm');
    expect(
      findDuplicateLibraries([
        { ref: maps, contents: { files: [lib] } },
        { ref: { name: 'maps', version: '2.1.0' }, contents: { files: [lib] } },
      ]),
    ).toEqual([]);
  });

  it('reports each pair once when three SDKs embed the same file', () => {
    const lib = file('libzip.a', 'z');
    const found = findDuplicateLibraries([
      { ref: social, contents: { files: [lib] } },
      { ref: maps, contents: { files: [lib] } },
      { ref: { name: 'feed', version: '1.0.0' }, contents: { files: [lib] } },
    ]);
    expect(found.map((d) => d.sdks.map((s) => s.name).join('+'))).toEqual(['feed+maps', 'feed+social', 'maps+social']);
  });
});
