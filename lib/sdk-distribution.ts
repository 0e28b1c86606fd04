/**
 * The package host's CloudFront side: the public key CloudFront checks signed URLs with, its key group, and the
 * distribution in front of the package host bucket (origin access control; signed URLs for every path outside
 * `public/*`).
 */
import { createHash } from 'node:crypto';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge } from './nag';

/**
 * The public key (when given as PEM) and the key group `SigningKeyGroup` in `scope`. CloudFront cannot change a
 * public key in place, so the key's construct id carries a hash of the key, `SigningPublicKey<hash>`: a new key
 * is a new resource, the key group swaps to it, and the old one is deleted after. (A key given as an unresolved
 * token keeps the id `SigningPublicKey`.)
 */
export function buildSigningKeyGroup(
  scope: Construct,
  publicKey: string | cloudfront.IPublicKey,
  publicKeyPem: string | undefined,
): { publicKey: cloudfront.IPublicKey; keyGroup: cloudfront.KeyGroup } {
  const key =
    typeof publicKey === 'string'
      ? new cloudfront.PublicKey(scope, `SigningPublicKey${publicKeyPem === undefined ? '' : keyHash(publicKeyPem)}`, {
          encodedKey: publicKeyPem ?? publicKey,
          comment: 'Lockstep SDK publishing: checks signed URLs of private and early-access packages',
        })
      : publicKey;
  const keyGroup = new cloudfront.KeyGroup(scope, 'SigningKeyGroup', {
    items: [key],
    comment: 'Lockstep SDK publishing: keys that may sign package URLs',
  });
  return { publicKey: key, keyGroup };
}

/** First 8 hex digits of the SHA-256 of the key's PEM: stable for one key, different for the next. */
function keyHash(pem: string): string {
  return createHash('sha256').update(pem.trim()).digest('hex').slice(0, 8).toUpperCase();
}

export interface PackageHostDistributionOptions {
  readonly bucket: s3.IBucket;
  readonly keyGroup: cloudfront.IKeyGroup;
  readonly logBucket: s3.IBucket;
  readonly priceClass?: cloudfront.PriceClass;
  readonly domainName?: string;
  readonly domainAliases?: readonly string[];
  readonly certificate?: acm.ICertificate;
  readonly geoRestriction?: cloudfront.GeoRestriction;
  readonly webAclId?: string;
}

/** The distribution `Distribution` in `scope`. */
export function buildPackageHostDistribution(
  scope: Construct,
  props: PackageHostDistributionOptions,
): cloudfront.Distribution {
  const origin = origins.S3BucketOrigin.withOriginAccessControl(props.bucket, {
    originAccessLevels: [cloudfront.AccessLevel.READ],
  });
  const publicBehavior: cloudfront.BehaviorOptions = {
    origin,
    viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
    allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
    cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
    cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
    responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
    // Package archives are already compressed.
    compress: false,
  };
  const signedBehavior: cloudfront.BehaviorOptions = { ...publicBehavior, trustedKeyGroups: [props.keyGroup] };
  const distribution = new cloudfront.Distribution(scope, 'Distribution', {
    comment: 'Lockstep SDK package host',
    // Anything outside the tier prefixes (index.json among them) needs a signed URL too: the download API serves
    // the index, and nothing is public unless it sits under public/.
    defaultBehavior: signedBehavior,
    additionalBehaviors: {
      'public/*': publicBehavior,
      'early-access/*': signedBehavior,
      'private/*': signedBehavior,
    },
    priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
    httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    // Signed URLs limited to a consumer's IP range carry an IPv4 condition; a viewer connecting over IPv6 could
    // never match it, so viewers connect over IPv4.
    enableIpv6: false,
    enableLogging: true,
    logBucket: props.logBucket,
    logFilePrefix: 'cloudfront/',
    ...(props.domainName && props.certificate
      ? {
          domainNames: [props.domainName, ...(props.domainAliases ?? [])],
          certificate: props.certificate,
          minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          sslSupportMethod: cloudfront.SSLMethod.SNI,
        }
      : {}),
    ...(props.geoRestriction ? { geoRestriction: props.geoRestriction } : {}),
    ...(props.webAclId ? { webAclId: props.webAclId } : {}),
  });
  if (!props.certificate) {
    acknowledge(distribution, {
      id: 'AwsSolutions-CFR4',
      reason:
        'Without a custom domain the distribution serves the default *.cloudfront.net certificate, whose security policy CloudFront fixes at TLSv1; give domainName and certificate to require TLS 1.2',
    });
  }
  if (!props.geoRestriction) {
    acknowledge(distribution, {
      id: 'AwsSolutions-CFR1',
      reason:
        'Who may download is decided per consumer by the download API (groups, IP ranges) and enforced with signed URLs; a country restriction is an operator choice, available through the geoRestriction prop',
    });
  }
  if (!props.webAclId) {
    acknowledge(distribution, {
      id: 'AwsSolutions-CFR2',
      reason:
        'Private and early-access objects need a signed URL and public ones are static package files cached at the edge, with no application behind the origin to protect; attach a web ACL through the webAclId prop for rate limiting',
    });
  }
  return distribution;
}
