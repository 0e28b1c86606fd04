/**
 * The rules an SDK's metadata must follow, as pure functions over the fields. Each returns the problems it finds
 * (empty when the value complies); `validate.ts` runs them all so a provider sees every problem at once.
 */
import { distance } from 'fastest-levenshtein';
import semver from 'semver';
import spdxCorrect from 'spdx-correct';
import parseSpdx from 'spdx-expression-parse';
import spdxIds from 'spdx-license-ids/index.json' with { type: 'json' };
import { normalizeRange } from './ranges';
import { toCocoaPodsRequirements } from './cocoapods-requirements';
import type { MetadataProblem } from './errors';

/**
 * `name`: the package id used in S3 keys, DynamoDB keys, pod names and folder names. 2-50 characters: lower-case
 * letters and digits in words joined by single hyphens, starting with a letter (`maps`, `acme-analytics`).
 */
export const NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const NAME_LENGTH = { min: 2, max: 50 } as const;

/**
 * `publicName`: the display name. 2-50 characters: letters, digits, single spaces and hyphens, starting with a
 * letter and ending with a letter or digit, and not made only of reserved words (`SDK`, `Kit`, ...), which say
 * nothing about the SDK (`Acme Maps SDK` is fine, `SDK Kit` is not).
 */
export const PUBLIC_NAME_PATTERN = /^[A-Za-z](?:[A-Za-z0-9]|[ -](?=[A-Za-z0-9]))*$/;
export const PUBLIC_NAME_LENGTH = { min: 2, max: 50 } as const;
export const RESERVED_PUBLIC_NAME_WORDS = [
  'sdk',
  'kit',
  'api',
  'framework',
  'library',
  'lib',
  'module',
  'package',
  'plugin',
  'the',
  'official',
  'lockstep',
] as const;

export const SUMMARY_MAX_LENGTH = 140;

/** Platforms a package can target (`platform.name`). `macos` is written `osx` in the podspec, as CocoaPods does. */
export const PLATFORMS = ['ios', 'macos', 'tvos', 'watchos', 'visionos', 'android', 'linux', 'windows'] as const;

/** CPU architectures (`platform.architectures`), as Apple, Android and Linux toolchains name them. */
export const ARCHITECTURES = [
  'arm64',
  'arm64e',
  'arm64_32',
  'armv7',
  'armv7s',
  'armv7k',
  'x86_64',
  'i386',
  'x86',
  'armeabi-v7a',
  'arm64-v8a',
  'aarch64',
  'riscv64',
] as const;

/** `platform.minimumVersion`: one to three dot-separated numbers, e.g. `15`, `15.0`, `10.15.4`. */
export const MINIMUM_VERSION_PATTERN = /^\d+(?:\.\d+){0,2}$/;

// Practical address check (RFC 5322 dot-atom local part, hostname labels, a dot in the domain); not every RFC form.
const EMAIL_PATTERN =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

const problem = (field: string, message: string, fix: string): MetadataProblem => ({ field, message, fix });

export function checkName(field: string, value: string): MetadataProblem[] {
  if (value.length < NAME_LENGTH.min || value.length > NAME_LENGTH.max || !NAME_PATTERN.test(value)) {
    return [
      problem(
        field,
        `"${value}" is not a valid SDK name`,
        `use ${NAME_LENGTH.min}-${NAME_LENGTH.max} lower-case letters and digits, words joined by single hyphens, starting with a letter, e.g. "acme-maps"`,
      ),
    ];
  }
  return [];
}

export function checkPublicName(field: string, value: string): MetadataProblem[] {
  const fix = `use ${PUBLIC_NAME_LENGTH.min}-${PUBLIC_NAME_LENGTH.max} letters, digits, single spaces or hyphens, starting with a letter, e.g. "Acme Maps"`;
  if (value.length < PUBLIC_NAME_LENGTH.min || value.length > PUBLIC_NAME_LENGTH.max) {
    return [problem(field, `"${value}" has ${value.length} characters`, fix)];
  }
  if (!PUBLIC_NAME_PATTERN.test(value)) return [problem(field, `"${value}" is not a valid public name`, fix)];
  const words = value.toLowerCase().split(/[ -]/);
  if (words.every((w) => (RESERVED_PUBLIC_NAME_WORDS as readonly string[]).includes(w))) {
    return [
      problem(
        field,
        `"${value}" is made only of reserved words (${RESERVED_PUBLIC_NAME_WORDS.join(', ')})`,
        'name what the SDK is, e.g. "Acme Maps SDK"',
      ),
    ];
  }
  return [];
}

/**
 * A semantic version exactly as written, build metadata included (`1.2.3`, `7.0.0-beta.1`, `1.2.3+build.5`), and
 * not one that semver would first clean (`v1.2.3`, ` 1.2.3`, `=1.2.3`). The version is kept as written everywhere
 * (keys, index); build metadata gives no precedence, so the upload API refuses a second version that differs from
 * an existing one only by it.
 */
export function isStrictSemver(value: string): boolean {
  const parsed = semver.parse(value);
  return (
    parsed !== null &&
    value === (parsed.build.length > 0 ? `${parsed.version}+${parsed.build.join('.')}` : parsed.version)
  );
}

export function checkVersion(field: string, value: string): MetadataProblem[] {
  if (!isStrictSemver(value)) {
    return [
      problem(
        field,
        `"${value}" is not a semantic version`,
        'use MAJOR.MINOR.PATCH with an optional pre-release and build, e.g. "6.2.0", "7.0.0-beta.1" or "6.2.0+build.5", without a "v"',
      ),
    ];
  }
  return [];
}

export function checkSummaryAndDescription(
  summary: string | undefined,
  description: string | undefined,
): MetadataProblem[] {
  const problems: MetadataProblem[] = [];
  if (summary !== undefined && summary.length > SUMMARY_MAX_LENGTH) {
    problems.push(
      problem(
        'summary',
        `the summary has ${summary.length} characters, over ${SUMMARY_MAX_LENGTH}`,
        `shorten it to one sentence of at most ${SUMMARY_MAX_LENGTH} characters; details go in description`,
      ),
    );
  }
  if (summary !== undefined && description !== undefined && summary.length >= description.length) {
    problems.push(
      problem(
        'summary',
        `the summary (${summary.length} characters) is not shorter than the description (${description.length})`,
        'make the summary a short sentence and the description the longer explanation',
      ),
    );
  }
  return problems;
}

export function checkHomepage(field: string, value: string): MetadataProblem[] {
  const fix = 'give the SDK website as an https URL, e.g. "https://maps.example.com/sdk"';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [problem(field, `"${value}" is not a URL`, fix)];
  }
  if (url.protocol !== 'https:') return [problem(field, `"${value}" does not use https`, fix)];
  if (url.username !== '' || url.password !== '')
    return [problem(field, 'the homepage URL holds credentials', 'remove the user name and password from the URL')];
  if (!url.hostname.includes('.')) return [problem(field, `"${url.hostname}" is not a public host name`, fix)];
  return [];
}

export function checkEmail(field: string, value: string): MetadataProblem[] {
  if (value.length > 254 || !EMAIL_PATTERN.test(value)) {
    return [
      problem(
        field,
        `"${value}" is not a valid email address`,
        'give an address that reaches the SDK owners, e.g. "maps-team@example.com"',
      ),
    ];
  }
  return [];
}

export function checkDependency(name: string, range: string, self: string | undefined): MetadataProblem[] {
  const field = `dependencies.${name}`;
  const problems = checkName(field, name);
  if (self !== undefined && name === self) {
    problems.push(problem(field, 'the SDK depends on itself', `remove "${name}" from dependencies`));
  }
  const npmRange = normalizeRange(range);
  if (range.trim() === '' || semver.validRange(npmRange) === null) {
    problems.push(
      problem(
        field,
        `"${range}" is not a valid semver range`,
        'use a range such as "^6.1.0", "~6.1.3", ">=6.0.0 <8.0.0", "6.2.0" or CocoaPods\' "~> 6.0"',
      ),
    );
  } else {
    const pods = toCocoaPodsRequirements(npmRange);
    if (!pods.ok)
      problems.push(
        problem(
          field,
          pods.reason,
          'declare one contiguous range, e.g. ">=6.0.0 <8.0.0" instead of "^6.0.0 || ^7.0.0"',
        ),
      );
  }
  return problems;
}

export function checkPlatformName(field: string, value: string): MetadataProblem[] {
  return (PLATFORMS as readonly string[]).includes(value)
    ? []
    : [problem(field, `"${value}" is not a known platform`, `use one of: ${PLATFORMS.join(', ')}`)];
}

export function checkMinimumVersion(field: string, value: string): MetadataProblem[] {
  return MINIMUM_VERSION_PATTERN.test(value)
    ? []
    : [
        problem(
          field,
          `"${value}" is not a platform version`,
          'give the lowest OS version the SDK runs on, e.g. "15.0"',
        ),
      ];
}

export function checkArchitectures(field: string, values: readonly string[]): MetadataProblem[] {
  const problems: MetadataProblem[] = [];
  if (values.length === 0)
    problems.push(
      problem(
        field,
        'no CPU architecture is listed',
        `list the architectures the binaries hold, e.g. ["arm64", "x86_64"]`,
      ),
    );
  values.forEach((arch, i) => {
    if (!(ARCHITECTURES as readonly string[]).includes(arch))
      problems.push(
        problem(`${field}[${i}]`, `"${arch}" is not a known architecture`, `use one of: ${ARCHITECTURES.join(', ')}`),
      );
    else if (values.indexOf(arch) !== i)
      problems.push(problem(`${field}[${i}]`, `"${arch}" is listed twice`, 'list each architecture once'));
  });
  return problems;
}

export function checkDeprecatedInFavorOf(
  value: string,
  self: string | undefined,
  deprecated: boolean | undefined,
  sdkExists: (name: string) => boolean,
): MetadataProblem[] {
  const field = 'deprecatedInFavorOf';
  const problems = checkName(field, value);
  if (problems.length > 0) return problems;
  if (value === self)
    return [
      problem(
        field,
        'an SDK cannot be deprecated in favor of itself',
        'name the SDK that replaces this one, or set only "deprecated: true"',
      ),
    ];
  if (deprecated === false)
    problems.push(
      problem(
        field,
        'deprecatedInFavorOf is set while deprecated is false',
        'remove deprecatedInFavorOf, or set deprecated to true',
      ),
    );
  if (!sdkExists(value))
    problems.push(
      problem(
        field,
        `no SDK named "${value}" exists`,
        'name an SDK that is published or staged, or publish the replacement first',
      ),
    );
  return problems;
}

/**
 * `license` is an SPDX license expression (`Apache-2.0`, `MIT OR Apache-2.0`, `LicenseRef-Acme-Commercial` for a
 * license of your own), checked with `spdx-expression-parse`. Anything else is an error whose fix names the nearest
 * SPDX id: `spdx-correct`'s correction when it has one (`Apache 2` -> `Apache-2.0`), else the id closest by edit
 * distance.
 */
export function checkLicense(field: string, value: string): MetadataProblem[] {
  try {
    parseSpdx(value);
    return [];
  } catch {
    const suggestion = spdxCorrect(value) ?? nearestSpdxId(value);
    return [
      problem(
        field,
        `"${value}" is not an SPDX license expression`,
        `use "${suggestion}" if that is the license, or another SPDX id or expression (spdx.org/licenses); for a license of your own, "LicenseRef-<name>"`,
      ),
    ];
  }
}

function nearestSpdxId(value: string): string {
  const wanted = value.trim().toLowerCase();
  let best = spdxIds[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const id of spdxIds) {
    const d = distance(wanted, id.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [id, d];
  }
  return best;
}
