/**
 * SDK publishing end to end in local mode: `lockstep sdk push` -> upload API -> intake -> the state machine (same
 * ASL) -> converter -> staging -> the tester in the local CodeBuild (the esbuild bundle, real `cc`) -> package host
 * -> `lockstep sdk install` through the download API and the local edge, which checks signed URLs with the real
 * public key.
 */
import { readFileSync } from 'node:fs';
import '../../../local/polyfills';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fetchStatus, installSdks, pushSdks, resolveApi, type ApiOptions } from '../../../bin/commands/sdk';
import { buildExampleSdks } from '../../../examples/sdks/build';
import { LOCK_FILE_NAME, parseLockFile } from '../../../lambdas/sdk/install/lock-file';
import type { VersionStatus } from '../../../lambdas/sdk/service/uploads';
import { startLocalServices, type LocalServices } from '../../../local/runtime';
import { startSdkPublishing, type LocalSdkPublishing } from '../../../local/sdk';
import type { OutboxMessage } from '../../../local/sns/sns';
import { tempDataDir } from '../../local/helpers';

let services: LocalServices;
let sdk: LocalSdkPublishing;
let cleanup: () => Promise<void>;
let dataDir: string;
let provider: ApiOptions;
let consumer: ApiOptions;
let built: Record<string, string>;
const outbox: OutboxMessage[] = [];

beforeAll(async () => {
  const temp = await tempDataDir('lockstep-sdk-e2e-');
  dataDir = temp.dir;
  cleanup = temp.cleanup;
  services = await startLocalServices({
    dataDir,
    javaPreference: 'dynalite',
    instantRetries: true,
    log: () => undefined,
  });
  services.applyEnvironment();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  sdk = await startSdkPublishing(services, { pollIntervalMs: 0, log: () => undefined });
  services.sns.subscribe((message) => void outbox.push(message));
  provider = resolveApi({ dataDir }, 'provider');
  consumer = resolveApi({ dataDir }, 'consumer');
  built = await buildExampleSdks(join(dataDir, 'examples'));
}, 120_000);

afterAll(async () => {
  await sdk?.stop();
  await services?.stop();
  await cleanup?.();
});

/** Waits until every SDK execution has ended (executions started by others included). */
async function settle(): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const running = services.stepFunctions
      .listExecutionRecords()
      .filter((r) => r.status === 'RUNNING' && r.stateMachineArn === sdk.names.stateMachineArn);
    if (running.length === 0) return;
    await Promise.all(running.map((r) => services.stepFunctions.waitForExecution(r.executionArn)));
  }
  throw new Error('SDK executions kept starting');
}

async function statusOf(label: string): Promise<VersionStatus> {
  const [found] = await fetchStatus(provider, label);
  if (found === undefined) throw new Error(`no status for ${label}`);
  return found;
}

describe('SDK publishing in local mode', () => {
  it('holds an SDK whose dependency is missing, then publishes it by itself when the dependency arrives', async () => {
    const [geo] = await pushSdks(provider, [built['geo@1.0.0']!]);
    expect(geo).toMatchObject({ name: 'geo', version: '1.0.0', started: true });
    await settle();
    const waiting = await statusOf('geo@1.0.0');
    expect(waiting.status).toBe('WAITING');
    expect(waiting.reason).toContain('analytics ^6.0.0');

    await pushSdks(provider, [built['analytics@6.1.0']!]);
    await settle();
    expect((await statusOf('analytics@6.1.0')).status).toBe('PUBLISHED');
    const published = await statusOf('geo@1.0.0');
    expect(published.status).toBe('PUBLISHED');
    expect(published.history.map((h) => h.status)).toEqual(
      expect.arrayContaining(['WAITING', 'TESTING', 'READY', 'PUBLISHED']),
    );
    // The tester built the sample app against analytics with the real compiler and checked the architectures.
    const checks = published.tests?.packages.find((p) => p.name === 'geo')?.checks ?? [];
    const sampleApp = checks.find((c) => c.name === 'sample-app');
    expect(sampleApp).toMatchObject({ passed: true });
    expect(sampleApp?.skipped).toBeUndefined();
    expect(sampleApp?.message).toContain('built and ran');
    expect(checks.find((c) => c.name === 'architectures:lib/libgeo.a')).toMatchObject({ passed: true });
    // The sample app ran in the provider-code project (issue 9 item 20), whose log shows no presigned URL.
    const providerBuilds = services.codeBuild
      .listBuildsForProject({ projectName: sdk.names.providerCodeProject })
      .ids.map((id) => services.codeBuild.getBuild(id)!);
    expect(providerBuilds.length).toBeGreaterThan(0);
    expect(providerBuilds.map((b) => b.buildStatus)).toContain('SUCCEEDED');
    for (const build of providerBuilds) {
      const log = readFileSync(build.logFile, 'utf8');
      expect(log).toContain('[provider code]');
      expect(log).not.toMatch(/X-Amz-Signature|X-Amz-Credential/);
    }
    expect(
      outbox
        .filter((m) => m.attributes.event === 'sdk-published')
        .map((m) => m.attributes.sdk)
        .sort(),
    ).toEqual(['analytics', 'geo']);
  });

  it('publishes a private SDK and installs it through a signed URL that the edge verifies, writing the lock file', async () => {
    const [maps] = await pushSdks(provider, [built['maps@2.0.0']!]);
    expect(maps!.started).toBe(true);
    await settle();
    const status = await statusOf('maps@2.0.0');
    expect(status.status).toBe('PUBLISHED');
    expect(status.tests?.packages[0]?.checks.find((c) => c.name === 'checks-script')).toMatchObject({ passed: true });

    const manifest = join(dataDir, 'app', 'lockstep-sdk.yaml');
    await import('node:fs/promises').then(async (fs) => {
      await fs.mkdir(join(dataDir, 'app'), { recursive: true });
      await fs.writeFile(manifest, 'sdks:\n  maps: "^2.0.0"\n');
    });
    const summary = await installSdks(consumer, { manifest, dir: join(dataDir, 'app', 'vendor') });
    expect(summary.installed.map((i) => `${i.name}@${i.version}`)).toEqual([
      'analytics@6.1.0',
      'geo@1.0.0',
      'maps@2.0.0',
    ]);
    const lock = parseLockFile(await readFile(join(dataDir, 'app', LOCK_FILE_NAME), 'utf8'));
    expect(lock.sdks.find((s) => s.name === 'maps')).toMatchObject({ version: '2.0.0', tier: 'private' });

    // The download API's URL for the private package is signed; the edge serves it, and refuses it once altered.
    const answer = (await (
      await fetch(`${consumer.api}/sdk/download/maps/2.0.0`, { headers: { authorization: `Bearer ${consumer.token}` } })
    ).json()) as { url: string; policy: string };
    expect(answer.policy).toBe('custom');
    expect((await fetch(answer.url)).status).toBe(200);
    const tampered = answer.url.replace('/private/maps/2.0.0/', '/private/maps/2.0.1/');
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { reason: string }).reason).toBe('resource-mismatch');
    const unsigned = await fetch(answer.url.split('?')[0]!);
    expect(unsigned.status).toBe(403);
  });

  it('refuses a batch whose members need two majors of one SDK, explains why and tells every owner involved', async () => {
    outbox.length = 0;
    await pushSdks(provider, [built['analytics@7.0.2']!]);
    await settle();
    // maps 2.1.0: the published maps 2.0.0 with a new version number, released together with social.
    const maps21 = join(dataDir, 'examples', 'maps-2.1.0');
    await cp(built['maps@2.0.0']!, maps21, { recursive: true });
    const metadata = join(maps21, 'lockstep-sdk.json');
    await writeFile(metadata, (await readFile(metadata, 'utf8')).replace('"2.0.0"', '"2.1.0"'));
    await pushSdks(provider, [maps21, built['social@1.3.0']!], { batch: 'release-1' });
    await settle();
    const maps = await statusOf('maps@2.1.0');
    const social = await statusOf('social@1.3.0');
    expect(maps.status).toBe('CONFLICT');
    expect(social.status).toBe('CONFLICT');
    expect(maps.reason).toMatch(/analytics/);
    expect(maps.reason).toMatch(/\^6\.0\.0/);
    expect(maps.reason).toMatch(/\^7\.0\.0/);
    const conflicts = outbox.filter((m) => m.attributes.event === 'sdk-conflict');
    const recipients = new Set(conflicts.map((m) => m.attributes.recipient));
    expect([...recipients]).toEqual(
      expect.arrayContaining(['maps-owners@example.com', 'social-owners@example.com', 'geo-owners@example.com']),
    );
    expect(conflicts[0]!.message).toContain('analytics');
    // All or nothing: neither member reached the package host.
    const index = (await (
      await fetch(`${consumer.api}/sdk/index`, { headers: { authorization: `Bearer ${consumer.token}` } })
    ).json()) as { sdks: { name: string; versions: { version: string }[] }[] };
    expect(index.sdks.find((s) => s.name === 'maps')?.versions.map((v) => v.version)).toEqual(['2.0.0']);
    expect(index.sdks.map((s) => s.name)).not.toContain('social');
  });

  it('refuses a private SDK to a consumer outside the groups that may download it', async () => {
    const partner = {
      api: consumer.api,
      token: (await import('../../../local/sdk')).readLocalSdkEndpoints(dataDir)!.partnerToken,
    };
    const response = await fetch(`${partner.api}/sdk/download/maps/2.0.0`, {
      headers: { authorization: `Bearer ${partner.token}` },
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toContain('maps is private');
  });
});

describe('restarting the SDK half', () => {
  it('keeps the local edge on its port, so signed URLs issued before the restart still work', async () => {
    const before = sdk.endpoints.edge;
    const answer = (await (
      await fetch(`${consumer.api}/sdk/download/maps/2.0.0`, { headers: { authorization: `Bearer ${consumer.token}` } })
    ).json()) as { url: string };
    await sdk.stop();
    sdk = await startSdkPublishing(services, { pollIntervalMs: 0, log: () => undefined });
    expect(sdk.endpoints.edge).toBe(before);
    expect((await fetch(answer.url)).status).toBe(200);
  });
});

describe('sdk status without a target', () => {
  it('lists versions refused before conversion as REJECTED, with the reason', async () => {
    const folder = join(dataDir, 'examples', 'bad-license');
    await cp(built['analytics@6.1.0']!, folder, { recursive: true });
    const metadataFile = join(folder, 'lockstep-sdk.json');
    const text = await readFile(metadataFile, 'utf8');
    await writeFile(
      metadataFile,
      text
        .replace('"version": "6.1.0"', '"version": "6.9.0"')
        .replace('"license": "Apache-2.0"', '"license": "Apache 2"'),
    );
    await pushSdks(provider, [folder]);
    await settle();
    const all = await fetchStatus(provider);
    const refused = all.find((v) => v.name === 'analytics' && v.version === '6.9.0');
    expect(refused).toMatchObject({ status: 'REJECTED' });
    expect(refused?.reason).toContain('"Apache 2" is not an SPDX license expression');
  });
});
