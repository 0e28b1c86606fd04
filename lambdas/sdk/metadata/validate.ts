/**
 * Types the fields of a parsed metadata tree and runs every rule, collecting all problems before deciding.
 */
import semver from 'semver';
import { ACCESS_TIERS, type AccessTier, type SdkMetadata } from '../model';
import { MetadataError, type MetadataProblem } from './errors';
import { XmlDependencyList, isRecord } from './parse-document';
import { normalizeRange } from './ranges';
import {
  checkArchitectures,
  checkDependency,
  checkDeprecatedInFavorOf,
  checkEmail,
  checkHomepage,
  checkLicense,
  checkMinimumVersion,
  checkName,
  checkPlatformName,
  checkPublicName,
  checkSummaryAndDescription,
  checkVersion,
} from './rules';

export interface ValidateOptions {
  /** Whether an SDK of this name is published or staged; used for `deprecatedInFavorOf`. */
  readonly sdkExists: (name: string) => boolean;
}

/** Top-level field names, in the order of the documentation. */
export const METADATA_FIELDS = [
  'name',
  'publicName',
  'version',
  'summary',
  'description',
  'homepage',
  'authors',
  'contact',
  'license',
  'dependencies',
  'platform',
  'deprecated',
  'deprecatedInFavorOf',
  'tier',
  'prereleaseTier',
  'supported',
] as const;
export const PLATFORM_FIELDS = ['name', 'minimumVersion', 'architectures'] as const;

const FIX_FOR: Record<string, string> = {
  name: 'add the package id, e.g. name: acme-maps',
  publicName: 'add the display name, e.g. publicName: Acme Maps',
  version: 'add the semantic version, e.g. version: 6.2.0',
  summary: 'add a one-sentence summary of at most 140 characters',
  description: 'add a description, longer than the summary',
  homepage: 'add the SDK website, e.g. homepage: https://maps.example.com/sdk',
  authors: 'list at least one author, e.g. authors: [Acme Inc.]',
  contact: "add the owners' email, e.g. contact: maps-team@example.com",
  license: 'add the license, e.g. license: Apache-2.0',
  'platform.name': 'add the platform, e.g. platform.name: ios',
  'platform.minimumVersion': 'add the lowest OS version supported, e.g. platform.minimumVersion: "15.0"',
  'platform.architectures': 'list the CPU architectures, e.g. platform.architectures: [arm64, x86_64]',
};

/** Reads fields leniently enough for every format, strictly enough to name each type mistake. */
class FieldReader {
  readonly problems: MetadataProblem[] = [];

  /** A required or optional string. YAML/XML deliver `""` for an empty element, treated as absent. */
  string(obj: Record<string, unknown>, key: string, path: string, required: boolean): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null || value === '') {
      if (required) this.problems.push({ field: path, message: 'is required', fix: FIX_FOR[path] ?? `add ${path}` });
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problems.push({
        field: path,
        message: `must be a text value, found ${describe(value)}`,
        fix: `write ${path} as a string in quotes${exampleOf(value)}`,
      });
      return undefined;
    }
    if (value.trim() !== value) {
      this.problems.push({
        field: path,
        message: 'has leading or trailing spaces',
        fix: 'remove the spaces around the value',
      });
    }
    return value;
  }

  boolean(obj: Record<string, unknown>, key: string, path: string): boolean | undefined {
    const value = obj[key];
    if (value === undefined || value === null || value === '') return undefined;
    // YAML (failsafe) and XML deliver text; JSON delivers booleans.
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    this.problems.push({
      field: path,
      message: `must be true or false, found ${describe(value)}`,
      fix: `write ${path}: true or ${path}: false`,
    });
    return undefined;
  }

  stringList(obj: Record<string, unknown>, key: string, path: string, xmlItem: string): string[] | undefined {
    const value = obj[key];
    if (value === undefined || value === null || value === '') {
      this.problems.push({ field: path, message: 'is required', fix: FIX_FOR[path] ?? `add ${path}` });
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.problems.push({
        field: path,
        message: `must be a list, found ${describe(value)}`,
        fix: `write a list: [a, b] in YAML, ["a", "b"] in JSON, <${key}><${xmlItem}>a</${xmlItem}></${key}> in XML`,
      });
      return undefined;
    }
    const out: string[] = [];
    value.forEach((item: unknown, i) => {
      if (typeof item !== 'string' || item.trim() === '')
        this.problems.push({
          field: `${path}[${i}]`,
          message: `must be non-empty text, found ${describe(item)}`,
          fix: 'remove the item or write it as text',
        });
      else out.push(item);
    });
    if (out.length === 0 && value.length === 0)
      this.problems.push({
        field: path,
        message: 'is empty',
        fix: FIX_FOR[path] ?? `add at least one item to ${path}`,
      });
    return out;
  }

  unknownKeys(obj: Record<string, unknown>, known: readonly string[], prefix: string): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const near = known.find((k) => k.toLowerCase() === key.toLowerCase().replace(/[-_]/g, ''));
      this.problems.push({
        field: `${prefix}${key}`,
        message: 'is not a metadata field',
        fix:
          near !== undefined
            ? `rename it to "${near}" (field names are camelCase)`
            : `remove it; the fields are: ${known.join(', ')}`,
      });
    }
  }
}

/** An example of the value written as a string, for a scalar only: a map or a list has no string form to suggest. */
function exampleOf(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? `, e.g. "${value}"` : '';
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof XmlDependencyList) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function readDependencies(value: unknown, reader: FieldReader): Map<string, string> | undefined {
  if (value === undefined || value === null || value === '') return new Map();
  const problems = reader.problems;
  const entries: [string, unknown, string][] = [];
  if (value instanceof XmlDependencyList) {
    value.items.forEach((item, i) => {
      const name = isRecord(item) ? item.name : undefined;
      const range = isRecord(item) ? item.range : undefined;
      if (typeof name !== 'string' || name === '' || typeof range !== 'string') {
        problems.push({
          field: `dependencies[${i}]`,
          message: 'a <dependency> needs a <name> and a <range>',
          fix: 'write <dependency><name>analytics</name><range>^6.0.0</range></dependency>',
        });
        return;
      }
      if (entries.some(([n]) => n === name)) {
        problems.push({
          field: `dependencies.${name}`,
          message: 'is declared more than once',
          fix: 'declare each dependency once, with one range',
        });
        return;
      }
      entries.push([name, range, `dependencies.${name}`]);
    });
  } else if (isRecord(value)) {
    for (const [name, range] of Object.entries(value)) entries.push([name, range, `dependencies.${name}`]);
  } else {
    problems.push({
      field: 'dependencies',
      message: `must be a map of SDK name to semver range, found ${describe(value)}`,
      fix: 'write dependencies: { analytics: "^6.0.0" } (YAML/JSON) or <dependency> elements (XML)',
    });
    return undefined;
  }
  // A Map, not an object: a dependency named "__proto__" must stay a key (and then fail the name rule).
  const out = new Map<string, string>();
  for (const [name, range, field] of entries) {
    if (typeof range !== 'string') {
      problems.push({
        field,
        message: `the range must be text, found ${describe(range)}`,
        fix: 'write the range in quotes, e.g. "^6.0.0"',
      });
      continue;
    }
    out.set(name, range);
  }
  return out;
}

/**
 * Checks a parsed metadata tree and returns it as `SdkMetadata`.
 * @throws MetadataError with every problem found.
 */
export function validateSdkMetadata(tree: unknown, options: ValidateOptions): SdkMetadata {
  if (!isRecord(tree)) {
    throw new MetadataError([
      {
        field: '(document)',
        message: `the metadata must be a map of fields, found ${describe(tree)}`,
        fix: 'write the fields at the top level, e.g. name: acme-maps',
      },
    ]);
  }
  const r = new FieldReader();
  r.unknownKeys(tree, METADATA_FIELDS, '');

  const name = r.string(tree, 'name', 'name', true);
  const publicName = r.string(tree, 'publicName', 'publicName', true);
  const version = r.string(tree, 'version', 'version', true);
  const summary = r.string(tree, 'summary', 'summary', true);
  const description = r.string(tree, 'description', 'description', true);
  const homepage = r.string(tree, 'homepage', 'homepage', true);
  const authors = r.stringList(tree, 'authors', 'authors', 'author');
  const contact = r.string(tree, 'contact', 'contact', true);
  const license = r.string(tree, 'license', 'license', true);
  const dependencies = readDependencies(tree.dependencies, r);
  const deprecated = r.boolean(tree, 'deprecated', 'deprecated');
  const deprecatedInFavorOf = r.string(tree, 'deprecatedInFavorOf', 'deprecatedInFavorOf', false);
  const tierText = r.string(tree, 'tier', 'tier', false);
  const prereleaseTierText = r.string(tree, 'prereleaseTier', 'prereleaseTier', false);
  const supported = r.boolean(tree, 'supported', 'supported');

  let platformName: string | undefined;
  let minimumVersion: string | undefined;
  let architectures: string[] | undefined;
  const platform = tree.platform;
  if (platform === undefined || platform === null || platform === '') {
    r.problems.push({
      field: 'platform',
      message: 'is required',
      fix: 'add platform: { name: ios, minimumVersion: "15.0", architectures: [arm64] }',
    });
  } else if (!isRecord(platform)) {
    r.problems.push({
      field: 'platform',
      message: `must be a map, found ${describe(platform)}`,
      fix: 'add platform: { name: ios, minimumVersion: "15.0", architectures: [arm64] }',
    });
  } else {
    r.unknownKeys(platform, PLATFORM_FIELDS, 'platform.');
    platformName = r.string(platform, 'name', 'platform.name', true);
    minimumVersion = r.string(platform, 'minimumVersion', 'platform.minimumVersion', true);
    architectures = r.stringList(platform, 'architectures', 'platform.architectures', 'architecture');
  }

  const problems = r.problems;
  if (name !== undefined) problems.push(...checkName('name', name));
  if (publicName !== undefined) problems.push(...checkPublicName('publicName', publicName));
  if (version !== undefined) problems.push(...checkVersion('version', version));
  problems.push(...checkSummaryAndDescription(summary, description));
  if (homepage !== undefined) problems.push(...checkHomepage('homepage', homepage));
  if (contact !== undefined) problems.push(...checkEmail('contact', contact));
  if (license !== undefined) problems.push(...checkLicense('license', license));
  for (const [dep, range] of dependencies ?? []) problems.push(...checkDependency(dep, range, name));
  if (platformName !== undefined) problems.push(...checkPlatformName('platform.name', platformName));
  if (minimumVersion !== undefined) problems.push(...checkMinimumVersion('platform.minimumVersion', minimumVersion));
  if (architectures !== undefined && architectures.length > 0)
    problems.push(...checkArchitectures('platform.architectures', architectures));
  if (deprecatedInFavorOf !== undefined)
    problems.push(...checkDeprecatedInFavorOf(deprecatedInFavorOf, name, deprecated, options.sdkExists));
  if (tierText !== undefined && !(ACCESS_TIERS as readonly string[]).includes(tierText)) {
    problems.push({
      field: 'tier',
      message: `"${tierText}" is not an access tier`,
      fix: `use one of: ${ACCESS_TIERS.join(', ')}`,
    });
  }
  if (prereleaseTierText !== undefined && !(ACCESS_TIERS as readonly string[]).includes(prereleaseTierText)) {
    problems.push({
      field: 'prereleaseTier',
      message: `"${prereleaseTierText}" is not an access tier`,
      fix: `use one of: ${ACCESS_TIERS.join(', ')}`,
    });
  }

  if (problems.length > 0) throw new MetadataError(problems, { details: { name, version } });

  return {
    name: name!,
    publicName: publicName!,
    version: version!,
    summary: summary!,
    description: description!,
    homepage: homepage!,
    authors: authors!,
    contact: contact!,
    license: license!,
    // `~>` is stored with CocoaPods' meaning as npm comparators, so staging, the resolver and install read it right.
    dependencies: Object.fromEntries([...(dependencies ?? [])].map(([dep, range]) => [dep, normalizeRange(range)])),
    platform: { name: platformName!, minimumVersion: minimumVersion!, architectures: architectures! },
    deprecated: deprecated ?? deprecatedInFavorOf !== undefined,
    ...(deprecatedInFavorOf !== undefined ? { deprecatedInFavorOf } : {}),
    tier: effectiveTier(version!, tierText as AccessTier | undefined, prereleaseTierText as AccessTier | undefined),
    supported: supported ?? true,
  };
}

/**
 * The tier a version is published to. A prerelease (`7.0.0-beta.1`) goes no further than early access unless the
 * provider says otherwise with `prereleaseTier`: a `tier: public` written for the SDK's releases does not put its
 * betas in front of every consumer. `private` stays private.
 */
function effectiveTier(
  version: string,
  tier: AccessTier | undefined,
  prereleaseTier: AccessTier | undefined,
): AccessTier {
  const declared = tier ?? 'private';
  if (semver.prerelease(version) === null) return declared;
  if (prereleaseTier !== undefined) return prereleaseTier;
  return declared === 'public' ? 'early-access' : declared;
}
