import { randomBytes } from 'node:crypto';
import type { SdkMetadata } from '../../../lambdas/sdk/model';
import type { RawZipEntry } from './zip-helpers';

/** Validated metadata of the test SDK; tests override what they need. */
export function sdkMetadata(overrides: Partial<SdkMetadata> = {}): SdkMetadata {
  return {
    name: 'acme-maps',
    publicName: 'Acme Maps',
    version: '6.2.0',
    summary: 'Vector maps for iOS.',
    description: 'Vector maps, offline tiles and turn-by-turn routing for iOS apps.',
    homepage: 'https://maps.example.com/sdk',
    authors: ['Acme Inc.'],
    contact: 'maps-team@example.com',
    license: 'Apache-2.0',
    dependencies: { analytics: '^6.0.0', 'acme-core': '~2.1.3' },
    platform: { name: 'ios', minimumVersion: '15.0', architectures: ['arm64', 'x86_64'] },
    deprecated: false,
    tier: 'public',
    supported: true,
    ...overrides,
  };
}

/** A realistic upload: everything under one versioned folder, an xcframework, a static library, samples, docs. */
export function sampleSdkEntries(): RawZipEntry[] {
  const text = (name: string, body = `// ${name}\n`) => ({ name, data: Buffer.from(body) });
  return [
    { name: 'AcmeMaps-6.2.0/', data: Buffer.alloc(0) },
    text('AcmeMaps-6.2.0/LICENSE.txt', 'Apache License 2.0\n'),
    text('AcmeMaps-6.2.0/CHANGELOG.md', '## 6.2.0\n- Offline tiles\n'),
    text('AcmeMaps-6.2.0/README.md', '# Acme Maps\n'),
    text('AcmeMaps-6.2.0/lockstep-sdk.yaml', 'name: acme-maps\n'),
    text('AcmeMaps-6.2.0/Maps.xcframework/Info.plist', '<plist/>'),
    {
      name: 'AcmeMaps-6.2.0/Maps.xcframework/ios-arm64/Maps.framework/Maps',
      data: randomBytes(20_000),
      unixMode: 0o100755,
    },
    text(
      'AcmeMaps-6.2.0/Maps.xcframework/ios-arm64/Maps.framework/Headers/Maps.h',
      '#import <Foundation/Foundation.h>\n',
    ),
    {
      name: 'AcmeMaps-6.2.0/Maps.xcframework/ios-arm64_x86_64-simulator/Maps.framework/Maps',
      data: randomBytes(30_000),
    },
    { name: 'AcmeMaps-6.2.0/libs/libmaps-core.a', data: randomBytes(10_000), method: 0 },
    text('AcmeMaps-6.2.0/headers/MapsCore.h'),
    text('AcmeMaps-6.2.0/samples/Demo/Demo.xcodeproj/project.pbxproj', '// !$*UTF8*$!\n'),
    { name: 'AcmeMaps-6.2.0/samples/Demo/Frameworks/Other.framework/Other', data: randomBytes(1000) },
    text('AcmeMaps-6.2.0/docs/index.html', '<h1>Acme Maps</h1>'),
    { name: 'AcmeMaps-6.2.0/fonts/Roboto.ttf', data: randomBytes(5000) },
    { name: 'AcmeMaps-6.2.0/art/logo.png', data: randomBytes(3000) },
    { name: 'AcmeMaps-6.2.0/art/noise.bin', data: randomBytes(100_000) },
    text('AcmeMaps-6.2.0/.DS_Store', 'junk'),
    text('__MACOSX/AcmeMaps-6.2.0/._LICENSE.txt', 'junk'),
  ];
}
