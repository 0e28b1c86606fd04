import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { topicArn } from '../constants';
import { readJsonIfExists, writeJsonAtomic } from '../files';
import { AwsApiError } from '../aws-protocol/errors';
import { queryList, queryString, type QueryObject, type QueryValue } from '../aws-protocol/query';
import type { AwsServiceDefinition } from '../aws-protocol/server';

/**
 * SNS over the query protocol, for local mode: a publish appends one JSON line to `<dataDir>/outbox.jsonl` and is
 * handed to in-process subscribers (the terminal printer is one). Topics are created with CreateTopic or
 * `createTopic()` and kept in `<dataDir>/sns-topics.json`; publishing to an unknown topic fails with `NotFound` as
 * on AWS, so a wrong topic ARN shows up locally too.
 */
export interface OutboxMessage {
  /** ISO time of the publish. */
  readonly time: string;
  readonly messageId: string;
  readonly topicArn: string;
  /** Topic name (the last ARN segment). */
  readonly topic: string;
  readonly subject?: string;
  readonly message: string;
  /** Message attributes as `name -> string value` (binary values base64). */
  readonly attributes: Readonly<Record<string, string>>;
}

export type OutboxSubscriber = (message: OutboxMessage) => void | Promise<void>;

export interface LocalSnsOptions {
  readonly dataDir: string;
  /** Current time, for the outbox's `time`. @default Date.now */
  readonly now?: () => number;
  /** Where a failing subscriber is reported (the publish still succeeds). @default console.error */
  readonly onSubscriberError?: (error: unknown, message: OutboxMessage) => void;
}

const MAX_MESSAGE_BYTES = 256 * 1024;

export class LocalSns {
  readonly outboxFile: string;
  private readonly subscribers = new Set<OutboxSubscriber>();
  /** Appends run one at a time so concurrent publishes never interleave half lines. */
  private appendChain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dataDir: string,
    private readonly topics: Set<string>,
    private readonly now: () => number,
    private readonly onSubscriberError: (error: unknown, message: OutboxMessage) => void,
  ) {
    this.outboxFile = join(dataDir, 'outbox.jsonl');
  }

  static async open(options: LocalSnsOptions): Promise<LocalSns> {
    await mkdir(options.dataDir, { recursive: true });
    const stored = (await readJsonIfExists<string[]>(join(options.dataDir, 'sns-topics.json'))) ?? [];
    const report =
      options.onSubscriberError ??
      ((error, message) => console.error(`[local sns] subscriber failed for message ${message.messageId}:`, error));
    return new LocalSns(options.dataDir, new Set(stored), options.now ?? Date.now, report);
  }

  /** Adds an in-process subscriber; returns its unsubscribe function. A failing subscriber never fails a publish. */
  subscribe(subscriber: OutboxSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  async createTopic(name: string): Promise<string> {
    if (!/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(name))
      throw new AwsApiError('InvalidParameter', 'Invalid parameter: Topic Name');
    const arn = topicArn(name);
    if (!this.topics.has(arn)) {
      this.topics.add(arn);
      await writeJsonAtomic(join(this.dataDir, 'sns-topics.json'), [...this.topics]);
    }
    return arn;
  }

  listTopics(): string[] {
    return [...this.topics].sort();
  }

  /** Publishes one message (the in-process path the query API also uses). */
  async publish(input: {
    topicArn: string;
    message: string;
    subject?: string;
    attributes?: Record<string, string>;
  }): Promise<OutboxMessage> {
    if (!this.topics.has(input.topicArn))
      throw new AwsApiError('NotFound', 'Topic does not exist', { statusCode: 404 });
    if (input.message === '') throw new AwsApiError('InvalidParameter', 'Invalid parameter: Empty message');
    if (Buffer.byteLength(input.message) > MAX_MESSAGE_BYTES) {
      throw new AwsApiError('InvalidParameter', 'Invalid parameter: Message too long');
    }
    const message: OutboxMessage = {
      time: new Date(this.now()).toISOString(),
      messageId: randomUUID(),
      topicArn: input.topicArn,
      topic: input.topicArn.split(':').pop() ?? input.topicArn,
      ...(input.subject === undefined ? {} : { subject: input.subject }),
      message: input.message,
      attributes: input.attributes ?? {},
    };
    const line = JSON.stringify(message) + '\n';
    const appended = this.appendChain.then(() => appendFile(this.outboxFile, line, { mode: 0o600 }));
    // The caller gets this append's error below; the chain only orders appends, so the next one still runs.
    this.appendChain = appended.catch(() => undefined);
    await appended;
    for (const subscriber of this.subscribers) {
      try {
        await subscriber(message);
      } catch (error) {
        this.onSubscriberError(error, message);
      }
    }
    return message;
  }

  definition(): AwsServiceDefinition {
    return {
      serviceName: 'SNS',
      protocol: 'awsQuery',
      xmlNamespace: 'http://sns.amazonaws.com/doc/2010-03-31/',
      operations: {
        Publish: async (input: QueryObject) => {
          const target = queryString(input.TopicArn) ?? queryString(input.TargetArn);
          if (!target)
            throw new AwsApiError(
              'InvalidParameter',
              'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
            );
          const published = await this.publish({
            topicArn: target,
            message: queryString(input.Message) ?? '',
            subject: queryString(input.Subject),
            attributes: parseAttributes(input.MessageAttributes),
          });
          return { MessageId: published.messageId };
        },
        PublishBatch: async (input: QueryObject) => {
          const target = queryString(input.TopicArn);
          if (!target) throw new AwsApiError('InvalidParameter', 'Invalid parameter: TopicArn');
          const entries = queryList(input.PublishBatchRequestEntries);
          if (entries.length === 0)
            throw new AwsApiError('EmptyBatchRequest', "The batch request doesn't contain any entries");
          if (entries.length > 10)
            throw new AwsApiError(
              'TooManyEntriesInBatchRequest',
              'The batch request contains more entries than permissible',
            );
          const Successful: Array<{ Id: string; MessageId: string }> = [];
          const Failed: Array<{ Id: string; Code: string; Message: string; SenderFault: boolean }> = [];
          for (const entry of entries) {
            if (typeof entry === 'string') continue;
            const id = queryString(entry.Id) ?? '';
            try {
              const published = await this.publish({
                topicArn: target,
                message: queryString(entry.Message) ?? '',
                subject: queryString(entry.Subject),
                attributes: parseAttributes(entry.MessageAttributes),
              });
              Successful.push({ Id: id, MessageId: published.messageId });
            } catch (error) {
              if (!(error instanceof AwsApiError) || error.code === 'NotFound') throw error;
              Failed.push({ Id: id, Code: error.code, Message: error.message, SenderFault: true });
            }
          }
          return { Successful, Failed };
        },
        CreateTopic: async (input: QueryObject) => ({
          TopicArn: await this.createTopic(queryString(input.Name) ?? ''),
        }),
        ListTopics: () => ({ Topics: this.listTopics().map((TopicArn) => ({ TopicArn })) }),
        // Local mode has no SNS subscriptions: every message goes to the outbox file and the in-process subscribers
        // (the terminal), which are not SNS resources. The lists are truthfully empty, as for a topic nobody joined.
        ListSubscriptions: () => ({ Subscriptions: [] }),
        ListSubscriptionsByTopic: (input: QueryObject) => {
          const topic = queryString(input.TopicArn);
          if (!topic || !this.topics.has(topic))
            throw new AwsApiError('NotFound', 'Topic does not exist', { statusCode: 404 });
          return { Subscriptions: [] };
        },
      },
    };
  }
}

/** `MessageAttributes.entry.N.{Name,Value.DataType,Value.StringValue|BinaryValue}` -> name -> value. */
function parseAttributes(value: QueryValue | undefined): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const entry of queryList(value)) {
    if (typeof entry === 'string') continue;
    const name = queryString(entry.Name);
    const v = entry.Value;
    if (!name || typeof v !== 'object') continue;
    attributes[name] = queryString(v.StringValue) ?? queryString(v.BinaryValue) ?? '';
  }
  return attributes;
}
