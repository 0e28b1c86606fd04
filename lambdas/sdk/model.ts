import { LockstepError } from '../core/errors';

/**
 * Shapes shared by every part of SDK publishing (intake, converter, staging, tester, package host, install).
 * Plain data: they travel through S3 objects, DynamoDB items and Step Functions payloads.
 */

export const ACCESS_TIERS = ['private', 'early-access', 'public'] as const;
export type AccessTier = (typeof ACCESS_TIERS)[number];

/** Validated metadata of one SDK version (after `parseSdkMetadata`). */
export interface SdkMetadata {
  /** Package id: lower-case, used in paths and keys, e.g. `maps`. */
  readonly name: string;
  /** Display name, e.g. `Acme Maps`. */
  readonly publicName: string;
  /** Semver, e.g. `6.2.0`. */
  readonly version: string;
  readonly summary: string;
  readonly description: string;
  readonly homepage: string;
  readonly authors: readonly string[];
  /** Owner contact email: notified about conflicts and failures. */
  readonly contact: string;
  readonly license: string;
  /** SDK name -> semver range, e.g. `{ analytics: "^6.0.0" }`. */
  readonly dependencies: Readonly<Record<string, string>>;
  readonly platform: {
    /** e.g. `ios`, `android`, `linux`. */
    readonly name: string;
    readonly minimumVersion: string;
    /** CPU architectures the binaries must hold, e.g. `["arm64", "x86_64"]`. */
    readonly architectures: readonly string[];
  };
  readonly deprecated: boolean;
  readonly deprecatedInFavorOf?: string;
  readonly tier: AccessTier;
  /** Unsupported versions are withdrawn from the package host. */
  readonly supported: boolean;
}

/** Identifies one SDK version. */
export interface SdkVersionRef {
  readonly name: string;
  readonly version: string;
}

export type StagingStatus =
  'CONVERTED' | 'WAITING' | 'CONFLICT' | 'TESTING' | 'TEST_FAILED' | 'READY' | 'PUBLISHED' | 'WITHDRAWN';

/**
 * Base of every SDK-publishing error (`MetadataError`, `HostileArchiveError`, ...), so a Step Functions Catch or a
 * handler can tell SDK problems apart from pipeline ones. Derive one class per concern; keep ids in `details`.
 */
export class SdkError extends LockstepError {}
