/**
 * `lockstep/config`: the pipeline definition's schema and loaders, without the CDK. Import it in a TypeScript
 * pipeline file (`definePipeline`) or in a tool that reads Lockstep pipelines.
 *
 * @example
 * import { definePipeline } from 'lockstep/config';
 * export default definePipeline({ pipeline: { name: 'shop' }, packages: [...], applications: [...], stages: [...] });
 */
export {
  checkPipelineFile,
  checkPipelineObject,
  checkPipelineText,
  ConfigError,
  DEFAULT_PIPELINE_FILE,
  definePipeline,
  formatProblems,
  importPipeline,
  loadPipeline,
  parsePipeline,
  validatePipelineObject,
  type ConfigProblem,
  type PipelineCheck,
} from '../lambdas/core/config/load';
export { pipelineSchema, type Pipeline, type PipelineInput } from '../lambdas/core/config/schema';
