import { isAbsolute, join, resolve } from 'node:path';
import { writeJsonAtomic } from '../files';
import { loadPipeline } from '../../lambdas/core/config/load';
import type { Pipeline } from '../../lambdas/core/config/schema';

/**
 * The pipeline local mode runs: the definition file, validated by the shared loader (every problem reported at
 * once), with each relative `local.path` made absolute under the data folder. That is where `lockstep local`
 * keeps the repositories it creates, so one config works with any `--data-dir`.
 */
export function loadLocalPipeline(configFile: string, dataDir: string): Pipeline {
  const pipeline = loadPipeline(configFile);
  return {
    ...pipeline,
    packages: pipeline.packages.map((pkg) =>
      'local' in pkg.source && !isAbsolute(pkg.source.local.path)
        ? { ...pkg, source: { local: { ...pkg.source.local, path: resolve(dataDir, pkg.source.local.path) } } }
        : pkg,
    ),
  };
}

/** Writes the validated pipeline where `LOCKSTEP_PIPELINE_FILE` points handlers (the CDK writes `pipeline.json` likewise). */
export async function writePipelineFile(pipeline: Pipeline, dataDir: string): Promise<string> {
  const file = join(dataDir, 'pipeline.json');
  await writeJsonAtomic(file, pipeline);
  return file;
}

/** The packages local mode can serve from a repository it creates: local sources inside the data folder. */
export function localRepositories(
  pipeline: Pipeline,
  dataDir: string,
): Array<{ package: string; dir: string; branch: string }> {
  const root = resolve(dataDir) + '/';
  return pipeline.packages.flatMap((pkg) =>
    'local' in pkg.source && pkg.source.local.path.startsWith(root)
      ? [{ package: pkg.name, dir: pkg.source.local.path, branch: pkg.source.local.branch }]
      : [],
  );
}
