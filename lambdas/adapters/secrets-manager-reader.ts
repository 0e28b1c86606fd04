/** Secrets Manager reads, cached per cold start for `ttlMs` so rotation is picked up without a redeploy. */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretReader } from '../ports/services';

export class SecretsManagerReader implements SecretReader {
  private readonly cache = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly ttlMs = 5 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(secretId: string): Promise<string> {
    const cached = this.cache.get(secretId);
    const now = this.clock();
    if (cached && cached.until > now) return cached.value;
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (result.SecretString === undefined) throw new Error(`Secret ${secretId} has no string value`);
    this.cache.set(secretId, { value: result.SecretString, until: now + this.ttlMs });
    return result.SecretString;
  }

  /** Drops the cache (after a signature check failed with cached secrets, in case they rotated). */
  clear(): void {
    this.cache.clear();
  }
}
