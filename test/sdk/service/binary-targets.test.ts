/**
 * Issue 14 item 15 through the service: the convert step stages each xcframework zip as an object of its own, with
 * the podspec and the binary targets pointing at the package host's URLs for the tier; publishing copies those
 * objects to the package host and lists them in the index with the checksum of their exact bytes.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { PackageIndex } from '../../../lambdas/sdk/host/package-index';
import type { VersionRecord } from '../../../lambdas/sdk/records/records';
import { runSdkStep } from '../../../lambdas/sdk/service/steps';
import { withStatus } from '../../../lambdas/sdk/service/transitions';
import { sampleSdkEntries, sdkMetadata } from '../converter/fixtures';
import { buildZip, readZip } from '../converter/zip-helpers';
import { stepHarness, type StepHarness } from './step-fakes';

const SDK = { name: 'acme-maps', version: '6.2.0' };
const CDN = 'https://d111111abcdef8.cloudfront.net';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let h: StepHarness;
let staged: VersionRecord;

beforeAll(async () => {
  h = stepHarness({
    config: {
      hostBucket: 'host',
      stagingBucket: 'staging',
      packageHostBucket: 'packages',
      testerProject: 'lockstep-sdk-tester',
      providerCodeProject: 'lockstep-sdk-provider-code',
      providerRunner: { bucket: 'staging', key: 'tester/provider-runner.mjs' },
      cdnBaseUrl: `${CDN}/`,
    },
  });
  const upload = {
    artifactsKey: 'incoming/acme-maps/6.2.0/artifacts.zip',
    metadataKey: 'incoming/acme-maps/6.2.0/lockstep-sdk.json',
    etag: 'e1',
  };
  await h.objects.put('host', upload.artifactsKey, buildZip(sampleSdkEntries()));
  const metadata = sdkMetadata({ dependencies: {}, tier: 'early-access' });
  await runSdkStep(h.deps, { action: 'convert', execution: 'exec-1', sdk: SDK, upload, metadata, batchId: null });
  staged = (await h.store.getVersion(SDK))!;
});

describe('SwiftPM binary targets and absolute podspec URLs', () => {
  it('stages the xcframework zip next to the package, the same bytes the package holds, and records it', async () => {
    const own = (await h.objects.getBytes('staging', 'packages/acme-maps/6.2.0/Maps.xcframework.zip'))!;
    const packageFiles = await readZip((await h.objects.getBytes('staging', staged.package.key))!);
    expect(own).toEqual(packageFiles.get('acme-maps-6.2.0/Maps.xcframework.zip'));
    expect(staged.package.binaryTargets).toEqual([
      {
        key: 'packages/acme-maps/6.2.0/Maps.xcframework.zip',
        fileName: 'Maps.xcframework.zip',
        sha256: sha256(own),
        size: own.length,
      },
    ]);

    const podspec = JSON.parse(packageFiles.get('acme-maps-6.2.0/acme-maps.podspec.json')!.toString()) as {
      source: { http: string };
    };
    expect(podspec.source.http).toBe(`${CDN}/early-access/acme-maps/6.2.0/acme-maps-6.2.0.zip`);
    const manifest = JSON.parse(packageFiles.get('acme-maps-6.2.0/manifest.json')!.toString()) as {
      swiftPackage: { binaryTargets: { url: string; checksum: string }[] };
    };
    expect(manifest.swiftPackage.binaryTargets).toEqual([
      expect.objectContaining({
        url: `${CDN}/early-access/acme-maps/6.2.0/Maps.xcframework.zip`,
        checksum: sha256(own),
      }),
    ]);
  });

  it('publishes it as its own object on the package host, listed in the index with the checksum of those exact bytes', async () => {
    const ready = (await h.store.getVersion(SDK))!;
    await h.store.saveVersion(withStatus(ready, 'READY', 'tested', h.deps.clock()), ready.rev);
    await runSdkStep(h.deps, { action: 'publish', execution: 'exec-1', sdk: SDK });

    const published = (await h.objects.getBytes('packages', 'early-access/acme-maps/6.2.0/Maps.xcframework.zip'))!;
    const index = JSON.parse((await h.objects.getBytes('packages', 'index.json'))!.toString()) as PackageIndex;
    const files = index.sdks.find((s) => s.name === 'acme-maps')!.versions[0]!.files;
    expect(files).toEqual([
      {
        name: 'Maps.xcframework.zip',
        key: 'early-access/acme-maps/6.2.0/Maps.xcframework.zip',
        sha256: sha256(published),
        size: published.length,
      },
      expect.objectContaining({ name: 'acme-maps-6.2.0.zip', key: 'early-access/acme-maps/6.2.0/acme-maps-6.2.0.zip' }),
    ]);
  });
});
