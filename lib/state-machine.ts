/**
 * The one way Lockstep builds a state machine from an ASL file: STANDARD, logged without execution data (task
 * tokens and payloads stay out of the logs), traced, allowed to invoke exactly the functions its Tasks name and to
 * run exactly the CodeBuild projects its `startBuild.sync` Tasks start.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { acknowledge, resourceFinding } from './nag';

/** The managed rule Step Functions creates to learn when a `startBuild.sync` build ends. */
const CODEBUILD_SYNC_RULE = 'StepFunctionsGetEventsForCodeBuildStartBuildRule';

export interface LockstepStateMachineProps {
  readonly stateMachineName: string;
  /** Path of the ASL file under `statemachines/`. */
  readonly aslFile: string;
  readonly definitionSubstitutions: Record<string, string>;
  readonly logGroup: logs.ILogGroup;
  /**
   * Functions the Tasks invoke, by ASL placeholder. Each placeholder becomes the ARN of the function's current
   * published version, so a state machine version pins the code and bundled configuration its executions start
   * with: a redeploy publishes new versions and a new definition, while executions in flight finish on theirs.
   */
  readonly invokes: Readonly<Record<string, lambda.Function>>;
  /** CodeBuild projects the `startBuild.sync` Tasks start. @default none */
  readonly codeBuildProjects?: readonly codebuild.IProject[];
}

/**
 * The ARN of the state machine `name` in `scope`'s stack, built from the name rather than referenced: the
 * functions a state machine invokes often need its ARN too, and a reference would make a dependency cycle.
 */
export function stateMachineArnFromName(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

export function lockstepStateMachine(scope: Construct, id: string, props: LockstepStateMachineProps): sfn.StateMachine {
  const stateMachine = new sfn.StateMachine(scope, id, {
    stateMachineName: props.stateMachineName,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromFile(props.aslFile),
    definitionSubstitutions: {
      ...props.definitionSubstitutions,
      ...Object.fromEntries(
        Object.entries(props.invokes).map(([placeholder, fn]) => [placeholder, fn.currentVersion.functionArn]),
      ),
    },
    logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    tracingEnabled: true,
  });
  // Every version, not only the current one: executions started before a redeploy still invoke theirs.
  const versions = Object.values(props.invokes).map((fn) => `${fn.functionArn}:*`);
  stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: versions }));
  for (const resource of versions) {
    acknowledge(stateMachine, {
      id: `AwsSolutions-IAM5[${resourceFinding(scope, resource)}]`,
      reason:
        'Executions invoke the function version their definition pinned when they started; ":*" keeps those in flight across a redeploy working',
    });
  }
  const projects = props.codeBuildProjects ?? [];
  if (projects.length > 0) {
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds'],
        resources: projects.map((project) => project.projectArn),
      }),
    );
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          Stack.of(scope).formatArn({ service: 'events', resource: 'rule', resourceName: CODEBUILD_SYNC_RULE }),
        ],
      }),
    );
  }
  acknowledge(stateMachine, {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing support no resource-level permissions',
  });
  return stateMachine;
}
