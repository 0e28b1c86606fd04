/**
 * Approval requests in DynamoDB (`LOCKSTEP_TABLE_ENVIRONMENTS`, pk `APPROVAL#<request id>`, sk `REQUEST`).
 * The Step Functions task token lives only here: `get` never returns it, and `decide` hands it to the one caller
 * whose conditional update moved the request out of `pending`.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApprovalRequestRecord, ApprovalStore } from '../ports/stores';
import { isConditionFailed } from './dynamo-util';

export class DynamoApprovalStore implements ApprovalStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(requestId: string) {
    return { pk: `APPROVAL#${requestId}`, sk: 'REQUEST' };
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
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: this.key(requestId), ConsistentRead: true }));
    if (!result.Item) return undefined;
    const { pk: _pk, sk: _sk, taskToken: _token, ...request } = result.Item;
    return request as ApprovalRequestRecord;
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
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(requestId),
          UpdateExpression: 'SET #status = :status, decidedBy = :by, decidedAt = :at' + (decision.comment ? ', #comment = :comment' : ''),
          ConditionExpression: 'attribute_exists(pk) AND #status = :pending AND expiresAt > :at',
          ExpressionAttributeNames: { '#status': 'status', ...(decision.comment ? { '#comment': 'comment' } : {}) },
          ExpressionAttributeValues: {
            ':status': decision.status,
            ':by': decision.decidedBy,
            ':at': decision.decidedAt,
            ':pending': 'pending',
            ...(decision.comment ? { ':comment': decision.comment } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const token = result.Attributes?.taskToken;
      return { taskToken: typeof token === 'string' ? token : undefined };
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }
}
