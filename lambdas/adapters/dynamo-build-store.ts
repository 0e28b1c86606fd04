/**
 * AutoBuild's pushes and builds in DynamoDB (`LOCKSTEP_TABLE_REVISIONS`).
 *
 * | pk | sk | holds |
 * |---|---|---|
 * | `PUSHES` | `PUSH#<package>#<commit>` | a push (the decision core's `Push`) |
 * | `BUILDS#<application>` | `BUILD#<request id>` | one build (`BuildRecord` + `buildId` once CodeBuild started it) |
 * | `BUILDS#<application>` | `ACTIVE` | the one build of the application that may run now (`active` request id) |
 *
 * The `ACTIVE` slot is what keeps two concurrent reconcile passes, which may plan different requests from pushes
 * read a moment apart, from starting two builds of one application. A claimer that crashed before starting its
 * build leaves a slot without `buildId`; after `STALE_CLAIM_MS` the next claimer takes it over.
 */
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BuildRequest, Push } from '../core/decide/autobuild';
import type { BuildStore, StoredBuild } from '../ports/stores';
import { buildItem, decodeItem, itemKey, pushItem } from './dynamo-items';
import { isConditionFailed, queryAll } from './dynamo-util';

const STALE_CLAIM_MS = 5 * 60_000;

export class DynamoBuildStore implements BuildStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async recordPush(push: Push): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: 'PUSHES', sk: `PUSH#${push.package}#${push.commit}`, ...push },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async pushes(): Promise<Push[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'PUSHES' },
      ConsistentRead: true,
    });
    return items.map((item) => decodeItem(pushItem, 'push', item, { table: this.table, key: itemKey(item) }));
  }

  async history(applications: readonly string[]): Promise<Record<string, StoredBuild[]>> {
    const result: Record<string, StoredBuild[]> = {};
    for (const application of applications) {
      const items = await queryAll(this.client, {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :b)',
        ExpressionAttributeValues: { ':pk': `BUILDS#${application}`, ':b': 'BUILD#' },
        ConsistentRead: true,
      });
      result[application] = items.map((item) =>
        decodeItem(buildItem, 'build', item, { table: this.table, key: itemKey(item) }),
      );
    }
    return result;
  }

  async claim(request: BuildRequest, now: number): Promise<boolean> {
    const build: StoredBuild = {
      application: request.application,
      id: request.requestId,
      status: 'running',
      startedAt: now,
      versionSet: request.versionSet,
      commits: request.commits,
    };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `BUILDS#${request.application}`, sk: 'ACTIVE' },
          UpdateExpression: 'SET active = :id, claimedAt = :now REMOVE buildId',
          ConditionExpression: 'attribute_not_exists(active) OR (attribute_not_exists(buildId) AND claimedAt < :stale)',
          ExpressionAttributeValues: { ':id': request.requestId, ':now': now, ':stale': now - STALE_CLAIM_MS },
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `BUILDS#${request.application}`, sk: `BUILD#${request.requestId}`, ...build },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async started(application: string, requestId: string, buildId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `BUILDS#${application}`, sk: `BUILD#${requestId}` },
        UpdateExpression: 'SET buildId = :id',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':id': buildId },
      }),
    );
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `BUILDS#${application}`, sk: 'ACTIVE' },
        UpdateExpression: 'SET buildId = :id',
        ConditionExpression: 'active = :request',
        ExpressionAttributeValues: { ':id': buildId, ':request': requestId },
      }),
    );
  }

  async complete(
    application: string,
    requestId: string,
    outcome: { status: 'succeeded' | 'failed'; finishedAt: number; revision?: number; failure?: string },
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `BUILDS#${application}`, sk: `BUILD#${requestId}` },
          UpdateExpression:
            'SET #status = :status, finishedAt = :at' +
            (outcome.revision === undefined ? '' : ', revision = :revision') +
            (outcome.failure === undefined ? '' : ', failure = :failure'),
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': outcome.status,
            ':at': outcome.finishedAt,
            ':running': 'running',
            ...(outcome.revision === undefined ? {} : { ':revision': outcome.revision }),
            // Bounded: a source tool's message can be long, and the item also holds the build's commits.
            ...(outcome.failure === undefined ? {} : { ':failure': outcome.failure.slice(0, 2000) }),
          },
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `BUILDS#${application}`, sk: 'ACTIVE' },
          UpdateExpression: 'REMOVE active, buildId',
          ConditionExpression: 'active = :request',
          ExpressionAttributeValues: { ':request': requestId },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    return true;
  }
}
