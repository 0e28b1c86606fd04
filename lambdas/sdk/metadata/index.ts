/**
 * SDK intake: reading and checking the metadata that comes with an SDK version.
 *
 * ## Fields
 *
 * The same names in every format: camelCase keys in JSON and YAML, elements of the same name under `<sdk>` in XML.
 *
 * | field | required | rule |
 * |---|---|---|
 * | `name` | yes | package id: 2-50 lower-case letters/digits, words joined by single `-`, starting with a letter |
 * | `publicName` | yes | display name: 2-50 letters/digits/single spaces or `-`, starts with a letter; not only reserved words (`SDK`, `Kit`, `API`, ...) |
 * | `version` | yes | semantic version, strictly (`6.2.0`, `7.0.0-beta.1`, `6.2.0+build.5`; no `v`); build metadata is kept, and a version differing from an existing one only by it is refused (same precedence) |
 * | `summary` | yes | at most 140 characters and shorter than `description` |
 * | `description` | yes | longer than `summary` |
 * | `homepage` | yes | an `https` URL with a public host name and no credentials |
 * | `authors` | yes | a non-empty list of names |
 * | `contact` | yes | owners' email address; notified of conflicts and failures |
 * | `license` | yes | an SPDX license expression (`Apache-2.0`, `MIT OR Apache-2.0`; `LicenseRef-<name>` for a license of your own); otherwise the error suggests the nearest SPDX id |
 * | `dependencies` | no (`{}`) | SDK name -> semver range (`semver.validRange`); not on itself; one contiguous range (no `||`, which a podspec cannot express). CocoaPods' `~>` has CocoaPods' meaning (`~> 6.0` is >= 6.0.0 and < 7.0.0, not npm's 6.0.x) and is stored as npm comparators (`ranges.ts`) |
 * | `platform.name` | yes | one of `PLATFORMS` (`ios`, `macos`, `tvos`, `watchos`, `visionos`, `android`, `linux`, `windows`) |
 * | `platform.minimumVersion` | yes | lowest OS version, `15`, `15.0` or `10.15.4` |
 * | `platform.architectures` | yes | non-empty list from `ARCHITECTURES` (`arm64`, `x86_64`, `armv7`, `arm64-v8a`, ...), no repeats |
 * | `deprecated` | no (`false`, or `true` when `deprecatedInFavorOf` is set) | `true` / `false` |
 * | `deprecatedInFavorOf` | no | name of an SDK that exists (published or staged), not this one |
 * | `tier` | no (`private`) | `private`, `early-access` or `public`; an SDK never becomes public by omission |
 * | `prereleaseTier` | no (prereleases: `early-access` where `tier` is `public`, else `tier`) | the tier of a prerelease version (`7.0.0-beta.1`); install ranges never match a prerelease unless they name one (`^7.0.0-beta.0`) |
 * | `supported` | no (`true`) | `false` withdraws this version from the package host |
 *
 * Unknown fields are reported (with the likely intended name when only the case or a `-`/`_` differs). Write
 * versions in quotes in YAML if in doubt; YAML is read with every scalar as text, so `15.0` stays `"15.0"`.
 *
 * ## Formats
 *
 * JSON (`lockstep-sdk.json`):
 * ```json
 * { "name": "acme-maps", "publicName": "Acme Maps", "version": "6.2.0",
 *   "summary": "Vector maps for iOS.", "description": "Vector maps, offline tiles and routing for iOS apps.",
 *   "homepage": "https://maps.example.com/sdk", "authors": ["Acme Inc."], "contact": "maps@example.com",
 *   "license": "Apache-2.0", "dependencies": { "analytics": "^6.0.0" },
 *   "platform": { "name": "ios", "minimumVersion": "15.0", "architectures": ["arm64", "x86_64"] },
 *   "tier": "public" }
 * ```
 * YAML (`lockstep-sdk.yaml` or `.yml`):
 * ```yaml
 * name: acme-maps
 * publicName: Acme Maps
 * version: 6.2.0
 * summary: Vector maps for iOS.
 * description: Vector maps, offline tiles and routing for iOS apps.
 * homepage: https://maps.example.com/sdk
 * authors: [Acme Inc.]
 * contact: maps@example.com
 * license: Apache-2.0
 * dependencies:
 *   analytics: ^6.0.0
 * platform: { name: ios, minimumVersion: "15.0", architectures: [arm64, x86_64] }
 * tier: public
 * ```
 * XML (`lockstep-sdk.xml`): lists are repeated child elements inside a wrapper, a dependency is a `<dependency>`
 * with `<name>` and `<range>`; attributes are ignored; no DOCTYPE or entities.
 * ```xml
 * <sdk>
 *   <name>acme-maps</name> <publicName>Acme Maps</publicName> <version>6.2.0</version>
 *   <summary>Vector maps for iOS.</summary>
 *   <description>Vector maps, offline tiles and routing for iOS apps.</description>
 *   <homepage>https://maps.example.com/sdk</homepage>
 *   <authors><author>Acme Inc.</author></authors>
 *   <contact>maps@example.com</contact> <license>Apache-2.0</license>
 *   <dependencies><dependency><name>analytics</name><range>^6.0.0</range></dependency></dependencies>
 *   <platform><name>ios</name><minimumVersion>15.0</minimumVersion>
 *     <architectures><architecture>arm64</architecture><architecture>x86_64</architecture></architectures>
 *   </platform>
 *   <tier>public</tier>
 * </sdk>
 * ```
 */
import type { SdkMetadata } from '../model';
import { parseMetadataDocument, type ParseDocumentOptions } from './parse-document';
import { validateSdkMetadata, type ValidateOptions } from './validate';

export { MetadataError, type MetadataProblem } from './errors';
export {
  DEFAULT_MAX_METADATA_BYTES,
  DEFAULT_MAX_YAML_ALIASES,
  METADATA_FILE_NAMES,
  METADATA_FORMATS,
  checkMetadataSize,
  detectMetadataFormat,
  parseMetadataDocument,
  type MetadataFormat,
  type ParseDocumentOptions,
} from './parse-document';
export { ARCHITECTURES, PLATFORMS, RESERVED_PUBLIC_NAME_WORDS, SUMMARY_MAX_LENGTH, isStrictSemver } from './rules';
export { METADATA_FIELDS, validateSdkMetadata, type ValidateOptions } from './validate';

export type ParseSdkMetadataOptions = ParseDocumentOptions & ValidateOptions;

/**
 * Parses (safely) and checks an SDK's metadata file.
 * @throws MetadataError listing every problem, each with its field path and the fix.
 * @example
 * const metadata = parseSdkMetadata(await readFile('lockstep-sdk.yaml'), {
 *   fileName: 'lockstep-sdk.yaml',
 *   sdkExists: (name) => knownSdks.has(name),
 * });
 */
export function parseSdkMetadata(input: string | Uint8Array, options: ParseSdkMetadataOptions): SdkMetadata {
  const { tree } = parseMetadataDocument(input, options);
  return validateSdkMetadata(tree, options);
}
