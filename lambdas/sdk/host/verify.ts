/**
 * Verifies CloudFront signed URLs the way CloudFront does, with the real public key: the local edge server uses
 * this before serving a private or early-access package, so local mode refuses exactly what AWS would.
 *
 * Checks, in order: the URL is well formed, the key pair is trusted, the RSA signature (SHA-1 as CloudFront uses
 * by default, SHA-256 when `Hash-Algorithm=SHA256`) matches the policy, the policy's resource matches the URL
 * (`*` and `?` wildcards), the URL has not expired and has started, and the source address is in the policy's range.
 */
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { BlockList } from 'node:net';
import { normaliseAddress, parseCidr } from './acl';

export type VerifyRefusalReason =
  'malformed' | 'unknown-key' | 'bad-signature' | 'resource-mismatch' | 'expired' | 'not-yet-valid' | 'ip-not-allowed';

export type VerifyResult =
  | { readonly ok: true; readonly keyPairId: string; readonly policy: 'canned' | 'custom'; readonly expiresAt: Date }
  | { readonly ok: false; readonly reason: VerifyRefusalReason; readonly message: string };

export interface VerifyOptions {
  readonly now: Date;
  /** Address of the client, required when a policy limits IP addresses. */
  readonly sourceIp?: string;
}

const SIGNING_PARAMS = new Set(['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm']);

/** CloudFront's URL-safe base64: `-` for `+`, `_` for `=`, `~` for `/`. */
export function fromCloudFrontBase64(value: string): Buffer {
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');
}

interface PolicyStatement {
  readonly Resource?: unknown;
  readonly Condition?: {
    readonly DateLessThan?: { readonly 'AWS:EpochTime'?: unknown };
    readonly DateGreaterThan?: { readonly 'AWS:EpochTime'?: unknown };
    readonly IpAddress?: { readonly 'AWS:SourceIp'?: unknown };
  };
}

/** Verifies signed URLs against the trusted public keys. Build once; verifying is pure. */
export class CloudFrontUrlVerifier {
  private readonly keys: ReadonlyMap<string, KeyObject>;

  /** @param publicKeys key pair id -> PEM public key (or a parsed `KeyObject`). */
  constructor(publicKeys: Readonly<Record<string, string | Buffer | KeyObject>>) {
    this.keys = new Map(
      Object.entries(publicKeys).map(([id, key]) => [
        id,
        typeof key === 'string' || Buffer.isBuffer(key) ? createPublicKey(key) : key,
      ]),
    );
  }

  /**
   * @example
   * const result = verifier.verify(request.url, { now: new Date(), sourceIp: socket.remoteAddress });
   * if (!result.ok) return respond(403, result.message);
   */
  verify(url: string, options: VerifyOptions): VerifyResult {
    const refuse = (reason: VerifyRefusalReason, message: string): VerifyResult => ({ ok: false, reason, message });
    const queryStart = url.indexOf('?');
    if (queryStart < 0)
      return refuse(
        'malformed',
        'The URL is not signed: it has no Signature, Key-Pair-Id and Expires or Policy parameters',
      );
    const base = url.slice(0, queryStart);
    const params = new Map<string, string>();
    const kept: string[] = [];
    for (const pair of url.slice(queryStart + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (SIGNING_PARAMS.has(name)) {
        if (params.has(name)) return refuse('malformed', `The URL repeats the ${name} parameter`);
        params.set(name, decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1)));
      } else {
        kept.push(pair);
      }
    }
    const resource = kept.length > 0 ? `${base}?${kept.join('&')}` : base;
    const signature = params.get('Signature');
    const keyPairId = params.get('Key-Pair-Id');
    const expires = params.get('Expires');
    const encodedPolicy = params.get('Policy');
    if (signature === undefined || keyPairId === undefined)
      return refuse('malformed', 'The URL lacks its Signature or Key-Pair-Id parameter');
    if ((expires === undefined) === (encodedPolicy === undefined)) {
      return refuse(
        'malformed',
        'The URL must carry exactly one of Expires (canned policy) and Policy (custom policy)',
      );
    }
    const key = this.keys.get(keyPairId);
    if (key === undefined) return refuse('unknown-key', `Key pair ${keyPairId} is not in the trusted key group`);
    const algorithm = params.get('Hash-Algorithm') === 'SHA256' ? 'RSA-SHA256' : 'RSA-SHA1';

    let policyText: string;
    if (expires !== undefined) {
      if (!/^\d+$/.test(expires)) return refuse('malformed', `Expires "${expires}" is not a Unix time in seconds`);
      // The canned policy CloudFront reconstructs: this exact JSON, no spaces.
      policyText = JSON.stringify({
        Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': Number(expires) } } }],
      });
    } else {
      policyText = fromCloudFrontBase64(encodedPolicy!).toString('utf8');
    }
    const verifier = createVerify(algorithm);
    verifier.update(policyText);
    if (!verifier.verify(key, fromCloudFrontBase64(signature))) {
      return refuse(
        'bad-signature',
        'The signature does not match the policy: the URL was altered or signed with another key',
      );
    }

    let statement: PolicyStatement | undefined;
    try {
      const parsed = JSON.parse(policyText) as { Statement?: PolicyStatement[] };
      statement = Array.isArray(parsed.Statement) && parsed.Statement.length === 1 ? parsed.Statement[0] : undefined;
    } catch {
      statement = undefined;
    }
    if (statement === undefined) return refuse('malformed', 'The policy is not JSON with exactly one Statement');
    const pattern = statement.Resource;
    if (typeof pattern !== 'string' || !wildcardMatch(pattern, resource)) {
      return refuse('resource-mismatch', `The URL was signed for ${String(pattern)}, not for ${resource}`);
    }
    const lessThan = statement.Condition?.DateLessThan?.['AWS:EpochTime'];
    if (typeof lessThan !== 'number') return refuse('malformed', 'The policy has no DateLessThan AWS:EpochTime');
    const nowSeconds = Math.floor(options.now.getTime() / 1000);
    if (nowSeconds >= lessThan)
      return refuse(
        'expired',
        `The URL expired at ${new Date(lessThan * 1000).toISOString()}; ask the download API for a new one`,
      );
    const greaterThan = statement.Condition?.DateGreaterThan?.['AWS:EpochTime'];
    if (greaterThan !== undefined && (typeof greaterThan !== 'number' || nowSeconds <= greaterThan)) {
      return refuse(
        'not-yet-valid',
        `The URL is valid only after ${typeof greaterThan === 'number' ? new Date(greaterThan * 1000).toISOString() : JSON.stringify(greaterThan)}`,
      );
    }
    const sourceRange = statement.Condition?.IpAddress?.['AWS:SourceIp'];
    if (sourceRange !== undefined) {
      const range = typeof sourceRange === 'string' ? parseCidr(sourceRange) : undefined;
      if (typeof sourceRange !== 'string' || range === undefined) {
        return refuse('malformed', `The policy's AWS:SourceIp ${JSON.stringify(sourceRange)} is not a CIDR range`);
      }
      const address = options.sourceIp === undefined ? undefined : normaliseAddress(options.sourceIp);
      const list = new BlockList();
      list.addSubnet(range.address, range.prefix, range.family);
      if (address === undefined || !list.check(address.address, address.family)) {
        return refuse(
          'ip-not-allowed',
          `The URL may be used only from ${sourceRange}, not from ${options.sourceIp ?? 'an unknown address'}`,
        );
      }
    }
    return {
      ok: true,
      keyPairId,
      policy: expires !== undefined ? 'canned' : 'custom',
      expiresAt: new Date(lessThan * 1000),
    };
  }
}

/** CloudFront resource matching: `*` any run of characters, `?` exactly one. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return regex.test(value);
}
