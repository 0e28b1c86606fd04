/**
 * Approval requests in DynamoDB (`LOCKSTEP_TABLE_ENVIRONMENTS`).
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `APPROVAL#<request id>` | `REQUEST` | the request, its task token, its decision and delivery state (`deliveringUntil`: the delivery lease) |
 * | `APPROVAL-DELIVERIES` | `<request id>` | a decision that may not have reached its workflow yet |
 *
 * The Step Functions task token lives only here: `get` never returns it; `decide` hands it to the one caller whose
 * conditional update moved the request out of `pending`, `claimDelivery` to the one caller that takes over an
 * undelivered decision. `decide` writes the `APPROVAL-DELIVERIES` item before the decision (there are no
 * transactions), so no decision exists that `undelivered` cannot find; `undelivered` drops items that stand for
 * no undelivered decision (a losing decide's, a delivered one's).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import {
  APPROVAL_DELIVERY_LEASE_MS,
  type ApprovalRequestRecord,
  type ApprovalStore,
  type ClaimedDelivery,
} from '../ports/stores';
import { approvalRequestItem, decodeItem, taskTokenItem, type ItemLocation } from './dynamo-items';
import { isConditionFailed, queryAll } from './dynamo-util';

const DELIVERIES_PK = 'APPROVAL-DELIVERIES';
/** A pending request's delivery item is kept this long past its expiry: a decide begun before expiry may still land. */
const EXPIRED_GRACE_MS = 5 * 60_000;

export class DynamoApprovalStore implements ApprovalStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(requestId: string) {
    return { pk: `APPROVAL#${requestId}`, sk: 'REQUEST' };
  }

  private where(requestId: string): ItemLocation {
    return { table: this.table, key: this.key(requestId) };
  }

  async create(request: ApprovalRequestRecord, taskToken: string | undefined): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...this.key(request.requestId), ...request, ...(taskToken ? { taskToken } : {}) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(requestId: string): Promise<ApprovalRequestRecord | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.table, Key: this.key(requestId), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    return toRecord(result.Item, this.where(requestId));
  }

  async markNotified(requestId: string, at: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.key(requestId),
        UpdateExpression: 'SET notifiedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  async decide(
    requestId: string,
    decision: { status: 'approved' | 'rejected'; decidedBy: string; decidedAt: number; comment?: string },
  ): Promise<{ taskToken: string | undefined } | undefined> {
    await this.client.send(new PutCommand({ TableName: this.table, Item: { pk: DELIVERIES_PK, sk: requestId } }));
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(requestId),
          UpdateExpression:
            'SET #status = :status, decidedBy = :by, decidedAt = :at, delivery = :undelivered, deliveringUntil = :lease' +
            (decision.comment ? ', #comment = :comment' : ''),
          ConditionExpression: 'attribute_exists(pk) AND #status = :pending AND expiresAt > :at',
          ExpressionAttributeNames: { '#status': 'status', ...(decision.comment ? { '#comment': 'comment' } : {}) },
          ExpressionAttributeValues: {
            ':status': decision.status,
            ':by': decision.decidedBy,
            ':at': decision.decidedAt,
            ':pending': 'pending',
            ':undelivered': 'pending',
            ':lease': decision.decidedAt + APPROVAL_DELIVERY_LEASE_MS,
            ...(decision.comment ? { ':comment': decision.comment } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return {
        taskToken: decodeItem(taskTokenItem, 'approval request', result.Attributes, this.where(requestId)).taskToken,
      };
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  async addApproval(requestId: string, approver: string, at: number): Promise<readonly string[] | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(requestId),
          UpdateExpression: 'SET approvedBy = list_append(if_not_exists(approvedBy, :none), :approver)',
          // Conditional on the request still pending: an approval never lands on a rejected or expired request.
          ConditionExpression:
            'attribute_exists(pk) AND #status = :pending AND expiresAt > :at AND ' +
            '(attribute_not_exists(approvedBy) OR NOT contains(approvedBy, :who))',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':none': [],
            ':approver': [approver],
            ':who': approver,
            ':pending': 'pending',
            ':at': at,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return decodeItem(approvalRequestItem, 'approval request', result.Attributes, this.where(requestId)).approvedBy;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // Either this approver approved already (idempotent: say where it stands) or the request is decided/expired.
      const now = await this.get(requestId);
      return now?.status === 'pending' && now.expiresAt > at && now.approvedBy?.includes(approver)
        ? now.approvedBy
        : undefined;
    }
  }

  async claimDelivery(requestId: string, now: number): Promise<ClaimedDelivery | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(requestId),
          UpdateExpression: 'SET deliveringUntil = :lease',
          ConditionExpression:
            'attribute_exists(pk) AND delivery = :undelivered AND (attribute_not_exists(deliveringUntil) OR deliveringUntil < :now)',
          ExpressionAttributeValues: {
            ':lease': now + APPROVAL_DELIVERY_LEASE_MS,
            ':undelivered': 'pending',
            ':now': now,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const where = this.where(requestId);
      return {
        request: toRecord(result.Attributes, where),
        taskToken: decodeItem(taskTokenItem, 'approval request', result.Attributes, where).taskToken,
      };
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  async releaseDelivery(requestId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.key(requestId),
        UpdateExpression: 'REMOVE deliveringUntil',
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  async finishDelivery(requestId: string, outcome: 'delivered' | 'undeliverable', at: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.key(requestId),
        UpdateExpression: 'SET delivery = :outcome, deliveredAt = :at REMOVE deliveringUntil',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':outcome': outcome, ':at': at },
      }),
    );
    await this.client.send(new DeleteCommand({ TableName: this.table, Key: { pk: DELIVERIES_PK, sk: requestId } }));
  }

  async undelivered(now: number): Promise<string[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': DELIVERIES_PK },
      ConsistentRead: true,
    });
    const waiting: ApprovalRequestRecord[] = [];
    for (const requestId of items.map((item) => String(item.sk))) {
      const request = await this.get(requestId);
      if (request && request.status !== 'pending' && request.delivery === 'pending') waiting.push(request);
      // Still pending and unexpired: a decide is under way, keep its item.
      else if (request?.status !== 'pending' || request.expiresAt + EXPIRED_GRACE_MS <= now) {
        await this.client.send(new DeleteCommand({ TableName: this.table, Key: { pk: DELIVERIES_PK, sk: requestId } }));
      }
    }
    return waiting.sort((a, b) => (a.decidedAt ?? 0) - (b.decidedAt ?? 0)).map((r) => r.requestId);
  }
}

/** The request without its task token and delivery lease (the schema strips them with the key). */
function toRecord(item: unknown, where: ItemLocation): ApprovalRequestRecord {
  return decodeItem(approvalRequestItem, 'approval request', item, where);
}
