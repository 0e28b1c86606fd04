/**
 * Revisions in DynamoDB (`LOCKSTEP_TABLE_REVISIONS`).
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `APP#<application>` | `#COUNTER` | `last`: the last number handed out (atomic `ADD`) |
 * | `APP#<application>` | `REV#<number, 12 digits>` | one immutable revision |
 * | `APP#<application>` | `BUILD#<build id>` | which revision a build became (makes completion idempotent) |
 * | `APP#<application>` | `COMMIT#<commit id>#<number, 12 digits>` | `number`: a revision built from or including the commit |
 * | `APP#<application>` | `#COMMIT-INDEX` | `legacyBelow`: revisions numbered below it may lack `COMMIT#` items |
 *
 * The `COMMIT#` items let the console open a change by commit with one Query of one item (`findByCommit`): one per
 * commit the revision lists and per version in its version set, lower-case, written before the revision itself.
 * Revisions written by a Lockstep without them are indexed by the reconcile pass, a share at a time
 * (`indexLegacyCommits`); until then a lookup that finds nothing reads those older revisions only.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Revision } from '../core/model';
import { ConcurrentUpdateError } from '../promotion/errors';
import type { RevisionDraft, RevisionStore } from '../ports/stores';
import {
  commitIndexItem,
  commitIndexMarkerItem,
  decodeItem,
  itemKey,
  revisionCounterItem,
  revisionItem,
  revisionMarkerItem,
} from './dynamo-items';
import { batchGetAll, batchPutAll, isConditionFailed, pad, queryAll } from './dynamo-util';

/** A build claimed for completion but not finished within this time is taken over by the next caller. */
const STALE_CLAIM_MS = 5 * 60_000;
const COMMIT_INDEX_MARKER = '#COMMIT-INDEX';
/** Revisions read per page when a commit lookup falls back to revisions written before the index. */
const LEGACY_LOOKUP_PAGE = 100;

/** The commit ids a revision is found by: those it lists and the versions of its version set, lower-case. */
function commitKeys(revision: Revision): string[] {
  return [...new Set([...revision.commits.map((c) => c.id), ...Object.values(revision.versionSet)])].map((id) =>
    id.toLowerCase(),
  );
}

function commitIndexItems(revision: Revision): Record<string, unknown>[] {
  return commitKeys(revision).map((id) => ({
    pk: `APP#${revision.application}`,
    sk: `COMMIT#${id}#${pad(revision.number)}`,
    number: revision.number,
  }));
}

export class DynamoRevisionStore implements RevisionStore {
  /** Applications whose every revision is indexed by commit: nothing left to migrate (kept for this instance's life). */
  private readonly fullyIndexed = new Set<string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(
    application: string,
    buildId: string,
    prepare: (number: number) => Promise<RevisionDraft>,
  ): Promise<Revision> {
    const pk = `APP#${application}`;
    const marker = { pk, sk: `BUILD#${buildId}` };
    const now = this.clock();
    let reserved: number | undefined;
    try {
      // Claim the build first, so two concurrent completions of one build cannot take two numbers.
      const claim = await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...marker, state: 'claimed', claimedAt: now },
          ConditionExpression: 'attribute_not_exists(pk) OR (#state = :claimed AND claimedAt < :stale)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':claimed': 'claimed', ':stale': now - STALE_CLAIM_MS },
          ReturnValues: 'ALL_OLD',
        }),
      );
      // Taking over a crashed claim: reuse the number it reserved.
      if (claim.Attributes)
        reserved = decodeItem(revisionMarkerItem, 'build marker', claim.Attributes, {
          table: this.table,
          key: marker,
        }).number;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const existing = await this.findByBuildId(application, buildId);
      if (existing) return existing;
      throw new ConcurrentUpdateError(`Build ${buildId} is being recorded by another caller`, {
        cause: error,
        details: { application, buildId },
      });
    }
    let number = reserved;
    if (number === undefined) {
      const counter = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: '#COUNTER' },
          UpdateExpression: 'ADD #last :one',
          ExpressionAttributeNames: { '#last': 'last' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      number = decodeItem(revisionCounterItem, 'revision counter', counter.Attributes, {
        table: this.table,
        key: { pk, sk: '#COUNTER' },
      }).last;
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: marker,
          UpdateExpression: 'SET #number = :number',
          ExpressionAttributeNames: { '#number': 'number' },
          ExpressionAttributeValues: { ':number': number },
        }),
      );
    }
    const draft = await prepare(number);
    const revision: Revision = { testResults: {}, ...draft, buildId, application, number };
    // Before the revision: a revision that can be read can be found by its commits (the puts are idempotent, so a
    // caller taking over a crashed claim writes them again).
    await batchPutAll(this.client, this.table, commitIndexItems(revision));
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk, sk: `REV#${pad(number)}`, ...revision },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // written by the claimer we took over from
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: marker,
        UpdateExpression: 'SET #state = :done',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':done': 'done' },
      }),
    );
    return (await this.get(application, number)) ?? revision;
  }

  async get(application: string, number: number): Promise<Revision | undefined> {
    const key = { pk: `APP#${application}`, sk: `REV#${pad(number)}` };
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    return result.Item ? decodeItem(revisionItem, 'revision', result.Item, { table: this.table, key }) : undefined;
  }

  async list(application: string): Promise<Revision[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rev)',
      ExpressionAttributeValues: { ':pk': `APP#${application}`, ':rev': 'REV#' },
      ConsistentRead: true,
    });
    return items.map((item) => decodeItem(revisionItem, 'revision', item, { table: this.table, key: itemKey(item) }));
  }

  async newest(application: string, options: { limit: number; atLeast?: number; below?: number }): Promise<Revision[]> {
    const pk = `APP#${application}`;
    // REV#<12 digits> sorts numerically, so the newest are read first and a floor or a ceiling is a key condition:
    // the read costs what it returns, however long the history around it.
    const bounded =
      (options.atLeast !== undefined && options.atLeast > 0) || (options.below !== undefined && options.below > 0);
    if (options.below !== undefined && options.below <= Math.max(1, options.atLeast ?? 1)) return [];
    const items = await queryAll(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: bounded
          ? 'pk = :pk AND sk BETWEEN :from AND :to'
          : 'pk = :pk AND begins_with(sk, :rev)',
        ExpressionAttributeValues: bounded
          ? {
              ':pk': pk,
              ':from': `REV#${pad(Math.max(1, options.atLeast ?? 1))}`,
              ':to': options.below !== undefined ? `REV#${pad(options.below - 1)}` : `REV#${'9'.repeat(12)}`,
            }
          : { ':pk': pk, ':rev': 'REV#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      options.limit,
    );
    return items.map((item) => decodeItem(revisionItem, 'revision', item, { table: this.table, key: itemKey(item) }));
  }

  async findByCommit(application: string, commit: string): Promise<number | undefined> {
    const pk = `APP#${application}`;
    const wanted = commit.toLowerCase();
    // COMMIT#<id>#<number> sorts a commit's revisions by number: the first item read backwards is the newest one.
    const [hit] = await queryAll(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :commit)',
        ExpressionAttributeValues: { ':pk': pk, ':commit': `COMMIT#${wanted}` },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      1,
    );
    if (hit) return decodeItem(commitIndexItem, 'commit index', hit, { table: this.table, key: itemKey(hit) }).number;
    // Not indexed: it may be in a revision written before the index, until the reconcile pass has indexed those.
    const legacyBelow = await this.legacyBelow(application);
    for (let below = legacyBelow; below > 1;) {
      const page = await this.newest(application, { limit: LEGACY_LOOKUP_PAGE, below });
      if (page.length === 0) break;
      const found = page.find((r) => commitKeys(r).some((id) => id.startsWith(wanted)));
      if (found) return found.number;
      below = page.at(-1)!.number;
    }
    return undefined;
  }

  async indexLegacyCommits(application: string, budget: number): Promise<number> {
    if (this.fullyIndexed.has(application)) return 0;
    const pk = `APP#${application}`;
    const legacyBelow = await this.legacyBelow(application);
    const from = Math.max(1, legacyBelow - budget);
    const revisions =
      legacyBelow > 1 ? await this.newest(application, { limit: budget, atLeast: from, below: legacyBelow }) : [];
    await batchPutAll(this.client, this.table, revisions.flatMap(commitIndexItems));
    try {
      // Only ever lowered: two passes at once index the same share twice (idempotent puts) and agree on the marker.
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: COMMIT_INDEX_MARKER },
          UpdateExpression: 'SET legacyBelow = :from',
          ConditionExpression: 'attribute_not_exists(legacyBelow) OR legacyBelow > :from',
          ExpressionAttributeValues: { ':from': from },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    if (from <= 1) this.fullyIndexed.add(application);
    return revisions.length;
  }

  /**
   * Revisions numbered below this may lack their commit index. Without a marker (no pass indexed them yet) that is
   * every revision there is: one past the counter.
   */
  private async legacyBelow(application: string): Promise<number> {
    const pk = `APP#${application}`;
    const key = { pk, sk: COMMIT_INDEX_MARKER };
    const marker = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    if (marker)
      return decodeItem(commitIndexMarkerItem, 'commit index marker', marker, { table: this.table, key }).legacyBelow;
    const counterKey = { pk, sk: '#COUNTER' };
    const counter = (
      await this.client.send(new GetCommand({ TableName: this.table, Key: counterKey, ConsistentRead: true }))
    ).Item;
    return counter
      ? decodeItem(revisionCounterItem, 'revision counter', counter, { table: this.table, key: counterKey }).last + 1
      : 1;
  }

  async getMany(application: string, numbers: readonly number[]): Promise<Revision[]> {
    const keys = [...new Set(numbers)].map((n) => ({ pk: `APP#${application}`, sk: `REV#${pad(n)}` }));
    const items = await batchGetAll(this.client, this.table, keys);
    return items
      .map((item) => decodeItem(revisionItem, 'revision', item, { table: this.table, key: itemKey(item) }))
      .sort((a, b) => a.number - b.number);
  }

  async recordTestResults(
    application: string,
    number: number,
    environment: string,
    results: { passed: number; failed: number },
  ): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `APP#${application}`, sk: `REV#${pad(number)}` },
        UpdateExpression: 'SET testResults.#env = :results',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#env': environment },
        ExpressionAttributeValues: { ':results': { passed: results.passed, failed: results.failed } },
      }),
    );
  }

  async findByBuildId(application: string, buildId: string): Promise<Revision | undefined> {
    const key = { pk: `APP#${application}`, sk: `BUILD#${buildId}` };
    const item = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    if (!item) return undefined;
    const marker = decodeItem(revisionMarkerItem, 'build marker', item, { table: this.table, key });
    return marker.state === 'done' && marker.number !== undefined ? this.get(application, marker.number) : undefined;
  }
}
