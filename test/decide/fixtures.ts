/** Small builders for decision-core tests: plain data with sensible defaults. */
import { pipelineSchema, type Pipeline, type PipelineInput, type TimeWindow } from '../../lambdas/core/config/schema';
import type { EnvironmentState, Revision, VersionSet } from '../../lambdas/core/model';
import type { PromotionSnapshot } from '../../lambdas/core/decide/types';

export function revision(application: string, number: number, extra: Partial<Revision> = {}): Revision {
  return {
    application,
    number,
    versionSet: { [`${application}-lib`]: `c${number}` },
    commits: [],
    authors: [],
    artifact: `s3://artifacts/revisions/${application}/${number}/artifact.zip`,
    buildId: `build-${number}`,
    createdAt: number * 1000,
    priority: false,
    testResults: {},
    ...extra,
  };
}

export function deployed(application: string, number: number, versionSet: VersionSet = {}) {
  return { application, number, versionSet, deployedAt: 0 };
}

export function environment(name: string, extra: Partial<EnvironmentState> = {}): EnvironmentState {
  return { name, applications: {}, lock: null, ...extra };
}

/** A snapshot for promotion Beta -> Prod of application A, everything open and enabled, unless overridden. */
export function snapshot(
  overrides: Partial<Omit<PromotionSnapshot, 'promotion' | 'destination'>> & {
    promotion?: Partial<PromotionSnapshot['promotion']>;
    destination?: Partial<PromotionSnapshot['destination']>;
  } = {},
): PromotionSnapshot {
  const { promotion, destination, ...rest } = overrides;
  return {
    pipeline: { enabled: true, automation: true },
    application: 'A',
    candidates: [revision('A', 1), revision('A', 2)],
    promotionApprovals: [],
    startedExecutions: [],
    ...rest,
    promotion: {
      from: { environment: 'Beta' },
      to: 'Prod',
      id: 'Beta-to-Prod',
      strategy: 'latest',
      approval: 'automatic',
      enabled: true,
      ...promotion,
    },
    destination: { ...environment('Prod'), windows: [] as TimeWindow[], ...destination },
  };
}

const build = { commands: ['npm ci && npm run build'] };
const deploy = { commands: ['./deploy.sh'] };

/** Three stages: app A (packages a-core, shared) and B (b-core, shared) -> Alpha -> Beta -> Prod-NA / Prod-EU. */
export function threeStagePipeline(overrides: Partial<PipelineInput> = {}): Pipeline {
  return pipelineSchema.parse({
    pipeline: { name: 'shop', buildDebounce: '30s' },
    packages: [
      { name: 'a-core', source: { github: { owner: 'o', repo: 'a-core' } }, build },
      { name: 'b-core', source: { github: { owner: 'o', repo: 'b-core', branch: 'release' } }, build },
      { name: 'shared', source: { codecommit: { repository: 'shared' } }, build },
      { name: 'docs', source: { github: { owner: 'o', repo: 'docs' } }, build, autoBuild: false },
    ],
    applications: [
      { name: 'A', packages: ['a-core', 'shared', 'docs'] },
      { name: 'B', packages: ['b-core', 'shared'] },
    ],
    stages: [
      { name: 'Test', environments: [{ name: 'Alpha', deploy }] },
      { name: 'Staging', environments: [{ name: 'Beta', deploy }] },
      {
        name: 'Prod',
        environments: [
          {
            name: 'Prod-NA',
            deploy,
            windows: [
              { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '04:00', timeZone: 'America/New_York' },
            ],
          },
          { name: 'Prod-EU', deploy },
        ],
      },
    ],
    promotions: [
      { from: { application: ['A', 'B'] }, to: 'Alpha' },
      { from: { environment: 'Alpha' }, to: 'Beta', strategy: 'compatible' },
      { from: { environment: 'Beta' }, to: 'Prod-NA' },
      { from: { environment: 'Beta' }, to: 'Prod-EU', approval: 'manual' },
    ],
    ...overrides,
  });
}
