import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BuildRecord } from '../../local/codebuild/codebuild';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';
import { builds, decide, deployed, deploysOf, eventually } from './support';

// Pushes that race each other and a lock held by a waiting approval, on the quickstart pipeline. This file runs on
// DynamoDB Local when a Java runtime exists (dynalite otherwise): the same conditional writes decide every race.
describe('concurrent pushes and promotions', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const clock = new ManualClock(Date.parse('2030-01-07T12:00:00Z'));
  const consoleLines: string[] = [];
  const running = new Map<string, Set<string>>();
  let mostDeploysAtOnce = 0;

  const afterDebounce = () => clock.advance(2_500);
  const pendingApproval = async (environment: string, revision: number) =>
    (await system.status()).approvals.find((a) => a.environment === environment && a.revision === revision);

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-');
    system = await startLocalSystem({
      dataDir: data.dir,
      clock,
      javaPreference: 'auto',
      instantRetries: true,
      firstPush: false,
      sdkPublishing: false,
      write: (line) => consoleLines.push(line),
    });
    // Deploys (rollbacks included) in flight per environment, as the builds report their state.
    system.services.codeBuild.subscribe((record: BuildRecord) => {
      // Deploys run in steps projects; the step and environment are the build's selection variables.
      const selection = Object.fromEntries(record.environmentVariables.map((v) => [v.name, v.value]));
      const environment = selection.LOCKSTEP_STEP === 'deploy' ? selection.LOCKSTEP_ENVIRONMENT : undefined;
      if (!environment) return;
      const set = running.get(environment) ?? new Set<string>();
      running.set(environment, set);
      if (record.buildComplete) set.delete(record.id);
      else set.add(record.id);
      mostDeploysAtOnce = Math.max(mostDeploysAtOnce, set.size);
    });
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
    await data?.cleanup();
  });

  it('builds two pushes that arrive in quick succession once, as one revision of the latest commit', async () => {
    await system.push({ message: 'First change' });
    clock.advance(300); // well inside the 2-second debounce
    const second = await system.push({ message: 'Second change, right after' });
    afterDebounce();
    await eventually(() => pendingApproval('beta', 1), 'r1 waiting for approval in beta');
    const applicationBuilds = (await builds(data.dir)).filter((b) => b.projectName.endsWith('-build-sample-app'));
    expect(applicationBuilds).toHaveLength(1);
    expect((await deployed(data.dir, 'alpha'))?.commit).toBe(second.payload.after);
    expect((await system.status()).decisions.find((d) => d.destination === 'alpha')?.decision.kind).toBe('in-sync');
  });

  it('keeps a second revision out of Beta while the first one holds its lock waiting for approval, then promotes it', async () => {
    await system.push({ message: 'Third change' });
    afterDebounce();
    await eventually(
      async () =>
        (await system.status()).environments
          .find((e) => e.name === 'alpha')
          ?.applications['sample-app']?.approved.includes(2),
      'r2 approved in alpha',
    );
    await system.reconcile();
    const blocked = (await system.status()).decisions.find((d) => d.promotion === 'alpha-to-beta');
    expect(blocked?.decision).toMatchObject({
      kind: 'blocked-by-lock',
      revision: 2,
      owner: 'alpha-to-beta-sample-app-r1',
    });
    expect(consoleLines.join('\n')).toMatch(
      /beta is locked by alpha-to-beta-sample-app-r1 until .* so sample-app r2 waits/,
    );
    expect(await deploysOf(data.dir, 'beta', 2)).toHaveLength(0);

    expect((await decide((await pendingApproval('beta', 1))!.link, 'approve')).status).toBe(200);
    await eventually(() => pendingApproval('beta', 2), 'r2 waiting for approval in beta');
    expect(await deployed(data.dir, 'beta')).toMatchObject({ revision: 2, rollback: false });
    expect(await deploysOf(data.dir, 'beta', 2)).toHaveLength(1);
  });

  it('never ran two deploys at once in one environment', () => {
    expect(mostDeploysAtOnce).toBe(1);
  });
});
