/**
 * Dependency ranges are npm semver ranges (`^6.1.0`, `~6.1.3`, `>=6.0.0 <8.0.0`), with one addition: CocoaPods'
 * pessimistic operator `~>`, with CocoaPods' meaning, because providers write CocoaPods-style requirements and the
 * output is a podspec. npm's `semver` would read `~> 6.0` as its own tilde (6.0.x), so a provider asking for
 * "6.x from 6.0 on" would wait for ever with 6.4.0 published. `~>` is therefore rewritten into npm comparators
 * before anything else reads the range:
 *
 * | CocoaPods        | meaning                      | stored as                   |
 * |------------------|------------------------------|-----------------------------|
 * | `~> 6`           | >= 6.0.0 and < 7.0.0         | `>=6.0.0 <7.0.0`            |
 * | `~> 6.0`         | >= 6.0.0 and < 7.0.0         | `>=6.0.0 <7.0.0`            |
 * | `~> 6.1.3`       | >= 6.1.3 and < 6.2.0         | `>=6.1.3 <6.2.0`            |
 * | `~> 0.1`         | >= 0.1.0 and < 1.0.0         | `>=0.1.0 <1.0.0`            |
 * | `~> 6.0, >= 6.2` | both (CocoaPods' list form)  | `>=6.0.0 <7.0.0 >=6.2.0`    |
 *
 * The last segment given may rise, the ones before it stay (RubyGems' `Gem::Requirement`, which CocoaPods uses).
 * The podspec turns the stored range back into `~> 6.0` (`cocoapods-requirements.ts`).
 */

import semver from 'semver';

const PESSIMISTIC = /~>\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?/g;

/**
 * The npm semver form of a dependency range: `~>` requirements rewritten with CocoaPods' meaning, CocoaPods'
 * comma-separated list read as an intersection. Any other range is returned unchanged.
 * @example normalizeRange('~> 6.0') // '>=6.0.0 <7.0.0'
 */
export function normalizeRange(range: string): string {
  if (!range.includes('~>')) return range;
  const rewritten = range
    .replace(
      PESSIMISTIC,
      (_match, major: string, minor: string | undefined, patch: string | undefined, pre: string | undefined) => {
        const [a, b, c] = [Number(major), Number(minor ?? 0), Number(patch ?? 0)];
        const lower = `>=${a}.${b}.${c}${pre ?? ''}`;
        // `~> 6` and `~> 6.0` let the minor rise; `~> 6.1.3` lets only the patch rise.
        const upper = patch === undefined ? `<${a + 1}.0.0` : `<${a}.${b + 1}.0`;
        return `${lower} ${upper}`;
      },
    )
    .replace(/\s*,\s*/g, ' ')
    .trim();
  // semver's own spelling (`>= 6.2` -> `>=6.2.0`); left as written when invalid, so the caller reports it.
  return semver.validRange(rewritten) ?? rewritten;
}
