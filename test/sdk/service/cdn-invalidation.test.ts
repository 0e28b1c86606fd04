/**
 * Withdrawals and tier changes invalidate the package's old path on CloudFront (issue 9, item 16): the publish
 * step through the real CloudFront adapter, its client mocked with aws-sdk-client-mock.
 */
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { SdkMetadata } from '../../../lambdas/sdk/model';
import { CloudFrontInvalidator } from '../../../lambdas/adapters/cloudfront-invalidator';
import { publishPackage } from '../../../lambdas/sdk/service/publish';
import type { VersionRecord } from '../../../lambdas/sdk/records/records';
import { sdk } from '../staging/fixtures';
import { stepHarness, type StepHarness } from './step-fakes';

const cloudfront = mockClient(CloudFrontClient);
const DISTRIBUTION = 'E2EXAMPLE123';
const ref = { name: 'maps', version: '2.0.0' };

let harness: StepHarness;

async function published(metadata: SdkMetadata, extra: Partial<VersionRecord> = {}): Promise<VersionRecord> {
  const at = '2025-01-01T00:00:00.000Z';
  await harness.objects.put('staging', 'packages/maps/2.0.0/maps-2.0.0.zip', 'zip bytes');
  await harness.objects.put('packages', `${metadata.tier}/maps/2.0.0/maps-2.0.0.zip`, 'zip bytes');
  return harness.store.saveVersion(
    {
      ...ref,
      status: 'PUBLISHED',
      reason: 'published',
      metadata,
      upload: {
        artifactsKey: 'received/maps/2.0.0/e/artifacts.zip',
        metadataKey: 'received/maps/2.0.0/e/lockstep-sdk.json',
        etag: 'e',
      },
      package: {
        key: 'packages/maps/2.0.0/maps-2.0.0.zip',
        fileName: 'maps-2.0.0.zip',
        sha256: 'a'.repeat(64),
        size: 9,
      },
      contentsKey: 'contents/maps/2.0.0.json',
      publishedAt: at,
      updatedAt: at,
      history: [],
      ...extra,
    },
    undefined,
  );
}

const invalidations = () => cloudfront.commandCalls(CreateInvalidationCommand).map((c) => c.args[0].input);

beforeEach(() => {
  cloudfront.reset();
  cloudfront.on(CreateInvalidationCommand).resolves({
    Invalidation: { Id: 'I1', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: undefined },
  });
  harness = stepHarness({
    cdn: new CloudFrontInvalidator(new CloudFrontClient({ region: 'us-east-1' }), DISTRIBUTION),
  });
});

describe('CloudFront invalidation', () => {
  it("invalidates a withdrawn version's path once its object is deleted, and names the same invalidation on a retry", async () => {
    // What the validate step leaves for a withdrawal: still PUBLISHED, its metadata no longer supported.
    await published(sdk('maps', '2.0.0', {}, { tier: 'private', supported: false }));
    const outcome = await publishPackage(harness.deps, ref, 'maps-2_0_0-intake-withdraw');
    expect(outcome).toMatchObject({ published: true, withdrawn: true });
    expect(await harness.objects.getBytes('packages', 'private/maps/2.0.0/maps-2.0.0.zip')).toBeUndefined();
    expect(invalidations()).toEqual([
      {
        DistributionId: DISTRIBUTION,
        InvalidationBatch: {
          CallerReference: 'maps-2_0_0-intake-withdraw:maps@2.0.0:withdrawn',
          Paths: { Quantity: 1, Items: ['/private/maps/2.0.0/maps-2.0.0.zip'] },
        },
      },
    ]);

    // A retried step (the record is WITHDRAWN now) asks again with the same reference: CloudFront runs it once.
    await publishPackage(harness.deps, ref, 'maps-2_0_0-intake-withdraw');
    expect(invalidations()).toHaveLength(2);
    expect(invalidations()[1]).toEqual(invalidations()[0]);
  });

  it('moves a version to its new tier, lists it there, deletes the old object and invalidates the old path', async () => {
    await published(sdk('maps', '2.0.0', {}, { tier: 'early-access' }), { movedFrom: 'public' });
    await harness.objects.put('packages', 'public/maps/2.0.0/maps-2.0.0.zip', 'zip bytes');
    const outcome = await publishPackage(harness.deps, ref, 'maps-2_0_0-intake-retier');
    expect(outcome).toMatchObject({ published: true, withdrawn: false });
    expect(await harness.objects.getBytes('packages', 'early-access/maps/2.0.0/maps-2.0.0.zip')).toBeDefined();
    expect(await harness.objects.getBytes('packages', 'public/maps/2.0.0/maps-2.0.0.zip')).toBeUndefined();
    const index = JSON.parse((await harness.objects.getBytes('packages', 'index.json'))!.toString()) as {
      sdks: { versions: { tier: string }[] }[];
    };
    expect(index.sdks[0]!.versions.map((v) => v.tier)).toEqual(['early-access']);
    expect(invalidations().map((i) => i.InvalidationBatch!.Paths!.Items)).toEqual([
      ['/public/maps/2.0.0/maps-2.0.0.zip'],
    ]);
    const record = (await harness.store.getVersion(ref))!;
    expect(record.movedFrom).toBeUndefined();
    expect(record.reason).toBe('moved from the public tier to the early-access tier');
  });

  it('asks for nothing when a version is published, not withdrawn or moved', async () => {
    await harness.store.saveVersion({ ...(await published(sdk('maps', '2.0.0'))), status: 'READY' }, 1);
    await publishPackage(harness.deps, ref, 'maps-2_0_0-intake-x');
    expect(invalidations()).toEqual([]);
  });
});
