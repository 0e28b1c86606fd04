/**
 * SNS as the SDK notifier (`LOCKSTEP_SDK_NOTIFICATION_TOPIC_ARN`): one message per owner with attributes `event`,
 * `recipient` (lower-case email), `sdk` and `version`. Subscribe each owner's email with the filter policy
 * `{"recipient": ["<email>"]}` so a conflict explanation reaches exactly the owners involved.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { SdkNotification, SdkNotifier } from '../ports/sdk';

export class SnsSdkNotifier implements SdkNotifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(notification: SdkNotification): Promise<void> {
    const recipients = [
      ...new Set(notification.recipients.map((r) => r.trim().toLowerCase()).filter((r) => r !== '')),
    ].sort();
    for (const recipient of recipients) {
      const attributes: Record<string, string> = {
        event: notification.event,
        recipient,
        sdk: notification.sdk,
        version: notification.version,
      };
      await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          // SNS subjects: ASCII, no line breaks, at most 100 characters.
          Subject: notification.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
          Message: notification.text,
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
          ),
        }),
      );
    }
  }
}
