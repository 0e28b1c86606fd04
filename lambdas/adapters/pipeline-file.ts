/**
 * The pipeline definition a handler runs with: `LOCKSTEP_PIPELINE_FILE`, JSON written by the CDK (or local mode)
 * next to each bundle, read and validated once per cold start. A definition that fails validation, or names a
 * compliance policy that does not exist, fails the cold start with every problem listed.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, validatePipelineObject, type ConfigProblem } from '../core/config/load';
import type { Pipeline } from '../core/config/schema';
import { requireEnv } from '../core/errors';
import { COMPLIANCE_POLICIES, isCompliancePolicy } from '../promotion/compliance';

/** Problems the runtime adds to the shared rules: compliance policies must be ones it can evaluate. */
export function runtimeProblems(pipeline: Pipeline): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  pipeline.stages.forEach((stage, s) =>
    stage.environments.forEach((env, e) => {
      const policy = env.approval.compliance?.policy;
      if (policy !== undefined && !isCompliancePolicy(policy)) {
        problems.push({
          path: `stages[${s}].environments[${e}].approval.compliance.policy`,
          message: `unknown compliance policy "${policy}"`,
          fix: `use one of: ${Object.keys(COMPLIANCE_POLICIES).join(', ')}`,
          rule: 'compliance-policy',
        });
      }
    }),
  );
  return problems;
}

/** Reads and validates a pipeline JSON file (the shared loader's schema and cross-reference rules, plus ours). */
export function readPipelineFile(path: string): Pipeline {
  const text = readFileSync(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ path: '', message: `not valid JSON: ${(error as Error).message}`, fix: 'write the pipeline as JSON', rule: 'json' }], {
      source: path,
      cause: error,
    });
  }
  const pipeline = validatePipelineObject(json, { source: path });
  const problems = runtimeProblems(pipeline);
  if (problems.length > 0) throw new ConfigError(problems, { source: path });
  return pipeline;
}

let cached: { path: string; pipeline: Pipeline } | undefined;

/** The pipeline of `LOCKSTEP_PIPELINE_FILE`, read once per cold start (again only if the variable changes). */
export function pipelineFromEnv(env: NodeJS.ProcessEnv = process.env): Pipeline {
  const path = requireEnv('LOCKSTEP_PIPELINE_FILE', env);
  if (cached?.path !== path) cached = { path, pipeline: readPipelineFile(path) };
  return cached.pipeline;
}
