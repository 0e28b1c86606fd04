/**
 * Every event a pipeline's `notifications:` rule can name must be published where those rules read: the
 * notification topic, with the `event` message attribute their filter policies match (the CDK subscribes each
 * rule's emails with `{"event": [...]}` on that topic). A rule for an event nobody publishes there never fires,
 * which is how `approval-requested` went silent: it was only published to the approval topic.
 *
 * Each runtime code path runs here with notifiers that record which topic got what. `pipeline-deleted` is
 * published by the stack's deletion notice (a CloudFormation custom resource, asserted against the template in
 * test/cdk/deployment-system.test.ts), so this test takes it from that construct's builder.
 */
import { describe, expect, it } from '@jest/globals';
import { NOTIFICATION_EVENTS, pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';
import type { Revision } from '../../lambdas/core/model';
import { completeBuilds, type AgentDependencies } from '../../lambdas/promotion/agents';
import { ApprovalLinkSigner } from '../../lambdas/promotion/approval-link';
import { sendApprovalRequest, type ApprovalDependencies } from '../../lambdas/promotion/approvals';
import { pipelineSwitched } from '../../lambdas/promotion/notifications';
import { runStep, type StepDependencies } from '../../lambdas/promotion/steps';
import { setSwitches, unlockEnvironment } from '../../lambdas/promotion/switches';
import type { Notification, Notifier } from '../../lambdas/ports/services';
import type { ApprovalRequestRecord, EnvironmentStore, StoredBuild } from '../../lambdas/ports/stores';

type Topic = 'notification' | 'approval';
const published: { topic: Topic; notification: Notification }[] = [];
const on = (topic: Topic): Notifier => ({
  publish: async (notification) => void published.push({ topic, notification }),
});

const PIPELINE: PipelineInput = {
  pipeline: { name: 'shop' },
  packages: [{ name: 'web', source: { codecommit: { repository: 'web' } }, build: { commands: ['make'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [{ name: 'Beta', environments: [{ name: 'Beta', deploy: { commands: ['./deploy.sh'] } }] }],
  promotions: [{ from: { application: 'web' }, to: 'Beta' }],
  notifications: [{ events: [...NOTIFICATION_EVENTS], emails: ['team@example.com'] }],
};
const pipeline = pipelineSchema.parse(PIPELINE);
const REVISION: Revision = {
  application: 'web',
  number: 2,
  versionSet: { web: 'c2' },
  commits: [{ id: 'c2', message: 'Add cart', author: 'dev@example.com', timestamp: 1 }],
  authors: ['dev@example.com'],
  artifact: 's3://artifacts/revisions/web/2/artifact.zip',
  buildId: 'b2',
  createdAt: 1,
  priority: false,
  testResults: {},
};
const events = { append: async () => undefined, list: async () => [] };
const clock = () => Date.parse('2030-01-07T10:00:00Z');
let switches = { enabled: true, automation: true };
const environments = {
  switches: async () => switches,
  setSwitches: async (change: Partial<typeof switches>) => (switches = { ...switches, ...change }),
  promotionSwitches: async () => ({}),
  get: async () => ({ web: { approved: [] } }),
  recordRolledBack: async () => undefined,
  markFailed: async () => undefined,
} as unknown as EnvironmentStore;
const revisions = { get: async () => REVISION } as unknown as StepDependencies['revisions'];

async function runEveryCodePath(): Promise<void> {
  // Approval requests (an environment's manual step; a manual promotion takes the same path).
  const stored = new Map<string, ApprovalRequestRecord>();
  const approvals: ApprovalDependencies = {
    pipelineName: 'shop',
    approvals: {
      create: async (record: ApprovalRequestRecord) => void stored.set(record.requestId, record),
      get: async (id: string) => stored.get(id),
      markNotified: async () => undefined,
    } as unknown as ApprovalDependencies['approvals'],
    revisions,
    environments,
    events,
    approvalNotifier: on('approval'),
    notifier: on('notification'),
    orchestrator: {
      start: async () => ({ started: true }),
      succeed: async () => undefined,
      fail: async () => undefined,
    },
    signer: async () => new ApprovalLinkSigner({ current: 'secret' }),
    baseUrl: 'https://approvals.example.com',
    clock,
  };
  await sendApprovalRequest(approvals, {
    kind: 'environment',
    execution: 'web-to-Beta-web-r2',
    environment: 'Beta',
    application: 'web',
    revision: 2,
    approvers: ['ann@example.com'],
    timeoutSeconds: 3600,
    taskToken: 'token-1',
  });

  // Operators' switches.
  const switchDeps = { pipeline, environments, events, notifier: on('notification'), clock };
  await setSwitches(switchDeps, { enabled: false }, 'ops@example.com');
  await setSwitches(switchDeps, { enabled: true, automation: false }, 'ops@example.com');
  // An operator releasing a stuck lock (`lockstep unlock`).
  const heldLock = {
    get: async () => ({ owner: 'web-to-Beta-web-r1', fencingToken: 2, leaseExpiresAt: clock() + 60_000 }),
    release: async () => true,
  };
  await unlockEnvironment(
    { ...switchDeps, locks: heldLock as never },
    { environment: 'Beta', reason: 'its execution was stopped by hand', by: 'ops@example.com' },
  );

  // Promotion steps: failures, rollback, approval.
  const steps: StepDependencies = {
    pipeline,
    revisions,
    environments,
    locks: { release: async () => true } as never,
    events,
    notifier: on('notification'),
    clock,
  };
  const target = {
    execution: 'web-to-Beta-web-r2',
    promotion: 'web-to-Beta',
    application: 'web',
    environment: 'Beta',
    revision: 2,
  };
  await runStep(steps, { action: 'notify', ...target, stage: 'deploy', error: { Error: 'States.TaskFailed' } });
  await runStep(steps, {
    action: 'notify',
    ...target,
    stage: 'approval-workflow',
    error: { Error: 'TestsFailedError' },
  });
  await runStep(steps, {
    action: 'record-rollback',
    ...target,
    outcome: 'rolled-back',
    previous: { exists: true, number: 1 },
    error: null,
  });
  await runStep(steps, {
    action: 'release-lock',
    environment: 'Beta',
    execution: target.execution,
    fencingToken: 3,
    announce: { promotion: 'web-to-Beta', application: 'web', revision: 2 },
  });

  // A build that failed.
  const build: StoredBuild = {
    id: 'req-1',
    application: 'web',
    status: 'running',
    startedAt: clock(),
    versionSet: { web: 'c3' },
    commits: [],
    buildId: 'cb-1',
  } as unknown as StoredBuild;
  const agents = {
    pipeline,
    artifactsBucket: 'artifacts',
    builds: { history: async () => ({ web: [build] }), complete: async () => true },
    runner: {
      start: async () => ({ buildId: 'x' }),
      get: async () => [{ id: 'cb-1', status: 'FAILED', failure: 'BUILD: exit 2' }],
    },
    events,
    notifier: on('notification'),
    clock,
  } as unknown as AgentDependencies;
  await completeBuilds(agents);

  // The stack's deletion notice (CloudFormation publishes it to the notification topic; see the file comment).
  published.push({
    topic: 'notification',
    notification: pipelineSwitched({ pipeline: 'shop', change: 'pipeline-deleted', by: 'CloudFormation' }),
  });
}

describe('notification events', () => {
  it('publishes every event the notifications schema accepts to the notification topic, with its event attribute', async () => {
    await runEveryCodePath();
    const onNotificationTopic = new Set(
      published.filter((p) => p.topic === 'notification').map((p) => p.notification.event),
    );
    const missing = NOTIFICATION_EVENTS.filter((event) => !onNotificationTopic.has(event));
    expect(missing).toEqual([]);
  });

  it("sends the approval-requested notice to notification rules without the approvers' signed links", async () => {
    const notices = published.filter(
      (p) => p.topic === 'notification' && p.notification.event === 'approval-requested',
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]!.notification.attributes).toMatchObject({
      pipeline: 'shop',
      environment: 'Beta',
      application: 'web',
    });
    expect(notices[0]!.notification.text).toContain('ann@example.com');
    expect(notices[0]!.notification.text).not.toContain('https://approvals.example.com');
    const links = published.filter((p) => p.topic === 'approval');
    expect(links.map((p) => p.notification.attributes.approver)).toEqual(['ann@example.com']);
    expect(links[0]!.notification.text).toContain('https://approvals.example.com');
  });
});
