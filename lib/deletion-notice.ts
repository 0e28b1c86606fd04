/**
 * Tells a pipeline's subscribers when the pipeline is deleted: CloudFormation deletes this resource before the
 * topic it depends on, and its delete call publishes the same `pipeline-deleted` notification the runtime would.
 *
 * A create that rolls back deletes what it created, so a notice created early would announce a deletion of a
 * pipeline that never existed. The notice therefore depends on everything else in its stack (`dependOnAllOf`):
 * it is the last resource created and the first deleted, and exists only once everything else does.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct, IConstruct } from 'constructs';
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
  const notice = pipelineSwitched({
    pipeline: pipelineName,
    change: 'pipeline-deleted',
    by: 'CloudFormation (stack deletion)',
  });
  const publish: cr.AwsSdkCall = {
    service: 'SNS',
    action: 'publish',
    parameters: {
      TopicArn: topic.topicArn,
      Subject: notice.subject.slice(0, 99),
      Message: notice.text,
      MessageAttributes: Object.fromEntries(
        Object.entries({ ...notice.attributes, event: notice.event }).map(([name, value]) => [
          name,
          { DataType: 'String', StringValue: value },
        ]),
      ),
    },
    physicalResourceId: cr.PhysicalResourceId.of(`lockstep-${pipelineName}-deletion-notice`),
    // CloudFormation accepts at most 4,096 bytes of response data; the message id is all anyone needs.
    outputPaths: ['MessageId'],
    // The message text and the topic's answer stay out of the custom resource's logs (logApiResponseData: false).
    logging: cr.Logging.withDataHidden(),
  };
  const logGroup = buildLogGroup(scope, 'DeletionNoticeLogs', options.logDefaults);
  // Our own role rather than the CDK default, which carries the account-wide AWSLambdaBasicExecutionRole policy.
  const role = new iam.Role(scope, 'DeletionNoticeRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Lockstep ${pipelineName}: publishes the pipeline-deleted notice`,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  grantTopicPublish(topic, options.encryptionKey, role);
  role.addToPolicy(new iam.PolicyStatement({ actions: ['sns:GetTopicAttributes'], resources: [topic.topicArn] }));
  return new cr.AwsCustomResource(scope, 'DeletionNotice', {
    // Create reads the topic (a harmless call) so the resource exists; only Delete publishes. Only the topic's ARN
    // is kept from the answer: the whole of it (policy, subscription counts) could pass CloudFormation's 4 KB.
    onCreate: {
      ...publish,
      action: 'getTopicAttributes',
      parameters: { TopicArn: topic.topicArn },
      outputPaths: ['Attributes.TopicArn'],
    },
    onDelete: publish,
    role,
    installLatestAwsSdk: false,
    logGroup,
  });
}

/**
 * Makes the notice depend on every resource under `constructs` (its own role and log group aside), so it is
 * created last and deleted first.
 */
export function dependOnAllOf(notice: cr.AwsCustomResource, ...constructs: IConstruct[]): void {
  const own = new Set<IConstruct>([
    notice,
    ...notice.node.scope!.node.children.filter((c) => c.node.id.startsWith('DeletionNotice')),
  ]);
  for (const construct of constructs) {
    const children = construct === notice.node.scope ? construct.node.children.filter((c) => !own.has(c)) : [construct];
    for (const child of children) notice.node.addDependency(child);
  }
}
