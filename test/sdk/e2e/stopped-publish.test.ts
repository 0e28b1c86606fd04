/**
 * An SDK publishing execution stopped from outside (`aws stepfunctions stop-execution`, the console) never reaches
 * its record-test step. The intake poll notices the ended execution, fails the test with the reason, tells the
 * owner, and the provider gets out by pushing the same files again (issue 14, item 12). Local mode's own
 * StopExecution, driven through the AWS SDK as an operator would.
 */
import '../../../local/polyfills';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fetchStatus, pushSdks, resolveApi, type ApiOptions } from '../../../bin/commands/sdk';
import { buildExampleSdks } from '../../../examples/sdks/build';
import { startLocalServices, type LocalServices } from '../../../local/runtime';
import { startSdkPublishing, type LocalSdkPublishing } from '../../../local/sdk';
import type { OutboxMessage } from '../../../local/sns/sns';
import { eventually } from '../../e2e/support';
import { clientConfig, tempDataDir } from '../../local/helpers';

let services: LocalServices;
let sdk: LocalSdkPublishing;
let cleanup: () => Promise<void>;
let provider: ApiOptions;
let gate: string;
let analytics: string;
const outbox: OutboxMessage[] = [];

beforeAll(async () => {
  const temp = await tempDataDir('lockstep-sdk-stopped-');
  cleanup = temp.cleanup;
  services = await startLocalServices({
    dataDir: temp.dir,
    javaPreference: 'dynalite',
    instantRetries: true,
    log: () => undefined,
  });
  services.applyEnvironment();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  sdk = await startSdkPublishing(services, { pollIntervalMs: 0, log: () => undefined });
  services.sns.subscribe((message) => void outbox.push(message));
  provider = resolveApi({ dataDir: temp.dir }, 'provider');
  analytics = (await buildExampleSdks(join(temp.dir, 'examples')))['analytics@6.1.0']!;
  // The checks script waits for this gate (in a folder the sandboxed script may read): the stop lands mid-test.
  gate = await mkdtemp(join(tmpdir(), 'lockstep-sdk-stop-gate-'));
  await chmod(gate, 0o755);
  await writeFile(join(analytics, 'lockstep-checks.sh'), `while [ ! -e ${gate}/release ]; do sleep 0.1; done\n`);
}, 120_000);

afterAll(async () => {
  await writeFile(join(gate, 'release'), 'go\n').catch(() => undefined);
  await sdk?.stop();
  await services?.stop();
  await cleanup?.();
  await rm(gate, { recursive: true, force: true });
});

const statusOf = async () => (await fetchStatus(provider, 'analytics@6.1.0'))[0]!;

describe('an SDK publishing execution stopped from outside', () => {
  it('ends TEST_FAILED with the reason and a notification, and a re-push of the same files publishes it', async () => {
    await pushSdks(provider, [analytics]);
    const running = await eventually(
      () =>
        services.stepFunctions
          .listExecutionRecords()
          .find((r) => r.status === 'RUNNING' && r.stateMachineArn === sdk.names.stateMachineArn),
      'the publishing execution',
    );
    await eventually(async () => (await statusOf()).status === 'TESTING', 'analytics 6.1.0 TESTING', 90_000);

    const sfn = new SFNClient({ ...clientConfig, endpoint: services.endpoints.stepFunctions });
    await sfn.send(new StopExecutionCommand({ executionArn: running.executionArn, cause: 'operator stopped it' }));
    sfn.destroy();
    await sdk.poll();

    const failed = await statusOf();
    expect(failed.status).toBe('TEST_FAILED');
    expect(failed.reason).toBe(
      `the publishing execution ${running.name} ended ABORTED before the test was recorded; push the same files again to test again`,
    );
    const told = outbox.filter((m) => m.attributes.event === 'sdk-test-failed');
    expect(told).toHaveLength(1);
    expect(told[0]!.message).toContain('ended ABORTED');

    // The way out: the same files again are tested again, and published.
    await writeFile(join(gate, 'release'), 'go\n');
    await chmod(join(gate, 'release'), 0o644);
    const [again] = await pushSdks(provider, [analytics]);
    expect(again).toMatchObject({ started: true });
    const published = await eventually(
      async () => {
        const s = await statusOf();
        // Decided again: published, or failed for a reason other than the stop.
        return s.status === 'PUBLISHED' || (s.status === 'TEST_FAILED' && s.reason !== failed.reason) ? s : undefined;
      },
      'the re-pushed version to be decided',
      120_000,
    );
    expect(published.status).toBe('PUBLISHED');
  }, 300_000);
});
