import { parse as parseYaml } from 'yaml';
import { LocalConfigurationError } from '../errors';

/**
 * A buildspec as the local runner executes it, read from an object (lambdas/core/buildspecs.ts) or YAML (a
 * `buildspec.yml` in the source, or `buildspecOverride`). Only version 0.2 is accepted: its semantics (one shell
 * per phase, variables and `cd` carried into later commands and phases) are what the runner reproduces.
 */
export const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface PhaseSpec {
  readonly commands: readonly string[];
  readonly finally: readonly string[];
  /** `ABORT` (default) or `CONTINUE` (later phases run although this one failed). */
  readonly onFailure: 'ABORT' | 'CONTINUE';
}

export interface BuildspecSpec {
  readonly variables: Readonly<Record<string, string>>;
  /** `env.secrets-manager`: variable -> `secret-id[:json-key[:version-stage]]`. */
  readonly secretsManager: Readonly<Record<string, string>>;
  readonly exportedVariables: readonly string[];
  readonly phases: Readonly<Record<PhaseName, PhaseSpec>>;
  readonly artifacts?: {
    readonly files: readonly string[];
    readonly baseDirectory?: string;
    readonly discardPaths: boolean;
    readonly name?: string;
  };
}

/** The buildspec cannot be used; CodeBuild reports this as `YAML_FILE_ERROR` in DOWNLOAD_SOURCE. */
export class BuildspecError extends LocalConfigurationError {}

export function parseBuildspec(source: string | object): BuildspecSpec {
  let raw: unknown;
  if (typeof source === 'string') {
    try {
      raw = parseYaml(source);
    } catch (error) {
      throw new BuildspecError(`buildspec is not valid YAML: ${(error as Error).message}`, { cause: error });
    }
  } else {
    raw = source;
  }
  if (!isRecord(raw)) throw new BuildspecError('buildspec must be a mapping with version and phases');
  if (String(raw.version) !== '0.2')
    throw new BuildspecError(`buildspec version ${String(raw.version)} is not supported locally; use version: 0.2`);

  const env = isRecord(raw.env) ? raw.env : {};
  if (env['parameter-store'] !== undefined) {
    throw new BuildspecError(
      'env.parameter-store is not available in local mode; use env.variables or env.secrets-manager',
    );
  }
  const variables = stringMap(env.variables, 'env.variables');
  const secretsManager = stringMap(env['secrets-manager'], 'env.secrets-manager');
  const exportedVariables = stringList(env['exported-variables'], 'env.exported-variables');

  const phasesRaw = isRecord(raw.phases) ? raw.phases : {};
  for (const name of Object.keys(phasesRaw)) {
    if (!(PHASES as readonly string[]).includes(name))
      throw new BuildspecError(`phases.${name}: unknown phase; use ${PHASES.join(', ')}`);
  }
  const phaseSpec = (name: PhaseName): PhaseSpec => {
    const phase = phasesRaw[name];
    if (phase === undefined || phase === null) return { commands: [], finally: [], onFailure: 'ABORT' };
    if (!isRecord(phase)) throw new BuildspecError(`phases.${name} must be a mapping with commands`);
    const onFailure = phase['on-failure'] ?? 'ABORT';
    if (onFailure !== 'ABORT' && onFailure !== 'CONTINUE')
      throw new BuildspecError(`phases.${name}.on-failure must be ABORT or CONTINUE`);
    return {
      commands: stringList(phase.commands, `phases.${name}.commands`),
      finally: stringList(phase.finally, `phases.${name}.finally`),
      onFailure,
    };
  };
  const phases: Record<PhaseName, PhaseSpec> = {
    install: phaseSpec('install'),
    pre_build: phaseSpec('pre_build'),
    build: phaseSpec('build'),
    post_build: phaseSpec('post_build'),
  };

  let artifacts: BuildspecSpec['artifacts'];
  if (raw.artifacts !== undefined && raw.artifacts !== null) {
    if (!isRecord(raw.artifacts)) throw new BuildspecError('artifacts must be a mapping with files');
    const files = stringList(raw.artifacts.files, 'artifacts.files');
    if (files.length === 0) throw new BuildspecError('artifacts.files must list at least one path or glob');
    const base = raw.artifacts['base-directory'];
    const discard = raw.artifacts['discard-paths'];
    artifacts = {
      files,
      ...(typeof base === 'string' ? { baseDirectory: base } : {}),
      discardPaths: discard === true || discard === 'yes',
      ...(typeof raw.artifacts.name === 'string' ? { name: raw.artifacts.name } : {}),
    };
  }
  return { variables, secretsManager, exportedVariables, phases, ...(artifacts ? { artifacts } : {}) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new BuildspecError(`${path} must be a mapping of names to values`);
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (v === null || typeof v === 'object') throw new BuildspecError(`${path}.${k} must be a string`);
      return [k, typeof v === 'string' ? v : JSON.stringify(v)];
    }),
  );
}

function stringList(value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BuildspecError(`${path} must be a list`);
  return value.map((v, i) => {
    if (v === null || typeof v === 'object') throw new BuildspecError(`${path}[${i}] must be a string`);
    return String(v);
  });
}
