/** SNS as the notifier: one topic, message attributes by event so subscriptions filter per notification rule. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification, Notifier } from '../ports/services';

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
function subjectLine(subject: string): string {
  return subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(notification: Notification): Promise<void> {
    const attributes: Record<string, string> = { ...notification.attributes, event: notification.event };
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subjectLine(notification.subject),
        Message: notification.text,
        MessageAttributes: Object.fromEntries(
          Object.entries(attributes)
            .filter(([, value]) => value !== '')
            .map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
        ),
      }),
    );
  }
}
