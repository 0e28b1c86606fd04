import { checkPipelineObject } from '../../lambdas/core/config/load';
import type { ConfigProblem } from '../../lambdas/core/config/problems';
import type { PipelineInput } from '../../lambdas/core/config/schema';

/** A small valid pipeline: web (web + lib packages) -> beta -> prod, prod with a night window. */
export function basePipeline(): PipelineInput {
  return {
    pipeline: { name: 'shop' },
    packages: [
      {
        name: 'web',
        source: { github: { owner: 'example', repo: 'web' } },
        build: { commands: ['npm ci', 'npm run build'] },
      },
      { name: 'lib', source: { codecommit: { repository: 'lib' } }, build: { commands: ['npm ci'] } },
    ],
    applications: [{ name: 'web', packages: ['web', 'lib'] }],
    stages: [
      { name: 'Beta', environments: [{ name: 'beta', deploy: { commands: ['./deploy.sh beta'] } }] },
      {
        name: 'Prod',
        environments: [
          {
            name: 'prod',
            deploy: { commands: ['./deploy.sh prod'] },
            windows: [
              { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '04:00', timeZone: 'Europe/London' },
            ],
          },
        ],
      },
    ],
    promotions: [
      { from: { application: 'web' }, to: 'beta' },
      { from: { environment: 'beta' }, to: 'prod' },
    ],
  };
}

/** Problems of the base pipeline after `change` edits a copy of it. */
export function problemsAfter(change: (pipeline: PipelineInput) => void): readonly ConfigProblem[] {
  const pipeline = structuredClone(basePipeline());
  change(pipeline);
  return checkPipelineObject(pipeline).problems;
}

/** Only the problems a given rule reported. */
export function byRule(problems: readonly ConfigProblem[], rule: string): ConfigProblem[] {
  return problems.filter((problem) => problem.rule === rule);
}
