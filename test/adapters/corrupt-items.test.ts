// Every store decodes what it reads (lambdas/adapters/dynamo-items.ts): an item of the wrong shape, as an older
// Lockstep or a hand edit leaves it, is a StoredItemError naming the table, the key and the attribute, never a
// wrong value handed to the decision core.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoApprovalStore } from '../../lambdas/adapters/dynamo-approval-store';
import { DynamoBuildStore } from '../../lambdas/adapters/dynamo-build-store';
import { DynamoEnvironmentStore } from '../../lambdas/adapters/dynamo-environment-store';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoExecutionStore } from '../../lambdas/adapters/dynamo-execution-store';
import { StoredItemError } from '../../lambdas/adapters/dynamo-items';
import { DynamoLockStore } from '../../lambdas/adapters/dynamo-lock-store';
import { DynamoRevisionStore } from '../../lambdas/adapters/dynamo-revision-store';
import { DynamoSdkStore } from '../../lambdas/adapters/dynamo-sdk-store';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

const revision = {
  application: 'web',
  number: 1,
  versionSet: { web: 'c1' },
  commits: [],
  authors: [],
  artifact: 's3://artifacts/web/1.zip',
  buildId: 'b1',
  createdAt: 1,
  priority: false,
  testResults: {},
};

interface Case {
  /** What the store reads, and the attribute that is wrong. */
  readonly name: string;
  readonly table: string;
  readonly item: Record<string, unknown>;
  readonly wrongAttribute: string;
  readonly read: () => Promise<unknown>;
}

// The stores are made when a case reads (after beforeAll started the tables), not when the cases are listed.
const revisions = () => new DynamoRevisionStore(db.client, db.table('Revisions'));
const environments = () => new DynamoEnvironmentStore(db.client, db.table('Environments'));
const builds = () => new DynamoBuildStore(db.client, db.table('Revisions'));
const sdk = () => new DynamoSdkStore(db.client, db.table('Sdk'));

const cases: Case[] = [
  {
    name: 'a revision whose number is a string (get)',
    table: 'Revisions',
    item: { pk: 'APP#web', sk: 'REV#000000000001', ...revision, number: '1' },
    wrongAttribute: 'number',
    read: () => revisions().get('web', 1),
  },
  {
    name: 'a revision without its version set (list)',
    table: 'Revisions',
    item: { pk: 'APP#api', sk: 'REV#000000000001', ...revision, application: 'api', versionSet: undefined },
    wrongAttribute: 'versionSet',
    read: () => revisions().list('api'),
  },
  {
    name: 'a build marker whose number is not a number (findByBuildId)',
    table: 'Revisions',
    item: { pk: 'APP#web', sk: 'BUILD#b7', state: 'done', claimedAt: 1, number: 'seven' },
    wrongAttribute: 'number',
    read: () => revisions().findByBuildId('web', 'b7'),
  },
  {
    name: 'an environment slot whose approved list is a string (slot)',
    table: 'Environments',
    item: { pk: 'ENV#Beta', sk: 'APP#web', approved: '3' },
    wrongAttribute: 'approved',
    read: () => environments().slot('Beta', 'web'),
  },
  {
    name: 'an environment slot with a deployed revision missing its number (get)',
    table: 'Environments',
    item: { pk: 'ENV#Gamma', sk: 'APP#web', current: { application: 'web', versionSet: {}, deployedAt: 1 } },
    wrongAttribute: 'current.number',
    read: () => environments().get('Gamma'),
  },
  {
    // The old code read a non-boolean switch as "never switched" and used the pipeline's default (enabled).
    name: 'a pipeline switch stored as the string "false" (switches)',
    table: 'Environments',
    item: { pk: 'PIPELINE', sk: 'SWITCHES', enabled: 'false' },
    wrongAttribute: 'enabled',
    read: () => environments().switches({ enabled: true, automation: true }),
  },
  {
    name: 'a promotion switch without its flag (promotionSwitches)',
    table: 'Environments',
    item: { pk: 'PIPELINE', sk: 'PROMOTION#web-to-beta', changedBy: 'ann' },
    wrongAttribute: 'enabled',
    read: () => environments().promotionSwitches(),
  },
  {
    name: 'a manual promotion go-ahead with an unknown decision (promotionApprovals)',
    table: 'Environments',
    item: {
      pk: 'PROMOTION#beta-to-prod',
      sk: 'APPROVAL#web#1',
      promotion: 'beta-to-prod',
      application: 'web',
      revision: 1,
      decision: 'yes',
    },
    wrongAttribute: 'decision',
    read: () => environments().promotionApprovals('beta-to-prod'),
  },
  {
    // The old code read it with Number(): NaN, which no fencing check can compare.
    name: 'a lock whose fencing token is not a number (get)',
    table: 'Locks',
    item: {
      pk: 'LOCK#Prod',
      sk: 'LOCK',
      owner: 'exec-1',
      acquiredAt: 1,
      leaseExpiresAt: 60_001,
      fencingToken: 'seven',
    },
    wrongAttribute: 'fencingToken',
    read: () => new DynamoLockStore(db.client, db.table('Locks')).get('Prod', 2),
  },
  {
    name: 'a timeline event whose time is a date string (list)',
    table: 'Events',
    item: {
      pk: 'ENV#Delta',
      sk: '2026-01-01T00:00:00.000Z#1',
      at: '2026-01-01',
      type: 'deploy-started',
      actor: 'agent:reconcile',
      message: 'x',
    },
    wrongAttribute: 'at',
    read: () => new DynamoEventStore(db.client, db.table('Events')).list({ environment: 'Delta' }),
  },
  {
    name: 'an approval request with an unknown status (get)',
    table: 'Environments',
    item: {
      pk: 'APPROVAL#r1',
      sk: 'REQUEST',
      requestId: 'r1',
      execution: 'e',
      environment: 'Beta',
      application: 'web',
      revision: 1,
      kind: 'environment',
      approvers: ['ann@example.com'],
      createdAt: 1,
      expiresAt: 2,
      status: 'maybe',
    },
    wrongAttribute: 'status',
    read: () => new DynamoApprovalStore(db.client, db.table('Environments')).get('r1'),
  },
  {
    name: 'a push without its commit (pushes)',
    table: 'Revisions',
    item: {
      pk: 'PUSHES',
      sk: 'PUSH#web#c1',
      package: 'web',
      branch: 'main',
      author: 'ann',
      message: 'm',
      receivedAt: 1,
      deliveryId: 'd1',
    },
    wrongAttribute: 'commit',
    read: () => builds().pushes(),
  },
  {
    name: 'a build with an unknown status (history)',
    table: 'Revisions',
    item: {
      pk: 'BUILDS#web',
      sk: 'BUILD#r1',
      application: 'web',
      id: 'r1',
      status: 'queued',
      startedAt: 1,
      versionSet: {},
      commits: [],
    },
    wrongAttribute: 'status',
    read: () => builds().history(['web']),
  },
  {
    name: 'a started execution without its name (names)',
    table: 'Environments',
    item: {
      pk: 'PROMOTION#web-to-beta',
      sk: 'EXECUTION#x',
      promotion: 'web-to-beta',
      application: 'web',
      revision: 1,
      startedAt: 1,
    },
    wrongAttribute: 'executionName',
    read: () => new DynamoExecutionStore(db.client, db.table('Environments')).names('web-to-beta'),
  },
  {
    name: 'an SDK version whose status is not a staging status (getVersion)',
    table: 'Sdk',
    item: { pk: 'VERSION', sk: 'maps@1.0.0', name: 'maps', version: '1.0.0', status: 'DONE' },
    wrongAttribute: 'status',
    read: () => sdk().getVersion({ name: 'maps', version: '1.0.0' }),
  },
  {
    name: 'an SDK version in the staging partition (listVersions)',
    table: 'Sdk',
    item: { pk: 'VERSION', sk: 'maps@1.0.0', name: 'maps', version: '1.0.0', status: 'DONE' },
    wrongAttribute: 'metadata',
    read: () => sdk().listVersions(),
  },
  {
    name: 'an upload with its revision as a string (getUpload)',
    table: 'Sdk',
    item: {
      pk: 'UPLOAD#u1',
      sk: 'UPLOAD',
      id: 'u1',
      name: 'maps',
      version: '1.0.0',
      metadataFileName: 'lockstep-sdk.yaml',
      provider: 'p',
      createdAt: 'x',
      expiresAt: 'y',
      rev: '1',
    },
    wrongAttribute: 'rev',
    read: () => sdk().getUpload('u1'),
  },
  {
    name: 'a batch whose members are names only (getBatch)',
    table: 'Sdk',
    item: {
      pk: 'BATCH#b1',
      sk: 'BATCH',
      id: 'b1',
      members: ['maps'],
      state: 'OPEN',
      reason: '',
      createdAt: '',
      updatedAt: '',
      rev: 1,
    },
    wrongAttribute: 'members.0',
    read: () => sdk().getBatch('b1'),
  },
  {
    name: 'a batch membership without its batch (getBatchMembership)',
    table: 'Sdk',
    item: { pk: 'MEMBER#maps@1.0.0', sk: 'MEMBER', batch: 'b1' },
    wrongAttribute: 'batchId',
    read: () => sdk().getBatchMembership({ name: 'maps', version: '1.0.0' }),
  },
  {
    name: 'a credential with an unknown role (getCredential)',
    table: 'Sdk',
    item: { pk: 'TOKEN#abc', sk: 'TOKEN', id: 'ci', groups: [], roles: ['admin'], sdks: ['*'], createdAt: 'x' },
    wrongAttribute: 'roles.0',
    read: () => sdk().getCredential('abc'),
  },
  {
    name: 'an intake with an unknown state (listIntakes)',
    table: 'Sdk',
    item: {
      pk: 'INTAKE#maps@1.0.0',
      sk: 'etag1',
      name: 'maps',
      version: '1.0.0',
      etag: 'etag1',
      execution: 'e',
      state: 'DONE',
      reason: '',
      at: 'x',
    },
    wrongAttribute: 'state',
    read: () => sdk().listIntakes({ name: 'maps', version: '1.0.0' }),
  },
];

describe('a corrupt or old-format DynamoDB item', () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    'is a StoredItemError naming table, key and attribute: %s',
    async (_name, fresh) => {
      await db.putRaw(fresh.table, fresh.item);
      try {
        const error = await fresh.read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoredItemError);
        const message = (error as Error).message;
        expect(message).toContain(db.table(fresh.table));
        expect(message).toContain(`pk=${String(fresh.item.pk)} sk=${String(fresh.item.sk)}`);
        expect(message).toContain(`${fresh.wrongAttribute}:`);
        expect((error as StoredItemError).details).toMatchObject({
          table: db.table(fresh.table),
          key: { pk: fresh.item.pk, sk: fresh.item.sk },
        });
      } finally {
        await db.deleteRaw(fresh.table, { pk: fresh.item.pk, sk: fresh.item.sk });
      }
    },
  );
});
