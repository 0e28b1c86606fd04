/**
 * SNS topics, made one way by both constructs: encrypted with the construct's key, TLS only, with email
 * subscriptions that each carry a filter policy on one message attribute.
 */
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

export function buildTopic(scope: Construct, id: string, displayName: string, masterKey: kms.IKey): sns.Topic {
  return new sns.Topic(scope, id, { displayName, masterKey, enforceSSL: true });
}

/**
 * Subscribes each address, in the order given, to the messages whose attribute `attribute` is one of its values.
 *
 * @example
 * subscribeEmails(topic, 'recipient', [['owner@example.com', ['owner@example.com']]]);
 */
export function subscribeEmails(
  topic: sns.Topic,
  attribute: string,
  allowlists: Iterable<readonly [string, readonly string[]]>,
): void {
  for (const [email, allowlist] of allowlists) {
    topic.addSubscription(
      new subscriptions.EmailSubscription(email, {
        filterPolicy: { [attribute]: sns.SubscriptionFilter.stringFilter({ allowlist: [...allowlist] }) },
      }),
    );
  }
}
