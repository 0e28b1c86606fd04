/**
 * The CodeBuild projects a pipeline needs, as plain data: names, buildspecs, variables and sources.
 *
 * The CDK construct turns each into a CodeBuild project; the local CodeBuild emulator runs the same buildspec
 * objects. That is why the buildspecs stay portable: POSIX shell commands, `env.variables`, `phases` and
 * `artifacts.files` only (no `base-directory`, no reports, no secrets-manager variables, no `env.shell`).
 *
 * Contract both runners follow (it is CodeBuild's own behaviour, which the emulator reproduces):
 * - variables apply with CodeBuild precedence: buildspec `env.variables` < project `environmentVariables` <
 *   StartBuild `environmentVariablesOverride`;
 * - variables exported in one phase stay exported in later phases (buildspec version 0.2 semantics);
 * - a build project's sources are checked out at `$CODEBUILD_SRC_DIR` (the first package) and
 *   `$CODEBUILD_SRC_DIR_<identifier>` (the others), as `source.packages[].directoryVariable` says;
 * - a steps project's source is the revision artifact zip, extracted into `$CODEBUILD_SRC_DIR`.
 *
 * Projects grow with deploy targets, not with steps (ARCHITECTURE.md, "CodeBuild projects per deploy target"): every
 * deploy and test step whose grants are the same (the role it assumes, the applications whose artifacts it reads,
 * the secrets it reads, the deploy permissions) runs in one "steps" project. Its buildspec holds all those steps,
 * fixed at synth time; StartBuild selects one with `LOCKSTEP_ENVIRONMENT` and `LOCKSTEP_STEP` (`deploy` or
 * `test/<name>`), never with a buildspec override, so a StartBuild caller can only run steps that already hold the
 * same grants.
 *
 * Revision artifact layout (what deploy and test commands see in their working folder):
 * `lockstep-revision.json` (application, build request, build id, version set, commits) plus the packages' build output
 * (`build.artifacts` globs, or the whole checkout without `.git`): at the root for a single-package application,
 * in one folder per package (named after it) when the application has several.
 */
import type { EnvironmentDefinition, Pipeline, Source } from './config/schema';
import { buildProjectName, stepsProjectName } from './names';

export type ProjectKind = 'build' | 'steps';

/**
 * One step of a steps project: a deploy, a test, or (for a `deploy.cdk` environment) the security diff that runs
 * before its deploy, with the deploy's grants.
 */
export interface ProjectStep {
  readonly environment: string;
  readonly kind: 'deploy' | 'test' | 'security-diff';
  /** `deploy`, `security-diff`, or the test step's name. */
  readonly name: string;
  /** The `LOCKSTEP_STEP` value that selects it: `deploy`, `security-diff` or `test/<name>`. */
  readonly selector: string;
}

/** `LOCKSTEP_STEP` of the security diff that runs before a `deploy.cdk` environment's deploy. */
export const SECURITY_DIFF_STEP = 'security-diff';

/**
 * What a steps project may reach: the steps sharing one project share exactly these grants, so running one step
 * in another's place reaches nothing more.
 */
export interface StepGrants {
  /** The role the steps assume in pre_build. */
  readonly roleArn?: string;
  /** Applications whose revision artifacts the steps read (`revisions/<application>/*`). */
  readonly applications: readonly string[];
  /** Secrets read as variables, by variable name (Secrets Manager or Parameter Store ARNs). */
  readonly secrets: Readonly<Record<string, string>>;
  /** Deploy permissions on the project's own role (deploy steps without a role of their own). */
  readonly permissions?: EnvironmentDefinition['deploy']['permissions'];
  /**
   * Deploy steps of a `deploy.cdk` environment (and its security diff): they write the security diff of the revision
   * they receive (`securityDiffKey`) and, without a role of their own, go through the CDK bootstrap roles of the
   * target account. Never shared with a step that is not one.
   */
  readonly cdk?: true;
}

/** One package checked out for a build project. */
export interface PackageCheckout {
  readonly package: string;
  /** CodeBuild source identifier (letters, digits, `_`); the first package is the primary source. */
  readonly identifier: string;
  readonly primary: boolean;
  /** Shell variable holding the checkout folder at build time. */
  readonly directoryVariable: string;
  readonly location: Source;
}

export interface PackageSources {
  readonly type: 'packages';
  readonly packages: readonly PackageCheckout[];
}

/** The source of deploy and test projects: a revision artifact, chosen per build by StartBuild overrides. */
export interface RevisionArtifactSource {
  readonly type: 'revision-artifact';
  /** Applications whose revisions this project may receive (they reach its environment through promotions). */
  readonly applications: readonly string[];
  /** S3 key of a revision artifact; `<application>` and `<number>` are filled per build. */
  readonly keyPattern: string;
}

export interface Buildspec {
  readonly version: 0.2;
  readonly env: { readonly variables: Readonly<Record<string, string>> };
  readonly phases: Readonly<
    Partial<Record<'install' | 'pre_build' | 'build' | 'post_build', { readonly commands: readonly string[] }>>
  >;
  readonly artifacts?: { readonly files: readonly string[]; readonly 'base-directory'?: string };
}

export interface CodeBuildProjectDefinition {
  /** Physical project name, from `names.ts`. */
  readonly name: string;
  readonly kind: ProjectKind;
  /** The application a build project builds. */
  readonly application?: string;
  /** The steps a steps project runs, in pipeline order. */
  readonly steps?: readonly ProjectStep[];
  /** What a steps project's role may reach. */
  readonly grants?: StepGrants;
  readonly buildspec: Buildspec;
  /** Variables set on the project itself (fixed per project, overridable per build). */
  readonly environmentVariables: Readonly<Record<string, string>>;
  /** Variables the caller must pass with every StartBuild (`environmentVariablesOverride`). */
  readonly perBuildVariables: readonly string[];
  readonly source: PackageSources | RevisionArtifactSource;
  /**
   * Build projects: where the runner uploads the artifact, zipped (`packaging: ZIP`), as set per build with
   * StartBuild `artifactsOverride` (path `revisions/<application>/<number>`, name `artifact.zip`).
   */
  readonly artifact?: { readonly packaging: 'ZIP'; readonly keyPattern: string };
  /** Steps projects: IAM role assumed in pre_build before the commands run. */
  readonly roleArn?: string;
  /**
   * Steps projects: the steps' `secrets:` (variable -> Secrets Manager or Parameter Store ARN; every step of a
   * project has the same ones, since secrets are part of its grants), which
   * CodeBuild resolves when a build starts (on AWS as `SECRETS_MANAGER`/`PARAMETER_STORE` project variables, locally
   * through the local Secrets Manager).
   */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** S3 prefix under which every revision artifact lives. */
export const REVISIONS_PREFIX = 'revisions/';
/** File name of a revision artifact, as uploaded by build projects. */
export const REVISION_ARTIFACT_FILE = 'artifact.zip';
/** Describes the revision inside its artifact. */
export const REVISION_MANIFEST_FILE = 'lockstep-revision.json';
/** Folder (under `$CODEBUILD_SRC_DIR`) where a build assembles the revision before the runner zips it. */
export const ARTIFACT_DIRECTORY = '.lockstep-artifact';

/**
 * S3 prefix where build projects upload: `builds/<application>/<build request>/artifact.zip`. Revision numbers
 * are given to successful builds only, so the reconcile pass copies a finished build's artifact to its revision key.
 */
export const BUILDS_PREFIX = 'builds/';

/** S3 key of a build's artifact before it becomes a revision. */
export function buildArtifactKey(application: string, buildRequest: string): string {
  return `${BUILDS_PREFIX}${application}/${buildRequest}/${REVISION_ARTIFACT_FILE}`;
}

/** S3 key of a revision's artifact: `revisions/<application>/<number>/artifact.zip`. */
export function revisionArtifactKey(application: string, revision: number | string): string {
  return `${REVISIONS_PREFIX}${application}/${revision}/${REVISION_ARTIFACT_FILE}`;
}

/**
 * S3 key where the security diff of `revision` for `environment` is written (`{ broadening, stacks, diff }`, see
 * `lambdas/promotion/permissions-gate.ts`): beside the revision's artifact, which only this revision's promotions read.
 */
export function securityDiffKey(application: string, revision: number | string, environment: string): string {
  return `${REVISIONS_PREFIX}${application}/${revision}/${SECURITY_DIFF_FOLDER}/${environment}.json`;
}
/** The folder under a revision's prefix that holds its security diffs, one per `deploy.cdk` environment. */
export const SECURITY_DIFF_FOLDER = 'security-diff';

const STEP_PER_BUILD = [
  'LOCKSTEP_APPLICATION',
  'LOCKSTEP_REVISION',
  'LOCKSTEP_FENCING_TOKEN',
  'LOCKSTEP_ROLLBACK',
  'LOCKSTEP_ENVIRONMENT',
  'LOCKSTEP_STEP',
];
const BUILD_PER_BUILD = ['LOCKSTEP_BUILD_REQUEST'];

/**
 * Every CodeBuild project `pipeline` needs: one build project per application, then one steps project per set of
 * step grants (see `stepGrants`), in pipeline order of their first step.
 *
 * @example
 * for (const project of codeBuildProjects(pipeline)) console.log(project.name, project.kind);
 */
export function codeBuildProjects(pipeline: Pipeline): CodeBuildProjectDefinition[] {
  const builds = pipeline.applications.map((application) => buildProject(pipeline, application.name));
  return [...builds, ...stepsProjects(pipeline)];
}

/** Every deploy and test step of `pipeline`, in pipeline order, with the grants it needs. */
function pipelineSteps(pipeline: Pipeline): { step: ProjectStep; grants: StepGrants }[] {
  return pipeline.stages.flatMap((stage) =>
    stage.environments.flatMap((environment) => [
      ...(environment.deploy.cdk
        ? [{ step: stepOf(environment.name, 'security-diff'), grants: stepGrants(pipeline, environment, 'deploy') }]
        : []),
      { step: stepOf(environment.name, 'deploy'), grants: stepGrants(pipeline, environment, 'deploy') },
      ...environment.approval.tests.map((test) => ({
        step: stepOf(environment.name, 'test', test.name),
        grants: stepGrants(pipeline, environment, 'test', test.name),
      })),
    ]),
  );
}

function stepOf(environment: string, kind: ProjectStep['kind'], name: string = kind): ProjectStep {
  return { environment, kind, name, selector: kind === 'test' ? `test/${name}` : kind };
}

/**
 * What one step may reach. Deploy permissions belong to deploy steps only, and each step's own secrets to it, so a
 * test never shares a project (and so a role) with a deploy that has more.
 */
export function stepGrants(
  pipeline: Pipeline,
  environment: EnvironmentDefinition,
  kind: 'deploy' | 'test',
  testName?: string,
): StepGrants {
  const secrets =
    kind === 'deploy'
      ? (environment.deploy.secrets ?? {})
      : (environment.approval.tests.find((t) => t.name === testName)?.secrets ?? {});
  return {
    ...(environment.roleArn ? { roleArn: environment.roleArn } : {}),
    applications: cachedApplicationsReaching(pipeline, environment.name),
    secrets: Object.fromEntries(Object.entries(secrets).sort(([a], [b]) => a.localeCompare(b))),
    ...(kind === 'deploy' && environment.deploy.permissions ? { permissions: environment.deploy.permissions } : {}),
    ...(kind === 'deploy' && environment.deploy.cdk ? { cdk: true as const } : {}),
  };
}

/** A stable text of the grants: equal grants, equal key; the project name is derived from it. */
function grantsKey(grants: StepGrants): string {
  const key = [grants.roleArn ?? null, grants.applications, grants.secrets, grants.permissions ?? null];
  // Appended only when set, so the project names of pipelines without deploy.cdk stay what they were.
  return JSON.stringify(grants.cdk ? [...key, 'cdk'] : key);
}

/**
 * The name of the steps project that runs a step (`deploy`, or a test step's name with `kind` 'test').
 *
 * @example
 * stepProjectName(pipeline, 'alpha', 'deploy'); // 'lockstep-shop-steps-home-1a2b3c4d'
 */
export function stepProjectName(
  pipeline: Pipeline,
  environmentName: string,
  step: 'deploy' | { test: string },
): string {
  const environment = findEnvironment(pipeline, environmentName);
  const grants =
    step === 'deploy'
      ? stepGrants(pipeline, environment, 'deploy')
      : stepGrants(pipeline, environment, 'test', step.test);
  return stepsProjectNameFor(pipeline, grants);
}

function stepsProjectNameFor(pipeline: Pipeline, grants: StepGrants): string {
  // The account of the role names the target in the console; the hash tells apart two sets of grants there.
  const account = grants.roleArn ? grants.roleArn.split(':')[4]! : 'home';
  return stepsProjectName(pipeline.pipeline.name, account, grantsKey(grants));
}

/** The steps projects of `pipeline`: one per distinct set of step grants. */
function stepsProjects(pipeline: Pipeline): CodeBuildProjectDefinition[] {
  const groups = new Map<string, { grants: StepGrants; steps: ProjectStep[] }>();
  for (const { step, grants } of pipelineSteps(pipeline)) {
    const key = grantsKey(grants);
    const group = groups.get(key) ?? { grants, steps: [] };
    group.steps.push(step);
    groups.set(key, group);
  }
  const names = new Map<string, string>();
  return [...groups.entries()].map(([key, { grants, steps }]) => {
    const name = stepsProjectNameFor(pipeline, grants);
    if (names.has(name) && names.get(name) !== key)
      throw new RangeError(`Two sets of step grants hash to the project name ${name}; rename an environment`);
    names.set(name, key);
    return stepsProject(pipeline, name, grants, steps);
  });
}

/**
 * Applications whose revisions can reach `environment`: those named by the promotion into it, or, when it is
 * promoted from another environment, whatever reaches that one. Sorted; empty when nothing is promoted into it.
 */
export function applicationsReaching(pipeline: Pipeline, environment: string): string[] {
  const found = new Set<string>();
  const visited = new Set<string>();
  const visit = (destination: string): void => {
    if (visited.has(destination)) return; // a cycle is reported by validate.ts; here it must only terminate
    visited.add(destination);
    for (const promotion of pipeline.promotions.filter((p) => p.to === destination)) {
      if ('application' in promotion.from) {
        for (const application of ([] as string[]).concat(promotion.from.application)) found.add(application);
      } else {
        visit(promotion.from.environment);
      }
    }
  };
  visit(environment);
  return [...found].sort();
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Problems that would make a buildspec unusable although the pipeline passes its schema: variable names a shell
 * cannot export, and names CodeBuild or Lockstep reserve. Each message names the path and the fix.
 */
export function buildspecProblems(pipeline: Pipeline): string[] {
  const problems: string[] = [];
  const check = (path: string, variables: Record<string, string> | undefined): void => {
    for (const name of Object.keys(variables ?? {})) {
      if (!VARIABLE_NAME.test(name)) {
        problems.push(`${path}.${name}: use letters, digits and "_" for a variable name, not starting with a digit`);
      } else if (/^(CODEBUILD_|LOCKSTEP_)/.test(name)) {
        problems.push(`${path}.${name}: names starting with CODEBUILD_ or LOCKSTEP_ are reserved; rename the variable`);
      }
    }
  };
  pipeline.packages.forEach((p, i) => check(`packages[${i}].build.variables`, p.build.variables));
  pipeline.applications.forEach((application, i) => {
    const seen = new Map<string, string>();
    for (const name of application.packages) {
      const other = seen.get(sourceIdentifier(name));
      if (other !== undefined && other !== name) {
        problems.push(
          `applications[${i}].packages: "${other}" and "${name}" both become CodeBuild source "${sourceIdentifier(name)}"; rename one`,
        );
      }
      seen.set(sourceIdentifier(name), name);
    }
  });
  pipeline.stages.forEach((stage, s) =>
    stage.environments.forEach((environment, e) => {
      const path = `stages[${s}].environments[${e}]`;
      check(`${path}.deploy.variables`, environment.deploy.variables);
      environment.approval.tests.forEach((test, t) => check(`${path}.approval.tests[${t}].variables`, test.variables));
    }),
  );
  return problems;
}

export function buildProject(pipeline: Pipeline, applicationName: string): CodeBuildProjectDefinition {
  const application = pipeline.applications.find((a) => a.name === applicationName);
  if (!application) throw new RangeError(`No application named ${applicationName}`);
  const checkouts = packageCheckouts(pipeline, application.packages);

  const packageCommands = checkouts.map((checkout) => {
    const definition = pipeline.packages.find((p) => p.name === checkout.package);
    // checkouts only holds packages that exist (packageCheckouts throws otherwise)
    const build = definition!.build;
    const exports = Object.entries(build.variables ?? {}).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
    // One command per package: a subshell so its `cd` and variables cannot leak into the next package's build.
    return [
      `echo "Building package ${checkout.package}"`,
      '(',
      'set -e',
      `cd "$${checkout.directoryVariable}"`,
      ...exports,
      ...build.commands,
      ')',
    ].join('\n');
  });

  const manifest = revisionManifestCommand(pipeline, application.name, checkouts);
  const flat = checkouts.length === 1;
  const zipCommands = checkouts.map((checkout) => {
    const definition = pipeline.packages.find((p) => p.name === checkout.package)!;
    // A single-package application's artifact is that package's output at the root; with several packages each
    // gets a folder named after it.
    const prefix = flat ? '' : `${checkout.package}/`;
    const include = definition.build.artifacts?.length
      ? ` -i ${definition.build.artifacts.map((glob) => shellQuote(`${prefix}${glob}`)).join(' ')}`
      : '';
    const exclude = `-x ${shellQuote(`${prefix}.git/*`)}${checkout.primary ? ` ${shellQuote(`${prefix}${ARTIFACT_DIRECTORY}/*`)}` : ''}`;
    // zip exits 12 when nothing matched: say which package's globs are wrong instead of a bare exit code.
    const onNothing = `|| { echo ${shellQuote(`Package ${checkout.package}: no file matched its build.artifacts`)} >&2; exit 1; }`;
    if (flat)
      return `(cd "$${checkout.directoryVariable}" && zip -qr "$LOCKSTEP_ZIP" . ${exclude}${include}) ${onNothing}`;
    const folder = shellQuote(checkout.package);
    // zip stores paths relative to the working folder, so each checkout is linked into the staging folder under
    // its package name; zip follows the link and the archive gets `<package>/...` paths.
    return [
      `ln -s "$${checkout.directoryVariable}" "$LOCKSTEP_STAGE"/${folder}`,
      `(cd "$LOCKSTEP_STAGE" && zip -qr "$LOCKSTEP_ZIP" ${folder} ${exclude}${include}) ${onNothing}`,
    ].join('\n');
  });

  return {
    name: buildProjectName(pipeline.pipeline.name, application.name),
    kind: 'build',
    application: application.name,
    buildspec: {
      version: 0.2,
      env: { variables: {} },
      phases: {
        pre_build: {
          commands: [
            requireVariablesCommand(BUILD_PER_BUILD, 'LOCKSTEP_BUILD_REQUEST', '[!A-Za-z0-9_.:-]'),
            `echo "Building ${application.name} for build request $LOCKSTEP_BUILD_REQUEST"`,
          ],
        },
        build: {
          commands: [
            ...packageCommands,
            // Packaging is the last build command rather than post_build, which CodeBuild runs after a failure too.
            [
              'export LOCKSTEP_STAGE="$(mktemp -d)"',
              // Outside every checkout, so zipping the primary package's folder cannot pick up the archive itself.
              'export LOCKSTEP_ZIP="$LOCKSTEP_STAGE.zip"',
              `rm -rf "$CODEBUILD_SRC_DIR/${ARTIFACT_DIRECTORY}"`,
            ].join('\n'),
            manifest,
            `(cd "$LOCKSTEP_STAGE" && zip -q "$LOCKSTEP_ZIP" ${REVISION_MANIFEST_FILE})`,
            ...zipCommands,
            // zip selected the files (globs, exclusions); the runner zips the folder again as the revision artifact.
            `unzip -q "$LOCKSTEP_ZIP" -d "$CODEBUILD_SRC_DIR/${ARTIFACT_DIRECTORY}" && rm -f "$LOCKSTEP_ZIP"`,
            `echo "Artifact: $(find "$CODEBUILD_SRC_DIR/${ARTIFACT_DIRECTORY}" -type f | wc -l) files"`,
          ],
        },
      },
      artifacts: { files: ['**/*'], 'base-directory': ARTIFACT_DIRECTORY },
    },
    environmentVariables: {
      LOCKSTEP_PIPELINE: pipeline.pipeline.name,
      LOCKSTEP_APPLICATION: application.name,
    },
    perBuildVariables: BUILD_PER_BUILD,
    source: { type: 'packages', packages: checkouts },
    artifact: {
      packaging: 'ZIP',
      keyPattern: buildArtifactKey(application.name, '<build request>'),
    },
  };
}

const GUARD_END = 'fi';
const GUARD = /^if \[ "\$LOCKSTEP_ENVIRONMENT\/\$LOCKSTEP_STEP" = '[^']*' \]; then\n([\s\S]*)\nfi$/;

/**
 * The pipeline's own command inside a steps project's guarded build command (`stepsProject`), for messages that
 * name a failing command; any other command as it is.
 *
 * @example
 * stepCommand("if [ \"$LOCKSTEP_ENVIRONMENT/$LOCKSTEP_STEP\" = 'alpha/deploy' ]; then\n./deploy.sh\nfi"); // './deploy.sh'
 */
export function stepCommand(command: string): string {
  return GUARD.exec(command)?.[1] ?? command;
}

/**
 * A project that runs `steps`, all holding `grants`. pre_build checks the per-build variables, selects the step
 * (its environment's target and the step's own variables, set over anything StartBuild passed), says what runs and
 * assumes the role; the build phase runs the selected step's commands, each guarded by the selection so every
 * command stays a command of its own (CodeBuild's per-command failure and the shell state between commands).
 */
function stepsProject(
  pipeline: Pipeline,
  name: string,
  grants: StepGrants,
  steps: readonly ProjectStep[],
): CodeBuildProjectDefinition {
  const selected = '"$LOCKSTEP_ENVIRONMENT/$LOCKSTEP_STEP"';
  const branches = steps.map((step) => {
    const environment = findEnvironment(pipeline, step.environment);
    const variables =
      step.kind === 'test'
        ? (environment.approval.tests.find((t) => t.name === step.name)!.variables ?? {})
        : (environment.deploy.variables ?? {});
    const exports = Object.entries({
      ...targetVariables(environment),
      ...(step.kind === 'test' ? { LOCKSTEP_TEST_STEP: step.name } : {}),
      ...variables,
    }).map(([variable, value]) => `${variable}=${shellQuote(value)}`);
    return `  ${shellQuote(`${step.environment}/${step.selector}`)}) ${exports.length ? `export ${exports.join(' ')}` : ':'} ;;`;
  });
  const known = steps.map((step) => `${step.environment}/${step.selector}`).join(', ');
  const selection = [
    // Target variables come from the selected step only, never from StartBuild.
    'unset LOCKSTEP_TARGET_ACCOUNT LOCKSTEP_TARGET_REGION LOCKSTEP_TARGET_ROLE_ARN LOCKSTEP_TEST_STEP',
    `case ${selected} in`,
    ...branches,
    `  *) echo ${shellQuote(`Project ${name} runs no step `)}${selected}${shellQuote(`; it runs ${known.length > 300 ? `${known.slice(0, 300)}...` : known}`)} >&2; exit 1 ;;`,
    'esac',
  ].join('\n');
  const commands = steps.flatMap((step) => {
    const environment = findEnvironment(pipeline, step.environment);
    const stepCommands =
      step.kind === 'test'
        ? environment.approval.tests.find((t) => t.name === step.name)!.commands
        : environment.deploy.cdk
          ? [cdkStepCommand(environment.deploy.cdk, step.kind, grants)]
          : (environment.deploy.commands ?? []);
    const guard = `if [ ${selected} = ${shellQuote(`${step.environment}/${step.selector}`)} ]; then`;
    return stepCommands.map((command) => `${guard}\n${command}\n${GUARD_END}`);
  });
  return {
    name,
    kind: 'steps',
    steps,
    grants,
    buildspec: {
      version: 0.2,
      env: { variables: {} },
      phases: {
        pre_build: {
          commands: [
            requireVariablesCommand(STEP_PER_BUILD),
            selection,
            'if [ "$LOCKSTEP_STEP" = deploy ]; then if [ "$LOCKSTEP_ROLLBACK" = "true" ]; then action="Rolling back"; else action="Deploying"; fi; ' +
              'echo "$action $LOCKSTEP_APPLICATION revision $LOCKSTEP_REVISION to $LOCKSTEP_ENVIRONMENT (fencing token $LOCKSTEP_FENCING_TOKEN)"; ' +
              // Only projects with a security diff say so, so other projects' buildspecs stay as they were.
              (steps.some((step) => step.kind === 'security-diff')
                ? `elif [ "$LOCKSTEP_STEP" = ${SECURITY_DIFF_STEP} ]; then echo "Checking $LOCKSTEP_APPLICATION revision $LOCKSTEP_REVISION for permission broadening at $LOCKSTEP_ENVIRONMENT"; `
                : '') +
              'else echo "Testing $LOCKSTEP_APPLICATION revision $LOCKSTEP_REVISION at $LOCKSTEP_ENVIRONMENT: step $LOCKSTEP_TEST_STEP"; fi',
            ...targetCommands(grants),
          ],
        },
        build: { commands },
      },
    },
    environmentVariables: {
      LOCKSTEP_PIPELINE: pipeline.pipeline.name,
      // A default so a deploy started without the override is a forward deploy, never an accidental rollback.
      LOCKSTEP_ROLLBACK: 'false',
    },
    perBuildVariables: STEP_PER_BUILD,
    source: {
      type: 'revision-artifact',
      applications: grants.applications,
      keyPattern: revisionArtifactKey('<application>', '<number>'),
    },
    ...(grants.roleArn ? { roleArn: grants.roleArn } : {}),
    ...(Object.keys(grants.secrets).length > 0 ? { secrets: grants.secrets } : {}),
  };
}

/**
 * Environments by name and the applications reaching each, per pipeline object: a pipeline of a thousand
 * environments looks each up for every one of its steps. A validated pipeline is not changed afterwards.
 */
const indexes = new WeakMap<
  Pipeline,
  { environments: Map<string, EnvironmentDefinition>; reaching: Map<string, string[]> }
>();

function indexOf(pipeline: Pipeline): {
  environments: Map<string, EnvironmentDefinition>;
  reaching: Map<string, string[]>;
} {
  let index = indexes.get(pipeline);
  if (!index) {
    const environments = new Map<string, EnvironmentDefinition>();
    for (const stage of pipeline.stages)
      for (const environment of stage.environments)
        if (!environments.has(environment.name)) environments.set(environment.name, environment);
    index = { environments, reaching: new Map() };
    indexes.set(pipeline, index);
  }
  return index;
}

function findEnvironment(pipeline: Pipeline, name: string): EnvironmentDefinition {
  const environment = indexOf(pipeline).environments.get(name);
  if (!environment) throw new RangeError(`No environment named ${name}`);
  return environment;
}

function cachedApplicationsReaching(pipeline: Pipeline, environment: string): string[] {
  const { reaching } = indexOf(pipeline);
  let found = reaching.get(environment);
  if (!found) {
    found = applicationsReaching(pipeline, environment);
    reaching.set(environment, found);
  }
  return found;
}

function targetVariables(environment: EnvironmentDefinition): Record<string, string> {
  return {
    ...(environment.account ? { LOCKSTEP_TARGET_ACCOUNT: environment.account } : {}),
    ...(environment.region ? { LOCKSTEP_TARGET_REGION: environment.region } : {}),
    ...(environment.roleArn ? { LOCKSTEP_TARGET_ROLE_ARN: environment.roleArn } : {}),
  };
}

/**
 * Commands that point the AWS CLI and SDKs at the selected environment's region (when it has one) and assume the
 * project's role (exported for later phases).
 */
function targetCommands(grants: StepGrants): string[] {
  const commands: string[] = [
    'if [ -n "${LOCKSTEP_TARGET_REGION:-}" ]; then export AWS_REGION="$LOCKSTEP_TARGET_REGION" AWS_DEFAULT_REGION="$LOCKSTEP_TARGET_REGION"; fi',
  ];
  if (grants.roleArn) {
    commands.push(
      [
        // Session names allow [\w+=,.@-] up to 64 characters; environment and application names already comply.
        'session="$(printf "lockstep-%s-%s-r%s" "$LOCKSTEP_ENVIRONMENT" "$LOCKSTEP_APPLICATION" "$LOCKSTEP_REVISION" | cut -c1-64)"',
        'credentials="$(aws sts assume-role --role-arn "$LOCKSTEP_TARGET_ROLE_ARN" --role-session-name "$session" ' +
          "--query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)\"",
        'set -- $credentials',
        'export AWS_ACCESS_KEY_ID="$1" AWS_SECRET_ACCESS_KEY="$2" AWS_SESSION_TOKEN="$3"',
        'echo "Assumed $LOCKSTEP_TARGET_ROLE_ARN as $session"',
      ].join('\n'),
    );
  }
  return commands;
}

/**
 * Fails the build early, naming the variable, when a StartBuild forgot a per-build variable, and refuses a value
 * of `checked` with characters outside the expected set (it lands in JSON and S3 keys unescaped).
 */
function requireVariablesCommand(
  names: readonly string[],
  checked = 'LOCKSTEP_REVISION',
  forbidden = '[!0-9]',
): string {
  return [
    ...names.map(
      (name) =>
        `if [ -z "\${${name}:-}" ]; then echo "${name} must be set by StartBuild environmentVariablesOverride" >&2; exit 1; fi`,
    ),
    `case "$${checked}" in *${forbidden}*) echo "${checked} has characters outside ${forbidden.replace('!', '')}" >&2; exit 1;; esac`,
  ].join('\n');
}

/**
 * CodeBuild source identifier of a package: letters, digits and `_` (package names may also hold `-`). The
 * CodeBuild adapter uses it for `secondarySourcesVersionOverride`; `buildspecProblems` reports two packages of one
 * application that map to the same identifier.
 */
export function sourceIdentifier(packageName: string): string {
  return packageName.replace(/[^A-Za-z0-9_]/g, '_');
}

function packageCheckouts(pipeline: Pipeline, packageNames: readonly string[]): PackageCheckout[] {
  return packageNames.map((name, index) => {
    const definition = pipeline.packages.find((p) => p.name === name);
    if (!definition) throw new RangeError(`No package named ${name}`);
    const identifier = sourceIdentifier(name);
    return {
      package: name,
      identifier,
      primary: index === 0,
      directoryVariable: index === 0 ? 'CODEBUILD_SRC_DIR' : `CODEBUILD_SRC_DIR_${identifier}`,
      location: definition.source,
    };
  });
}

/**
 * Writes `lockstep-revision.json` into the staging folder. Everything known now is escaped here with
 * JSON.stringify; the values only known at build time (build request, commits, build id) are checked ids, hex or
 * CodeBuild ids, so plain printf is safe for them.
 */
function revisionManifestCommand(
  pipeline: Pipeline,
  application: string,
  checkouts: readonly PackageCheckout[],
): string {
  const lines: string[] = [];
  checkouts.forEach((checkout, index) => {
    const fallback = checkout.primary
      ? 'CODEBUILD_RESOLVED_SOURCE_VERSION'
      : `CODEBUILD_SOURCE_VERSION_${checkout.identifier}`;
    lines.push(
      `commit_${index}="$(git -C "$${checkout.directoryVariable}" rev-parse HEAD 2>/dev/null || printf %s "\${${fallback}:-unknown}")"`,
    );
  });
  const packages = checkouts.map((checkout, index) => {
    const location = checkout.location;
    const [kind, detail] =
      'github' in location
        ? ['github', { repository: `${location.github.owner}/${location.github.repo}`, branch: location.github.branch }]
        : 'codecommit' in location
          ? ['codecommit', { repository: location.codecommit.repository, branch: location.codecommit.branch }]
          : ['local', { repository: location.local.path, branch: location.local.branch }];
    const fixed = JSON.stringify({ name: checkout.package, source: kind, ...detail });
    // `{...}` without its closing brace, then the commit appended at build time.
    return { fixed: fixed.slice(0, -1), commitVar: `commit_${index}`, name: checkout.package };
  });
  const versionSet = packages.map((p) => `${JSON.stringify(p.name)}:"%s"`).join(',');
  const packageList = packages.map((p) => `${p.fixed.replace(/%/g, '%%')},"commit":"%s"}`).join(',');
  const head = JSON.stringify({ pipeline: pipeline.pipeline.name, application }).slice(0, -1).replace(/%/g, '%%');
  const format = `${head},"buildRequest":"%s","buildId":"%s","versionSet":{${versionSet}},"packages":[${packageList}]}\\n`;
  const args = [
    '"$LOCKSTEP_BUILD_REQUEST"',
    '"${CODEBUILD_BUILD_ID:-local}"',
    ...packages.map((p) => `"$${p.commitVar}"`),
    ...packages.map((p) => `"$${p.commitVar}"`),
  ];
  lines.push(`printf ${shellQuote(format)} ${args.join(' ')} > "$LOCKSTEP_STAGE/${REVISION_MANIFEST_FILE}"`);
  return lines.join('\n');
}

/** Quotes a value for POSIX shells: single quotes, with embedded single quotes closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Per-build variable of a security-diff build: `s3://<artifacts bucket>/<securityDiffKey>`, where it writes. */
export const SECURITY_DIFF_URI_VARIABLE = 'LOCKSTEP_SECURITY_DIFF_URI';

/**
 * The one command of a `deploy.cdk` environment's security-diff or deploy step. Both synthesize the app once into
 * a temporary cloud assembly and work on that assembly, with the CDK CLI's own selection of `stacks`.
 *
 * - security-diff: `cdk diff --security-only --fail-on=broadening` per stack, against the deployed stack on AWS
 *   (`--method=template`: the bootstrap lookup role reads the template, no change set is made) or, in local mode,
 *   against the template the last local deploy recorded (`--template`; `{}` before the first). The CLI exits 1 both
 *   on broadening and on an error, so an exit 1 is confirmed by the same diff with `--fail-on=never`, which exits 0
 *   unless the CLI failed. It uploads `{ broadening, stacks, diff }` (the broadening stacks' security tables, as the
 *   CLI printed them) to `$LOCKSTEP_SECURITY_DIFF_URI`, with the project's own credentials.
 * - deploy: the whole diff for the log, then `cdk deploy --require-approval never`. Local mode has no
 *   CloudFormation: it records each stack's synthesized template under `$LOCKSTEP_DEPLOY_ROOT/<environment>/cdk/`
 *   and says so; the next security diff compares with that.
 *
 * `LOCKSTEP_DEPLOY_ROOT` is set by local mode only (docs/ARCHITECTURE.md, "Permission-broadening gate").
 */
function cdkStepCommand(
  cdk: NonNullable<EnvironmentDefinition['deploy']['cdk']>,
  kind: 'deploy' | 'security-diff',
  grants: StepGrants,
): string {
  const stacks = cdk.stacks.map(shellQuote).join(' ');
  const recorded =
    'recorded="$LOCKSTEP_DEPLOY_ROOT/$LOCKSTEP_ENVIRONMENT/cdk/$(printf %s "$stack" | tr / _).template.json"';
  // What the diff of "$stack" compares with, as "$@" (POSIX sh has no arrays; a path with spaces stays one word):
  // the deployed stack on AWS, the template the last local deploy recorded in local mode.
  const comparison = [
    '  if [ -n "${LOCKSTEP_DEPLOY_ROOT:-}" ]; then',
    `    ${recorded}`,
    '    if [ ! -f "$recorded" ]; then recorded="$out/never-deployed.json"; echo "{}" > "$recorded"; fi',
    '    set -- --template "$recorded"',
    '  else set -- --method=template; fi',
  ];
  const prelude = [
    `cd "$CODEBUILD_SRC_DIR"/${shellQuote(cdk.app)}`,
    'export CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=true',
    'out="$(mktemp -d)"',
    // Local mode has no STS: without credentials the CLI skips its default-account lookup, which would try AWS.
    'cdk_cli() {',
    `  if [ -n "\${LOCKSTEP_DEPLOY_ROOT:-}" ]; then env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN ${cdk.cli} "$@"; else ${cdk.cli} "$@"; fi`,
    '}',
    `cdk_cli synth --quiet --no-notices --output "$out"`,
    `selected="$(cdk_cli ls --app "$out" --no-notices ${stacks})"`,
    `if [ -z "$selected" ]; then echo ${shellQuote(`No stack of the app matches ${cdk.stacks.join(' ')}`)} >&2; exit 1; fi`,
  ];
  if (kind === 'security-diff') {
    const ownCredentials = grants.roleArn
      ? 'env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN '
      : '';
    return [
      ...prelude,
      `case "\${${SECURITY_DIFF_URI_VARIABLE}:-}" in`,
      `  s3://*/revisions/"$LOCKSTEP_APPLICATION"/"$LOCKSTEP_REVISION"/${SECURITY_DIFF_FOLDER}/"$LOCKSTEP_ENVIRONMENT".json) ;;`,
      `  *) echo "${SECURITY_DIFF_URI_VARIABLE} must be s3://<artifacts bucket>/revisions/$LOCKSTEP_APPLICATION/$LOCKSTEP_REVISION/${SECURITY_DIFF_FOLDER}/$LOCKSTEP_ENVIRONMENT.json" >&2; exit 1 ;;`,
      'esac',
      'broadening=false; : > "$out/broadening.txt"; : > "$out/broadening-stacks.txt"',
      'for stack in $selected; do',
      ...comparison,
      '  rc=0',
      `  cdk_cli diff --app "$out" --no-color --no-notices --exclusively "$@" --security-only --fail-on=broadening "$stack" > "$out/diff.txt" 2>&1 || rc=$?`,
      '  cat "$out/diff.txt"',
      '  if [ "$rc" -eq 1 ]; then',
      // Exit 1 is broadening or a failure: the same diff that never fails on a change tells them apart.
      `    if ! cdk_cli diff --app "$out" --no-color --no-notices --exclusively "$@" --security-only --fail-on=never "$stack" > /dev/null 2>&1; then echo "cdk diff failed for $stack" >&2; exit 1; fi`,
      '    broadening=true; cat "$out/diff.txt" >> "$out/broadening.txt"; echo "$stack" >> "$out/broadening-stacks.txt"',
      '  elif [ "$rc" -ne 0 ]; then echo "cdk diff failed for $stack (exit $rc)" >&2; exit "$rc"; fi',
      'done',
      `node -e ${shellQuote('const fs = require("fs"); const [broadening, stacks, diff] = process.argv.slice(1); process.stdout.write(JSON.stringify({ broadening: broadening === "true", stacks: fs.readFileSync(stacks, "utf8").split("\\n").filter(Boolean), diff: fs.readFileSync(diff, "utf8") }))')} "$broadening" "$out/broadening-stacks.txt" "$out/broadening.txt" > "$out/security-diff.json"`,
      `${ownCredentials}aws s3 cp --only-show-errors --content-type application/json "$out/security-diff.json" "$${SECURITY_DIFF_URI_VARIABLE}"`,
      'if [ "$broadening" = true ]; then echo "Permissions broaden: the deploy waits for a permissions-broadening approval"; else echo "No permission broadening"; fi',
    ].join('\n');
  }
  return [
    ...prelude,
    'for stack in $selected; do',
    ...comparison,
    `  cdk_cli diff --app "$out" --no-color --no-notices --exclusively "$@" --fail-on=never "$stack"`,
    'done',
    'if [ -n "${LOCKSTEP_DEPLOY_ROOT:-}" ]; then',
    '  mkdir -p "$LOCKSTEP_DEPLOY_ROOT/$LOCKSTEP_ENVIRONMENT/cdk"',
    '  for stack in $selected; do',
    `    ${recorded}`,
    `    cdk_cli synth --app "$out" --exclusively --json --no-notices "$stack" > "$recorded.tmp" && mv "$recorded.tmp" "$recorded"`,
    '    echo "Local mode has no CloudFormation: recorded the synthesized template of $stack as deployed ($recorded)"',
    '  done',
    'else',
    `  cdk_cli deploy --app "$out" --require-approval never --no-notices --exclusively ${stacks}`,
    'fi',
  ].join('\n');
}
