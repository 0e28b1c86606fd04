/**
 * Signed approval links. A link names a request and one approver, expires, and is signed with HMAC-SHA256 over the
 * request's binding (execution, environment, application, revision), so a link cannot be moved to another request,
 * approver or revision, and carries no task token. The signing secret rotates: a `previous` secret still verifies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ApprovalBinding } from '../ports/stores';

/** The signing secret as stored in Secrets Manager: JSON `{ "current": "...", "previous": "..." }` or a plain string. */
export interface SigningSecrets {
  readonly current: string;
  readonly previous?: string;
}

/** Reads a secret value holding a current and an optional previous secret (JSON), or one plain secret. */
export function parseSecrets(value: string): SigningSecrets {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) {
    const parsed = JSON.parse(trimmed) as { current?: unknown; previous?: unknown };
    if (typeof parsed.current !== 'string' || parsed.current === '')
      throw new RangeError('Secret JSON needs a non-empty "current"');
    return typeof parsed.previous === 'string' && parsed.previous !== ''
      ? { current: parsed.current, previous: parsed.previous }
      : { current: parsed.current };
  }
  if (trimmed === '') throw new RangeError('Secret is empty');
  return { current: trimmed };
}

export interface ApprovalLinkClaims extends ApprovalBinding {
  readonly requestId: string;
  /** The approver the link was sent to (lower case). */
  readonly approver: string;
  /** Expiry, epoch seconds. */
  readonly expiresAt: number;
}

export type LinkCheck = { readonly valid: true } | { readonly valid: false; readonly reason: 'signature' | 'expired' };

export class ApprovalLinkSigner {
  constructor(private readonly secrets: SigningSecrets) {}

  sign(claims: ApprovalLinkClaims): string {
    return this.mac(this.secrets.current, claims);
  }

  /** The link an approver receives: `${baseUrl}/<id>?approver=...&exp=...&sig=...`, where `baseUrl` is LOCKSTEP_APPROVAL_BASE_URL (`https://<api>/approvals`). */
  link(baseUrl: string, claims: ApprovalLinkClaims): string {
    const query = new URLSearchParams({
      approver: claims.approver,
      exp: String(claims.expiresAt),
      sig: this.sign(claims),
    });
    return `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(claims.requestId)}?${query.toString()}`;
  }

  /** Checks a presented signature in constant time against the current and the previous secret, then the expiry. */
  verify(claims: ApprovalLinkClaims, signature: string, nowMs: number): LinkCheck {
    const presented = Buffer.from(signature, 'base64url');
    const matches = [this.secrets.current, this.secrets.previous]
      .filter((secret): secret is string => secret !== undefined)
      .map((secret) => {
        const expected = Buffer.from(this.mac(secret, claims), 'base64url');
        return expected.length === presented.length && timingSafeEqual(expected, presented);
      });
    if (!matches.includes(true)) return { valid: false, reason: 'signature' };
    if (claims.expiresAt * 1000 <= nowMs) return { valid: false, reason: 'expired' };
    return { valid: true };
  }

  private mac(secret: string, claims: ApprovalLinkClaims): string {
    const payload = [
      'lockstep-approval-v1',
      claims.requestId,
      claims.approver.toLowerCase(),
      claims.execution,
      claims.environment,
      claims.application,
      String(claims.revision),
      String(claims.expiresAt),
    ].join('\n');
    return createHmac('sha256', secret).update(payload).digest('base64url');
  }
}
