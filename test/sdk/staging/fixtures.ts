import type { SdkMetadata } from '../../../lambdas/sdk/model';

/** Valid metadata for one SDK version; tests override what they are about. */
export function sdk(
  name: string,
  version: string,
  dependencies: Record<string, string> = {},
  extra: Partial<SdkMetadata> = {},
): SdkMetadata {
  return {
    name,
    publicName: `Acme ${name[0]!.toUpperCase()}${name.slice(1)}`,
    version,
    summary: `${name} for apps`,
    description: `The ${name} SDK gives apps ${name} features with a small API and offline support.`,
    homepage: `https://example.com/${name}`,
    authors: ['Acme'],
    contact: `${name}-team@example.com`,
    license: 'Apache-2.0',
    dependencies,
    platform: { name: 'ios', minimumVersion: '15.0', architectures: ['arm64'] },
    deprecated: false,
    tier: 'public',
    supported: true,
    ...extra,
  };
}
