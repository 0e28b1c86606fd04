import { describe, expect, it } from '@jest/globals';
import { AccessControl } from '../../../lambdas/sdk/host/acl';
import { decideDownload, type DownloadContext } from '../../../lambdas/sdk/host/download';
import { buildIndex } from '../../../lambdas/sdk/host/package-index';
import { CloudFrontUrlSigner } from '../../../lambdas/sdk/host/signer';
import { CloudFrontUrlVerifier } from '../../../lambdas/sdk/host/verify';
import { published, rsaKeyPair } from './fixtures';

const keys = rsaKeyPair();
const now = new Date('2026-03-01T12:00:00Z');
const context: DownloadContext = {
  index: buildIndex(
    [
      published('maps', '1.0.0', { supported: false }),
      published('maps', '2.0.0'),
      published('maps', '2.1.0', { tier: 'early-access' }),
      published('maps', '3.0.0-beta.1', { tier: 'private' }),
    ],
    { generatedAt: now.toISOString() },
  ),
  access: AccessControl.parse({
    groups: { employees: { ipRanges: ['10.0.0.0/8', '2001:db8::/32'] }, partners: {} },
    tiers: { private: ['employees'], 'early-access': ['employees', 'partners'] },
  }),
  signer: new CloudFrontUrlSigner({
    keyPairId: 'KLOCAL',
    privateKeyPem: keys.privateKeyPem,
    baseUrl: 'https://cdn.example.com',
  }),
  now,
};
const verifier = new CloudFrontUrlVerifier({ KLOCAL: keys.publicKeyPem });
const partner = { id: 'p1', groups: ['partners'] };
const employee = { id: 'e1', groups: ['employees'] };

describe('decideDownload', () => {
  it('gives a plain URL for a public version', () => {
    const decision = decideDownload(
      { consumer: { id: 'anon', groups: [] }, sourceIp: '198.51.100.1', name: 'maps', version: '2.0.0' },
      context,
    );
    expect(decision).toMatchObject({
      ok: true,
      policy: 'public',
      url: 'https://cdn.example.com/public/maps/2.0.0/maps-2.0.0.zip',
    });
  });

  it('signs an early-access download with a canned policy that the edge accepts until it expires', () => {
    const decision = decideDownload(
      { consumer: partner, sourceIp: '198.51.100.1', name: 'maps', version: '2.1.0' },
      context,
    );
    expect(decision).toMatchObject({ ok: true, policy: 'canned', expiresAt: '2026-03-01T12:05:00.000Z' });
    if (!decision.ok) return;
    expect(verifier.verify(decision.url, { now, sourceIp: '198.51.100.1' }).ok).toBe(true);
    expect(verifier.verify(decision.url, { now: new Date('2026-03-01T12:06:00Z') })).toMatchObject({
      ok: false,
      reason: 'expired',
    });
  });

  it('signs an IP-limited private download with a custom policy bound to the range', () => {
    const decision = decideDownload(
      { consumer: employee, sourceIp: '10.1.2.3', name: 'maps', version: '3.0.0-beta.1' },
      context,
    );
    expect(decision).toMatchObject({ ok: true, policy: 'custom' });
    if (!decision.ok) return;
    expect(verifier.verify(decision.url, { now, sourceIp: '10.9.9.9' }).ok).toBe(true);
    expect(verifier.verify(decision.url, { now, sourceIp: '192.0.2.1' })).toMatchObject({
      ok: false,
      reason: 'ip-not-allowed',
    });
  });

  it('checks an IPv6 range itself and signs without an IP condition', () => {
    const decision = decideDownload(
      { consumer: employee, sourceIp: '2001:db8::7', name: 'maps', version: '3.0.0-beta.1' },
      context,
    );
    expect(decision).toMatchObject({ ok: true, policy: 'canned' });
  });

  it.each([
    [{ consumer: partner, sourceIp: '198.51.100.1', name: 'maps', version: '3.0.0-beta.1' }, 'not-allowed', 403],
    [{ consumer: employee, sourceIp: '192.0.2.1', name: 'maps', version: '3.0.0-beta.1' }, 'ip-not-allowed', 403],
    [{ consumer: partner, sourceIp: '198.51.100.1', name: 'maps', version: '1.0.0' }, 'withdrawn', 410],
    [{ consumer: partner, sourceIp: '198.51.100.1', name: 'maps', version: '9.0.0' }, 'not-found', 404],
    [{ consumer: partner, sourceIp: '198.51.100.1', name: 'atlas', version: '1.0.0' }, 'not-found', 404],
  ])('refuses %j with %s', (request, code, status) => {
    const decision = decideDownload(request, context);
    expect(decision).toMatchObject({ ok: false, refusal: { code, status } });
  });

  it('tells a consumer asking for a withdrawn version what to use instead', () => {
    const decision = decideDownload(
      { consumer: partner, sourceIp: '198.51.100.1', name: 'maps', version: '1.0.0' },
      context,
    );
    expect(!decision.ok && decision.refusal.message).toBe(
      'maps 1.0.0 was withdrawn: it is no longer supported; use 2.1.0',
    );
  });
});
