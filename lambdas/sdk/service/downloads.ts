/**
 * The download API's logic (`lambdas/handlers/sdk-download-api.ts`).
 *
 * - `GET /sdk/index` -> the published index with only the versions the consumer's groups may download (the IP
 *   ranges are checked at download time, so a consumer sees what it is entitled to from anywhere); withdrawn
 *   versions are listed without their object keys; `latest` is recomputed over what is shown.
 * - `GET /sdk/download/{name}/{version}[?file=&redirect=true]` -> `decideDownload` (host/download.ts): 200 `{ url, policy, expiresAt,
 *   file }` (or 302 to the URL with `redirect=true`), 403 / 404 / 410 with the refusal's message.
 */
import semver from 'semver';
import type { AccessControl, Consumer } from '../host/acl';
import type { IndexedSdk, PackageIndex } from '../host/package-index';

/** The index as `consumer` may see it. */
export function indexFor(index: PackageIndex, consumer: Consumer, access: AccessControl): PackageIndex {
  const sdks: IndexedSdk[] = [];
  for (const sdk of index.sdks) {
    const versions = sdk.versions.filter((v) => {
      const decision = access.authorize(consumer, '0.0.0.0', sdk.name, v.tier);
      return decision.allowed || decision.code === 'ip-not-allowed';
    });
    if (versions.length === 0) continue;
    const stable = versions.find((v) => semver.prerelease(v.version) === null);
    const { latest: _latest, ...rest } = sdk;
    sdks.push({
      ...rest,
      ...((stable ?? versions[0]) !== undefined ? { latest: (stable ?? versions[0])!.version } : {}),
      versions,
      withdrawn: sdk.withdrawn.map((w) => ({ version: w.version, keys: [] })),
    });
  }
  return { ...index, sdks };
}
