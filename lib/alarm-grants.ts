/**
 * What the alarm-watched bake may read (docs/ARCHITECTURE.md, "Alarm-watched bake"): only the promotion-steps
 * function runs the bake, and only a pipeline with alarm bakes gets anything.
 *
 * - An environment without `roleArn` has its alarms read with the function's own credentials, in its region (else
 *   the stack's) and its account (else the stack's): `cloudwatch:DescribeAlarms` and
 *   `cloudwatch:DescribeAlarmHistory` on exactly those alarms' ARNs. Both actions take the `alarm` resource type
 *   (`arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`), so no wildcard is needed.
 * - An environment with `roleArn` has its alarms read through that role (its own account's policy then allows the
 *   two actions): `sts:AssumeRole` on exactly those roles, nothing on CloudWatch.
 */
import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { alarmBake, parseAlarmReference, type Pipeline } from '../lambdas/core/config/schema';
import { alarmHomeProblems } from '../lambdas/core/config/validate';

/** The two reads of a bake check (`CloudWatchAlarmReader`). */
export const ALARM_READ_ACTIONS = ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'] as const;

/** Grants `fn` (the promotion-steps function) the reads of every alarm bake in `pipeline`; nothing without one. */
export function grantAlarmReads(scope: Construct, pipeline: Pipeline, fn: IFunction): void {
  const stack = Stack.of(scope);
  const alarmArns = new Set<string>();
  const roles = new Set<string>();
  for (const environment of pipeline.stages.flatMap((stage) => stage.environments)) {
    const bake = alarmBake(environment.approval);
    if (!bake) continue;
    if (environment.roleArn) {
      roles.add(environment.roleArn);
      continue;
    }
    for (const reference of bake.alarms) {
      alarmArns.add(
        stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: parseAlarmReference(reference).name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          region: environment.region ?? stack.region,
          account: environment.account ?? stack.account,
        }),
      );
    }
  }
  if (alarmArns.size > 0) {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...ALARM_READ_ACTIONS], resources: [...alarmArns] }));
  }
  if (roles.size > 0) {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [...roles].sort() }));
  }
}

/**
 * Alarm ARNs that name another account or region than the one their environment's alarms are read in, checked
 * against the stack's account and region when they are known at synth (`alarmHomeProblems`), as prop problems.
 */
export function alarmPropProblems(scope: Construct, pipeline: Pipeline): string[] {
  const stack = Stack.of(scope);
  const home = {
    ...(Token.isUnresolved(stack.account) ? {} : { account: stack.account }),
    ...(Token.isUnresolved(stack.region) ? {} : { region: stack.region }),
  };
  return alarmHomeProblems(pipeline, home).map((p) => `pipeline.${p.path}: ${p.message}; ${p.fix}`);
}
