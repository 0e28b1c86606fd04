/**
 * Lockstep watches itself, the same way in both constructs: alarms on each function's errors and throttles and on
 * each state machine's failed and timed-out executions, sent to the construct's notification topic; an encrypted
 * SQS queue that keeps the events of asynchronous invocations that failed every retry; and a dashboard.
 *
 * CloudWatch publishes alarm messages without message attributes, so the subscriptions that filter on `event`
 * never see them; `subscribeNotificationEmails` subscribes `alarmEmails` to exactly those messages.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { pascal } from './lockstep-function';
import { acknowledge } from './nag';

export interface MonitoringOptions {
  /** Names the dashboard and the alarms' descriptions (`Lockstep shop`). */
  readonly title: string;
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Functions invoked asynchronously (EventBridge): their failed events go to the on-failure queue. */
  readonly asyncFunctions: readonly string[];
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  readonly topic: sns.ITopic;
  readonly encryptionKey: kms.IKey;
}

export interface Monitoring {
  readonly alarms: cloudwatch.Alarm[];
  readonly failedInvocations: sqs.Queue;
  readonly dashboard: cloudwatch.Dashboard;
}

/** Alarms, the on-failure queue `FailedInvocations` and the dashboard `Dashboard` in `scope`. */
export function buildMonitoring(scope: Construct, options: MonitoringOptions): Monitoring {
  const action = new actions.SnsAction(options.topic);
  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (id: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm => {
    const created = new cloudwatch.Alarm(scope, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means nothing ran, which is not a failure.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${options.title}: ${description}`,
    });
    created.addAlarmAction(action);
    alarms.push(created);
    return created;
  };
  const period = { period: Duration.minutes(5) };
  for (const [name, fn] of Object.entries(options.functions)) {
    alarm(`${pascal(name)}ErrorsAlarm`, fn.metricErrors(period), `the ${name} function failed`);
    alarm(`${pascal(name)}ThrottlesAlarm`, fn.metricThrottles(period), `the ${name} function was throttled`);
  }
  for (const [name, machine] of Object.entries(options.stateMachines)) {
    alarm(`${name}FailedAlarm`, machine.metricFailed(period), `an execution of the ${name} state machine failed`);
    alarm(
      `${name}TimedOutAlarm`,
      machine.metricTimedOut(period),
      `an execution of the ${name} state machine timed out`,
    );
  }

  const failedInvocations = new sqs.Queue(scope, 'FailedInvocations', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: options.encryptionKey,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(failedInvocations, {
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the on-failure destination of asynchronous invocations; a queue behind it would only hold the same events again',
  });
  for (const name of options.asyncFunctions) {
    const fn = options.functions[name]!;
    fn.configureAsyncInvoke({ onFailure: new QueueDestination(failedInvocations, options.encryptionKey) });
  }
  alarm(
    'FailedInvocationsAlarm',
    failedInvocations.metricApproximateNumberOfMessagesVisible(period),
    'an asynchronous invocation failed every retry; its event waits in the on-failure queue',
  );

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    widgets: [
      [
        new cloudwatch.GraphWidget({
          title: 'Function errors',
          left: Object.values(options.functions).map((fn) => fn.metricErrors(period)),
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Function throttles',
          left: Object.values(options.functions).map((fn) => fn.metricThrottles(period)),
          width: 12,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Executions',
          left: Object.values(options.stateMachines).flatMap((m) => [
            m.metricStarted(period),
            m.metricSucceeded(period),
            m.metricFailed(period),
            m.metricTimedOut(period),
          ]),
          width: 12,
        }),
        new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 12 }),
      ],
    ],
  });
  return { alarms, failedInvocations, dashboard };
}

/**
 * Subscribes the notification rules' addresses (to the events each names) and `alarmEmails` (to the messages
 * without an `event` attribute: CloudWatch alarms) to the notification topic. An address in both gets one
 * subscription whose filter accepts either: SNS refuses a second subscription of the same address to one topic with
 * other attributes, and the CDK refuses a second construct of the same id.
 */
export function subscribeNotificationEmails(
  topic: sns.Topic,
  rules: Iterable<readonly [string, readonly string[]]>,
  alarmEmails: readonly string[],
): void {
  const events = new Map<string, readonly string[]>(rules);
  const alarms = new Set(alarmEmails);
  for (const email of new Set([...events.keys(), ...alarmEmails])) {
    const conditions: unknown[] = [...(events.get(email) ?? [])];
    if (alarms.has(email)) conditions.push(...(sns.SubscriptionFilter.notExistsFilter().conditions as unknown[]));
    topic.addSubscription(
      new subscriptions.EmailSubscription(email, { filterPolicy: { event: new sns.SubscriptionFilter(conditions) } }),
    );
  }
}

/**
 * An SQS on-failure destination that grants exactly what sending needs: `sqs:SendMessage` on the queue and the
 * two key actions of an encrypted send (the CDK's own destination grants `kms:GenerateDataKey*` and more).
 */
class QueueDestination implements lambda.IDestination {
  constructor(
    private readonly queue: sqs.IQueue,
    private readonly key: kms.IKey,
  ) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    this.key.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
    return { destination: this.queue.queueArn };
  }
}
