/**
 * Tells a pipeline's subscribers when the pipeline is deleted: CloudFormation deletes this resource before the
 * topic it depends on, and its delete call publishes the same `pipeline-deleted` notification the runtime would.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { pipelineSwitched } from '../lambdas/promotion/notifications';
import { grantTopicPublish } from './grants';
import { buildLogGroup, type LogGroupDefaults } from './log-groups';

export interface DeletionNoticeOptions {
  readonly pipelineName: string;
  readonly notificationTopic: sns.ITopic;
  readonly encryptionKey: kms.IKey;
  readonly logDefaults: LogGroupDefaults;
}

/** The custom resource `DeletionNotice` in `scope`, with its role `DeletionNoticeRole` and log group `DeletionNoticeLogs`. */
export function buildDeletionNotice(scope: Construct, options: DeletionNoticeOptions): cr.AwsCustomResource {
  const { pipelineName, notificationTopic: topic } = options;
  const notice = pipelineSwitched({ pipeline: pipelineName, change: 'pipeline-deleted', by: 'CloudFormation (stack deletion)' });
  const publish: cr.AwsSdkCall = {
    service: 'SNS',
    action: 'publish',
    parameters: {
      TopicArn: topic.topicArn,
      Subject: notice.subject.slice(0, 99),
      Message: notice.text,
      MessageAttributes: Object.fromEntries(
        Object.entries({ ...notice.attributes, event: notice.event }).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
      ),
    },
    physicalResourceId: cr.PhysicalResourceId.of(`lockstep-${pipelineName}-deletion-notice`),
  };
  const logGroup = buildLogGroup(scope, 'DeletionNoticeLogs', options.logDefaults);
  // Our own role rather than the CDK default, which carries the account-wide AWSLambdaBasicExecutionRole policy.
  const role = new iam.Role(scope, 'DeletionNoticeRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Lockstep ${pipelineName}: publishes the pipeline-deleted notice`,
  });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  grantTopicPublish(topic, options.encryptionKey, role);
  role.addToPolicy(new iam.PolicyStatement({ actions: ['sns:ListSubscriptionsByTopic'], resources: [topic.topicArn] }));
  return new cr.AwsCustomResource(scope, 'DeletionNotice', {
    // Create reads the topic (a harmless call) so the resource exists; only Delete publishes.
    onCreate: { ...publish, action: 'listSubscriptionsByTopic', parameters: { TopicArn: topic.topicArn } },
    onDelete: publish,
    role,
    installLatestAwsSdk: false,
    logGroup,
  });
}
