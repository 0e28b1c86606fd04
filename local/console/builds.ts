import { codeBuildProjects, stepCommand, type CodeBuildProjectDefinition } from '../../lambdas/core/buildspecs';
import type { Pipeline } from '../../lambdas/core/config/schema';
import type { BuildRecord } from '../codebuild/codebuild';

/** What a CodeBuild build of this pipeline does, in words: "deploying sample-app r3 to alpha". */
export class BuildDescriber {
  private readonly projects: ReadonlyMap<string, CodeBuildProjectDefinition>;

  constructor(pipeline: Pipeline) {
    this.projects = new Map(codeBuildProjects(pipeline).map((p) => [p.name, p]));
  }

  kind(record: Pick<BuildRecord, 'projectName'>): CodeBuildProjectDefinition['kind'] | undefined {
    return this.projects.get(record.projectName)?.kind;
  }

  /** Present participle: what the build is doing while it runs. */
  doing(record: BuildRecord): string {
    const project = this.projects.get(record.projectName);
    const vars = variables(record);
    const revision =
      `${vars.LOCKSTEP_APPLICATION ?? project?.application ?? ''} r${vars.LOCKSTEP_REVISION ?? '?'}`.trim();
    if (project?.kind === 'build')
      return `building ${project.application}${record.sourceVersion || record.secondarySourceVersions[0] ? ` from ${shortCommit(record)}` : ''}`;
    // A steps project runs the step StartBuild selected (LOCKSTEP_ENVIRONMENT, LOCKSTEP_STEP).
    const environment = vars.LOCKSTEP_ENVIRONMENT ?? '?';
    if (project?.kind === 'steps' && vars.LOCKSTEP_STEP === 'deploy')
      return vars.LOCKSTEP_ROLLBACK === 'true'
        ? `rolling ${environment} back to ${revision}`
        : `deploying ${revision} to ${environment}`;
    if (project?.kind === 'steps' && vars.LOCKSTEP_STEP?.startsWith('test/'))
      return `testing ${revision} in ${environment} (${vars.LOCKSTEP_STEP.slice('test/'.length)})`;
    return `running ${record.projectName}`;
  }

  /** Past tense, for a build that succeeded. */
  done(record: BuildRecord): string {
    const doing = this.doing(record);
    const [verb, ...rest] = doing.split(' ');
    const past: Record<string, string> = {
      building: 'built',
      rolling: 'rolled',
      deploying: 'deployed',
      testing: 'tested',
      running: 'ran',
    };
    return [past[verb!] ?? verb, ...rest].join(' ');
  }
}

export function variables(record: Pick<BuildRecord, 'environmentVariables'>): Record<string, string> {
  return Object.fromEntries(record.environmentVariables.map((v) => [v.name, v.value]));
}

function shortCommit(record: BuildRecord): string {
  const version = record.sourceVersion ?? record.secondarySourceVersions[0]?.sourceVersion ?? '';
  return /^[0-9a-f]{40}$/.test(version) ? version.slice(0, 12) : version;
}

/** The failing command and the last lines it printed, indented, for a failed build. */
export function failureLines(record: BuildRecord, maxOutput = 6): string[] {
  if (!record.failure) {
    const context = record.phases.flatMap((p) => p.contexts ?? []).find((c) => c.message);
    return context ? [`    ${context.message}`] : [];
  }
  const { command, exitCode, phase, output } = record.failure;
  return [
    `    ${phase}: \`${stepCommand(command)}\` ${exitCode === null ? 'was killed' : `exited with ${exitCode}`}`,
    ...output
      .filter((line) => line.trim() !== '')
      .slice(-maxOutput)
      .map((line) => `    | ${line}`),
    `    log: ${record.logFile}`,
  ];
}
