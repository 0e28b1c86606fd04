/**
 * Pipelines of any size for the scale tests and the synth bench (issue 10): four stages (alpha, beta, gamma, prod)
 * over as many regions as the size needs, one AWS account per stage with its own deploy role, and in every
 * environment a deploy step plus `tests` test steps. Each stage is promoted from the previous stage's environment
 * in the same region, so every environment is the destination of exactly one promotion. 100 environments are 25
 * regions x 4 stages; a size that is not a multiple of four fills regions one at a time, alpha first.
 */
import { validatePipelineObject } from '../../lambdas/core/config/load';
import type { Pipeline, PipelineInput } from '../../lambdas/core/config/schema';

/** The 25 regions of the 100-environment pipeline (any names pass validation; these read like real ones). */
const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'me-south-1',
  'me-central-1',
  'af-south-1',
  'ap-south-1',
  'ap-south-2',
  'ap-east-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
];

export const SCALE_STAGES = ['alpha', 'beta', 'gamma', 'prod'] as const;

export interface LargePipelineOptions {
  /** Environments in all (at least four: one per stage). */
  readonly environments: number;
  /** Test steps per environment. @default 3 */
  readonly tests?: number;
  /** @default 'scale' */
  readonly name?: string;
}

/** The account of a stage: one per stage, as teams usually split them. */
export function stageAccount(stage: number): string {
  return String(111_111_111_111 * (stage + 1)).padStart(12, '0');
}

/** The pipeline definition as a user would write it (before validation). */
export function largePipelineInput(options: LargePipelineOptions): PipelineInput {
  const tests = options.tests ?? 3;
  if (options.environments < SCALE_STAGES.length)
    throw new RangeError(`${options.environments} environments cannot fill ${SCALE_STAGES.length} stages`);
  // Environment i is stage i % 4 in region i / 4, so every stage has a region's environment before the next stage.
  const regionsOf = (stage: number): number =>
    Math.floor(options.environments / SCALE_STAGES.length) +
    (stage < options.environments % SCALE_STAGES.length ? 1 : 0);
  const regionName = (r: number): string =>
    REGIONS[r % REGIONS.length]! + (r < REGIONS.length ? '' : `-${Math.floor(r / REGIONS.length)}`);
  const environmentName = (stage: number, region: number): string => `${SCALE_STAGES[stage]}-${regionName(region)}`;
  return {
    pipeline: { name: options.name ?? 'scale' },
    packages: [
      {
        name: 'service',
        source: { codecommit: { repository: 'service', branch: 'main' } },
        build: { commands: ['npm ci', 'npm run build'], artifacts: ['dist/**', 'deploy/**'] },
      },
    ],
    applications: [{ name: 'service', packages: ['service'] }],
    stages: SCALE_STAGES.map((stage, s) => ({
      name: stage,
      environments: Array.from({ length: regionsOf(s) }, (_, r) => ({
        name: environmentName(s, r),
        account: stageAccount(s),
        region: REGIONS[r % REGIONS.length]!,
        roleArn: `arn:aws:iam::${stageAccount(s)}:role/lockstep-deployer`,
        deploy: {
          commands: ['./deploy/deploy.sh "$LOCKSTEP_ENVIRONMENT" "$LOCKSTEP_REVISION"'],
          variables: { STACK_NAME: `service-${environmentName(s, r)}` },
        },
        approval: {
          tests: Array.from({ length: tests }, (_, t) => ({
            name: ['smoke', 'integration', 'canary', 'load', 'security'][t] ?? `test-${t + 1}`,
            commands: [`./deploy/test.sh ${t + 1} "$LOCKSTEP_ENVIRONMENT"`],
          })),
        },
      })),
    })),
    promotions: SCALE_STAGES.flatMap((_, s) =>
      Array.from({ length: regionsOf(s) }, (_, r) => ({
        from: s === 0 ? { application: 'service' } : { environment: environmentName(s - 1, r) },
        to: environmentName(s, r),
      })),
    ),
  };
}

/** The validated pipeline of `largePipelineInput`. */
export function largePipeline(options: LargePipelineOptions): Pipeline {
  return validatePipelineObject(largePipelineInput(options), { source: `large-pipeline(${options.environments})` });
}
