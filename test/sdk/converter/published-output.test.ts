/**
 * The converter's output as CocoaPods and SwiftPM meet it once published. Neither tool installs on this machine
 * (no CocoaPods in Debian's packages, no Swift toolchain), so the output is checked against their documented
 * schemas instead:
 *
 * - CocoaPods, "Podspec Syntax Reference" (guides.cocoapods.org/syntax/podspec.html): the required root attributes
 *   `name`, `version`, `summary`, `homepage`, `license`, `authors`, `source`; `source.http` is a URL CocoaPods
 *   downloads, so absolute; `platforms` keys are `ios`, `osx`, `tvos`, `watchos`, `visionos`; each dependency is a
 *   list of requirements "<operator> <version>" with operators `=`, `>`, `>=`, `<`, `<=`, `~>`.
 * - SwiftPM, `BinaryTarget` (PackageDescription, "binaryTarget(name:url:checksum:)") and SE-0272: a remote binary
 *   target is an https URL of a `.zip` holding the `<Name>.xcframework` at its root, and its checksum is the
 *   SHA-256 of that zip's bytes in hex (`swift package compute-checksum`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { Writable } from 'node:stream';
import {
  LocalFileSink,
  convertSdkPackage,
  type ConvertedPackage,
  type PackageSink,
  type Podspec,
} from '../../../lambdas/sdk/converter';
import { sampleSdkEntries, sdkMetadata } from './fixtures';
import { buildZip, readZip, sha256 } from './zip-helpers';

const APPLE_PLATFORMS = ['ios', 'osx', 'tvos', 'watchos', 'visionos'] as const;
const REQUIREMENT = /^(=|>|>=|<|<=|~>) \d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?$/;

/** The podspec attributes Lockstep writes, as CocoaPods' reference documents them. */
const podspecSchema = z.strictObject({
  name: z.string().min(1),
  version: z.string().regex(/^\d+(\.\d+)*(-[0-9A-Za-z.-]+)?$/),
  summary: z.string().min(1).max(140),
  description: z.string().min(1),
  homepage: z.string().url(),
  license: z.strictObject({ type: z.string().min(1), file: z.string().optional() }),
  authors: z.array(z.string().min(1)).min(1),
  source: z.strictObject({
    http: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'an absolute http(s) URL'),
    type: z.literal('zip'),
  }),
  platforms: z.partialRecord(z.enum(APPLE_PLATFORMS), z.string().regex(/^\d+(\.\d+){0,2}$/)),
  dependencies: z.record(z.string(), z.array(z.string().regex(REQUIREMENT))).optional(),
  vendored_frameworks: z.array(z.string()).optional(),
  vendored_libraries: z.array(z.string()).optional(),
  source_files: z.string().optional(),
  public_header_files: z.string().optional(),
  deprecated: z.literal(true).optional(),
  deprecated_in_favor_of: z.string().optional(),
});

const BASE = 'https://d111111abcdef8.cloudfront.net/public/acme-maps/6.2.0';

describe('published output', () => {
  let work: string;
  let result: ConvertedPackage;
  let files: Map<string, Buffer>;
  const ownObjects = new Map<string, string>();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lockstep-published-'));
    const input = join(work, 'upload.zip');
    writeFileSync(input, buildZip(sampleSdkEntries()));
    result = await convertSdkPackage({
      metadata: sdkMetadata({ dependencies: { analytics: '>=6.0.0 <7.0.0', 'acme-core': '~2.1.3' } }),
      source: { path: input },
      sink: new LocalFileSink(join(work, 'acme-maps-6.2.0.zip')),
      publishedBaseUrl: `${BASE}/`,
      binaryTargetSink: (fileName) => {
        const path = join(work, `own-${fileName}`);
        ownObjects.set(fileName, path);
        return new LocalFileSink(path);
      },
    });
    files = await readZip(join(work, 'acme-maps-6.2.0.zip'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("writes a podspec whose source.http is the package host's absolute URL for the tier, valid by CocoaPods' reference", () => {
    const podspec = JSON.parse(files.get('acme-maps-6.2.0/acme-maps.podspec.json')!.toString()) as Podspec;
    expect(podspec.source).toEqual({ http: `${BASE}/acme-maps-6.2.0.zip`, type: 'zip' });
    expect(podspecSchema.safeParse(podspec).error?.issues ?? []).toEqual([]);
    expect(podspec.dependencies).toEqual({ analytics: ['~> 6.0'], 'acme-core': ['~> 2.1.3'] });
  });

  it('publishes each xcframework zip as its own object: the very bytes in the package, with the checksum SwiftPM computes', async () => {
    const target = result.manifest.swiftPackage!.binaryTargets[0]!;
    const own = readFileSync(ownObjects.get('Maps.xcframework.zip')!);
    expect(own).toEqual(files.get('acme-maps-6.2.0/Maps.xcframework.zip'));
    expect(target).toEqual({
      name: 'Maps',
      path: 'Maps.xcframework.zip',
      checksum: sha256(own),
      size: own.length,
      url: `${BASE}/Maps.xcframework.zip`,
    });
    // SwiftPM: an https URL of a .zip, a 64-hex SHA-256, the xcframework named like the target at the zip's root.
    expect(target.url).toMatch(/^https:\/\/.+\.zip$/);
    expect(target.checksum).toMatch(/^[0-9a-f]{64}$/);
    const roots = new Set([...(await readZip(own)).keys()].map((p) => p.split('/')[0]));
    expect([...roots]).toEqual([`${target.name}.xcframework`]);
  });

  it('fails the conversion with nothing written when the own object cannot be written', async () => {
    const input = join(work, 'upload-2.zip');
    writeFileSync(input, buildZip(sampleSdkEntries()));
    const failing: PackageSink = {
      open: () =>
        new Writable({
          write: (_chunk, _encoding, callback) => callback(new Error('SlowDown: reduce your request rate')),
        }),
      commit: async () => undefined,
      abort: async () => undefined,
    };
    await expect(
      convertSdkPackage({
        metadata: sdkMetadata(),
        source: { path: input },
        sink: new LocalFileSink(join(work, 'failed.zip')),
        binaryTargetSink: () => failing,
      }),
    ).rejects.toThrow('Writing Maps.xcframework.zip failed: SlowDown: reduce your request rate');
    expect(() => readFileSync(join(work, 'failed.zip'))).toThrow(/ENOENT/);
  });
});

describe('platforms', () => {
  it.each([
    ['linux', {}],
    ['android', {}],
    ['macos', { osx: '12.0' }],
    ['visionos', { visionos: '12.0' }],
  ])('a %s SDK gets podspec platforms %j, and keeps its platform in manifest.json', async (name, platforms) => {
    const work = mkdtempSync(join(tmpdir(), 'lockstep-platform-'));
    try {
      const input = join(work, 'upload.zip');
      writeFileSync(input, buildZip([{ name: 'include/core.h', data: Buffer.from('int core(void);\n') }]));
      const platform = { name, minimumVersion: '12.0', architectures: ['arm64'] };
      const result = await convertSdkPackage({
        metadata: sdkMetadata({ platform }),
        source: { path: input },
        sink: new LocalFileSink(join(work, 'out.zip')),
      });
      expect(result.podspec.platforms).toEqual(platforms);
      expect(result.manifest.platform).toEqual(platform);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
