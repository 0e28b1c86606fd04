/**
 * Object keys in the package host bucket. The tier is the first path segment so CloudFront behaviours and bucket
 * policies can treat tiers differently (`public/*` served freely, the others only through signed URLs):
 *
 *   public/<name>/<version>/<file>
 *   early-access/<name>/<version>/<file>
 *   private/<name>/<version>/<file>
 *   index.json
 */
import type { AccessTier } from '../model';

/** Key of the index of every published SDK version. */
export const INDEX_KEY = 'index.json';

/** Name of a version's package archive, e.g. `maps-2.0.0.zip`. */
export function packageFileName(name: string, version: string): string {
  return `${name}-${version}.zip`;
}

/** Key of one published file, e.g. `early-access/maps/2.0.0/maps-2.0.0.zip`. */
export function packageKey(tier: AccessTier, name: string, version: string, file: string): string {
  return `${tier}/${name}/${version}/${file}`;
}
