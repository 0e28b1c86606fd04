import { describe, expect, it } from '@jest/globals';
import { AccessControl } from '../../../lambdas/sdk/host/acl';
import { AccessPolicyError } from '../../../lambdas/sdk/host/errors';

const access = AccessControl.parse({
  groups: {
    employees: { ipRanges: ['10.0.0.0/8', '2001:db8::/32'] },
    partners: {},
    acme: { ipRanges: ['203.0.113.0/24'] },
  },
  tiers: { private: ['employees'], 'early-access': ['employees', 'partners'] },
  grants: { maps: { private: ['acme'] } },
});

describe('AccessControl', () => {
  it('lets anyone download public versions', () => {
    expect(access.authorize({ id: 'anon', groups: [] }, '198.51.100.1', 'maps', 'public')).toEqual({ allowed: true });
  });

  it('allows a group named for the tier, and a per-SDK grant', () => {
    expect(access.authorize({ id: 'p1', groups: ['partners'] }, '198.51.100.1', 'social', 'early-access')).toEqual({
      allowed: true,
      group: 'partners',
    });
    expect(access.authorize({ id: 'a1', groups: ['acme'] }, '203.0.113.7', 'maps', 'private')).toEqual({
      allowed: true,
      group: 'acme',
      ipRange: '203.0.113.0/24',
    });
  });

  it('refuses a consumer of the wrong group, naming the tier', () => {
    const decision = access.authorize({ id: 'p1', groups: ['partners'] }, '198.51.100.1', 'maps', 'private');
    expect(decision).toMatchObject({ allowed: false, code: 'not-allowed' });
    expect(!decision.allowed && decision.message).toContain(
      'maps is private; consumer p1 belongs to no group allowed to download it',
    );
    expect(access.authorize({ id: 'a1', groups: ['acme'] }, '203.0.113.7', 'social', 'private')).toMatchObject({
      allowed: false,
      code: 'not-allowed',
    });
  });

  it('checks IPv4 and IPv6 ranges of IP-limited groups', () => {
    const employee = { id: 'e1', groups: ['employees'] };
    expect(access.authorize(employee, '10.20.30.40', 'maps', 'private')).toMatchObject({
      allowed: true,
      ipRange: '10.0.0.0/8',
    });
    expect(access.authorize(employee, '::ffff:10.1.2.3', 'maps', 'private')).toMatchObject({
      allowed: true,
      ipRange: '10.0.0.0/8',
    });
    expect(access.authorize(employee, '2001:db8:1::5', 'maps', 'private')).toMatchObject({
      allowed: true,
      ipRange: '2001:db8::/32',
    });
    expect(access.authorize(employee, '192.0.2.1', 'maps', 'private')).toMatchObject({
      allowed: false,
      code: 'ip-not-allowed',
    });
    expect(access.authorize(employee, '2001:db9::1', 'maps', 'private')).toMatchObject({
      allowed: false,
      code: 'ip-not-allowed',
    });
  });

  it('reports every policy problem at once with its path', () => {
    let error: unknown;
    try {
      AccessControl.parse({
        groups: { employees: { ipRanges: ['10.0.0.0/33', 'not-an-ip'] } },
        tiers: { private: ['staff'] },
        grants: { maps: { 'early-access': ['ghosts'] } },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AccessPolicyError);
    const problems = (error as AccessPolicyError).problems;
    expect(problems).toEqual([
      expect.stringMatching(/^groups\.employees\.ipRanges\.0: is not an IP address or CIDR range/),
      expect.stringMatching(/^groups\.employees\.ipRanges\.1: is not an IP address or CIDR range/),
    ]);
    expect(() =>
      AccessControl.parse({
        groups: {},
        tiers: { private: ['staff'] },
        grants: { maps: { 'early-access': ['ghosts'] } },
      }),
    ).toThrow(
      /tiers\.private: group "staff" is not defined under groups[\s\S]*grants\.maps\.early-access: group "ghosts" is not defined/,
    );
  });
});
