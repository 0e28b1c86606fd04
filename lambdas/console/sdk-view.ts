/**
 * The SDKs page: versions in staging with their state (WAITING with what each waits for, CONFLICT with the full
 * explanation, TESTING and PUBLISHED with their tiers) and the published catalogue.
 */
import type { SdkStore } from '../ports/sdk';

export interface SdkVersionView {
  readonly name: string;
  readonly version: string;
  readonly status: string;
  /** The service's own words: what a WAITING version waits for, a CONFLICT's explanation, a failure's cause. */
  readonly reason: string;
  readonly tier: string;
  readonly updatedAt: string;
  readonly publishedAt?: string;
  /** SDKs (and owners) a conflict involves. */
  readonly involved?: readonly { readonly name: string; readonly contacts: readonly string[] }[];
}

export interface SdkPage {
  /** False when no SDK publisher runs beside this pipeline. */
  readonly available: boolean;
  readonly staging: readonly SdkVersionView[];
  readonly catalogue: readonly SdkVersionView[];
}

const IN_STAGING = new Set(['CONVERTED', 'WAITING', 'CONFLICT', 'TESTING', 'TEST_FAILED', 'READY']);

export async function sdkPage(store: SdkStore | undefined): Promise<SdkPage> {
  if (!store) return { available: false, staging: [], catalogue: [] };
  const versions = (await store.listVersions()).map((v): SdkVersionView => ({
    name: v.name,
    version: v.version,
    status: v.status,
    reason: v.reason,
    tier: v.metadata.tier,
    updatedAt: v.updatedAt,
    ...(v.publishedAt ? { publishedAt: v.publishedAt } : {}),
    ...(v.involved ? { involved: v.involved.map((i) => ({ ...i })) } : {}),
  }));
  const byName = (a: SdkVersionView, b: SdkVersionView) =>
    a.name.localeCompare(b.name) || a.version.localeCompare(b.version);
  return {
    available: true,
    staging: versions.filter((v) => IN_STAGING.has(v.status)).sort(byName),
    catalogue: versions.filter((v) => v.status === 'PUBLISHED').sort(byName),
  };
}
