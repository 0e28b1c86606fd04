/**
 * Environment state, pipeline switches and manual-promotion decisions in DynamoDB (`LOCKSTEP_TABLE_ENVIRONMENTS`).
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `ENV#<environment>` | `APP#<application>` | `current`, `previous` (deployed revisions), `approved` (the last `APPROVED_TAIL` numbers approved, in approval order), `cleared` (an unapproved current an operator allowed deploys over), `failed` (numbers rolled back here), `lastApproval` (`{revision, at}`) |
 * | `APPROVED#<environment>#<application>` | `REV#<number, 12 digits>` | the approved index: one item per revision ever approved there, read newest first; `compacted` once moved out of the slot's list |
 * | `PIPELINE` | `SWITCHES` | `enabled`, `automation` as operators last set them |
 * | `PIPELINE` | `ENVIRONMENTS` | `names`: the environments the last reconcile pass saw (finds removed ones) |
 * | `PIPELINE` | `PROMOTION#<id>` | `enabled` as operators last set it |
 * | `PROMOTION#<id>` | `APPROVAL#<application>#<number>` | a manual promotion's go-ahead |
 * | `PROMOTION#<id>` | `REQUEST#<application>#<number>` | an approval request was sent for that go-ahead |
 * | `PROMOTION#<id>` | `LAST#<application>` | the last decision reconcile reported (so the timeline shows changes) |
 *
 * The slot's `approved` list was once the whole approval history; an application pushed 20 times a day made it
 * grow without bound, and every reconcile pass read it. It now keeps the tail that rollbacks and recovery need
 * (the last approved revision other than the current one), and the approved index holds every approval, read by
 * range. A list written by an older Lockstep is moved into the index by `compactApproved`, page by page.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { APPROVED_TAIL } from '../ports/stores';
import type { ApplicationAtEnvironment, DeployedRevision, PipelineSwitches, PromotionApproval } from '../core/model';
import type { EnvironmentStore } from '../ports/stores';
import {
  approvedMarkerItem,
  decodeItem,
  itemKey,
  promotionApprovalItem,
  promotionSwitchItem,
  slotItem,
  switchesItem,
  type ItemLocation,
} from './dynamo-items';
import { batchGetAll, batchPutAll, isConditionFailed, pad, queryAll } from './dynamo-util';

/** Entries moved from a slot's list into the approved index per call: each call rewrites the rest of the list. */
const COMPACT_PAGE = 1_000;

function toSlot(item: Record<string, unknown>, where: ItemLocation): ApplicationAtEnvironment {
  const slot = decodeItem(slotItem, 'environment slot', item, where);
  return {
    ...(slot.current ? { current: slot.current } : {}),
    ...(slot.previous ? { previous: slot.previous } : {}),
    approved: slot.approved,
    ...(slot.cleared !== undefined ? { cleared: slot.cleared } : {}),
    ...(slot.failed ? { failed: slot.failed } : {}),
    ...(slot.lastApproval ? { lastApproval: slot.lastApproval } : {}),
  };
}

export class DynamoEnvironmentStore implements EnvironmentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(environment: string): Promise<Record<string, ApplicationAtEnvironment>> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :app)',
      ExpressionAttributeValues: { ':pk': `ENV#${environment}`, ':app': 'APP#' },
      ConsistentRead: true,
    });
    return Object.fromEntries(
      items.map((item) => [
        String(item.sk).slice('APP#'.length),
        toSlot(item, { table: this.table, key: itemKey(item) }),
      ]),
    );
  }

  async slot(environment: string, application: string): Promise<ApplicationAtEnvironment | undefined> {
    const key = { pk: `ENV#${environment}`, sk: `APP#${application}` };
    const item = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    return item && toSlot(item, { table: this.table, key });
  }

  async recordDeployed(
    environment: string,
    revision: DeployedRevision,
    before: ApplicationAtEnvironment | undefined,
  ): Promise<ApplicationAtEnvironment> {
    const current = before?.current;
    if (before && current?.number === revision.number) return before;
    // Conditional on what the caller read: a concurrent writer (impossible while the lock is held) makes us fail loudly.
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `ENV#${environment}`, sk: `APP#${revision.application}` },
        UpdateExpression: current ? 'SET #current = :new, previous = :old' : 'SET #current = :new',
        ConditionExpression: current ? '#current.#number = :oldNumber' : 'attribute_not_exists(#current)',
        ExpressionAttributeNames: current ? { '#current': 'current', '#number': 'number' } : { '#current': 'current' },
        ExpressionAttributeValues: current
          ? { ':new': revision, ':old': current, ':oldNumber': current.number }
          : { ':new': revision },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const slot = toSlot(result.Attributes ?? {}, {
      table: this.table,
      key: { pk: `ENV#${environment}`, sk: `APP#${revision.application}` },
    });
    return { ...slot, current: revision };
  }

  async recordRolledBack(environment: string, application: string, restored: DeployedRevision): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `ENV#${environment}`, sk: `APP#${application}` },
        UpdateExpression: 'SET #current = :restored REMOVE previous',
        ExpressionAttributeNames: { '#current': 'current' },
        ExpressionAttributeValues: { ':restored': restored },
      }),
    );
  }

  async adoptSlot(environment: string, application: string, slot: ApplicationAtEnvironment): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `ENV#${environment}`, sk: `APP#${application}`, ...slot, approved: [...slot.approved] },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false; // the new name has its own state already
      throw error;
    }
  }

  async knownEnvironments(): Promise<string[] | undefined> {
    const item = (
      await this.client.send(
        new GetCommand({ TableName: this.table, Key: { pk: 'PIPELINE', sk: 'ENVIRONMENTS' }, ConsistentRead: true }),
      )
    ).Item;
    return Array.isArray(item?.names)
      ? item.names.filter((n: unknown): n is string => typeof n === 'string')
      : undefined;
  }

  async setKnownEnvironments(names: readonly string[]): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: { pk: 'PIPELINE', sk: 'ENVIRONMENTS', names: [...names] } }),
    );
  }

  async markApproved(environment: string, application: string, revision: number, at: number): Promise<void> {
    // The index first: once the list says approved, the index must too, or compaction could drop the number.
    const marker = this.approvedMarker(environment, application, revision);
    const before = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: marker.pk, sk: marker.sk },
        UpdateExpression: 'SET environment = :environment, application = :application, #number = :number',
        ExpressionAttributeNames: { '#number': 'number' },
        ExpressionAttributeValues: { ':environment': environment, ':application': application, ':number': revision },
        ReturnValues: 'ALL_OLD',
      }),
    );
    // Moved out of the list by compaction: approved long ago, and appending it again would reorder the approvals
    // that rollbacks read (the list's `NOT contains` guard no longer sees it).
    if (before.Attributes?.compacted === true) return;
    let approved: readonly number[];
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `ENV#${environment}`, sk: `APP#${application}` },
          UpdateExpression:
            'SET approved = list_append(if_not_exists(approved, :empty), :number), lastApproval = :last',
          ConditionExpression: 'attribute_not_exists(approved) OR NOT contains(approved, :n)',
          ExpressionAttributeValues: {
            ':empty': [],
            ':number': [revision],
            ':n': revision,
            ':last': { revision, at },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      approved = toSlot(result.Attributes ?? {}, {
        table: this.table,
        key: { pk: `ENV#${environment}`, sk: `APP#${application}` },
      }).approved;
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // already approved
      return;
    }
    if (approved.length > APPROVED_TAIL) await this.compactApproved(environment, application, approved, COMPACT_PAGE);
  }

  async approvedNewest(
    environment: string,
    application: string,
    options: { limit: number; atLeast?: number },
  ): Promise<number[]> {
    const pk = `APPROVED#${environment}#${application}`;
    const floor = options.atLeast !== undefined && options.atLeast > 0;
    const items = await queryAll(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: floor ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk',
        ExpressionAttributeValues: floor
          ? { ':pk': pk, ':from': `REV#${pad(options.atLeast!)}`, ':to': `REV#${'9'.repeat(12)}` }
          : { ':pk': pk },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      options.limit,
    );
    return items.map(
      (item) =>
        decodeItem(approvedMarkerItem, 'approved index', item, { table: this.table, key: itemKey(item) }).number,
    );
  }

  async compactApproved(
    environment: string,
    application: string,
    approved: readonly number[],
    budget: number,
  ): Promise<number> {
    const count = Math.min(approved.length - APPROVED_TAIL, budget, COMPACT_PAGE);
    if (count <= 0) return 0;
    const page = approved.slice(0, count);
    // Copies first, then removal: a crash in between leaves copies that the next call writes again (a put of the
    // same item), never a number that is in neither place.
    await batchPutAll(
      this.client,
      this.table,
      page.map((n) => ({ ...this.approvedMarker(environment, application, n), compacted: true })),
    );
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `ENV#${environment}`, sk: `APP#${application}` },
          // The rest is written whole rather than the head REMOVEd by index: emulators disagree on how a REMOVE of
          // several list indexes shifts them. The condition holds only for the list as read (numbers in it are
          // unique, and it only grows at the end), so a concurrent approval or compaction makes this call a no-op
          // for the next one to redo, instead of dropping an entry.
          UpdateExpression: 'SET approved = :rest',
          ConditionExpression: 'size(approved) = :size AND approved[0] = :first',
          ExpressionAttributeValues: { ':rest': approved.slice(count), ':size': approved.length, ':first': page[0] },
        }),
      );
      return count;
    } catch (error) {
      if (isConditionFailed(error)) return 0;
      throw error;
    }
  }

  private approvedMarker(environment: string, application: string, revision: number) {
    return {
      pk: `APPROVED#${environment}#${application}`,
      sk: `REV#${pad(revision)}`,
      environment,
      application,
      number: revision,
    };
  }

  async markFailed(environment: string, application: string, revision: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `ENV#${environment}`, sk: `APP#${application}` },
          UpdateExpression: 'SET failed = list_append(if_not_exists(failed, :empty), :number)',
          ConditionExpression: 'attribute_not_exists(failed) OR NOT contains(failed, :n)',
          ExpressionAttributeValues: { ':empty': [], ':number': [revision], ':n': revision },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // already recorded
    }
  }

  async clearUnsafe(environment: string, application: string, revision: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `ENV#${environment}`, sk: `APP#${application}` },
        UpdateExpression: 'SET cleared = :n',
        ExpressionAttributeValues: { ':n': revision },
      }),
    );
  }

  async switches(defaults: PipelineSwitches): Promise<PipelineSwitches> {
    const key = { pk: 'PIPELINE', sk: 'SWITCHES' };
    const item = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    const stored = item ? decodeItem(switchesItem, 'pipeline switches', item, { table: this.table, key }) : {};
    return { enabled: stored.enabled ?? defaults.enabled, automation: stored.automation ?? defaults.automation };
  }

  async setSwitches(switches: Partial<PipelineSwitches>, by: string): Promise<PipelineSwitches> {
    const names: Record<string, string> = { '#by': 'changedBy' };
    const values: Record<string, unknown> = { ':by': by };
    const sets = ['#by = :by'];
    for (const key of ['enabled', 'automation'] as const) {
      if (switches[key] === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = switches[key];
      sets.push(`#${key} = :${key}`);
    }
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: 'PIPELINE', sk: 'SWITCHES' },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const stored = decodeItem(switchesItem, 'pipeline switches', result.Attributes, {
      table: this.table,
      key: { pk: 'PIPELINE', sk: 'SWITCHES' },
    });
    return { enabled: stored.enabled !== false, automation: stored.automation !== false };
  }

  async promotionSwitches(): Promise<Record<string, boolean>> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': 'PIPELINE', ':p': 'PROMOTION#' },
      ConsistentRead: true,
    });
    return Object.fromEntries(
      items.map((item) => {
        const { sk, enabled } = decodeItem(promotionSwitchItem, 'promotion switch', item, {
          table: this.table,
          key: itemKey(item),
        });
        return [sk.slice('PROMOTION#'.length), enabled];
      }),
    );
  }

  async setPromotionEnabled(promotionId: string, enabled: boolean, by: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: 'PIPELINE', sk: `PROMOTION#${promotionId}`, enabled, changedBy: by },
      }),
    );
  }

  async promotionApprovals(promotionId: string): Promise<PromotionApproval[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': `PROMOTION#${promotionId}`, ':a': 'APPROVAL#' },
      ConsistentRead: true,
    });
    return items.map((item) =>
      decodeItem(promotionApprovalItem, 'promotion approval', item, { table: this.table, key: itemKey(item) }),
    );
  }

  async promotionApprovalsFor(
    promotionId: string,
    application: string,
    revisions: readonly number[],
  ): Promise<PromotionApproval[]> {
    const keys = [...new Set(revisions)].map((n) => ({
      pk: `PROMOTION#${promotionId}`,
      sk: `APPROVAL#${application}#${n}`,
    }));
    return (await batchGetAll(this.client, this.table, keys)).map((item) =>
      decodeItem(promotionApprovalItem, 'promotion approval', item, { table: this.table, key: itemKey(item) }),
    );
  }

  async decidePromotion(approval: PromotionApproval): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `PROMOTION#${approval.promotion}`,
            sk: `APPROVAL#${approval.application}#${approval.revision}`,
            ...approval,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR decision = :pending',
          ExpressionAttributeValues: { ':pending': 'pending' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async claimPromotionRequest(
    promotionId: string,
    application: string,
    revision: number,
    now: number,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `PROMOTION#${promotionId}`, sk: `REQUEST#${application}#${revision}`, requestedAt: now },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async noteDecision(promotionId: string, application: string, summary: string, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `PROMOTION#${promotionId}`, sk: `LAST#${application}`, summary, at: now },
          ConditionExpression: 'attribute_not_exists(pk) OR summary <> :summary',
          ExpressionAttributeValues: { ':summary': summary },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
