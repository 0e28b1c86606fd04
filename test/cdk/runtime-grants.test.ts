/**
 * Grants the runtime needs, exactly: CodeCommit GetCommit (a push's commits) and GetBranch (missed pushes) on the
 * pipeline's repositories only, and the Step Functions calls that end executions into a removed environment. A
 * real account would answer AccessDenied otherwise, and nothing here can call AWS, so the template pins them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixturePipeline } from './fixtures';

let resources: Record<string, { Type: string; Properties?: any }>;

beforeAll(() => {
  const app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', { deploymentSystem: { pipeline: fixturePipeline } });
  resources = Template.fromStack(stack).toJSON().Resources;
});

/** CodeCommit actions in the inline policies of the role whose logical id starts with `DeploymentSystem<prefix>`. */
function codecommitStatements(prefix: string): { actions: string[]; resources: string[] }[] {
  const roles = Object.entries(resources)
    .filter(
      ([id, r]) =>
        r.Type === 'AWS::IAM::Role' && id.startsWith(`DeploymentSystem${prefix}`) && !id.includes('DefaultPolicy'),
    )
    .map(([id]) => id);
  expect(roles).toHaveLength(1);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as any[]).some((role) => role.Ref === roles[0]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
    .map((s) => ({
      actions: ([] as string[]).concat(s.Action),
      resources: ([] as unknown[]).concat(s.Resource).map((r) => JSON.stringify(r)),
    }))
    .filter((s) => s.actions.some((a) => a.startsWith('codecommit:')));
}

describe('CodeCommit grants', () => {
  it("lets the CodeCommit push function read commits, and reconcile read branch heads and commits, of the pipeline's repository only", () => {
    const push = codecommitStatements('CodecommitPushRole');
    const reconcile = codecommitStatements('ReconcileRole');
    expect(push.map((s) => s.actions)).toEqual([['codecommit:GetCommit']]);
    expect(reconcile.map((s) => s.actions.sort())).toEqual([['codecommit:GetBranch', 'codecommit:GetCommit']]);
    for (const s of [...push, ...reconcile]) {
      expect(s.resources).toHaveLength(1);
      expect(s.resources[0]).toContain(':shop-web');
    }
  });
});

describe('grants for environments removed from the definition', () => {
  it("lets reconcile list the state machine's executions and read and stop only executions of that state machine", () => {
    const role = Object.entries(resources).find(
      ([id, r]) =>
        r.Type === 'AWS::IAM::Role' && id.startsWith('DeploymentSystemReconcileRole') && !id.includes('DefaultPolicy'),
    )![0];
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as any[]).some((x) => x.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
    const forAction = (action: string) =>
      statements
        .filter((s) => ([] as string[]).concat(s.Action).includes(action))
        .map((s) => JSON.stringify(s.Resource));
    expect(forAction('states:ListExecutions')).toEqual([
      expect.stringContaining(':stateMachine:lockstep-shop-promotion'),
    ]);
    for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
      expect(forAction(action)).toEqual([expect.stringContaining(':execution:lockstep-shop-promotion:*')]);
    }
  });
});
