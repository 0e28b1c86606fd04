/**
 * Secrets Manager reads through Powertools' `SecretsProvider`, which caches each value for `maxAgeSeconds` per cold
 * start, so rotation is picked up without a redeploy. `fresh: true` skips the cache (a webhook signature that fails
 * with the cached secret may have been made with a newer one).
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretReader } from '../ports/services';

/** How long a secret's value is reused before it is read again: five minutes. */
export const SECRET_MAX_AGE_SECONDS = 300;

export class SecretHasNoStringValueError extends Error {
  override readonly name = 'SecretHasNoStringValueError';
  constructor(readonly secretId: string) {
    super(`Secret ${secretId} has no string value: store it as a SecretString (JSON text), not as binary`);
  }
}

export class SecretsManagerReader implements SecretReader {
  private readonly provider: SecretsProvider;

  constructor(
    client: SecretsManagerClient,
    private readonly maxAgeSeconds = SECRET_MAX_AGE_SECONDS,
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  async get(secretId: string, options: { fresh?: boolean } = {}): Promise<string> {
    const value = await this.provider.get(secretId, { maxAge: this.maxAgeSeconds, forceFetch: options.fresh ?? false });
    if (typeof value !== 'string') throw new SecretHasNoStringValueError(secretId);
    return value;
  }
}
