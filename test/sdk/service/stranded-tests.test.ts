/**
 * On AWS an SDK publishing execution that is stopped, times out or fails outside its Catch never records its test:
 * the intake poll describes the execution of each TESTING version and fails the test of one that ended, fails its
 * batch and tells the owners (issue 14, item 12). Step Functions is an aws-sdk-client-mock mock behind the real
 * adapter; the SDK table is in memory.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { StepFunctionsOrchestrator } from '../../../lambdas/adapters/sfn-orchestrator';
import type { BatchRecord, VersionRecord } from '../../../lambdas/sdk/records/records';
import { failStrandedTests } from '../../../lambdas/sdk/service/stranded-tests';
import { mocks } from '../../support/runtime-env';
import { sdkMetadata } from '../converter/fixtures';
import { stepHarness, type StepHarness } from './step-fakes';

const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:lockstep-sdk-publishing';
const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:lockstep-sdk-publishing:${name}`;

let h: StepHarness;

function testing(name: string, version: string, extra: Partial<VersionRecord> = {}): Omit<VersionRecord, 'rev'> {
  return {
    name,
    version,
    status: 'TESTING',
    reason: 'resolved; the tester builds a sample app',
    metadata: sdkMetadata({ name, version, dependencies: {} }),
    upload: { artifactsKey: 'a', metadataKey: 'm', etag: 'e' },
    package: {
      key: `packages/${name}/${version}.zip`,
      fileName: `${name}-${version}.zip`,
      sha256: '0'.repeat(64),
      size: 1,
    },
    contentsKey: `contents/${name}/${version}.json`,
    updatedAt: '2025-01-01T00:00:00.000Z',
    history: [],
    ...extra,
  };
}

function described(name: string, status: string, error?: string) {
  mocks.sfn.on(DescribeExecutionCommand, { executionArn: executionArn(name) }).resolves({
    executionArn: executionArn(name),
    status: status as never,
    ...(error ? { error } : {}),
    startDate: new Date(0),
    stateMachineArn: STATE_MACHINE,
  });
}

beforeEach(() => {
  mocks.sfn.reset();
  h = stepHarness({ executions: new StepFunctionsOrchestrator(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE) });
});

describe('versions left TESTING by an execution that ended', () => {
  it('fails the test of a version whose execution was stopped, naming it, and tells the owner', async () => {
    await h.store.saveVersion(testing('maps', '2.0.0', { testedBy: 'maps-2_0_0-intake-abc' }), undefined);
    described('maps-2_0_0-intake-abc', 'ABORTED');
    expect(await failStrandedTests(h.deps)).toEqual([{ name: 'maps', version: '2.0.0' }]);
    const record = (await h.store.getVersion({ name: 'maps', version: '2.0.0' }))!;
    expect(record.status).toBe('TEST_FAILED');
    expect(record.reason).toBe(
      'the publishing execution maps-2_0_0-intake-abc ended ABORTED before the test was recorded; push the same files again to test again',
    );
    expect(h.notifications.map((n) => n.event)).toEqual(['sdk-test-failed']);
    expect(h.notifications[0]!.text).toContain('ended ABORTED');
  });

  it('fails every member of a batch whose owner timed out, and the batch, with one notification', async () => {
    for (const [name, version] of [
      ['maps', '2.0.0'],
      ['geo', '1.0.0'],
    ] as const)
      await h.store.saveVersion(testing(name, version, { batchId: 'release-7', testedBy: 'someone-else' }), undefined);
    const batch: Omit<BatchRecord, 'rev'> = {
      id: 'release-7',
      members: [
        { name: 'maps', version: '2.0.0' },
        { name: 'geo', version: '1.0.0' },
      ],
      state: 'TESTING',
      reason: 'resolved',
      owner: 'maps-2_0_0-intake-owner',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
    };
    await h.store.saveBatch(batch, undefined);
    described('maps-2_0_0-intake-owner', 'TIMED_OUT', 'States.Timeout');
    expect(await failStrandedTests(h.deps)).toHaveLength(2);
    expect((await h.store.getBatch('release-7'))!.state).toBe('FAILED');
    expect((await h.store.getVersion({ name: 'geo', version: '1.0.0' }))!.reason).toContain(
      'maps-2_0_0-intake-owner ended TIMED_OUT (States.Timeout)',
    );
    expect(h.notifications).toHaveLength(1);
  });

  it('leaves a version whose execution still runs, or is unknown, TESTING', async () => {
    await h.store.saveVersion(testing('maps', '2.0.0', { testedBy: 'running-one' }), undefined);
    await h.store.saveVersion(testing('geo', '1.0.0', { testedBy: 'never-heard-of' }), undefined);
    described('running-one', 'RUNNING');
    mocks.sfn
      .on(DescribeExecutionCommand, { executionArn: executionArn('never-heard-of') })
      .rejects(new ExecutionDoesNotExist({ message: 'Execution does not exist', $metadata: {} }));
    expect(await failStrandedTests(h.deps)).toEqual([]);
    expect((await h.store.getVersion({ name: 'maps', version: '2.0.0' }))!.status).toBe('TESTING');
    expect((await h.store.getVersion({ name: 'geo', version: '1.0.0' }))!.status).toBe('TESTING');
    expect(h.notifications).toEqual([]);
  });
});
