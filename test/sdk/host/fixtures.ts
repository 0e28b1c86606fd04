import { createHash, generateKeyPairSync } from 'node:crypto';
import type { PublishedPackage } from '../../../lambdas/sdk/host/package-index';
import type { AccessTier } from '../../../lambdas/sdk/model';
import { sdk } from '../staging/fixtures';

/** A fresh RSA key pair, as CloudFront key groups use (2048-bit). */
export function rsaKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** A published version with one package archive whose content is `content`. */
export function published(
  name: string,
  version: string,
  options: {
    tier?: AccessTier;
    supported?: boolean;
    dependencies?: Record<string, string>;
    deprecatedInFavorOf?: string;
    content?: string;
  } = {},
): PublishedPackage {
  const content = options.content ?? `${name}-${version} archive bytes`;
  return {
    metadata: sdk(name, version, options.dependencies ?? {}, {
      tier: options.tier ?? 'public',
      supported: options.supported ?? true,
      ...(options.deprecatedInFavorOf !== undefined
        ? { deprecated: true, deprecatedInFavorOf: options.deprecatedInFavorOf }
        : {}),
    }),
    files: [{ name: `${name}-${version}.zip`, sha256: sha256(content), size: Buffer.byteLength(content) }],
  };
}
