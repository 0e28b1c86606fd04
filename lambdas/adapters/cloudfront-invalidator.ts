/**
 * CloudFront as the SDK publishing CDN (`LOCKSTEP_CDN_DISTRIBUTION_ID`): invalidates package paths whose objects
 * were withdrawn or moved to another tier, since the package host's cache policy (CachingOptimized) would serve
 * them from the edge for up to 24 hours otherwise.
 */
import { CreateInvalidationCommand, type CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { CdnInvalidator } from '../ports/sdk';

export class CloudFrontInvalidator implements CdnInvalidator {
  constructor(
    private readonly client: CloudFrontClient,
    private readonly distributionId: string,
  ) {}

  async invalidate(keys: readonly string[], reference: string): Promise<void> {
    if (keys.length === 0) return;
    const paths = [...new Set(keys.map((k) => `/${k.split('/').map(encodeURIComponent).join('/')}`))].sort();
    await this.client.send(
      new CreateInvalidationCommand({
        DistributionId: this.distributionId,
        // The same reference with the same paths is the same invalidation: a retried step does not start a second.
        InvalidationBatch: { CallerReference: reference, Paths: { Quantity: paths.length, Items: paths } },
      }),
    );
  }
}
