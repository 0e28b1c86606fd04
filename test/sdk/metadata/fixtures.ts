/** A compliant metadata object (JSON shape) that tests change one field at a time. */
export function goodMetadata(overrides: Record<string, unknown> = {}): Record<string, unknown> {
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
    dependencies: { analytics: '^6.0.0' },
    platform: { name: 'ios', minimumVersion: '15.0', architectures: ['arm64', 'x86_64'] },
    tier: 'public',
    ...overrides,
  };
}

export const GOOD_YAML = `
name: acme-maps
publicName: Acme Maps
version: 6.2.0
summary: Vector maps for iOS.
description: Vector maps, offline tiles and turn-by-turn routing for iOS apps.
homepage: https://maps.example.com/sdk
authors: [Acme Inc.]
contact: maps-team@example.com
license: Apache-2.0
dependencies:
  analytics: ^6.0.0
platform: { name: ios, minimumVersion: 15.0, architectures: [arm64, x86_64] }
tier: public
`;

export const GOOD_XML = `<?xml version="1.0" encoding="UTF-8"?>
<sdk>
  <name>acme-maps</name>
  <publicName>Acme Maps</publicName>
  <version>6.2.0</version>
  <summary>Vector maps for iOS.</summary>
  <description>Vector maps, offline tiles and turn-by-turn routing for iOS apps.</description>
  <homepage>https://maps.example.com/sdk</homepage>
  <authors><author>Acme Inc.</author></authors>
  <contact>maps-team@example.com</contact>
  <license>Apache-2.0</license>
  <dependencies><dependency><name>analytics</name><range>^6.0.0</range></dependency></dependencies>
  <platform>
    <name>ios</name>
    <minimumVersion>15.0</minimumVersion>
    <architectures><architecture>arm64</architecture><architecture>x86_64</architecture></architectures>
  </platform>
  <tier>public</tier>
</sdk>
`;
