/**
 * The download decision: who asks, from where, for which version -> a URL to download from, or a typed refusal.
 * Pure (the clock is an argument), so the download API, the local edge and `explain`-style tooling agree.
 */
import type { AccessControl, Consumer } from './acl';
import { normaliseAddress } from './acl';
import { packageFileName } from './keys';
import { lookupVersion, type IndexedFile, type PackageIndex } from './package-index';
import type { CloudFrontUrlSigner } from './signer';

export interface DownloadRequest {
  readonly consumer: Consumer;
  /** Address the request came from (API Gateway `requestContext.http.sourceIp`). */
  readonly sourceIp: string;
  readonly name: string;
  readonly version: string;
  /** File of the version; the package archive (`<name>-<version>.zip`) when omitted. */
  readonly file?: string;
}

export interface DownloadContext {
  readonly index: PackageIndex;
  readonly access: AccessControl;
  readonly signer: CloudFrontUrlSigner;
  readonly now: Date;
  /**
   * How long a signed URL stays valid.
   * @default 300 seconds
   */
  readonly ttlSeconds?: number;
}

export type DownloadRefusalCode = 'not-found' | 'withdrawn' | 'not-allowed' | 'ip-not-allowed';

export interface DownloadRefusal {
  readonly code: DownloadRefusalCode;
  /** HTTP status for the download API: 404, 410 or 403. */
  readonly status: 404 | 410 | 403;
  readonly message: string;
}

export type DownloadDecision =
  | {
      readonly ok: true;
      readonly url: string;
      /** `public`: a plain URL; `canned`: signed with an expiry; `custom`: signed with an expiry and an IP range. */
      readonly policy: 'public' | 'canned' | 'custom';
      /** ISO time the URL stops working; absent for public URLs. */
      readonly expiresAt?: string;
      readonly file: IndexedFile;
    }
  | { readonly ok: false; readonly refusal: DownloadRefusal };

export const DEFAULT_URL_TTL_SECONDS = 300;

const refuse = (code: DownloadRefusalCode, message: string): DownloadDecision => ({
  ok: false,
  refusal: { code, status: code === 'not-found' ? 404 : code === 'withdrawn' ? 410 : 403, message },
});

/**
 * Decides a download.
 *
 * IPv4 sources limited to a range get a custom policy with that range, so the URL is useless elsewhere. IPv6
 * ranges are checked here only: CloudFront cannot enforce IP conditions for IPv6 clients.
 *
 * @example
 * const decision = decideDownload({ consumer, sourceIp, name: 'maps', version: '2.0.0' }, { index, access, signer, now: new Date() });
 * return decision.ok ? { statusCode: 302, headers: { location: decision.url } } : { statusCode: decision.refusal.status, body: decision.refusal.message };
 */
export function decideDownload(request: DownloadRequest, context: DownloadContext): DownloadDecision {
  const { name, version } = request;
  const found = lookupVersion(context.index, name, version);
  if (found.found === 'none') {
    const sdk = context.index.sdks.find((s) => s.name === name);
    const hint =
      sdk === undefined
        ? `no SDK named ${name} is published`
        : `published versions: ${sdk.versions.map((v) => v.version).join(', ') || 'none'}`;
    return refuse('not-found', `${name} ${version} is not published (${hint})`);
  }
  if (found.found === 'withdrawn') {
    const latest = found.sdk.latest;
    return refuse(
      'withdrawn',
      `${name} ${version} was withdrawn: it is no longer supported${latest !== undefined ? `; use ${latest}` : ''}`,
    );
  }
  const fileName = request.file ?? packageFileName(name, found.version.version);
  const file = found.version.files.find((f) => f.name === fileName);
  if (file === undefined) {
    return refuse(
      'not-found',
      `${name} ${version} has no file ${fileName} (files: ${found.version.files.map((f) => f.name).join(', ') || 'none'})`,
    );
  }

  const tier = found.version.tier;
  const access = context.access.authorize(request.consumer, request.sourceIp, name, tier);
  if (!access.allowed) return refuse(access.code, access.message);
  if (tier === 'public') return { ok: true, url: context.signer.urlFor(file.key), policy: 'public', file };

  const expiresAt = new Date(context.now.getTime() + (context.ttlSeconds ?? DEFAULT_URL_TTL_SECONDS) * 1000);
  const ipv4Range =
    access.ipRange !== undefined && normaliseAddress(request.sourceIp)?.family === 'ipv4' ? access.ipRange : undefined;
  const signed = context.signer.sign({
    key: file.key,
    expiresAt,
    ...(ipv4Range !== undefined ? { ipRange: ipv4Range } : {}),
  });
  return { ok: true, url: signed.url, policy: signed.policy, expiresAt: expiresAt.toISOString(), file };
}
