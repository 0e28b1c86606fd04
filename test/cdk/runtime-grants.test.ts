/**
 * Grants the runtime needs, exactly: CodeCommit GetBranch and GetCommit (branch heads when a build starts, a push's
 * commits, missed pushes) on the pipeline's repositories only, the GitHub token secret of a package that names one,
 * and the Step Functions calls that end executions into a removed environment. A real account would answer
 * AccessDenied otherwise, and nothing here can call AWS, so the template pins them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { validatePipelineObject } from '../../lambdas/core/config/load';
import { LockstepStack } from '../../lib/lockstep-stack';
import { fixtureInput } from './fixtures';

const TOKEN_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:lockstep/github-read';
/** The fixture with a read-only GitHub token for its GitHub package (`api`). */
const pipeline = validatePipelineObject(
  {
    ...fixtureInput,
    packages: fixtureInput.packages.map((p) =>
      'github' in p.source ? { ...p, source: { github: { ...p.source.github, tokenSecret: TOKEN_SECRET } } } : p,
    ),
  },
  { source: 'test' },
);

let resources: Record<string, { Type: string; Properties?: any }>;

beforeAll(() => {
  const app = new App();
  const stack = new LockstepStack(app, 'Lockstep-shop', { deploymentSystem: { pipeline } });
  resources = Template.fromStack(stack).toJSON().Resources;
});

/** Statements of the inline policies of the role whose logical id starts with `DeploymentSystem<prefix>`. */
function statementsOf(prefix: string): { actions: string[]; resources: string[] }[] {
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
      resources: ([] as unknown[]).concat(s.Resource).map((r) => (typeof r === 'string' ? r : JSON.stringify(r))),
    }));
}

const AGENTS = ['GithubWebhookRole', 'CodecommitPushRole', 'ReconcileRole'];

describe('source repository grants', () => {
  it("lets every agent that starts builds read branch heads and commits of the pipeline's CodeCommit repository only", () => {
    for (const agent of AGENTS) {
      const codecommit = statementsOf(agent).filter((s) => s.actions.some((a) => a.startsWith('codecommit:')));
      expect(codecommit.map((s) => [...s.actions].sort())).toEqual([['codecommit:GetBranch', 'codecommit:GetCommit']]);
      expect(codecommit[0]!.resources).toHaveLength(1);
      expect(codecommit[0]!.resources[0]).toContain(':shop-web');
    }
  });

  it("lets every agent that starts builds read exactly the GitHub package's token secret, and no other secret with it", () => {
    for (const agent of AGENTS) {
      const reads = statementsOf(agent).filter((s) => s.resources.some((r) => r.startsWith(TOKEN_SECRET)));
      expect(reads).toEqual([
        { actions: ['secretsmanager:GetSecretValue'], resources: [TOKEN_SECRET, `${TOKEN_SECRET}-??????`] },
      ]);
    }
    const others = statementsOf('ApprovalApiRole').filter((s) => s.resources.some((r) => r.startsWith(TOKEN_SECRET)));
    expect(others).toEqual([]);
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
