/**
 * Operators' pins and rollback claims in DynamoDB, on the Environments table (`LOCKSTEP_TABLE_ENVIRONMENTS`).
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `PINS` | `ENV#<environment>#APP#<application>` | a pin: `revision`, `pinnedBy`, `pinnedAt`, `reason` (all pins are one query) |
 * | `ENV#<environment>` | `ROLLBACK#<application>` | the last operator rollback claimed there (`RollbackClaim`) |
 */
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EnvironmentPin, RollbackClaim } from '../core/model';
import type { OperatorStore } from '../ports/stores';
import { decodeItem, itemKey, pinItem, rollbackClaimItem } from './dynamo-items';
import { isConditionFailed, queryAll } from './dynamo-util';

function pinKey(environment: string, application: string) {
  return { pk: 'PINS', sk: `ENV#${environment}#APP#${application}` };
}

function claimKey(environment: string, application: string) {
  return { pk: `ENV#${environment}`, sk: `ROLLBACK#${application}` };
}

function toPin(pin: EnvironmentPin): EnvironmentPin {
  const { environment, application, revision, pinnedBy, pinnedAt, reason } = pin;
  return { environment, application, revision, pinnedBy, pinnedAt, ...(reason !== undefined ? { reason } : {}) };
}

export class DynamoOperatorStore implements OperatorStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async pins(): Promise<EnvironmentPin[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'PINS' },
      ConsistentRead: true,
    });
    return items.map((item) => toPin(decodeItem(pinItem, 'pin', item, { table: this.table, key: itemKey(item) })));
  }

  async pin(environment: string, application: string): Promise<EnvironmentPin | undefined> {
    const key = pinKey(environment, application);
    const item = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    return item && toPin(decodeItem(pinItem, 'pin', item, { table: this.table, key }));
  }

  async setPin(pin: EnvironmentPin): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: { ...pinKey(pin.environment, pin.application), ...pin } }),
    );
  }

  async removePin(environment: string, application: string): Promise<EnvironmentPin | undefined> {
    const key = pinKey(environment, application);
    const result = await this.client.send(
      new DeleteCommand({ TableName: this.table, Key: key, ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes && toPin(decodeItem(pinItem, 'pin', result.Attributes, { table: this.table, key }));
  }

  async rollbackClaim(environment: string, application: string): Promise<RollbackClaim | undefined> {
    const key = claimKey(environment, application);
    const item = (await this.client.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })))
      .Item;
    return item && decodeItem(rollbackClaimItem, 'rollback claim', item, { table: this.table, key });
  }

  async claimRollback(claim: RollbackClaim, replacing?: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...claimKey(claim.environment, claim.application), ...claim },
          ConditionExpression:
            'attribute_not_exists(pk) OR fromDeployedAt <> :deployedAt' +
            (replacing !== undefined ? ' OR executionName = :replacing' : ''),
          ExpressionAttributeValues: {
            ':deployedAt': claim.fromDeployedAt,
            ...(replacing !== undefined ? { ':replacing': replacing } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false; // another operator's rollback of this deployment won
      throw error;
    }
  }
}
