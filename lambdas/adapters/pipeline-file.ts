/**
 * The pipeline definition a handler runs with: `LOCKSTEP_PIPELINE_FILE`, JSON written by the CDK (or local mode)
 * next to each bundle, read and validated once per cold start. A definition that fails validation fails the cold
 * start with every problem listed.
 */
import { readFileSync } from 'node:fs';
import { validatePipelineObject } from '../core/config/check';
import { ConfigError } from '../core/config/problems';
import type { Pipeline } from '../core/config/schema';
import { requireEnv } from '../core/errors';

/** Reads and validates a pipeline JSON file (the shared loader's schema and cross-reference rules). */
export function readPipelineFile(path: string): Pipeline {
  const text = readFileSync(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      [
        {
          path: '',
          message: `not valid JSON: ${(error as Error).message}`,
          fix: 'write the pipeline as JSON',
          rule: 'json',
        },
      ],
      {
        source: path,
        cause: error,
      },
    );
  }
  return validatePipelineObject(json, { source: path });
}

let cached: { path: string; pipeline: Pipeline } | undefined;

/** The pipeline of `LOCKSTEP_PIPELINE_FILE`, read once per cold start (again only if the variable changes). */
export function pipelineFromEnv(env: NodeJS.ProcessEnv = process.env): Pipeline {
  const path = requireEnv('LOCKSTEP_PIPELINE_FILE', env);
  if (cached?.path !== path) cached = { path, pipeline: readPipelineFile(path) };
  return cached.pipeline;
}
