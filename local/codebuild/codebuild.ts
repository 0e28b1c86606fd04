import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../constants';
import { readJsonIfExists, whenMissing, writeJsonAtomic } from '../files';
import { AwsApiError, requireString } from '../aws-protocol/errors';
import type { AwsServiceDefinition } from '../aws-protocol/server';
import { BuildspecError, parseBuildspec, PHASES, type BuildspecSpec, type PhaseName } from './buildspec';
import { exists, listFiles, matchFiles, unzipTo, zipFiles } from './files';
import { killGroup, runPhaseShell, type PhaseCommandFailure } from './phase-shell';

const execFileAsync = promisify(execFile);

/**
 * The CodeBuild API (StartBuild, BatchGetBuilds, StopBuild, ListBuildsForProject, BatchGetProjects) over
 * awsJson1_1, backed by a buildspec runner that runs each phase in bash on this machine.
 *
 * - Projects are registered in-process (`registerProject`); see `projects.ts` for the shapes of
 *   lambdas/core/buildspecs.ts.
 * - Each build gets `<dataDir>/builds/<id>/`: `src/` (CODEBUILD_SRC_DIR), `src2/<identifier>/` for secondary
 *   sources, `build.log`, and `build.json` (the record, rewritten at every phase change).
 * - Sources: an S3 zip (`sourceTypeOverride: 'S3'`, `sourceLocationOverride: 'bucket/key'`) from the local S3, or a
 *   git repository on this machine (a path or file:// URL) cloned and checked out at `sourceVersion`.
 * - Phase order and failure transitions are CodeBuild's: a failed INSTALL or PRE_BUILD skips to FINALIZING, a
 *   failed BUILD still runs POST_BUILD, a failed POST_BUILD still uploads artifacts.
 * - A build that was running when the service died is reported FAILED on the next start, with the reason.
 * - `idempotencyToken` is honoured for as long as the build record exists (CodeBuild: 5 minutes): a StartBuild
 *   repeating a token answers with the build that token started, whatever its state.
 */
export type SourceType = 'S3' | 'GIT' | 'GITHUB' | 'CODECOMMIT' | 'NO_SOURCE';

export interface LocalSource {
  readonly type: SourceType;
  /** S3: `bucket/key` of a zip. Git types: a repository path on this machine or a file:// URL. */
  readonly location?: string;
  /** Secondary sources: the identifier behind `CODEBUILD_SRC_DIR_<identifier>`. */
  readonly sourceIdentifier?: string;
  /** Default version (commit, branch) when StartBuild names none. */
  readonly sourceVersion?: string;
}

export interface EnvironmentVariable {
  readonly name: string;
  readonly value: string;
  /** `SECRETS_MANAGER` values are `secret-id[:json-key]`, resolved through `resolveSecret`. @default PLAINTEXT */
  readonly type?: 'PLAINTEXT' | 'SECRETS_MANAGER' | 'PARAMETER_STORE';
}

export interface ArtifactsSettings {
  readonly type: 'S3' | 'NO_ARTIFACTS';
  /** Bucket name. */
  readonly location?: string;
  readonly path?: string;
  readonly name?: string;
  /** @default 'NONE' (files uploaded one by one under `path/name/`); `ZIP` uploads one zip at `path/name`. */
  readonly packaging?: 'ZIP' | 'NONE';
  /** `BUILD_ID` inserts the build id between path and name. @default 'NONE' */
  readonly namespaceType?: 'NONE' | 'BUILD_ID';
}

export interface ProjectRegistration {
  readonly name: string;
  /** A buildspec object or YAML text; omitted: `buildspec.yml` from the primary source, as CodeBuild does. */
  readonly buildspec?: object | string;
  /** A map or CodeBuild's list form. */
  readonly environmentVariables?: Readonly<Record<string, string>> | readonly EnvironmentVariable[];
  /** @default NO_SOURCE */
  readonly source?: LocalSource;
  readonly secondarySources?: readonly LocalSource[];
  /** @default NO_ARTIFACTS */
  readonly artifacts?: ArtifactsSettings;
  /** @default 60 */
  readonly timeoutInMinutes?: number;
}

export interface LocalCodeBuildOptions {
  readonly dataDir: string;
  /** Client for the local S3 (sources and artifacts). */
  readonly s3: S3Client;
  /** Variables every build starts with (PATH, HOME, endpoints...). @default PATH, HOME, LANG, TMPDIR, USER from this process */
  readonly baseEnvironment?: Readonly<Record<string, string>>;
  /** Resolves `SECRETS_MANAGER` variables and `env.secrets-manager` references (secret id -> value). */
  readonly resolveSecret?: (secretId: string) => string | Promise<string>;
  /** Epoch ms for build records. @default Date.now */
  readonly now?: () => number;
}

type BuildStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'STOPPED' | 'TIMED_OUT';
type PhaseType =
  | 'SUBMITTED'
  | 'QUEUED'
  | 'PROVISIONING'
  | 'DOWNLOAD_SOURCE'
  | 'INSTALL'
  | 'PRE_BUILD'
  | 'BUILD'
  | 'POST_BUILD'
  | 'UPLOAD_ARTIFACTS'
  | 'FINALIZING'
  | 'COMPLETED';

interface PhaseRecord {
  phaseType: PhaseType;
  phaseStatus?: BuildStatus;
  startTime: number;
  endTime?: number;
  contexts?: Array<{ statusCode: string; message: string }>;
}

/** What `build.json` holds. Times are epoch ms. */
export interface BuildRecord {
  id: string;
  arn: string;
  buildNumber: number;
  projectName: string;
  startTime: number;
  endTime?: number;
  currentPhase: PhaseType;
  buildStatus: BuildStatus;
  buildComplete: boolean;
  initiator: string;
  sourceVersion?: string;
  resolvedSourceVersion?: string;
  source: LocalSource;
  secondarySources: LocalSource[];
  secondarySourceVersions: Array<{ sourceIdentifier: string; sourceVersion: string }>;
  artifactsSettings: ArtifactsSettings;
  artifactsLocation?: string;
  buildspecOverride?: string;
  /** StartBuild `logsConfigOverride.cloudWatchLogs`: the group and stream prefix the build reports. */
  logsOverride?: { groupName?: string; streamName?: string };
  environmentVariables: EnvironmentVariable[];
  exportedEnvironmentVariables?: Array<{ name: string; value: string }>;
  phases: PhaseRecord[];
  timeoutInMinutes: number;
  workDir: string;
  logFile: string;
  /** Process group of the phase shell running now, so a restart can end an orphan. */
  pid?: number;
  idempotencyToken?: string;
  requestFingerprint?: string;
  /** The command that failed the build and its last output lines (not a CodeBuild field: for the status view). */
  failure?: { phase: PhaseType; command: string; exitCode: number | null; output: readonly string[] };
}

export type BuildListener = (build: BuildRecord) => void;

const PHASE_TYPE: Record<PhaseName, PhaseType> = {
  install: 'INSTALL',
  pre_build: 'PRE_BUILD',
  build: 'BUILD',
  post_build: 'POST_BUILD',
};

interface RunningBuild {
  readonly record: BuildRecord;
  readonly controller: AbortController;
  readonly done: Promise<BuildRecord>;
  stopReason?: 'STOPPED' | 'TIMED_OUT';
}

export const CODEBUILD_TARGET_PREFIX = 'CodeBuild_20161006';

export class LocalCodeBuild {
  private readonly projects = new Map<string, ProjectRegistration>();
  private readonly builds = new Map<string, BuildRecord>();
  private readonly running = new Map<string, RunningBuild>();
  /** Set by `close()`: a build started after it would outlive the service and write into a folder being removed. */
  private closed = false;
  private readonly listeners = new Set<BuildListener>();
  private readonly now: () => number;

  private constructor(private readonly options: LocalCodeBuildOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Opens the service on `dataDir`, marking builds that were running when it last died as FAILED. */
  static async open(options: LocalCodeBuildOptions): Promise<LocalCodeBuild> {
    const service = new LocalCodeBuild(options);
    await service.recover();
    return service;
  }

  private get buildsDir(): string {
    return join(this.options.dataDir, 'builds');
  }

  registerProject(project: ProjectRegistration): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/.test(project.name)) {
      throw new BuildspecError(
        `CodeBuild project name ${project.name} is invalid: letters, digits, - and _, 2 to 255 characters`,
      );
    }
    // Fail at registration, not at the first build, when the buildspec itself is unusable.
    if (project.buildspec !== undefined) parseBuildspec(project.buildspec);
    this.projects.set(project.name, project);
  }

  /** Receives every build record change (phase started or ended, build completed). */
  subscribe(listener: BuildListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getBuild(id: string): BuildRecord | undefined {
    return this.builds.get(id);
  }

  /** Resolves with the record once the build has finished (at once for a finished one). */
  async waitForBuild(id: string): Promise<BuildRecord> {
    const running = this.running.get(id);
    if (running) return running.done;
    const record = this.builds.get(id);
    if (!record) throw new AwsApiError('ResourceNotFoundException', `Build ${id} does not exist`);
    return record;
  }

  // ---- API operations (camelCase shapes, as the SDK sends them) ----

  async startBuild(input: Record<string, unknown>): Promise<{ build: ReturnType<typeof toApiBuild> }> {
    if (this.closed)
      throw new AwsApiError(
        'ServiceUnavailableException',
        'The local CodeBuild service is shutting down; start the build again once local mode runs',
      );
    const projectName = requireString(input, 'projectName');
    const project = this.projects.get(projectName);
    if (!project)
      throw new AwsApiError(
        'ResourceNotFoundException',
        `Project cannot be found: arn:aws:codebuild:${LOCAL_REGION}:${LOCAL_ACCOUNT}:project/${projectName}`,
      );

    const token = typeof input.idempotencyToken === 'string' ? input.idempotencyToken : undefined;
    const fingerprint = createHash('sha256').update(JSON.stringify(input)).digest('hex');
    if (token) {
      // CodeBuild forgets a token after 5 minutes; here it is kept with the build record on disk, for good: a
      // promotion resumed after a crash (hours later, or on a manual clock) must re-attach to the build it started,
      // finished or cut off, and never run that deploy again.
      const earlier = [...this.builds.values()].find(
        (b) => b.idempotencyToken === token && b.projectName === projectName,
      );
      if (earlier) {
        if (earlier.requestFingerprint !== fingerprint) {
          throw new AwsApiError(
            'IdempotentParameterMismatchException',
            'The request parameters differ from the request that used this idempotency token',
          );
        }
        return { build: toApiBuild(earlier) };
      }
    }

    const uuid = randomUUID();
    const id = `${projectName}:${uuid}`;
    const workDir = join(this.buildsDir, `${projectName}_${uuid}`);
    const source = sourceFor(project, input);
    const variables = mergeVariables(project.environmentVariables, input.environmentVariablesOverride);
    const record: BuildRecord = {
      id,
      arn: `arn:aws:codebuild:${LOCAL_REGION}:${LOCAL_ACCOUNT}:build/${id}`,
      buildNumber: [...this.builds.values()].filter((b) => b.projectName === projectName).length + 1,
      projectName,
      startTime: this.now(),
      currentPhase: 'SUBMITTED',
      buildStatus: 'IN_PROGRESS',
      buildComplete: false,
      initiator: 'lockstep-local',
      ...(typeof input.sourceVersion === 'string'
        ? { sourceVersion: input.sourceVersion }
        : source.sourceVersion
          ? { sourceVersion: source.sourceVersion }
          : {}),
      source,
      secondarySources: secondarySourcesFor(project, input),
      secondarySourceVersions: listOf(input.secondarySourcesVersionOverride).map((v) => ({
        sourceIdentifier: typeof v.sourceIdentifier === 'string' ? v.sourceIdentifier : '',
        sourceVersion: typeof v.sourceVersion === 'string' ? v.sourceVersion : '',
      })),
      artifactsSettings: artifactsFor(project, input),
      ...(typeof input.buildspecOverride === 'string' ? { buildspecOverride: input.buildspecOverride } : {}),
      ...logsOverrideOf(input),
      environmentVariables: variables,
      phases: [{ phaseType: 'SUBMITTED', startTime: this.now() }],
      timeoutInMinutes:
        typeof input.timeoutInMinutesOverride === 'number'
          ? input.timeoutInMinutesOverride
          : (project.timeoutInMinutes ?? 60),
      workDir,
      logFile: join(workDir, 'build.log'),
      ...(token ? { idempotencyToken: token, requestFingerprint: fingerprint } : {}),
    };
    await mkdir(workDir, { recursive: true });
    this.builds.set(id, record);
    await this.save(record);

    const controller = new AbortController();
    const entry: { -readonly [K in keyof RunningBuild]: RunningBuild[K] } = {
      record,
      controller,
      done: Promise.resolve(record),
    };
    entry.done = this.run(entry, project).finally(() => this.running.delete(id));
    this.running.set(id, entry);
    return { build: toApiBuild(record) };
  }

  batchGetBuilds(input: Record<string, unknown>) {
    const ids = Array.isArray(input.ids) ? input.ids.map(String) : [];
    if (ids.length === 0 || ids.length > 100)
      throw new AwsApiError('InvalidInputException', 'ids must hold 1 to 100 build ids');
    const builds = ids.map((id) => this.builds.get(id)).filter((b): b is BuildRecord => b !== undefined);
    return { builds: builds.map(toApiBuild), buildsNotFound: ids.filter((id) => !this.builds.has(id)) };
  }

  async stopBuild(input: Record<string, unknown>) {
    const id = requireString(input, 'id');
    const record = this.builds.get(id);
    if (!record) throw new AwsApiError('ResourceNotFoundException', `Build ${id} does not exist`);
    const running = this.running.get(id);
    if (running) {
      running.stopReason ??= 'STOPPED';
      running.controller.abort();
      await running.done;
    }
    return { build: toApiBuild(record) };
  }

  listBuildsForProject(input: Record<string, unknown>) {
    const projectName = requireString(input, 'projectName');
    if (!this.projects.has(projectName) && ![...this.builds.values()].some((b) => b.projectName === projectName)) {
      throw new AwsApiError('ResourceNotFoundException', `Project cannot be found: ${projectName}`);
    }
    const ascending = input.sortOrder === 'ASCENDING';
    const ids = [...this.builds.values()]
      .filter((b) => b.projectName === projectName)
      .sort((a, b) => (ascending ? a.buildNumber - b.buildNumber : b.buildNumber - a.buildNumber))
      .map((b) => b.id);
    const offset = typeof input.nextToken === 'string' ? Number(input.nextToken) || 0 : 0;
    const page = ids.slice(offset, offset + 100);
    return { ids: page, ...(offset + 100 < ids.length ? { nextToken: String(offset + 100) } : {}) };
  }

  /** ListProjects: names sorted by name (ASCENDING by default, as `--sort-by NAME`), 100 per page. */
  listProjects(input: Record<string, unknown>) {
    const descending = input.sortOrder === 'DESCENDING';
    const names = [...this.projects.keys()].sort();
    if (descending) names.reverse();
    return page(names, input.nextToken, 'projects');
  }

  /** ListBuilds: every build id, newest first unless `sortOrder` is ASCENDING, 100 per page. */
  listBuilds(input: Record<string, unknown>) {
    const ascending = input.sortOrder === 'ASCENDING';
    const ids = [...this.builds.values()]
      .sort((a, b) =>
        ascending
          ? a.startTime - b.startTime || a.buildNumber - b.buildNumber
          : b.startTime - a.startTime || b.buildNumber - a.buildNumber,
      )
      .map((b) => b.id);
    return page(ids, input.nextToken, 'ids');
  }

  batchGetProjects(input: Record<string, unknown>) {
    const names = Array.isArray(input.names) ? input.names.map(String) : [];
    const found = names.map((n) => this.projects.get(n)).filter((p): p is ProjectRegistration => p !== undefined);
    return {
      projects: found.map((p) => ({
        name: p.name,
        arn: `arn:aws:codebuild:${LOCAL_REGION}:${LOCAL_ACCOUNT}:project/${p.name}`,
        source: { type: p.source?.type ?? 'NO_SOURCE', location: p.source?.location },
        secondarySources: (p.secondarySources ?? []).map((s) => ({
          type: s.type,
          location: s.location,
          sourceIdentifier: s.sourceIdentifier,
        })),
        artifacts: { type: p.artifacts?.type ?? 'NO_ARTIFACTS', location: p.artifacts?.location },
        environment: {
          type: 'LINUX_CONTAINER',
          image: 'lockstep-local',
          computeType: 'BUILD_GENERAL1_SMALL',
          environmentVariables: mergeVariables(p.environmentVariables, undefined),
        },
        timeoutInMinutes: p.timeoutInMinutes ?? 60,
      })),
      projectsNotFound: names.filter((n) => !this.projects.has(n)),
    };
  }

  definition(): AwsServiceDefinition {
    return {
      serviceName: 'CodeBuild',
      protocol: 'awsJson1_1',
      targetPrefix: CODEBUILD_TARGET_PREFIX,
      operations: {
        StartBuild: (input: Record<string, unknown>) => this.startBuild(input),
        BatchGetBuilds: (input: Record<string, unknown>) => this.batchGetBuilds(input),
        StopBuild: (input: Record<string, unknown>) => this.stopBuild(input),
        ListBuildsForProject: (input: Record<string, unknown>) => this.listBuildsForProject(input),
        BatchGetProjects: (input: Record<string, unknown>) => this.batchGetProjects(input),
        ListProjects: (input: Record<string, unknown>) => this.listProjects(input),
        ListBuilds: (input: Record<string, unknown>) => this.listBuilds(input),
      },
    };
  }

  /** Stops every running build (reported FAILED: the service went away under it) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.running.values()].map((running) => {
        running.controller.abort();
        return running.done;
      }),
    );
  }

  // ---- the runner ----

  private async run(entry: RunningBuild, project: ProjectRegistration): Promise<BuildRecord> {
    const { record, controller } = entry;
    await mkdir(record.workDir, { recursive: true });
    const log = createWriteStream(record.logFile, { flags: 'a' });
    const say = (line: string) => log.write(line + '\n');
    const timeout = setTimeout(() => {
      entry.stopReason ??= 'TIMED_OUT';
      controller.abort();
    }, record.timeoutInMinutes * 60_000);
    try {
      await this.runPhases(entry, project, say);
    } catch (error) {
      // A fault of the runner itself (not of the build's commands): CodeBuild calls this FAULT.
      await this.endCurrentPhase(
        record,
        'FAULT',
        [{ statusCode: 'CLIENT_ERROR', message: (error as Error).message }],
        say,
      );
      await this.finish(record, 'FAULT', say);
    } finally {
      clearTimeout(timeout);
      await new Promise<void>((ok) => log.end(ok));
    }
    return record;
  }

  private async runPhases(
    entry: RunningBuild,
    project: ProjectRegistration,
    say: (line: string) => void,
  ): Promise<void> {
    const { record, controller } = entry;
    const signal = controller.signal;
    const srcDir = join(record.workDir, 'src');
    const stateDir = join(record.workDir, 'shell-state');
    await mkdir(stateDir, { recursive: true });
    await this.completePhase(record, 'SUBMITTED', say);
    await this.startPhase(record, 'QUEUED', say);
    await this.completePhase(record, 'QUEUED', say);
    await this.startPhase(record, 'PROVISIONING', say);
    await this.completePhase(record, 'PROVISIONING', say);

    // DOWNLOAD_SOURCE: sources and the buildspec (a bad buildspec fails here, as YAML_FILE_ERROR).
    await this.startPhase(record, 'DOWNLOAD_SOURCE', say);
    let spec: BuildspecSpec;
    const secondaryDirs: Record<string, string> = {};
    try {
      await rm(srcDir, { recursive: true, force: true });
      record.resolvedSourceVersion = await this.fetchSource(record.source, srcDir, record.sourceVersion, say);
      for (const secondary of record.secondarySources) {
        const identifier = secondary.sourceIdentifier ?? '';
        const dir = join(record.workDir, 'src2', identifier);
        const version =
          record.secondarySourceVersions.find((v) => v.sourceIdentifier === identifier)?.sourceVersion ??
          secondary.sourceVersion;
        const resolved = await this.fetchSource(secondary, dir, version, say);
        secondaryDirs[identifier] = dir;
        if (resolved) secondaryDirs[`__version_${identifier}`] = resolved;
      }
    } catch (error) {
      await this.endCurrentPhase(
        record,
        'FAILED',
        [{ statusCode: 'CLIENT_ERROR', message: (error as Error).message }],
        say,
      );
      return this.finish(record, 'FAILED', say);
    }
    try {
      spec = parseBuildspec(record.buildspecOverride ?? project.buildspec ?? (await readBuildspecFile(srcDir)));
    } catch (error) {
      await this.endCurrentPhase(
        record,
        'FAILED',
        [{ statusCode: 'YAML_FILE_ERROR', message: (error as Error).message }],
        say,
      );
      return this.finish(record, 'FAILED', say);
    }
    await this.completePhase(record, 'DOWNLOAD_SOURCE', say);

    let env: Record<string, string>;
    try {
      env = await this.buildEnvironment(record, spec, srcDir, secondaryDirs);
    } catch (error) {
      await this.startPhase(record, 'INSTALL', say);
      await this.endCurrentPhase(
        record,
        'FAILED',
        [{ statusCode: 'CLIENT_ERROR', message: (error as Error).message }],
        say,
      );
      return this.finish(record, 'FAILED', say);
    }

    let succeeding = true;
    let skipToFinalizing = false;
    for (const phase of PHASES) {
      if (skipToFinalizing) break;
      const phaseType = PHASE_TYPE[phase];
      await this.startPhase(record, phaseType, say);
      const definition = spec.phases[phase];
      const common = {
        stateDir,
        initialCwd: srcDir,
        env,
        onLine: say,
        onSpawn: (pid: number) => {
          record.pid = pid;
          void this.save(record);
        },
        signal,
      };
      const main = await runPhaseShell({
        ...common,
        commands: definition.commands,
        forcedEnv: { CODEBUILD_BUILD_SUCCEEDING: succeeding ? '1' : '0' },
      });
      // `finally` runs whether the commands passed or failed, but not after a stop.
      const fin = signal.aborted
        ? { ok: true }
        : await runPhaseShell({
            ...common,
            commands: definition.finally,
            forcedEnv: { CODEBUILD_BUILD_SUCCEEDING: main.ok && succeeding ? '1' : '0' },
          });
      delete record.pid;
      if (signal.aborted) {
        await this.endCurrentPhase(record, entry.stopReason ?? 'STOPPED', [], say);
        return this.finish(
          record,
          entry.stopReason ?? 'FAILED',
          say,
          entry.stopReason === undefined ? 'The local CodeBuild service shut down while this build ran' : undefined,
        );
      }
      const failure: PhaseCommandFailure | undefined = main.failure ?? fin.failure;
      if (failure) {
        succeeding = false;
        record.failure ??= {
          phase: phaseType,
          command: failure.command,
          exitCode: failure.exitCode,
          output: failure.output,
        };
        await this.endCurrentPhase(
          record,
          'FAILED',
          [{ statusCode: 'COMMAND_EXECUTION_ERROR', message: commandFailureMessage(failure) }],
          say,
        );
        // CodeBuild: a failed INSTALL or PRE_BUILD skips to FINALIZING; BUILD and POST_BUILD failures carry on.
        if (definition.onFailure === 'ABORT' && (phase === 'install' || phase === 'pre_build')) skipToFinalizing = true;
      } else {
        await this.completePhase(record, phaseType, say);
      }
    }

    if (!skipToFinalizing) {
      await this.startPhase(record, 'UPLOAD_ARTIFACTS', say);
      try {
        await this.uploadArtifacts(record, spec, srcDir, say);
        await this.completePhase(record, 'UPLOAD_ARTIFACTS', say);
      } catch (error) {
        succeeding = false;
        await this.endCurrentPhase(
          record,
          'FAILED',
          [{ statusCode: 'CLIENT_ERROR', message: (error as Error).message }],
          say,
        );
      }
    }
    if (spec.exportedVariables.length > 0) {
      const exported = await readExported(join(stateDir, 'env.sh'), spec.exportedVariables);
      record.exportedEnvironmentVariables = spec.exportedVariables.map((name) => ({
        name,
        value: exported[name] ?? '',
      }));
    }
    await this.finish(record, succeeding ? 'SUCCEEDED' : 'FAILED', say);
  }

  private async buildEnvironment(
    record: BuildRecord,
    spec: BuildspecSpec,
    srcDir: string,
    secondaryDirs: Record<string, string>,
  ): Promise<Record<string, string>> {
    const base = this.options.baseEnvironment ?? pick(process.env, ['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER']);
    const env: Record<string, string> = {
      ...base,
      AWS_REGION: base.AWS_REGION ?? LOCAL_REGION,
      AWS_DEFAULT_REGION: base.AWS_DEFAULT_REGION ?? LOCAL_REGION,
    };
    // CodeBuild precedence, lowest first: buildspec env.variables, project variables, StartBuild overrides.
    Object.assign(env, spec.variables);
    for (const [name, reference] of Object.entries(spec.secretsManager)) env[name] = await this.secret(reference);
    for (const variable of record.environmentVariables) {
      if (variable.type === 'PARAMETER_STORE')
        throw new Error(`Variable ${variable.name}: PARAMETER_STORE is not available in local mode`);
      env[variable.name] = variable.type === 'SECRETS_MANAGER' ? await this.secret(variable.value) : variable.value;
    }
    Object.assign(env, {
      CODEBUILD_BUILD_ID: record.id,
      CODEBUILD_BUILD_ARN: record.arn,
      CODEBUILD_BUILD_NUMBER: String(record.buildNumber),
      CODEBUILD_BUILD_IMAGE: 'lockstep-local',
      CODEBUILD_INITIATOR: record.initiator,
      CODEBUILD_LOG_PATH: record.logFile,
      CODEBUILD_PROJECT_NAME: record.projectName,
      CODEBUILD_SRC_DIR: srcDir,
      CODEBUILD_START_TIME: String(record.startTime),
      CODEBUILD_SOURCE_REPO_URL: record.source.location ?? '',
      CODEBUILD_SOURCE_VERSION: record.sourceVersion ?? record.source.location ?? '',
      CODEBUILD_RESOLVED_SOURCE_VERSION: record.resolvedSourceVersion ?? '',
      CODEBUILD_BUILD_SUCCEEDING: '1',
      CODEBUILD_LOCAL: 'true',
    });
    for (const [identifier, dir] of Object.entries(secondaryDirs)) {
      if (identifier.startsWith('__version_'))
        env[`CODEBUILD_SOURCE_VERSION_${identifier.slice('__version_'.length)}`] = dir;
      else env[`CODEBUILD_SRC_DIR_${identifier}`] = dir;
    }
    return env;
  }

  private async secret(reference: string): Promise<string> {
    if (!this.options.resolveSecret)
      throw new Error(`Secret ${reference.split(':')[0]} requested, but no secret resolver is configured`);
    // `secret-id:json-key:...`; an ARN contains colons itself, so the JSON key is what follows the ARN's 7 parts.
    const parts = reference.split(':');
    const idParts = reference.startsWith('arn:') ? 7 : 1;
    const id = parts.slice(0, idParts).join(':');
    const jsonKey = parts[idParts];
    const value = await this.options.resolveSecret(id);
    if (!jsonKey) return value;
    const parsed = JSON.parse(value) as Record<string, unknown>;
    const picked = parsed[jsonKey];
    return typeof picked === 'string' ? picked : picked === undefined ? '' : JSON.stringify(picked);
  }

  private async fetchSource(
    source: LocalSource,
    dir: string,
    version: string | undefined,
    say: (line: string) => void,
  ): Promise<string | undefined> {
    await mkdir(dir, { recursive: true });
    switch (source.type) {
      case 'NO_SOURCE':
        return undefined;
      case 'S3': {
        const location = source.location ?? '';
        const slash = location.indexOf('/');
        if (slash <= 0) throw new Error(`S3 source location must be bucket/key, got "${location}"`);
        const bucket = location.slice(0, slash);
        const key = location.slice(slash + 1);
        say(`[Container] ${new Date().toISOString()} Downloading s3://${bucket}/${key}`);
        let bytes: Uint8Array;
        try {
          const object = await this.options.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          bytes = await object.Body!.transformToByteArray();
        } catch (error) {
          throw new Error(`cannot download source s3://${bucket}/${key}: ${(error as Error).name}`, { cause: error });
        }
        const count = await unzipTo(Buffer.from(bytes), dir);
        say(`[Container] ${new Date().toISOString()} Extracted ${count} files`);
        return undefined;
      }
      default: {
        const repository = localRepositoryPath(source.location ?? '');
        say(`[Container] ${new Date().toISOString()} Cloning ${repository}${version ? ` at ${version}` : ''}`);
        await git(['clone', '--quiet', '--no-hardlinks', repository, dir]);
        if (version) {
          const ref = version.replace(/^refs\/heads\//, '');
          // Resolved first: checking out a name git does not know fails with a misleading message (for a commit id,
          // "--detach does not take a path argument").
          const commit = (await resolveCommit(dir, ref)) ?? (await resolveCommit(dir, `origin/${ref}`));
          if (!commit) {
            throw new Error(
              /^[0-9a-f]{7,40}$/i.test(ref)
                ? `commit ${ref} is not in ${repository}: was the push force-overwritten or the repository replaced?`
                : `${ref} is neither a branch nor a commit of ${repository}`,
            );
          }
          await git(['-C', dir, 'checkout', '--quiet', '--detach', commit]);
        }
        return (await git(['-C', dir, 'rev-parse', 'HEAD'])).trim();
      }
    }
  }

  private async uploadArtifacts(
    record: BuildRecord,
    spec: BuildspecSpec,
    srcDir: string,
    say: (line: string) => void,
  ): Promise<void> {
    const settings = record.artifactsSettings;
    if (settings.type === 'NO_ARTIFACTS' || !spec.artifacts) return;
    if (!settings.location) throw new Error('artifacts location (bucket) is not set');
    const base = resolve(srcDir, spec.artifacts.baseDirectory ?? '.');
    const files = (await exists(base)) ? await matchFiles(base, spec.artifacts.files) : [];
    if (files.length === 0) throw new Error(`no matching artifact paths found for ${spec.artifacts.files.join(', ')}`);
    const name = settings.name ?? spec.artifacts.name ?? record.projectName;
    const key = posix.join(
      ...[settings.path, settings.namespaceType === 'BUILD_ID' ? record.id.split(':')[1] : undefined, name].filter(
        (p): p is string => !!p,
      ),
    );
    const inArchive = (file: string) => (spec.artifacts!.discardPaths ? posix.basename(file) : file);
    if (settings.packaging === 'ZIP') {
      const zip = await zipFiles(base, files, inArchive);
      await this.options.s3.send(
        new PutObjectCommand({ Bucket: settings.location, Key: key, Body: zip, ContentType: 'application/zip' }),
      );
    } else {
      for (const file of files) {
        await this.options.s3.send(
          new PutObjectCommand({
            Bucket: settings.location,
            Key: posix.join(key, inArchive(file)),
            Body: await readFile(join(base, file)),
          }),
        );
      }
    }
    record.artifactsLocation = `arn:aws:s3:::${settings.location}/${key}`;
    say(
      `[Container] ${new Date().toISOString()} Uploaded ${files.length} artifact file(s) to s3://${settings.location}/${key}`,
    );
  }

  // ---- phase bookkeeping ----

  private async startPhase(record: BuildRecord, phaseType: PhaseType, say: (line: string) => void): Promise<void> {
    record.currentPhase = phaseType;
    record.phases.push({ phaseType, startTime: this.now() });
    say(`[Container] ${new Date().toISOString()} Entering phase ${phaseType}`);
    await this.save(record);
  }

  private completePhase(record: BuildRecord, phaseType: PhaseType, say: (line: string) => void): Promise<void> {
    const phase = record.phases[record.phases.length - 1];
    if (phase?.phaseType !== phaseType) throw new Error(`phase bookkeeping: expected ${phaseType}`);
    return this.endCurrentPhase(record, 'SUCCEEDED', [], say);
  }

  private async endCurrentPhase(
    record: BuildRecord,
    status: BuildStatus,
    contexts: PhaseRecord['contexts'],
    say: (line: string) => void,
  ): Promise<void> {
    const phase = record.phases[record.phases.length - 1];
    if (!phase || phase.phaseStatus) return;
    phase.phaseStatus = status;
    phase.endTime = this.now();
    if (contexts && contexts.length > 0) phase.contexts = contexts;
    if (phase.phaseType !== 'SUBMITTED' && phase.phaseType !== 'QUEUED' && phase.phaseType !== 'PROVISIONING') {
      say(`[Container] ${new Date().toISOString()} Phase complete: ${phase.phaseType} State: ${status}`);
      for (const context of contexts ?? [])
        say(
          `[Container] ${new Date().toISOString()} Phase context status code: ${context.statusCode} Message: ${context.message}`,
        );
    }
    await this.save(record);
  }

  private async finish(
    record: BuildRecord,
    status: BuildStatus,
    say: (line: string) => void,
    reason?: string,
  ): Promise<void> {
    await this.startPhase(record, 'FINALIZING', say);
    if (reason) say(`[Container] ${new Date().toISOString()} ${reason}`);
    await this.endCurrentPhase(record, 'SUCCEEDED', [], say);
    record.phases.push({ phaseType: 'COMPLETED', startTime: this.now() });
    record.currentPhase = 'COMPLETED';
    record.buildStatus = status;
    record.buildComplete = true;
    record.endTime = this.now();
    say(`[Container] ${new Date().toISOString()} Build ${status}`);
    await this.save(record);
  }

  private async save(record: BuildRecord): Promise<void> {
    await writeJsonAtomic(join(record.workDir, 'build.json'), record);
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (error) {
        console.error('[local codebuild] listener failed:', error);
      }
    }
  }

  private async recover(): Promise<void> {
    await mkdir(this.buildsDir, { recursive: true });
    for (const entry of await readdir(this.buildsDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const record = await readJsonIfExists<BuildRecord>(join(this.buildsDir, entry.name, 'build.json'));
      if (!record) continue;
      this.builds.set(record.id, record);
      if (record.buildStatus !== 'IN_PROGRESS') continue;
      if (record.pid !== undefined && (await isOrphanOf(record.pid, record.workDir))) killGroup(record.pid, 'SIGKILL');
      delete record.pid;
      const reason =
        'The local CodeBuild service stopped while this build ran (local mode was killed or crashed); the build did not finish. Start a new build.';
      const log = createWriteStream(record.logFile, { flags: 'a' });
      const say = (line: string) => log.write(line + '\n');
      await this.endCurrentPhase(record, 'FAILED', [{ statusCode: 'LOCAL_SERVICE_RESTARTED', message: reason }], say);
      await this.finish(record, 'FAILED', say);
      await new Promise<void>((ok) => log.end(ok));
    }
  }
}

function commandFailureMessage(failure: PhaseCommandFailure): string {
  const reason = failure.signal ? `signal ${failure.signal}` : `exit status ${failure.exitCode}`;
  return `Error while executing command: ${failure.command}. Reason: ${reason}`;
}

async function readBuildspecFile(srcDir: string): Promise<string> {
  for (const name of ['buildspec.yml', 'buildspec.yaml']) {
    try {
      return await readFile(join(srcDir, name), 'utf8');
    } catch {
      // try the next name
    }
  }
  // Only for the message: the missing buildspec is the error to report, not a source folder we cannot list.
  const files = await listFiles(srcDir).catch(() => [] as string[]);
  throw new BuildspecError(`no buildspec given and no buildspec.yml in the source (${files.length} files)`);
}

/** `export -p` output -> the values of `names`. */
async function readExported(envFile: string, names: readonly string[]): Promise<Record<string, string>> {
  // No env file: the phase ended before exporting anything.
  const text = await readFile(envFile, 'utf8').catch(whenMissing(''));
  const values: Record<string, string> = {};
  for (const name of names) {
    const match = new RegExp(`^declare -x ${name}="((?:[^"\\\\]|\\\\.)*)"`, 'm').exec(text);
    if (match) values[name] = match[1]!.replace(/\\(.)/g, '$1');
  }
  return values;
}

/** True when `pid` still runs one of this build's phase scripts (not some process that reused the pid). */
async function isOrphanOf(pid: number, workDir: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(workDir);
  } catch {
    return false;
  }
}

function localRepositoryPath(location: string): string {
  if (location.startsWith('file://')) return new URL(location).pathname;
  if (location.startsWith('/') || location.startsWith('.')) return resolve(location);
  throw new Error(
    `source location ${location || '(empty)'} is not a repository on this machine; local mode clones local paths or file:// URLs only`,
  );
}

/** One page of 100 of `items` from `nextToken` (an offset), under `key`, with the next token while more remain. */
function page(items: readonly string[], nextToken: unknown, key: string): Record<string, unknown> {
  const offset = typeof nextToken === 'string' ? Number(nextToken) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw new AwsApiError('InvalidInputException', 'Invalid nextToken');
  return {
    [key]: items.slice(offset, offset + 100),
    ...(offset + 100 < items.length ? { nextToken: String(offset + 100) } : {}),
  };
}

/** The commit `ref` names in the clone at `dir`, or undefined when git does not know it. */
async function resolveCommit(dir: string, ref: string): Promise<string | undefined> {
  try {
    return (
      (await git(['-C', dir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim() ||
      undefined
    );
  } catch {
    return undefined; // rev-parse --verify exits 1 for an unknown name: that is the answer, not a failure
  }
}

async function git(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`git ${args.filter((a) => a !== '--quiet').join(' ')} failed${stderr ? `: ${stderr}` : ''}`, {
      cause: error,
    });
  }
}

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => env[n] !== undefined).map((n) => [n, env[n]!]));
}

function listOf(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value)
    ? (value.filter((v) => typeof v === 'object' && v !== null) as Array<Record<string, unknown>>)
    : [];
}

function mergeVariables(
  project: ProjectRegistration['environmentVariables'],
  override: unknown,
): EnvironmentVariable[] {
  const merged = new Map<string, EnvironmentVariable>();
  const projectList: readonly EnvironmentVariable[] = Array.isArray(project)
    ? (project as readonly EnvironmentVariable[])
    : Object.entries((project as Record<string, string> | undefined) ?? {}).map(([name, value]) => ({
        name,
        value,
        type: 'PLAINTEXT' as const,
      }));
  for (const v of projectList) merged.set(v.name, { name: v.name, value: v.value, type: v.type ?? 'PLAINTEXT' });
  for (const v of listOf(override)) {
    const name = typeof v.name === 'string' ? v.name : '';
    if (!name) continue;
    const type = v.type === 'SECRETS_MANAGER' || v.type === 'PARAMETER_STORE' ? v.type : 'PLAINTEXT';
    merged.set(name, { name, value: typeof v.value === 'string' ? v.value : JSON.stringify(v.value ?? ''), type });
  }
  for (const name of merged.keys()) {
    if (name.startsWith('CODEBUILD_'))
      throw new AwsApiError(
        'InvalidInputException',
        `Environment variable name ${name} is reserved: names starting with CODEBUILD_ belong to CodeBuild`,
      );
  }
  return [...merged.values()];
}

function sourceFor(project: ProjectRegistration, input: Record<string, unknown>): LocalSource {
  const base = project.source ?? { type: 'NO_SOURCE' as const };
  const type = typeof input.sourceTypeOverride === 'string' ? (input.sourceTypeOverride as SourceType) : base.type;
  const location = typeof input.sourceLocationOverride === 'string' ? input.sourceLocationOverride : base.location;
  return { ...base, type, ...(location !== undefined ? { location } : {}) };
}

function secondarySourcesFor(project: ProjectRegistration, input: Record<string, unknown>): LocalSource[] {
  const overrides = listOf(input.secondarySourcesOverride);
  if (overrides.length === 0) return [...(project.secondarySources ?? [])];
  return overrides.map((o) => ({
    type: (typeof o.type === 'string' ? o.type : 'NO_SOURCE') as SourceType,
    ...(typeof o.location === 'string' ? { location: o.location } : {}),
    ...(typeof o.sourceIdentifier === 'string' ? { sourceIdentifier: o.sourceIdentifier } : {}),
  }));
}

function artifactsFor(project: ProjectRegistration, input: Record<string, unknown>): ArtifactsSettings {
  const override = input.artifactsOverride;
  if (typeof override === 'object' && override !== null) {
    const o = override as Record<string, unknown>;
    return {
      type: o.type === 'S3' ? 'S3' : 'NO_ARTIFACTS',
      ...(typeof o.location === 'string' ? { location: o.location } : {}),
      ...(typeof o.path === 'string' ? { path: o.path } : {}),
      ...(typeof o.name === 'string' ? { name: o.name } : {}),
      packaging: o.packaging === 'ZIP' ? 'ZIP' : 'NONE',
      namespaceType: o.namespaceType === 'BUILD_ID' ? 'BUILD_ID' : 'NONE',
    };
  }
  return project.artifacts ?? { type: 'NO_ARTIFACTS' };
}

/** The record in BatchGetBuilds' shape (Dates, which the protocol layer sends as epoch seconds). */
export function toApiBuild(record: BuildRecord) {
  const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
  return {
    id: record.id,
    arn: record.arn,
    buildNumber: record.buildNumber,
    startTime: date(record.startTime),
    endTime: date(record.endTime),
    currentPhase: record.currentPhase,
    buildStatus: record.buildStatus,
    sourceVersion: record.sourceVersion,
    resolvedSourceVersion: record.resolvedSourceVersion,
    projectName: record.projectName,
    phases: record.phases.map((p) => ({
      phaseType: p.phaseType,
      phaseStatus: p.phaseStatus,
      startTime: date(p.startTime),
      endTime: date(p.endTime),
      durationInSeconds: p.endTime === undefined ? undefined : Math.round((p.endTime - p.startTime) / 1000),
      contexts: p.contexts,
    })),
    source: { type: record.source.type, location: record.source.location },
    secondarySources: record.secondarySources.map((s) => ({
      type: s.type,
      location: s.location,
      sourceIdentifier: s.sourceIdentifier,
    })),
    secondarySourceVersions: record.secondarySourceVersions,
    artifacts: record.artifactsLocation ? { location: record.artifactsLocation } : undefined,
    environment: {
      type: 'LINUX_CONTAINER',
      image: 'lockstep-local',
      computeType: 'BUILD_GENERAL1_SMALL',
      environmentVariables: record.environmentVariables.map((v) => ({
        name: v.name,
        value: v.value,
        type: v.type ?? 'PLAINTEXT',
      })),
    },
    logs: {
      // As CodeBuild: the override's group, and its stream name as a prefix of the build's own stream.
      groupName: record.logsOverride?.groupName ?? '/lockstep/local/codebuild',
      streamName: record.logsOverride?.streamName
        ? `${record.logsOverride.streamName}/${record.id.slice(record.id.indexOf(':') + 1)}`
        : record.id,
      deepLink: pathToFileURL(record.logFile).href,
    },
    timeoutInMinutes: record.timeoutInMinutes,
    buildComplete: record.buildComplete,
    initiator: record.initiator,
    exportedEnvironmentVariables: record.exportedEnvironmentVariables,
  };
}

/** The log group and stream prefix a StartBuild asks for (`logsConfigOverride.cloudWatchLogs`), when it does. */
function logsOverrideOf(input: Record<string, unknown>): Pick<BuildRecord, 'logsOverride'> {
  const override = input.logsConfigOverride as { cloudWatchLogs?: Record<string, unknown> } | undefined;
  const cloudWatch = override?.cloudWatchLogs;
  if (!cloudWatch || cloudWatch.status === 'DISABLED') return {};
  return {
    logsOverride: {
      ...(typeof cloudWatch.groupName === 'string' ? { groupName: cloudWatch.groupName } : {}),
      ...(typeof cloudWatch.streamName === 'string' ? { streamName: cloudWatch.streamName } : {}),
    },
  };
}
