/**
 * Bearer tokens for the upload API (providers) and the download API (consumers).
 *
 * A token is 32 random bytes, base64url, prefixed `lst_` so it is recognisable in a leak scan. The SDK table keeps
 * only its SHA-256 (hex) as the key of a `Credential` (id, groups, roles, SDKs a provider may push, optional
 * expiry): the token cannot be read back, only replaced. Requests present it as `Authorization: Bearer <token>`.
 * A download request without a token is an anonymous consumer (no groups: public packages only); a token that is
 * unknown or expired is refused with 401, never silently downgraded.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Consumer } from '../host/acl';
import { HttpError } from '../../core/errors';
import type { SdkStore } from '../../ports/sdk';
import type { Credential, CredentialRole } from '../records/records';

export const TOKEN_PREFIX = 'lst_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface IssueTokenOptions {
  readonly id: string;
  readonly groups?: readonly string[];
  readonly roles: readonly CredentialRole[];
  /** SDK names a provider may push (`*`: any). @default [] */
  readonly sdks?: readonly string[];
  readonly expiresAt?: Date;
  readonly now: Date;
}

/**
 * Creates a token and stores its hash. The token is returned once; store it where the consumer keeps secrets.
 * @example const { token } = await issueToken(store, { id: 'acme-app', groups: ['partners'], roles: ['consumer'], now: new Date() });
 */
export async function issueToken(
  store: SdkStore,
  options: IssueTokenOptions,
): Promise<{ token: string; credential: Credential }> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const credential: Credential = {
    id: options.id,
    groups: [...(options.groups ?? [])],
    roles: [...options.roles],
    sdks: [...(options.sdks ?? [])],
    createdAt: options.now.toISOString(),
    ...(options.expiresAt !== undefined ? { expiresAt: options.expiresAt.toISOString() } : {}),
  };
  await store.putCredential(hashToken(token), credential);
  return { token, credential };
}

/** The bearer token of an `Authorization` header, or undefined when there is none. @throws HttpError 401 for another scheme */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) throw new HttpError(401, 'Send the token as "Authorization: Bearer <token>"');
  return match[1];
}

/** Looks a presented token up. @throws HttpError 401 when it is unknown or expired */
export async function authenticate(store: SdkStore, token: string, now: Date): Promise<Credential> {
  const credential = await store.getCredential(hashToken(token));
  if (credential === undefined)
    throw new HttpError(401, 'The token is not valid; ask the Lockstep operator for a new one');
  if (credential.expiresAt !== undefined && Date.parse(credential.expiresAt) <= now.getTime()) {
    throw new HttpError(401, `The token expired at ${credential.expiresAt}; ask the Lockstep operator for a new one`);
  }
  return credential;
}

/** The consumer a download request acts as: anonymous without a token. */
export async function consumerFor(store: SdkStore, authorization: string | undefined, now: Date): Promise<Consumer> {
  const token = bearerToken(authorization);
  if (token === undefined) return { id: 'anonymous', groups: [] };
  const credential = await authenticate(store, token, now);
  if (!credential.roles.includes('consumer') && !credential.roles.includes('provider')) {
    throw new HttpError(403, `Credential ${credential.id} may not download SDKs`);
  }
  return { id: credential.id, groups: credential.groups };
}

/** The provider an upload request acts as. @throws HttpError 401 without a token, 403 without the provider role */
export async function providerFor(store: SdkStore, authorization: string | undefined, now: Date): Promise<Credential> {
  const token = bearerToken(authorization);
  if (token === undefined)
    throw new HttpError(401, 'Uploads need a provider token: send "Authorization: Bearer <token>"');
  const credential = await authenticate(store, token, now);
  if (!credential.roles.includes('provider'))
    throw new HttpError(403, `Credential ${credential.id} is not a provider's and may not upload SDKs`);
  return credential;
}

/** @throws HttpError 403 when the provider may not push `sdk` */
export function checkMayPush(credential: Credential, sdk: string): void {
  if (!credential.sdks.includes('*') && !credential.sdks.includes(sdk)) {
    throw new HttpError(
      403,
      `Provider ${credential.id} may not push ${sdk} (allowed: ${credential.sdks.join(', ') || 'none'}); ask the Lockstep operator to add it`,
    );
  }
}
