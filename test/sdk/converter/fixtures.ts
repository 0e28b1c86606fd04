import type { SdkMetadata } from '../../../lambdas/sdk/model';

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
