/**
 * Who may download what. Consumers belong to groups. A version's tier says which groups may download it (public:
 * anyone); per-SDK grants add groups for one SDK's private or early-access versions. A group may be limited to IP
 * ranges (CIDR, IPv4 or IPv6): its members download only from there.
 *
 * @example access policy (YAML or JSON, validated by `AccessControl.parse`)
 * groups:
 *   employees: { ipRanges: ["10.0.0.0/8", "2001:db8::/32"] }
 *   partners: {}
 * tiers:
 *   private: [employees]
 *   early-access: [employees, partners]
 * grants:
 *   maps: { private: [partners] }
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import type { AccessTier } from '../model';
import { AccessPolicyError } from './errors';

/** Someone asking to download, as authenticated by the download API. */
export interface Consumer {
  readonly id: string;
  readonly groups: readonly string[];
}

const cidr = z.string().refine((value) => parseCidr(value) !== undefined, {
  message: 'is not an IP address or CIDR range; write e.g. "203.0.113.0/24" or "2001:db8::/32"',
});
const groupList = z.array(z.string().min(1));

const policySchema = z.strictObject({
  groups: z.record(z.string().min(1), z.strictObject({ ipRanges: z.array(cidr).optional() })),
  tiers: z.strictObject({ private: groupList.optional(), 'early-access': groupList.optional() }).default({}),
  grants: z
    .record(z.string().min(1), z.strictObject({ private: groupList.optional(), 'early-access': groupList.optional() }))
    .default({}),
});

export type AccessPolicy = z.input<typeof policySchema>;

export type AccessDecision =
  | {
      readonly allowed: true;
      /** Group that granted access; undefined for public versions. */
      readonly group?: string;
      /** The CIDR range the source address matched, when the granting group is limited to IP ranges. */
      readonly ipRange?: string;
    }
  | { readonly allowed: false; readonly code: 'not-allowed' | 'ip-not-allowed'; readonly message: string };

interface Range {
  readonly cidr: string;
  readonly list: BlockList;
}

/** A validated, compiled access policy: build once (at cold start), ask many times. */
export class AccessControl {
  private readonly ranges = new Map<string, readonly Range[]>();

  private constructor(private readonly policy: z.output<typeof policySchema>) {
    for (const [group, { ipRanges }] of Object.entries(policy.groups)) {
      if (ipRanges === undefined || ipRanges.length === 0) continue;
      this.ranges.set(
        group,
        ipRanges.map((value) => {
          const parsed = parseCidr(value)!;
          const list = new BlockList();
          list.addSubnet(parsed.address, parsed.prefix, parsed.family);
          return { cidr: `${parsed.address}/${parsed.prefix}`, list };
        }),
      );
    }
  }

  /**
   * Validates a policy, reporting every problem at once with its path and the fix.
   *
   * @throws AccessPolicyError
   */
  static parse(input: unknown): AccessControl {
    const result = policySchema.safeParse(input);
    const problems: string[] = [];
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
      throw new AccessPolicyError(problems);
    }
    const policy = result.data;
    const known = new Set(Object.keys(policy.groups));
    const checkGroups = (path: string, groups: readonly string[] | undefined): void => {
      for (const g of groups ?? [])
        if (!known.has(g)) problems.push(`${path}: group "${g}" is not defined under groups; define it or remove it`);
    };
    checkGroups('tiers.private', policy.tiers.private);
    checkGroups('tiers.early-access', policy.tiers['early-access']);
    for (const [sdk, grant] of Object.entries(policy.grants)) {
      checkGroups(`grants.${sdk}.private`, grant.private);
      checkGroups(`grants.${sdk}.early-access`, grant['early-access']);
    }
    if (problems.length > 0) throw new AccessPolicyError(problems);
    return new AccessControl(policy);
  }

  /** May `consumer`, calling from `sourceIp`, download a version of `sdk` in `tier`? */
  authorize(consumer: Consumer, sourceIp: string, sdk: string, tier: AccessTier): AccessDecision {
    if (tier === 'public') return { allowed: true };
    const granting = new Set([...(this.policy.tiers[tier] ?? []), ...(this.policy.grants[sdk]?.[tier] ?? [])]);
    const groups = consumer.groups.filter((g) => granting.has(g)).sort();
    if (groups.length === 0) {
      return {
        allowed: false,
        code: 'not-allowed',
        message: `${sdk} is ${tier}; consumer ${consumer.id} belongs to no group allowed to download it (ask the SDK owner for access)`,
      };
    }
    const unrestricted = groups.find((g) => !this.ranges.has(g));
    if (unrestricted !== undefined) return { allowed: true, group: unrestricted };
    const address = normaliseAddress(sourceIp);
    if (address !== undefined) {
      for (const group of groups) {
        const match = this.ranges.get(group)!.find((r) => r.list.check(address.address, address.family));
        if (match !== undefined) return { allowed: true, group, ipRange: match.cidr };
      }
    }
    return {
      allowed: false,
      code: 'ip-not-allowed',
      message: `${sdk} is ${tier}; consumer ${consumer.id} may download it only from the networks of ${groups.join(', ')}, and ${sourceIp} is not one of them`,
    };
  }
}

interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). */
export function parseCidr(value: string): ParsedCidr | undefined {
  const [address, prefixText, extra] = value.trim().split('/');
  if (address === undefined || extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A source address as the edge reports it; IPv4-mapped IPv6 (`::ffff:10.1.2.3`) counts as IPv4. */
export function normaliseAddress(ip: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const trimmed = ip.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  const address = mapped?.[1] ?? trimmed;
  const version = isIP(address);
  return version === 0 ? undefined : { address, family: version === 4 ? 'ipv4' : 'ipv6' };
}
