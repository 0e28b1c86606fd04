/**
 * Issue 10: resources grow with deploy targets, not with steps. The 100-environment pipeline (25 regions x 4
 * stages, one account and deploy role per stage, a deploy step and three tests per environment) synthesizes as
 * `cdk deploy` builds it (deployment system and SDK publisher in one stack), within CloudFormation's limits and
 * clean under cdk-nag; a pipeline past a limit is refused before synthesis with what to split.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the synthesized template is untyped CloudFormation JSON */
import { readFileSync } from 'node:fs';
import { App, DefaultStackSynthesizer } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { codeBuildProjects } from '../../lambdas/core/buildspecs';
import { estimateStackSize, MAX_STACK_RESOURCES, MAX_TEMPLATE_BYTES } from '../../lambdas/core/config/limits';
import { DeploymentSystemPropsError } from '../../lib/deployment-system';
import { LockstepStack, type LockstepSdkPublisherProps } from '../../lib/lockstep-stack';
import { largePipeline, largePipelineInput, stageAccount } from '../support/large-pipeline';
import { validatePipelineObject } from '../../lambdas/core/config/check';

const SDK_PUBLISHER: LockstepSdkPublisherProps = {
  cloudFrontPublicKey: readFileSync('examples/sdk-cloudfront-public-key.pem', 'utf8'),
  signingKeySecret: 'lockstep/sdk/cloudfront-private-key',
  accessPolicy: 'examples/sdk-access-policy.json',
};

/** A fresh app that skips function bundling: the template's size does not depend on the bundles. */
function app(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

const pipeline = largePipeline({ environments: 100 });
let scaleApp: App;
let stack: LockstepStack;
let template: { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };
let templateBytes: number;

beforeAll(() => {
  scaleApp = app();
  stack = new LockstepStack(scaleApp, 'Lockstep-scale', {
    deploymentSystem: { pipeline },
    sdkPublisher: SDK_PUBLISHER,
  });
  template = scaleApp.synth().getStackByName(stack.stackName).template as typeof template;
  templateBytes = Buffer.byteLength(JSON.stringify(template), 'utf8');
});

function ofType(type: string): [string, { Type: string; Properties?: Record<string, any> }][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

describe('a 100-environment pipeline in one stack', () => {
  it('has 100 environments of a deploy and three tests, over four accounts each with its role', () => {
    const environments = pipeline.stages.flatMap((stage) => stage.environments);
    expect(environments).toHaveLength(100);
    expect(new Set(environments.map((e) => e.region)).size).toBe(25);
    expect(new Set(environments.map((e) => e.roleArn)).size).toBe(4);
    expect(environments.every((e) => e.approval.tests.length === 3)).toBe(true);
  });

  it('stays under 500 resources and 1 MB of template', () => {
    const resources = Object.keys(template.Resources).length;
    expect({ resources, under: resources < MAX_STACK_RESOURCES }).toEqual({ resources, under: true });
    expect({ templateBytes, under: templateBytes < MAX_TEMPLATE_BYTES }).toEqual({ templateBytes, under: true });
    // The 51,200-byte limit applies to a template passed inline; the CDK uploads it to the bootstrap bucket instead.
    expect(stack.synthesizer).toBeInstanceOf(DefaultStackSynthesizer);
  });

  it('makes one steps project per deploy role, not one project per step', () => {
    const projects = ofType('AWS::CodeBuild::Project').map(([, p]) => p.Properties!.Name as string);
    const steps = projects.filter((name) => name.startsWith('lockstep-scale-steps-'));
    expect(steps.map((name) => name.split('-')[3]).sort()).toEqual([0, 1, 2, 3].map(stageAccount));
    expect(projects).toContain('lockstep-scale-build-service');
  });

  it("lets each steps project assume only its own account's role and read only the promoted revisions", () => {
    for (const definition of codeBuildProjects(pipeline).filter((d) => d.kind === 'steps')) {
      const [id] = ofType('AWS::CodeBuild::Project').find(([, p]) => p.Properties!.Name === definition.name)!;
      const role = (template.Resources[id]!.Properties!.ServiceRole as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
      const statements = ofType('AWS::IAM::Policy')
        .filter(([, p]) => (p.Properties!.Roles as any[]).some((r) => r.Ref === role))
        .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as any[]);
      const assumed = statements.filter((s) => [s.Action].flat().includes('sts:AssumeRole')).map((s) => s.Resource);
      expect(assumed).toEqual([definition.roleArn]);
      const reads = JSON.stringify(statements.filter((s) => [s.Action].flat().includes('s3:GetObject')));
      expect(reads).toContain('/revisions/service/*');
      expect(reads).not.toContain('/builds/');
    }
  });

  it('is estimated by lockstep validate within 5% of the template bytes and never under the resources', () => {
    const estimate = estimateStackSize(pipeline);
    const resources = Object.keys(template.Resources).length;
    expect(estimate.resources).toBeGreaterThanOrEqual(resources);
    expect(estimate.resources - resources).toBeLessThanOrEqual(3);
    expect(Math.abs(estimate.templateBytes - templateBytes) / templateBytes).toBeLessThan(0.05);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    const result = new AwsSolutionsChecks(scaleApp).validateScope(scaleApp);
    const findings = result.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });
});

describe('a pipeline past a CloudFormation limit', () => {
  it('is refused at synth with the limit, the overshoot and the stages to split, before the CDK fails', () => {
    const huge = largePipeline({ environments: 1000 });
    const attempt = () =>
      new LockstepStack(app(), 'Lockstep-huge', { deploymentSystem: { pipeline: huge }, sdkPublisher: SDK_PUBLISHER });
    expect(attempt).toThrow(DeploymentSystemPropsError);
    expect(attempt).toThrow(
      /template would be about 1\.\d\d MB, 0\.\d\d MB over CloudFormation's limit of 1\.00 MB per template.*split the pipeline into 2 pipelines, each its own definition file and stack: \[alpha \+ beta\], \[gamma \+ prod\]/s,
    );
  });

  it('names the resource limit when every environment deploys with a role of its own', () => {
    const input = largePipelineInput({ environments: 200, tests: 1 });
    input.stages.forEach((stage, s) =>
      stage.environments.forEach((environment, e) => {
        (environment as { roleArn: string }).roleArn = `arn:aws:iam::${stageAccount(s)}:role/deployer-${e}`;
      }),
    );
    const ownRoles = validatePipelineObject(input);
    const attempt = () => new LockstepStack(app(), 'Lockstep-roles', { deploymentSystem: { pipeline: ownRoles } });
    expect(attempt).toThrow(
      /about 794 CloudFormation resources, 294 over CloudFormation's limit of 500 per stack \(200 steps projects.*split the pipeline into \d pipelines/s,
    );
  });
});
