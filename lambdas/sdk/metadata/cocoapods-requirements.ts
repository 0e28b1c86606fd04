/**
 * Semver ranges (as SDK metadata declares dependencies) to CocoaPods requirement strings (as podspecs declare them).
 *
 * Mapping, after semver has expanded the range into comparators:
 *
 * | semver range        | comparators              | CocoaPods                  |
 * |---------------------|--------------------------|----------------------------|
 * | `*`, `x`, `>=0.0.0` | any                      | `[]` (any version)         |
 * | `6.1.0`, `=6.1.0`   | `6.1.0`                  | `["= 6.1.0"]`              |
 * | `^6.1.0`, `~6`      | `>=6.1.0 <7.0.0-0`       | `["~> 6.1"]` (`~6`: `~> 6.0`) |
 * | `~6.1.3`, `6.1.x`   | `>=6.1.3 <6.2.0-0`       | `["~> 6.1.3"]`             |
 * | `^6.1.3`            | `>=6.1.3 <7.0.0-0`       | `[">= 6.1.3", "< 7.0.0"]`  |
 * | `>=1.2 <3`          | `>=1.2.0 <3.0.0-0`       | `[">= 1.2.0", "< 3.0.0"]`  |
 *
 * semver's `-0` upper-bound sentinel (which keeps `7.0.0-beta` out of `^6`) is dropped: CocoaPods never resolves a
 * pre-release unless a requirement names one, so `< 7.0.0` excludes it just the same.
 *
 * Refused: unions (`^6.0.0 || ^7.0.0`), because a podspec dependency is a conjunction of requirements and cannot say
 * "either".
 */
import semver from 'semver';

export type CocoaPodsRequirementResult =
  { readonly ok: true; readonly requirements: readonly string[] } | { readonly ok: false; readonly reason: string };

function show(version: semver.SemVer): string {
  const core = `${version.major}.${version.minor}.${version.patch}`;
  const pre = version.prerelease.join('.');
  return pre === '' || pre === '0' ? core : `${core}-${pre}`;
}

/**
 * Converts a semver range to CocoaPods requirements (see the table above).
 * @example toCocoaPodsRequirements('^6.1.0') // { ok: true, requirements: ['~> 6.1'] }
 */
export function toCocoaPodsRequirements(range: string): CocoaPodsRequirementResult {
  let parsed: semver.Range;
  try {
    parsed = new semver.Range(range);
  } catch {
    return { ok: false, reason: `"${range}" is not a valid semver range` };
  }
  if (parsed.set.length !== 1) {
    return { ok: false, reason: `"${range}" is a union (||), which a CocoaPods requirement cannot express` };
  }
  // semver writes "any version" as an empty comparator (`*`) or `>=0.0.0` (`x`, `>=0`).
  const comparators = parsed.set[0]!.filter((c) => c.value !== '' && c.value !== '>=0.0.0');
  if (comparators.length === 0) return { ok: true, requirements: [] };

  if (comparators.length === 2) {
    const lower = comparators.find((c) => c.operator === '>=');
    const upper = comparators.find((c) => c.operator === '<');
    if (
      lower !== undefined &&
      upper !== undefined &&
      lower.semver.prerelease.length === 0 &&
      isSentinelOrRelease(upper.semver)
    ) {
      const lo = lower.semver;
      const hi = upper.semver;
      if (hi.major === lo.major + 1 && hi.minor === 0 && hi.patch === 0 && lo.patch === 0) {
        return { ok: true, requirements: [`~> ${lo.major}.${lo.minor}`] };
      }
      if (hi.major === lo.major && hi.minor === lo.minor + 1 && hi.patch === 0) {
        return { ok: true, requirements: [`~> ${lo.major}.${lo.minor}.${lo.patch}`] };
      }
    }
  }
  return {
    ok: true,
    requirements: comparators.map((c) => `${c.operator === '' ? '=' : c.operator} ${show(c.semver)}`),
  };
}

function isSentinelOrRelease(version: semver.SemVer): boolean {
  return version.prerelease.length === 0 || (version.prerelease.length === 1 && version.prerelease[0] === 0);
}
