/**
 * Environment state, pipeline switches and manual-promotion decisions in DynamoDB (`LOCKSTEP_TABLE_ENVIRONMENTS`).
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `ENV#<environment>` | `APP#<application>` | `current`, `previous` (deployed revisions), `approved` (numbers), `cleared` (an unapproved current an operator allowed deploys over), `failed` (numbers rolled back here), `lastApproval` (`{revision, at}`) |
 * | `PIPELINE` | `SWITCHES` | `enabled`, `automation` as operators last set them |
 * | `PIPELINE` | `ENVIRONMENTS` | `names`: the environments the last reconcile pass saw (finds removed ones) |
 * | `PIPELINE` | `PROMOTION#<id>` | `enabled` as operators last set it |
 * | `PROMOTION#<id>` | `APPROVAL#<application>#<number>` | a manual promotion's go-ahead |
 * | `PROMOTION#<id>` | `REQUEST#<application>#<number>` | an approval request was sent for that go-ahead |
 * | `PROMOTION#<id>` | `LAST#<application>` | the last decision reconcile reported (so the timeline shows changes) |
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApplicationAtEnvironment, DeployedRevision, PipelineSwitches, PromotionApproval } from '../core/model';
import type { EnvironmentStore } from '../ports/stores';
import {
  decodeItem,
  itemKey,
  promotionApprovalItem,
  promotionSwitchItem,
  slotItem,
  switchesItem,
  type ItemLocation,
} from './dynamo-items';
import { isConditionFailed, queryAll } from './dynamo-util';

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
    try {
      await this.client.send(
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
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // already approved
    }
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
