import { describe, expect, it } from '@jest/globals';
import { codeBuildProjects, stepProjectName, type CodeBuildProjectDefinition } from '../../lambdas/core/buildspecs';
import { checkPipelineObject, validatePipelineObject } from '../../lambdas/core/config/load';
import { lockLeaseMs, permissionsApprovers, type PipelineInput } from '../../lambdas/core/config/schema';
import { configWarnings } from '../../lambdas/core/config/warnings';
import { basePipeline, byRule, problemsAfter } from './fixtures';

// deploy.cdk: the schema, the rules `lockstep validate` applies, its warning about the target account, and the
// steps the buildspecs get for it (issue 12, item 4).
const withCdk = (cdk: Record<string, unknown>, extra: (p: PipelineInput) => void = () => undefined) => {
  const pipeline = structuredClone(basePipeline());
  pipeline.stages[1]!.environments[0]!.deploy = { cdk: cdk as never };
  extra(pipeline);
  return pipeline;
};

describe('deploy.cdk in the pipeline definition', () => {
  it('replaces the deploy commands, and its approvers default to the manual approvers', () => {
    const pipeline = withCdk({ stacks: ['Shop'] }, (p) => {
      p.stages[1]!.environments[0]!.approval = { manual: { approvers: ['lead@example.com'] } };
    });
    expect(checkPipelineObject(pipeline).problems).toEqual([]);
    const prod = validatePipelineObject(pipeline, { source: 'test' }).stages[1]!.environments[0]!;
    expect(prod.deploy.cdk).toEqual({ app: '.', stacks: ['Shop'], cli: 'npx --no-install cdk', timeout: '24h' });
    expect(permissionsApprovers(prod)).toEqual(['lead@example.com']);
  });

  it('refuses an environment with neither commands nor cdk, or with both, saying what to do', () => {
    const neither = byRule(
      problemsAfter((p) => {
        p.stages[0]!.environments[0]!.deploy = {};
      }),
      'deploy-definition',
    );
    expect(neither).toEqual([
      expect.objectContaining({
        path: 'stages[0].environments[0].deploy',
        message: expect.stringContaining('neither how to deploy (commands) nor what to deploy (cdk)'),
        fix: expect.stringContaining('cdk: { stacks: [<stack>, ...] }'),
      }),
    ]);
    const both = byRule(
      problemsAfter((p) => {
        p.stages[0]!.environments[0]!.deploy = { commands: ['./deploy.sh'], cdk: { stacks: ['Shop'] } };
        p.stages[0]!.environments[0]!.approval = { manual: { approvers: ['lead@example.com'] } };
      }),
      'deploy-definition',
    );
    expect(both).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('sets both commands and cdk'),
        fix: expect.any(String),
      }),
    ]);
  });

  it('does not add "neither commands nor cdk" to a schema problem with the commands written', () => {
    const problems = problemsAfter((p) => {
      p.stages[0]!.environments[0]!.deploy = { commands: [] };
    });
    expect(problems.map((p) => `${p.rule} ${p.path}`)).toEqual(['schema stages[0].environments[0].deploy.commands']);
  });

  it('refuses a cdk environment that nobody could confirm a broadening of', () => {
    const problems = byRule(checkPipelineObject(withCdk({ stacks: ['Shop'] })).problems, 'deploy-definition');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'stages[1].environments[0].deploy.cdk',
        message: expect.stringContaining('nobody can confirm a deploy of "prod" that broadens IAM permissions'),
        fix: expect.stringContaining('cdk.approvers'),
      }),
    ]);
  });

  it('refuses an app folder outside the artifact and a stack that is no CDK selector', () => {
    const problems = checkPipelineObject(
      withCdk({ app: '../elsewhere', stacks: ['Shop; rm -rf /'], approvers: ['security@example.com'] }),
    ).problems.map((p) => p.path);
    expect(problems).toEqual(
      expect.arrayContaining([
        'stages[1].environments[0].deploy.cdk.app',
        'stages[1].environments[0].deploy.cdk.stacks[0]',
      ]),
    );
  });

  it('holds the lock through the confirmation: the default lease counts its timeout, and a short lease is refused', () => {
    const pipeline = validatePipelineObject(
      withCdk({ stacks: ['Shop'], approvers: ['security@example.com'], timeout: '6h' }),
      { source: 'test' },
    );
    expect(lockLeaseMs(pipeline.stages[1]!.environments[0]!)).toBe(8 * 3_600_000);
    const short = byRule(
      checkPipelineObject(
        withCdk({ stacks: ['Shop'], approvers: ['security@example.com'], timeout: '6h' }, (p) => {
          p.stages[1]!.environments[0]!.lockLease = '3h';
        }),
      ).problems,
      'lock-lease',
    );
    expect(short[0]?.message).toContain("the permissions-broadening confirmation's timeout (6h)");
  });

  it('warns what the target role must reach for cdk diff and cdk deploy', () => {
    const pipeline = validatePipelineObject(
      withCdk({ stacks: ['Shop'], approvers: ['security@example.com'] }, (p) => {
        Object.assign(p.stages[1]!.environments[0]!, {
          account: '111122223333',
          region: 'eu-west-1',
          roleArn: 'arn:aws:iam::111122223333:role/deployer',
        });
      }),
      { source: 'test' },
    );
    const warning = configWarnings(pipeline).find((w) => w.path === 'stages[1].environments[0].deploy.cdk');
    expect(warning?.message).toContain('run as arn:aws:iam::111122223333:role/deployer');
    expect(warning?.fix).toContain(
      'arn:aws:iam::111122223333:role/cdk-hnb659fds-{lookup,deploy,file-publishing,image-publishing}-role-111122223333-eu-west-1',
    );
    expect(warning?.fix).toContain('cloudformation:GetTemplate and cloudformation:DescribeStacks');
  });
});

describe('the steps of a deploy.cdk environment', () => {
  const pipeline = validatePipelineObject(
    withCdk({ app: 'infra', stacks: ['Shop', 'Shop/*'], approvers: ['security@example.com'] }),
    { source: 'test' },
  );
  const projects = codeBuildProjects(pipeline);
  const projectOf = (environment: string): CodeBuildProjectDefinition =>
    projects.find((p) => p.name === stepProjectName(pipeline, environment, 'deploy'))!;
  const commandOf = (step: string) =>
    projectOf('prod').buildspec.phases.build!.commands.find((c) =>
      c.startsWith(`if [ "$LOCKSTEP_ENVIRONMENT/$LOCKSTEP_STEP" = 'prod/${step}' ]`),
    )!;

  it("runs the security diff in the deploy's own project, in a project apart from other deploys", () => {
    expect(projectOf('prod').steps!.map((s) => s.selector)).toEqual(['security-diff', 'deploy']);
    expect(projectOf('prod').grants).toMatchObject({ cdk: true });
    expect(projectOf('beta').name).not.toBe(projectOf('prod').name);
    expect(projectOf('beta').steps!.map((s) => s.selector)).toEqual(['deploy']);
  });

  it("decides on the CLI's exit code of --security-only --fail-on=broadening, confirmed by --fail-on=never", () => {
    const diff = commandOf('security-diff');
    expect(diff).toContain(`cd "$CODEBUILD_SRC_DIR"/'infra'`);
    expect(diff).toContain(`ls --app "$out" --no-notices 'Shop' 'Shop/*'`);
    expect(diff).toMatch(
      /diff --app "\$out" .*--security-only --fail-on=broadening "\$stack" > "\$out\/diff.txt" 2>&1 \|\| rc=\$\?/,
    );
    expect(diff).toMatch(/if \[ "\$rc" -eq 1 \]; then\n.*--security-only --fail-on=never "\$stack"/);
    expect(diff).toContain('set -- --method=template'); // on AWS: the deployed stack, through the lookup role
    expect(diff).toContain('set -- --template "$recorded"'); // in local mode: the template the last deploy recorded
    expect(diff).toContain(
      'aws s3 cp --only-show-errors --content-type application/json "$out/security-diff.json" "$LOCKSTEP_SECURITY_DIFF_URI"',
    );
  });

  it('deploys with cdk deploy --require-approval never after a diff, or records the template in local mode', () => {
    const deploy = commandOf('deploy');
    expect(deploy).toMatch(
      /diff --app "\$out" .*--fail-on=never "\$stack"[\s\S]*deploy --app "\$out" --require-approval never --no-notices --exclusively 'Shop' 'Shop\/\*'/,
    );
    expect(deploy).toContain(
      'Local mode has no CloudFormation: recorded the synthesized template of $stack as deployed',
    );
  });
});
