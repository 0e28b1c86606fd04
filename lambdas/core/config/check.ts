/**
 * Validates a pipeline definition that is already an object (parsed JSON, or a TypeScript definition): the schema,
 * then the cross-reference rules, every problem at once. Kept apart from `load.ts` so Lambda bundles, which read
 * `pipeline.json`, do not carry the YAML parser.
 */
import { ConfigError, formatPath, parsePath, type ConfigProblem } from './problems';
import { salvage } from './salvage';
import { pipelineSchema, type Pipeline } from './schema';
import { schemaProblems } from './schema-problems';
import { validatePipeline } from './validate';

/**
 * Validates a pipeline definition written as a TypeScript object (see `definePipeline`).
 *
 * @throws ConfigError listing every problem (without line numbers: there is no text to point into).
 */
export function validatePipelineObject(input: unknown, options: { source?: string } = {}): Pipeline {
  const result = checkPipelineObject(input);
  if (result.pipeline) return result.pipeline;
  throw new ConfigError(result.problems, { source: options.source });
}

/** Outcome of a check that does not throw: the pipeline when it is valid, else every problem. */
export interface PipelineCheck {
  readonly pipeline?: Pipeline;
  readonly problems: readonly ConfigProblem[];
}

/** Like `validatePipelineObject`, but returns the problems instead of throwing. */
export function checkPipelineObject(input: unknown): PipelineCheck {
  if (input === null || input === undefined || typeof input !== 'object' || Array.isArray(input)) {
    return {
      problems: [
        {
          rule: 'schema',
          path: '',
          message: `the definition is ${input === null || input === undefined ? 'empty' : 'not an object of keys'}`,
          fix: 'start from an example in examples/ (keys: pipeline, packages, applications, stages, promotions, notifications)',
        },
      ],
    };
  }
  const parsed = pipelineSchema.safeParse(input);
  if (parsed.success) {
    const problems = validatePipeline(parsed.data);
    return problems.length === 0 ? { pipeline: parsed.data, problems } : { problems };
  }
  const shapeProblems = schemaProblems(parsed.error.issues, input, pipelineSchema);
  const rescued = salvage(input, pipelineSchema);
  if (!rescued) return { problems: shapeProblems };
  const referenceProblems = validatePipeline(rescued.value, { tolerate: rescued.tolerate })
    .map((problem) => ({ ...problem, path: formatPath(rescued.toOriginal(parsePath(problem.path))) }))
    .filter((problem) => !isEcho(problem, shapeProblems));
  return { problems: [...shapeProblems, ...referenceProblems] };
}

/**
 * True when a rule's finding is only a consequence of what the salvage removed: a stage emptied because its
 * environments were rejected, "no approvers" because the approvers written were not email addresses, or a deploy
 * with neither commands nor cdk because the commands written were rejected.
 */
function isEcho(problem: ConfigProblem, shapeProblems: readonly ConfigProblem[]): boolean {
  if (problem.rule === 'empty-stage') return shapeProblems.some((shape) => isWithin(shape.path, problem.path));
  // deploy without commands or cdk (or cdk without approvers) because the schema rejected what was written there.
  if (problem.rule === 'deploy-definition') return shapeProblems.some((shape) => isWithin(shape.path, problem.path));
  if (problem.rule === 'manual-approvers')
    return shapeProblems.some((shape) => /(^|\.)approvers\b|\.manual\b/.test(shape.path));
  return false;
}

function isWithin(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`);
}
