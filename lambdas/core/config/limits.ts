/**
 * CloudFormation's per-stack limits, checked on the pipeline definition itself so that `lockstep validate` and
 * `cdk synth` refuse a pipeline too large for one stack with a message that says which limit, by how much and what
 * to split, instead of CloudFormation (or the CDK) failing half-way.
 *
 * The stack's size is estimated from what grows with the pipeline: the CodeBuild projects of `codeBuildProjects()`
 * (one build project per application, one steps project per set of step grants) with their buildspecs, email
 * subscriptions and deploy policies, on top of a fixed part measured on the synthesized stack. The fixed part is
 * pinned by test/cdk/scale.test.ts, which compares these estimates with real synthesized templates.
 */
import { stringify } from 'yaml';
import { codeBuildProjects, type CodeBuildProjectDefinition } from '../buildspecs';
import type { ConfigProblem } from './problems';
import type { Pipeline } from './schema';

/** CloudFormation: resources per stack. */
export const MAX_STACK_RESOURCES = 500;
/** CloudFormation: template body uploaded through S3 (the CDK always uploads through the bootstrap bucket). */
export const MAX_TEMPLATE_BYTES = 1_000_000;

/** Resources of the deployment system that do not grow with the pipeline (tables, functions, alarms, API ...). */
const FIXED_RESOURCES = 111;
/** The SDK publisher, which `bin/lockstep-app.ts` adds to the same stack unless `-c lockstep:sdk=false`. */
const SDK_PUBLISHER_RESOURCES = 76;
/** Template bytes of the fixed part (the state machine definition, policies, alarms, the dashboard ...). */
const FIXED_TEMPLATE_BYTES = 80_000;
const SDK_PUBLISHER_TEMPLATE_BYTES = 61_000;
/** A project's own resource, role and role policy, without its buildspec. */
const PROJECT_TEMPLATE_BYTES = 3_600;

export interface StackSizeOptions {
  /** Whether the SDK publisher shares the stack. @default true (as `cdk deploy` does by default) */
  readonly sdkPublisher?: boolean;
}

export interface StackSize {
  readonly resources: number;
  readonly templateBytes: number;
  /** Template bytes taken by the buildspecs of deploy and test steps. */
  readonly stepBuildspecBytes: number;
  readonly steps: number;
  readonly stepsProjects: number;
}

/**
 * How many resources and template bytes the pipeline's stack will have, as estimated from the definition.
 *
 * @example
 * const { resources, templateBytes } = estimateStackSize(pipeline);
 */
export function estimateStackSize(pipeline: Pipeline, options: StackSizeOptions = {}): StackSize {
  const projects = codeBuildProjects(pipeline);
  const stepsProjects = projects.filter((p) => p.kind === 'steps');
  const usesCodeCommit = pipeline.packages.some((p) => 'codecommit' in p.source);
  const subscriptions = new Set(pipeline.notifications.flatMap((n) => n.emails)).size + approverCount(pipeline);
  const deployPolicies = stepsProjects.filter((p) => p.grants?.permissions?.policyDocument).length;
  const sdk = options.sdkPublisher ?? true;
  const resources =
    FIXED_RESOURCES +
    (sdk ? SDK_PUBLISHER_RESOURCES : 0) +
    (usesCodeCommit ? 2 : 0) + // the push rule and its permission to invoke
    subscriptions +
    // a build project, its role, role policy and log group
    4 * (projects.length - stepsProjects.length) +
    // a steps project, its role and role policy; all share one log group
    3 * stepsProjects.length +
    (stepsProjects.length > 0 ? 1 : 0) +
    deployPolicies;
  const stepBuildspecBytes = stepsProjects.reduce((sum, p) => sum + buildspecTemplateBytes(p), 0);
  const templateBytes =
    FIXED_TEMPLATE_BYTES +
    (sdk ? SDK_PUBLISHER_TEMPLATE_BYTES : 0) +
    projects.reduce(
      (sum, p) => sum + PROJECT_TEMPLATE_BYTES + (p.kind === 'steps' ? 0 : buildspecTemplateBytes(p)),
      0,
    ) +
    stepBuildspecBytes;
  return {
    resources,
    templateBytes,
    stepBuildspecBytes,
    steps: stepsProjects.reduce((sum, p) => sum + (p.steps?.length ?? 0), 0),
    stepsProjects: stepsProjects.length,
  };
}

/** The buildspec as it sits in the template: YAML (as the CDK writes it) inside a JSON string. */
function buildspecTemplateBytes(project: CodeBuildProjectDefinition): number {
  return Buffer.byteLength(JSON.stringify(stringify(project.buildspec, { schema: 'yaml-1.1', lineWidth: 0 })), 'utf8');
}

function approverCount(pipeline: Pipeline): number {
  const approvers = new Set<string>();
  for (const environment of pipeline.stages.flatMap((s) => s.environments))
    environment.approval.manual?.approvers.forEach((email) => approvers.add(email.toLowerCase()));
  for (const promotion of pipeline.promotions)
    if (promotion.approval === 'manual') promotion.approvers?.forEach((email) => approvers.add(email.toLowerCase()));
  return approvers.size;
}

/**
 * Problems for each CloudFormation limit the pipeline's stack would pass, each with the overshoot and a split of
 * the stages into pipelines that fit (or, for a stage too large alone, of its environments).
 */
export function stackLimitProblems(pipeline: Pipeline, options: StackSizeOptions = {}): ConfigProblem[] {
  let size: StackSize;
  try {
    size = estimateStackSize(pipeline, options);
  } catch {
    // A definition whose references are broken: the other rules report those first.
    return [];
  }
  const problems: ConfigProblem[] = [];
  if (size.resources > MAX_STACK_RESOURCES) {
    problems.push({
      rule: 'stack-limits',
      path: 'stages',
      message: `the pipeline's stack would hold about ${size.resources} CloudFormation resources, ${size.resources - MAX_STACK_RESOURCES} over CloudFormation's limit of ${MAX_STACK_RESOURCES} per stack (${size.stepsProjects} steps projects: deploy and test steps that differ in role, applications, secrets or deploy permissions each need a CodeBuild project, role and policy)`,
      fix: `${splitAdvice(pipeline, options, (s) => s.resources <= MAX_STACK_RESOURCES)}, or let more environments share a deploy role so their steps share a project`,
    });
  }
  if (size.templateBytes > MAX_TEMPLATE_BYTES) {
    problems.push({
      rule: 'stack-limits',
      path: 'stages',
      message: `the pipeline's CloudFormation template would be about ${megabytes(size.templateBytes)}, ${megabytes(size.templateBytes - MAX_TEMPLATE_BYTES)} over CloudFormation's limit of ${megabytes(MAX_TEMPLATE_BYTES)} per template; the commands and variables of its ${size.steps} deploy and test steps take ${megabytes(size.stepBuildspecBytes)} of it`,
      fix: `${splitAdvice(pipeline, options, (s) => s.templateBytes <= MAX_TEMPLATE_BYTES)}, or move long step commands into scripts shipped in the revision artifact`,
    });
  }
  return problems;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(2)} MB`;
}

/**
 * Splits the stages, in order, into the fewest consecutive groups whose own stacks fit; a stage that does not fit
 * alone is split by its environments. Each group becomes a pipeline of its own (its own definition file and stack),
 * the later one promoting from the earlier one's artifacts through its own build.
 */
function splitAdvice(pipeline: Pipeline, options: StackSizeOptions, fits: (size: StackSize) => boolean): string {
  const sizeOf = (stages: Pipeline['stages']): StackSize => estimateStackSize(subPipeline(pipeline, stages), options);
  const groups: string[] = [];
  let current: Pipeline['stages'] = [];
  for (const stage of pipeline.stages) {
    if (current.length > 0 && fits(sizeOf([...current, stage]))) {
      current = [...current, stage];
      continue;
    }
    if (current.length > 0) groups.push(current.map((s) => s.name).join(' + '));
    current = [stage];
    if (!fits(sizeOf(current))) {
      const environments = stage.environments.length;
      let parts = 2;
      while (
        parts < environments &&
        !fits(sizeOf([{ ...stage, environments: stage.environments.slice(0, Math.ceil(environments / parts)) }]))
      )
        parts++;
      groups.push(`${stage.name} in ${parts} parts of about ${Math.ceil(environments / parts)} environments`);
      current = [];
    }
  }
  if (current.length > 0) groups.push(current.map((s) => s.name).join(' + '));
  return `split the pipeline into ${groups.length} pipelines, each its own definition file and stack: ${groups.map((g) => `[${g}]`).join(', ')}`;
}

/** The pipeline with only `stages`, for sizing a split (promotions stay: they say what reaches each environment). */
function subPipeline(pipeline: Pipeline, stages: Pipeline['stages']): Pipeline {
  return { ...pipeline, stages };
}
