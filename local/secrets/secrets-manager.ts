import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../constants';
import { readJsonIfExists, writeJsonAtomic } from '../files';
import { AwsApiError, requireString } from '../aws-protocol/errors';
import type { AwsServiceDefinition } from '../aws-protocol/server';

/**
 * Secrets Manager's GetSecretValue over awsJson1_1, reading `<dataDir>/secrets.json`:
 *
 * ```json
 * { "lockstep/github-webhook-secret": { "value": "…", "previous": "…" } }
 * ```
 *
 * `previous` (optional) is served as the `AWSPREVIOUS` stage, so a rotation can be tried locally. Secrets listed in
 * `generate` are created with random values on first start; the file is written readable by its owner only.
 */
export interface LocalSecretsOptions {
  readonly dataDir: string;
  /** Secret names created with a random value when missing. @default [] */
  readonly generate?: readonly string[];
}

interface StoredSecret {
  value: string;
  previous?: string;
}

export const SECRETS_TARGET_PREFIX = 'secretsmanager';

export class LocalSecretsManager {
  private constructor(
    private readonly file: string,
    private secrets: Record<string, StoredSecret>,
  ) {}

  static async open(options: LocalSecretsOptions): Promise<LocalSecretsManager> {
    const file = join(options.dataDir, 'secrets.json');
    const secrets = (await readJsonIfExists<Record<string, StoredSecret>>(file)) ?? {};
    let changed = false;
    for (const name of options.generate ?? []) {
      if (!secrets[name]) {
        secrets[name] = { value: randomBytes(32).toString('hex') };
        changed = true;
      }
    }
    if (changed) await writeJsonAtomic(file, secrets, 0o600);
    return new LocalSecretsManager(file, secrets);
  }

  /** The ARN a secret has locally; like AWS, the name plus a six-character suffix. */
  arnOf(name: string): string {
    const suffix = createHash('sha256')
      .update(name)
      .digest('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 6);
    return `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}-${suffix}`;
  }

  /**
   * The stored secret's name for a `SecretId`: its name, its local ARN, or any Secrets Manager ARN of that name, full
   * (with the six-character suffix) or partial, whatever its region and account. A pipeline's `secrets:` name real
   * ARNs of the AWS account; local mode serves the secret of the same name from `secrets.json`.
   */
  private nameOf(id: string): string | undefined {
    const names = Object.keys(this.secrets);
    const exact = names.find((n) => n === id || this.arnOf(n) === id);
    if (exact !== undefined) return exact;
    const named = /^arn:aws[a-z-]*:secretsmanager:[^:]*:[^:]*:secret:([^:]+)$/.exec(id)?.[1];
    if (named === undefined) return undefined;
    return names.find((n) => n === named || named === `${n}-${named.slice(-6)}`);
  }

  /** The current value by name or ARN, for in-process callers (the local git push signs with the webhook secret). */
  valueOf(nameOrArn: string): string {
    const name = this.nameOf(nameOrArn);
    const secret = name === undefined ? undefined : this.secrets[name];
    if (!secret) throw notFound(nameOrArn, this.file);
    return secret.value;
  }

  /**
   * The key in force for signing: a secret may hold one plain string or the JSON `{ "current", "previous"? }` form
   * of docs/ARCHITECTURE.md during a rotation; this returns `current` for the latter.
   */
  currentKeyOf(nameOrArn: string): string {
    const value = this.valueOf(nameOrArn);
    try {
      const parsed = JSON.parse(value) as { current?: unknown };
      if (typeof parsed.current === 'string') return parsed.current;
    } catch {
      // a plain string
    }
    return value;
  }

  /** Every secret value, so printers can mask them. */
  allValues(): string[] {
    return Object.values(this.secrets).flatMap((s) => (s.previous ? [s.value, s.previous] : [s.value]));
  }

  /** Re-reads the file, for an operator who edited it while local mode runs. */
  async reload(): Promise<void> {
    this.secrets = (await readJsonIfExists<Record<string, StoredSecret>>(this.file)) ?? {};
  }

  getSecretValue(input: Record<string, unknown>) {
    const id = requireString(input, 'SecretId');
    const name = this.nameOf(id);
    const secret = name === undefined ? undefined : this.secrets[name];
    if (name === undefined || !secret) throw notFound(id, this.file);
    const stage = typeof input.VersionStage === 'string' ? input.VersionStage : 'AWSCURRENT';
    const value = stage === 'AWSPREVIOUS' ? secret.previous : stage === 'AWSCURRENT' ? secret.value : undefined;
    if (value === undefined) {
      throw new AwsApiError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    }
    return {
      ARN: this.arnOf(name),
      Name: name,
      VersionId: createHash('sha256').update(value).digest('hex').slice(0, 32),
      SecretString: value,
      VersionStages: [stage],
      CreatedDate: new Date(0),
    };
  }

  /** ListSecrets: names and ARNs (never values), sorted by name, `MaxResults` (1-100, default 100) per page. */
  listSecrets(input: Record<string, unknown>) {
    const max = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
    if (!Number.isInteger(max) || max < 1 || max > 100)
      throw new AwsApiError('InvalidParameterException', 'MaxResults must be between 1 and 100');
    const names = Object.keys(this.secrets).sort();
    const offset = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
    if (!Number.isInteger(offset) || offset < 0)
      throw new AwsApiError('InvalidNextTokenException', 'The NextToken value is not valid');
    const page = names.slice(offset, offset + max);
    return {
      SecretList: page.map((name) => ({
        ARN: this.arnOf(name),
        Name: name,
        SecretVersionsToStages: {
          [createHash('sha256').update(this.secrets[name]!.value).digest('hex').slice(0, 32)]: ['AWSCURRENT'],
          ...(this.secrets[name]!.previous !== undefined
            ? {
                [createHash('sha256').update(this.secrets[name]!.previous).digest('hex').slice(0, 32)]: ['AWSPREVIOUS'],
              }
            : {}),
        },
        CreatedDate: new Date(0),
      })),
      ...(offset + max < names.length ? { NextToken: String(offset + max) } : {}),
    };
  }

  /** Wire definition for `startAwsServer`. */
  definition(): AwsServiceDefinition {
    return {
      serviceName: 'Secrets Manager',
      protocol: 'awsJson1_1',
      targetPrefix: SECRETS_TARGET_PREFIX,
      operations: {
        GetSecretValue: (input: Record<string, unknown>) => this.getSecretValue(input),
        ListSecrets: (input: Record<string, unknown>) => this.listSecrets(input),
      },
    };
  }
}

/** Secrets Manager's own error, with where local mode keeps its secrets and how to add the missing one. */
function notFound(id: string, file: string): AwsApiError {
  const name = /:secret:([^:]+)$/.exec(id)?.[1] ?? id;
  return new AwsApiError(
    'ResourceNotFoundException',
    `Secrets Manager can't find the specified secret. Local mode serves secrets from ${file}: add "${name}": { "value": "..." } to it (a pipeline's secret ARN is matched by its name).`,
  );
}
