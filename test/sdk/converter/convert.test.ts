import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yauzl from 'yauzl';
import {
  LocalFileSink,
  PackageLayoutError,
  convertSdkPackage,
  type ConvertedPackage,
  type PackageManifest,
  type Podspec,
} from '../../../lambdas/sdk/converter';
import { MetadataError } from '../../../lambdas/sdk/metadata';
import { sampleSdkEntries, sdkMetadata } from './fixtures';
import { buildZip, readZip, sha256, type RawZipEntry } from './zip-helpers';

describe('converting a good SDK', () => {
  let work: string;
  let input: string;
  let output: string;
  let result: ConvertedPackage;
  let files: Map<string, Buffer>;
  const root = 'acme-maps-6.2.0';
  const read = (path: string) => files.get(`${root}/${path}`);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lockstep-convert-'));
    input = join(work, 'upload.zip');
    output = join(work, 'acme-maps-6.2.0.zip');
    writeFileSync(input, buildZip(sampleSdkEntries()));
    result = await convertSdkPackage({
      metadata: sdkMetadata(),
      source: { path: input },
      sink: new LocalFileSink(output),
    });
    files = await readZip(output);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes one zip in the standard folder hierarchy under <name>-<version>/', () => {
    expect([...files.keys()].sort()).toEqual(
      [
        'CHANGELOG.md',
        'LICENSE',
        'Maps.xcframework.zip',
        'acme-maps.podspec.json',
        'docs/README.md',
        'docs/index.html',
        'frameworks/Maps.xcframework/Info.plist',
        'frameworks/Maps.xcframework/ios-arm64/Maps.framework/Headers/Maps.h',
        'frameworks/Maps.xcframework/ios-arm64/Maps.framework/Maps',
        'frameworks/Maps.xcframework/ios-arm64_x86_64-simulator/Maps.framework/Maps',
        'include/MapsCore.h',
        'lib/libmaps-core.a',
        'lockstep-sdk.json',
        'manifest.json',
        'resources/art/logo.png',
        'resources/art/noise.bin',
        'resources/fonts/Roboto.ttf',
        'samples/Demo/Demo.xcodeproj/project.pbxproj',
        'samples/Demo/Frameworks/Other.framework/Other',
      ]
        .map((p) => `${root}/${p}`)
        .sort(),
    );
    expect(readdirSync(work).sort()).toEqual(['acme-maps-6.2.0.zip', 'upload.zip']);
  });

  it('copies file contents unchanged', async () => {
    const inputFiles = await readZip(input);
    expect(read('LICENSE')).toEqual(inputFiles.get('AcmeMaps-6.2.0/LICENSE.txt'));
    expect(read('lib/libmaps-core.a')).toEqual(inputFiles.get('AcmeMaps-6.2.0/libs/libmaps-core.a'));
    expect(read('frameworks/Maps.xcframework/ios-arm64/Maps.framework/Maps')).toEqual(
      inputFiles.get('AcmeMaps-6.2.0/Maps.xcframework/ios-arm64/Maps.framework/Maps'),
    );
  });

  it('generates the podspec from the metadata and the layout', () => {
    const podspec = JSON.parse(read('acme-maps.podspec.json')!.toString()) as Podspec;
    expect(podspec).toEqual({
      name: 'acme-maps',
      version: '6.2.0',
      summary: 'Vector maps for iOS.',
      description: 'Vector maps, offline tiles and turn-by-turn routing for iOS apps.',
      homepage: 'https://maps.example.com/sdk',
      license: { type: 'Apache-2.0', file: 'LICENSE' },
      authors: ['Acme Inc.'],
      source: { http: 'acme-maps-6.2.0.zip', type: 'zip' },
      platforms: { ios: '15.0' },
      dependencies: { 'acme-core': ['~> 2.1.3'], analytics: ['~> 6.0'] },
      vendored_frameworks: ['frameworks/Maps.xcframework'],
      vendored_libraries: ['lib/libmaps-core.a'],
      source_files: 'include/**/*.{h,hh,hpp,hxx}',
      public_header_files: 'include/**/*.{h,hh,hpp,hxx}',
    });
    expect(result.podspec).toEqual(podspec);
    expect(result.podspecPath).toBe('acme-maps.podspec.json');
  });

  it('writes the validated metadata into the package', () => {
    expect(JSON.parse(read('lockstep-sdk.json')!.toString())).toEqual(sdkMetadata());
  });

  it('lists every file with a SHA-256 and size that verify', () => {
    const manifest = JSON.parse(read('manifest.json')!.toString()) as PackageManifest;
    expect(manifest).toEqual(result.manifest);
    const listed = manifest.files.map((f) => f.path);
    expect(listed).toEqual(
      [...files.keys()]
        .map((k) => k.slice(root.length + 1))
        .filter((p) => p !== 'manifest.json')
        .sort(),
    );
    for (const file of manifest.files) {
      const data = read(file.path)!;
      expect({ path: file.path, sha256: sha256(data), size: data.length }).toEqual(file);
    }
  });

  it('packs the xcframework as a separate zip whose SPM checksum is its SHA-256', async () => {
    const zip = read('Maps.xcframework.zip')!;
    expect(result.manifest.swiftPackage).toEqual({
      binaryTargets: [{ name: 'Maps', path: 'Maps.xcframework.zip', checksum: sha256(zip), size: zip.length }],
    });
    const inner = await readZip(zip);
    expect([...inner.keys()].sort()).toEqual([
      'Maps.xcframework/Info.plist',
      'Maps.xcframework/ios-arm64/Maps.framework/Headers/Maps.h',
      'Maps.xcframework/ios-arm64/Maps.framework/Maps',
      'Maps.xcframework/ios-arm64_x86_64-simulator/Maps.framework/Maps',
    ]);
    for (const [path, data] of inner) expect(data).toEqual(read(`frameworks/${path}`));
  });

  it('reports the checksum and size of the output zip', () => {
    const written = readFileSync(output);
    expect(result.size).toBe(written.length);
    expect(result.sha256).toBe(sha256(written));
  });

  it('converts the same input to byte-identical output', async () => {
    const again = join(work, 'again.zip');
    const second = await convertSdkPackage({
      metadata: sdkMetadata(),
      source: { path: input },
      sink: new LocalFileSink(again),
    });
    expect(second.sha256).toBe(result.sha256);
    expect(second.manifest.swiftPackage?.binaryTargets[0]?.checksum).toBe(
      result.manifest.swiftPackage?.binaryTargets[0]?.checksum,
    );
    rmSync(again);
  });

  it('keeps the execute bit of executables, and stores what deflate cannot shrink', async () => {
    const headers = await new Promise<Map<string, { mode: number; method: number }>>((resolve, reject) => {
      yauzl.open(output, { lazyEntries: false }, (err, zip) => {
        if (err) return reject(err);
        const found = new Map<string, { mode: number; method: number }>();
        zip.on('entry', (e: yauzl.Entry) =>
          found.set(e.fileName.slice(root.length + 1), {
            mode: e.externalFileAttributes >>> 16,
            method: e.compressionMethod,
          }),
        );
        zip.on('end', () => resolve(found));
      });
    });
    expect(headers.get('frameworks/Maps.xcframework/ios-arm64/Maps.framework/Maps')?.mode).toBe(0o100755);
    expect(headers.get('LICENSE')).toEqual({ mode: 0o100644, method: 8 });
    // Already-compressed formats and random data that the provider's deflate could not shrink are stored.
    expect(headers.get('resources/art/logo.png')?.method).toBe(0);
    expect(headers.get('resources/art/noise.bin')?.method).toBe(0);
    expect(headers.get('Maps.xcframework.zip')?.method).toBe(0);
  });
});

describe('conversion refusals that are not hostile', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'lockstep-convert-refuse-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  async function attempt(entries: RawZipEntry[], metadata = sdkMetadata()) {
    const dir = mkdtempSync(join(work, 'case-'));
    const input = join(dir, 'in.zip');
    writeFileSync(input, buildZip(entries));
    mkdirSync(join(dir, 'out'));
    const error = await convertSdkPackage({
      metadata,
      source: { path: input },
      sink: new LocalFileSink(join(dir, 'out', 'p.zip')),
    }).catch((e: unknown) => e);
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
    return error;
  }

  it('refuses two inputs that land on the same package path, naming both', async () => {
    const error = await attempt([
      { name: 'LICENSE', data: Buffer.from('a') },
      { name: 'LICENSE.txt', data: Buffer.from('b') },
    ]);
    expect(error).toBeInstanceOf(PackageLayoutError);
    expect((error as PackageLayoutError).entries).toEqual(['LICENSE', 'LICENSE.txt']);
    expect((error as Error).message).toContain('acme-maps-6.2.0/LICENSE');
  });

  it('refuses two bundles of one name from different folders instead of merging them', async () => {
    const error = await attempt([
      { name: 'ios/Maps.xcframework/Info.plist', data: Buffer.from('a') },
      { name: 'tvos/Maps.xcframework/Info.plist2', data: Buffer.from('b') },
    ]);
    expect(error).toBeInstanceOf(PackageLayoutError);
  });

  it('refuses a dependency range with no CocoaPods form as a metadata problem', async () => {
    const error = await attempt(
      [{ name: 'lib/libmaps.a', data: Buffer.from('x') }],
      sdkMetadata({ dependencies: { analytics: '^6.0.0 || ^7.0.0' } }),
    );
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as MetadataError).problems[0]?.field).toBe('dependencies.analytics');
  });
});
