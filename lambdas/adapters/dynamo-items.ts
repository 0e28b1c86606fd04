/**
 * What each DynamoDB item holds, as zod schemas, and `decodeItem` that every store adapter reads items through.
 *
 * An item comes back from DynamoDB as untyped attributes: one written by an older Lockstep, edited by hand or cut
 * short would otherwise reach the decision core as a wrong value (a string where a number was meant, a missing
 * list) and turn into a wrong decision. Decoded here, it fails where it enters, naming the table, the key and each
 * attribute that does not fit, as `StoredItemError`.
 *
 * The schemas strip attributes they do not name (the key, `taskToken`, leases, attributes a newer Lockstep may
 * add), so reading never hands out more than the domain type holds. The compile-time checks at the end keep each
 * schema's output assignable to its domain type: a field added to a type without its schema fails the type check.
 */
import { z } from 'zod';
import type { BuildCommit, Push } from '../core/decide/autobuild';
import { LockstepError } from '../core/errors';
import type {
  Commit,
  DeployedRevision,
  EnvironmentPin,
  LockState,
  PromotionApproval,
  Revision,
  RollbackClaim,
} from '../core/model';
import type { ApprovalRequestRecord, ExecutionRecord, PipelineEvent, StoredBuild } from '../ports/stores';
import { ACCESS_TIERS, type SdkMetadata, type SdkVersionRef, type StagingStatus } from '../sdk/model';
import type { BatchRecord, Credential, IntakeRecord, UploadRecord, VersionRecord } from '../sdk/records/records';
import { packageTestResultSchema } from '../sdk/records/test-results';

/**
 * A DynamoDB item that does not have the shape its key says it has. `details` names the table, the key, the kind
 * of item and each problem (`path: message`).
 */
export class StoredItemError extends LockstepError {}

/** Where an item was read, for the error message. */
export interface ItemLocation {
  readonly table: string;
  readonly key: Readonly<Record<string, unknown>>;
}

/**
 * Parses one item with `schema`, or throws `StoredItemError` naming where it was read and what is wrong.
 *
 * @example
 * const revision = decodeItem(revisionItem, 'revision', item, { table, key: { pk, sk } });
 */
export function decodeItem<S extends z.ZodType>(
  schema: S,
  kind: string,
  item: unknown,
  where: ItemLocation,
): z.output<S> {
  const result = schema.safeParse(item);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(item)'}: ${issue.message}`,
  );
  const key = Object.entries(where.key)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(' ');
  throw new StoredItemError(
    `DynamoDB table ${where.table} holds a ${kind} item (${key}) that Lockstep cannot read: ${problems.join('; ')}. ` +
      'It was written by another Lockstep version or changed by hand: correct the item, or delete it if it is not needed.',
    { details: { table: where.table, key: where.key, kind, problems } },
  );
}

/** The key attributes of a pk/sk table item, for `decodeItem`'s message. */
export function itemKey(item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return 'id' in item && !('pk' in item) ? { id: item.id } : { pk: item.pk, sk: item.sk };
}

const epochMs = z.number();
const count = z.number().int().nonnegative();
const revisionNumber = z.number().int().positive();
const versionSet = z.record(z.string(), z.string());
/** `pushedBy` is absent on commits recorded before pushers were (and on those no push delivery reported). */
const commit = z.object({
  id: z.string(),
  message: z.string(),
  author: z.string(),
  timestamp: epochMs,
  pushedBy: z.string().optional(),
});

// Deployment system (LOCKSTEP_TABLE_REVISIONS, LOCKSTEP_TABLE_ENVIRONMENTS, LOCKSTEP_TABLE_LOCKS, LOCKSTEP_TABLE_EVENTS)

export const revisionItem = z.object({
  application: z.string().min(1),
  number: revisionNumber,
  versionSet,
  commits: z.array(commit),
  authors: z.array(z.string()),
  artifact: z.string(),
  buildId: z.string(),
  createdAt: epochMs,
  priority: z.boolean(),
  testResults: z.record(z.string(), z.object({ passed: count, failed: count })),
});

/** The `BUILD#<build id>` marker of a revision: which number the build reserved and whether it was written. */
export const revisionMarkerItem = z.object({
  state: z.enum(['claimed', 'done']),
  claimedAt: epochMs,
  number: revisionNumber.optional(),
});

/** The `#COUNTER` item: the last revision number handed out. */
export const revisionCounterItem = z.object({ last: revisionNumber });

/** `COMMIT#<commit id>#<number>`: a revision built from or including that commit. */
export const commitIndexItem = z.object({ number: revisionNumber });

/** `#COMMIT-INDEX`: revisions numbered below `legacyBelow` were written before the commit index and may lack it. */
export const commitIndexMarkerItem = z.object({ legacyBelow: z.number().int().min(1) });

const deployedRevision = z.object({
  application: z.string().min(1),
  number: revisionNumber,
  versionSet,
  deployedAt: epochMs,
});

/** One application's slot at an environment (`approved` is absent until the first approval). */
export const slotItem = z.object({
  current: deployedRevision.optional(),
  previous: deployedRevision.optional(),
  approved: z.array(revisionNumber).default([]),
  /** An unapproved current revision an operator allowed deploys over (`lockstep unlock --allow-deploy`). */
  cleared: revisionNumber.optional(),
  /** Revisions whose approval workflow failed here and were rolled back. */
  failed: z.array(revisionNumber).optional(),
  /** The latest approval: which revision, when. */
  lastApproval: z.object({ revision: revisionNumber, at: epochMs }).optional(),
});

/** `APPROVED#<environment>#<application>` / `REV#<number>`: one entry of the approved index. */
export const approvedMarkerItem = z.object({ number: revisionNumber });

/** `PIPELINE` / `SWITCHES`: each switch is absent until an operator first sets it. */
export const switchesItem = z.object({ enabled: z.boolean().optional(), automation: z.boolean().optional() });

export const promotionSwitchItem = z.object({ sk: z.string().startsWith('PROMOTION#'), enabled: z.boolean() });

export const promotionApprovalItem = z.object({
  promotion: z.string().min(1),
  application: z.string().min(1),
  revision: revisionNumber,
  decision: z.enum(['approved', 'rejected', 'pending']),
  decidedBy: z.string().optional(),
  decidedAt: epochMs.optional(),
});

/**
 * The lock item. An item written before a field existed reads it as 0 (never granted), as the store always did;
 * a field of the wrong type is an error, not a silent 0 or NaN that would let two holders in.
 */
export const lockItem = z.object({
  owner: z.string().min(1).optional(),
  acquiredAt: epochMs.default(0),
  leaseExpiresAt: epochMs.default(0),
  fencingToken: count.default(0),
});

export const eventItem = z.object({
  at: epochMs,
  type: z.string(),
  actor: z.string(),
  message: z.string(),
  environment: z.string().optional(),
  application: z.string().optional(),
  revision: z.number().int().nonnegative().optional(),
  promotion: z.string().optional(),
  execution: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const approvalRequestItem = z.object({
  requestId: z.string().min(1),
  execution: z.string(),
  environment: z.string(),
  application: z.string(),
  revision: revisionNumber,
  kind: z.enum(['environment', 'promotion']),
  promotion: z.string().optional(),
  approvers: z.array(z.string()),
  required: z.number().int().positive().optional(),
  approvedBy: z.array(z.string()).optional(),
  createdAt: epochMs,
  expiresAt: epochMs,
  status: z.enum(['pending', 'approved', 'rejected']),
  decidedBy: z.string().optional(),
  decidedAt: epochMs.optional(),
  comment: z.string().optional(),
  notifiedAt: epochMs.optional(),
  delivery: z.enum(['pending', 'delivered', 'undeliverable']).optional(),
  deliveredAt: epochMs.optional(),
  securityDiff: z
    .object({
      stacks: z.array(z.string()),
      excerpt: z.string(),
      truncated: z.boolean(),
      location: z.string(),
    })
    .optional(),
});

/** The task token beside the request (never part of `ApprovalRequestRecord`). */
export const taskTokenItem = z.object({ taskToken: z.string().min(1).optional() });

export const pushItem = z.object({
  package: z.string().min(1),
  branch: z.string(),
  commit: z.string().min(1),
  author: z.string(),
  message: z.string(),
  commits: z.array(commit).optional(),
  before: z.string().optional(),
  pusher: z.string().optional(),
  receivedAt: epochMs,
  deliveryId: z.string(),
});

const buildCommit = commit.extend({ package: z.string().min(1) });

export const buildItem = z.object({
  application: z.string().min(1),
  id: z.string().min(1),
  status: z.enum(['running', 'succeeded', 'failed']),
  startedAt: epochMs,
  finishedAt: epochMs.optional(),
  versionSet,
  commits: z.array(buildCommit),
  buildId: z.string().optional(),
  revision: revisionNumber.optional(),
  failure: z.string().optional(),
});

export const executionItem = z.object({
  promotion: z.string().min(1),
  application: z.string().min(1),
  revision: revisionNumber,
  executionName: z.string().min(1),
  executionArn: z.string().optional(),
  startedAt: epochMs,
  /** Absent on records from before attempts: read from the name (`-a<n>`, else 1). */
  attempt: z.number().int().positive().optional(),
});

/** `PROMOTION#<id>` / `RETRY#<application>#<revision>#<attempt>`: an operator's `lockstep retry`. */
export const retryItem = z.object({
  promotion: z.string().min(1),
  application: z.string().min(1),
  revision: revisionNumber,
  attempt: z.number().int().min(2),
  requestedBy: z.string(),
  requestedAt: epochMs,
  reason: z.string().optional(),
});

/** `PINS` / `ENV#<environment>#APP#<application>`: an operator's pin (`lockstep pin`). */
export const pinItem = z.object({
  environment: z.string().min(1),
  application: z.string().min(1),
  revision: revisionNumber,
  pinnedBy: z.string().min(1),
  pinnedAt: epochMs,
  reason: z.string().optional(),
});

/** `ENV#<environment>` / `ROLLBACK#<application>`: the operator rollback claimed for the deployment it names. */
export const rollbackClaimItem = z.object({
  environment: z.string().min(1),
  application: z.string().min(1),
  from: revisionNumber,
  fromDeployedAt: epochMs,
  to: revisionNumber,
  executionName: z.string().min(1),
  requestedBy: z.string().min(1),
  requestedAt: epochMs,
});

// SDK publishing (LOCKSTEP_SDK_TABLE)

const STAGING_STATUSES = [
  'CONVERTED',
  'WAITING',
  'CONFLICT',
  'TESTING',
  'TEST_FAILED',
  'READY',
  'PUBLISHED',
  'WITHDRAWN',
] as const;
const stagingStatus = z.enum(STAGING_STATUSES);
const isoTime = z.string();
const rev = z.number().int().positive();
const ref = z.object({ name: z.string().min(1), version: z.string().min(1) });

const sdkMetadata = z.object({
  name: z.string().min(1),
  publicName: z.string(),
  version: z.string().min(1),
  summary: z.string(),
  description: z.string(),
  homepage: z.string(),
  authors: z.array(z.string()),
  contact: z.string(),
  license: z.string(),
  dependencies: z.record(z.string(), z.string()),
  platform: z.object({ name: z.string().min(1), minimumVersion: z.string(), architectures: z.array(z.string()) }),
  deprecated: z.boolean(),
  deprecatedInFavorOf: z.string().optional(),
  tier: z.enum(ACCESS_TIERS),
  supported: z.boolean(),
});

export const versionItem = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  status: stagingStatus,
  reason: z.string(),
  metadata: sdkMetadata,
  upload: z.object({ artifactsKey: z.string().min(1), metadataKey: z.string().min(1), etag: z.string() }),
  batchId: z.string().min(1).optional(),
  package: z.object({
    key: z.string().min(1),
    fileName: z.string().min(1),
    sha256: z.string(),
    size: count,
    binaryTargets: z
      .array(z.object({ key: z.string().min(1), fileName: z.string().min(1), sha256: z.string(), size: count }))
      .optional(),
  }),
  contentsKey: z.string(),
  resolved: z.array(ref).optional(),
  testedBy: z.string().min(1).optional(),
  involved: z.array(z.object({ name: z.string().min(1), contacts: z.array(z.string()) })).optional(),
  tests: z
    .object({ planId: z.string().min(1), passed: z.boolean(), packages: z.array(packageTestResultSchema) })
    .optional(),
  publishedAt: isoTime.optional(),
  movedFrom: z.enum(ACCESS_TIERS).optional(),
  publishedBy: z.string().optional(),
  rev,
  updatedAt: isoTime,
  history: z.array(z.object({ at: isoTime, status: stagingStatus, reason: z.string() })),
});

export const uploadItem = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  metadataFileName: z.string().min(1),
  batchId: z.string().min(1).optional(),
  provider: z.string(),
  createdAt: isoTime,
  expiresAt: isoTime,
  completedAt: isoTime.optional(),
  execution: z.string().optional(),
  rev,
});

export const batchItem = z.object({
  id: z.string().min(1),
  members: z.array(ref),
  state: z.enum(['OPEN', 'TESTING', 'READY', 'PUBLISHED', 'FAILED']),
  reason: z.string(),
  owner: z.string().optional(),
  publishedBy: z.string().optional(),
  createdAt: isoTime,
  updatedAt: isoTime,
  rev,
});

export const membershipItem = z.object({ batchId: z.string().min(1) });

export const credentialItem = z.object({
  id: z.string().min(1),
  groups: z.array(z.string()),
  roles: z.array(z.enum(['consumer', 'provider'])),
  sdks: z.array(z.string()),
  createdAt: isoTime,
  expiresAt: isoTime.optional(),
});

export const intakeItem = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  etag: z.string().min(1),
  execution: z.string(),
  state: z.enum(['STARTED', 'REJECTED']),
  reason: z.string(),
  at: isoTime,
  received: z
    .object({ artifactsKey: z.string().min(1), metadataKey: z.string().min(1), etag: z.string().min(1) })
    .optional(),
});

/** `INTAKE-CURSOR` / `CURSOR`: where the intake poll goes on listing `incoming/` (absent: from the start). */
export const intakeCursorItem = z.object({ startAfter: z.string().min(1).optional() });

// Compile-time checks: each schema's output stays assignable to the domain type it stands for, and the status
// list above names every StagingStatus. A check that fails is a type error on its line.
type Decodes<S extends z.ZodType, T> = z.output<S> extends T ? true : false;
type AllHold<T extends readonly true[]> = T;
export type DecodingChecks = AllHold<
  [
    Decodes<typeof commit, Commit>,
    Decodes<typeof revisionItem, Revision>,
    Decodes<typeof deployedRevision, DeployedRevision>,
    Decodes<typeof promotionApprovalItem, PromotionApproval>,
    Decodes<typeof eventItem, PipelineEvent>,
    Decodes<typeof approvalRequestItem, ApprovalRequestRecord>,
    Decodes<typeof pushItem, Push>,
    Decodes<typeof buildCommit, BuildCommit>,
    Decodes<typeof buildItem, StoredBuild>,
    Decodes<typeof executionItem, ExecutionRecord>,
    Decodes<typeof pinItem, EnvironmentPin>,
    Decodes<typeof rollbackClaimItem, RollbackClaim>,
    Decodes<typeof sdkMetadata, SdkMetadata>,
    Decodes<typeof ref, SdkVersionRef>,
    Decodes<typeof versionItem, VersionRecord>,
    Decodes<typeof uploadItem, UploadRecord>,
    Decodes<typeof batchItem, BatchRecord>,
    Decodes<typeof credentialItem, Credential>,
    Decodes<typeof intakeItem, IntakeRecord>,
    Decodes<typeof lockItem, Omit<LockState, 'environment' | 'owner'>>,
    StagingStatus extends (typeof STAGING_STATUSES)[number] ? true : false,
  ]
>;
