import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { describe, expect, it } from '@jest/globals';
import { SigningError } from '../../../lambdas/sdk/host/errors';
import { CloudFrontUrlSigner, signWithPemEachTime } from '../../../lambdas/sdk/host/signer';
import { CloudFrontUrlVerifier, wildcardMatch } from '../../../lambdas/sdk/host/verify';
import { rsaKeyPair } from './fixtures';

const { privateKeyPem, publicKeyPem } = rsaKeyPair();
const other = rsaKeyPair();
const baseUrl = 'https://d111111abcdef8.cloudfront.net';
const signer = new CloudFrontUrlSigner({ keyPairId: 'K2JCJMDEHXQW5F', privateKeyPem, baseUrl });
const verifier = new CloudFrontUrlVerifier({ K2JCJMDEHXQW5F: publicKeyPem });
const now = new Date('2026-03-01T12:00:00Z');
const inFiveMinutes = new Date(now.getTime() + 300_000);
const key = 'private/maps/2.0.0/maps-2.0.0.zip';

describe('signed URLs, signed and verified with a real key pair', () => {
  it('round-trips a canned policy', () => {
    const signed = signer.sign({ key, expiresAt: inFiveMinutes });
    expect(signed.policy).toBe('canned');
    expect(signed.url).toMatch(
      /^https:\/\/d111111abcdef8\.cloudfront\.net\/private\/maps\/2\.0\.0\/maps-2\.0\.0\.zip\?Expires=\d+&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=[A-Za-z0-9_~-]+$/,
    );
    expect(verifier.verify(signed.url, { now })).toMatchObject({
      ok: true,
      policy: 'canned',
      keyPairId: 'K2JCJMDEHXQW5F',
    });
  });

  it('round-trips a custom policy with an IP range and a start time', () => {
    const signed = signer.sign({
      key,
      expiresAt: inFiveMinutes,
      notBefore: new Date(now.getTime() - 60_000),
      ipRange: '203.0.113.0/24',
    });
    expect(signed.policy).toBe('custom');
    expect(signed.url).toContain('Policy=');
    expect(verifier.verify(signed.url, { now, sourceIp: '203.0.113.9' })).toMatchObject({ ok: true, policy: 'custom' });
  });

  it('signs the same URL whether the PEM is parsed once or on every call', () => {
    const once = signer.sign({ key, expiresAt: inFiveMinutes });
    const each = signWithPemEachTime(
      { keyPairId: 'K2JCJMDEHXQW5F', privateKeyPem, baseUrl },
      { key, expiresAt: inFiveMinutes },
    );
    expect(each.url).toBe(once.url);
  });

  it('refuses an expired URL', () => {
    const signed = signer.sign({ key, expiresAt: inFiveMinutes });
    const result = verifier.verify(signed.url, { now: new Date(inFiveMinutes.getTime() + 1000) });
    expect(result).toMatchObject({ ok: false, reason: 'expired' });
    expect(!result.ok && result.message).toContain('ask the download API for a new one');
  });

  it('refuses a URL used before its start time', () => {
    const signed = signer.sign({ key, expiresAt: inFiveMinutes, notBefore: new Date(now.getTime() + 60_000) });
    expect(verifier.verify(signed.url, { now })).toMatchObject({ ok: false, reason: 'not-yet-valid' });
  });

  it('refuses a tampered signature, a tampered expiry and a tampered policy', () => {
    const canned = signer.sign({ key, expiresAt: inFiveMinutes }).url;
    const flipped = canned.replace(/Signature=(.)/, (_, c: string) => `Signature=${c === 'A' ? 'B' : 'A'}`);
    expect(verifier.verify(flipped, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
    const later = canned.replace(/Expires=(\d+)/, (_, e: string) => `Expires=${Number(e) + 86_400}`);
    expect(verifier.verify(later, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });

    const custom = signer.sign({ key, expiresAt: inFiveMinutes, ipRange: '203.0.113.0/24' }).url;
    const widened = signer.sign({ key, expiresAt: inFiveMinutes, ipRange: '0.0.0.0/0' }).url;
    const policyOf = (u: string) => /Policy=([^&]+)/.exec(u)![1]!;
    const forged = custom.replace(policyOf(custom), policyOf(widened));
    expect(verifier.verify(forged, { now, sourceIp: '198.51.100.1' })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses a URL signed with a key the edge does not trust', () => {
    const rogue = new CloudFrontUrlSigner({ keyPairId: 'K2JCJMDEHXQW5F', privateKeyPem: other.privateKeyPem, baseUrl });
    expect(verifier.verify(rogue.sign({ key, expiresAt: inFiveMinutes }).url, { now })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const unknown = new CloudFrontUrlSigner({ keyPairId: 'KUNKNOWN', privateKeyPem, baseUrl });
    expect(verifier.verify(unknown.sign({ key, expiresAt: inFiveMinutes }).url, { now })).toMatchObject({
      ok: false,
      reason: 'unknown-key',
    });
  });

  it('refuses a signature moved onto another path', () => {
    const signed = signer.sign({ key, expiresAt: inFiveMinutes, ipRange: '203.0.113.0/24' }).url;
    const moved = signed.replace('/private/maps/2.0.0/', '/private/social/1.3.0/');
    const result = verifier.verify(moved, { now, sourceIp: '203.0.113.9' });
    expect(result).toMatchObject({ ok: false, reason: 'resource-mismatch' });
    const cannedMoved = signer.sign({ key, expiresAt: inFiveMinutes }).url.replace('maps-2.0.0.zip', 'maps-2.1.0.zip');
    expect(verifier.verify(cannedMoved, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a download from outside the signed IP range', () => {
    const signed = signer.sign({ key, expiresAt: inFiveMinutes, ipRange: '203.0.113.0/24' }).url;
    const result = verifier.verify(signed, { now, sourceIp: '198.51.100.1' });
    expect(result).toMatchObject({ ok: false, reason: 'ip-not-allowed' });
    expect(!result.ok && result.message).toBe('The URL may be used only from 203.0.113.0/24, not from 198.51.100.1');
  });

  it('names the malformed condition in a validly signed policy as written, not as "[object Object]"', () => {
    const url = `${baseUrl}/${key}`;
    const signWith = (condition: Record<string, unknown>) =>
      getSignedUrl({
        url,
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: privateKeyPem,
        policy: JSON.stringify({
          Statement: [
            {
              Resource: url,
              Condition: { DateLessThan: { 'AWS:EpochTime': inFiveMinutes.getTime() / 1000 }, ...condition },
            },
          ],
        }),
      });
    expect(verifier.verify(signWith({ DateGreaterThan: { 'AWS:EpochTime': { at: 1 } } }), { now })).toMatchObject({
      reason: 'not-yet-valid',
      message: 'The URL is valid only after {"at":1}',
    });
    expect(
      verifier.verify(signWith({ IpAddress: { 'AWS:SourceIp': ['203.0.113.0/24'] } }), {
        now,
        sourceIp: '203.0.113.9',
      }),
    ).toMatchObject({
      reason: 'malformed',
      message: `The policy's AWS:SourceIp ["203.0.113.0/24"] is not a CIDR range`,
    });
  });

  it('refuses an unsigned URL as malformed', () => {
    expect(verifier.verify(`${baseUrl}/${key}`, { now })).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('will not put an IPv6 range in a policy, since CloudFront cannot enforce it', () => {
    expect(() => signer.sign({ key, expiresAt: inFiveMinutes, ipRange: '2001:db8::/32' })).toThrow(SigningError);
  });

  it('matches policy resources with * and ? wildcards', () => {
    expect(
      wildcardMatch(
        'https://d111.cloudfront.net/private/maps/*',
        'https://d111.cloudfront.net/private/maps/2.0.0/maps-2.0.0.zip',
      ),
    ).toBe(true);
    expect(
      wildcardMatch(
        'https://d111.cloudfront.net/private/maps/?.0.0/*',
        'https://d111.cloudfront.net/private/maps/2.0.0/x.zip',
      ),
    ).toBe(true);
    expect(
      wildcardMatch(
        'https://d111.cloudfront.net/private/maps/*',
        'https://d111.cloudfront.net/private/social/1.0.0/x.zip',
      ),
    ).toBe(false);
  });
});
