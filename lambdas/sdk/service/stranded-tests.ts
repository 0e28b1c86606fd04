/**
 * Versions left TESTING by an execution that ended outside its own Catch. On AWS an SDK publishing execution that is
 * stopped (console, `aws stepfunctions stop-execution`), times out, or fails with States.Runtime never reaches its
 * `record-test` step, so its versions would stay TESTING for good, and a re-push of the same bytes would be refused
 * as "is testing". The intake poll (every `pollInterval`) describes the execution of each TESTING version (a batch's
 * owner, else the version's `testedBy`); for one that ended, it fails the test, fails the batch, and tells the
 * owners. TEST_FAILED is a state a provider gets out of: pushing the same files again tests them again.
 *
 * Local mode restarts executions that a crash cut short instead (they are not ended); a stopped one ends ABORTED
 * and is failed here, as on AWS.
 */
import type { SdkVersionRef } from '../model';
import type { VersionRecord } from '../records/records';
import type { SdkServiceDependencies } from './dependencies';
import { SdkConcurrentUpdateError } from './errors';
import { testFailedNotification } from './notifications';
import { withStatus } from './transitions';

/** Fails the tests of versions whose execution ended without recording them. @returns the versions failed */
export async function failStrandedTests(deps: SdkServiceDependencies): Promise<SdkVersionRef[]> {
  const executions = deps.executions;
  if (!executions) return [];
  const testing = (await deps.store.listVersions()).filter((v) => v.status === 'TESTING');
  // The execution driving each TESTING version: the batch's owner, else the one that staged the version alone.
  const byExecution = new Map<string, VersionRecord[]>();
  const batches = new Map<string, Awaited<ReturnType<typeof deps.store.getBatch>>>();
  for (const version of testing) {
    let owner = version.testedBy;
    if (version.batchId !== undefined) {
      if (!batches.has(version.batchId)) batches.set(version.batchId, await deps.store.getBatch(version.batchId));
      owner = batches.get(version.batchId)?.owner ?? owner;
    }
    if (owner === undefined) continue; // staged before `testedBy` existed: its execution cannot be named
    byExecution.set(owner, [...(byExecution.get(owner) ?? []), version]);
  }
  const failed: SdkVersionRef[] = [];
  for (const [execution, versions] of byExecution) {
    const outcome = await executions.describe(execution);
    // Unknown (not started yet, or long expired) or still running: nothing to conclude.
    if (outcome === undefined || outcome.status === 'RUNNING' || outcome.status === 'PENDING_REDRIVE') continue;
    const reason = `the publishing execution ${execution} ended ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''} before the test was recorded; push the same files again to test again`;
    const now = deps.clock();
    const updated: VersionRecord[] = [];
    for (const version of versions) {
      // Read again: the execution may have recorded the test after the listing.
      const current = await deps.store.getVersion(version);
      if (current?.status !== 'TESTING') continue;
      try {
        await deps.store.saveVersion(withStatus(current, 'TEST_FAILED', reason, now), current.rev);
      } catch (error) {
        if (error instanceof SdkConcurrentUpdateError) continue; // someone else moved it on: theirs stands
        throw error;
      }
      updated.push({ ...withStatus(current, 'TEST_FAILED', reason, now), rev: current.rev + 1 });
      failed.push({ name: current.name, version: current.version });
    }
    const batchId = versions[0]!.batchId;
    if (batchId !== undefined) {
      const batch = await deps.store.getBatch(batchId);
      if (batch?.state === 'TESTING' && batch.owner === execution) {
        const { rev: _rev, ...rest } = batch;
        await deps.store.saveBatch(
          { ...rest, state: 'FAILED', reason, updatedAt: new Date(now).toISOString() },
          batch.rev,
        );
      }
    }
    if (updated.length > 0) await deps.notifier.publish(testFailedNotification(updated));
  }
  return failed;
}
