/**
 * The permission-broadening gate of `deploy.cdk` environments (docs/ARCHITECTURE.md, "Permission-broadening gate").
 *
 * The security-diff build (`LOCKSTEP_STEP=security-diff`, commands in `lambdas/core/buildspecs.ts`) runs the CDK
 * CLI's own `cdk diff --security-only --fail-on=broadening` and writes `{ broadening, stacks, diff }` beside the
 * revision. The verdict is the CLI's exit code, never a reading of its text: `diff` is only shown to the approvers.
 * This module reads that result for the state machine, which passes a bounded excerpt to the approval request
 * (Step Functions carries at most 256 KB per state; DynamoDB at most 400 KB per item), with the object's
 * location for the whole diff.
 */
import { z } from 'zod';
import { securityDiffKey } from '../core/buildspecs';
import { parseS3Uri, type ArtifactReader } from '../ports/artifacts';
import type { EventStore } from '../ports/stores';
import { InvalidInputError, PromotionError } from './errors';

/** What the security-diff build writes (JSON). */
export const securityDiffResultSchema = z.object({
  /** The CDK CLI exited 1 on `--fail-on=broadening` for at least one stack, confirmed by `--fail-on=never`. */
  broadening: z.boolean(),
  /** The stacks whose diff broadens permissions. */
  stacks: z.array(z.string()),
  /** The CLI's security tables of those stacks, as it printed them. */
  diff: z.string(),
});
export type SecurityDiffResult = z.infer<typeof securityDiffResultSchema>;

/** What the state machine carries on: the verdict and a bounded excerpt of the diff. */
export interface SecurityDiffSummary {
  readonly broadening: boolean;
  readonly stacks: readonly string[];
  /** The diff, cut at a line end to at most `SECURITY_DIFF_EXCERPT_CHARS` characters. */
  readonly excerpt: string;
  /** Whether `excerpt` is shorter than the diff. */
  readonly truncated: boolean;
  /** Where the whole diff is (`s3://...`). */
  readonly location: string;
}

/**
 * Characters of the diff an approval request carries: a few screens of the CLI's tables, far below Step Functions'
 * 256 KB state payload and DynamoDB's 400 KB item, whatever else the request holds.
 */
export const SECURITY_DIFF_EXCERPT_CHARS = 16_000;
/** A result larger than this is refused rather than read into the function's memory. */
export const MAX_SECURITY_DIFF_BYTES = 8 * 1024 * 1024;

/** The security-diff build wrote no result, or one that is not what it writes. */
export class SecurityDiffUnreadableError extends PromotionError {}

/**
 * The first `limit` characters of `diff`, cut after the last whole line that fits (a table row cut in half reads
 * as a different permission).
 *
 * @example
 * diffExcerpt('a\nbb\nccc\n', 5); // { excerpt: 'a\nbb\n', truncated: true }
 */
export function diffExcerpt(
  diff: string,
  limit = SECURITY_DIFF_EXCERPT_CHARS,
): { excerpt: string; truncated: boolean } {
  if (diff.length <= limit) return { excerpt: diff, truncated: false };
  const head = diff.slice(0, limit);
  const lineEnd = head.lastIndexOf('\n');
  return { excerpt: lineEnd > 0 ? head.slice(0, lineEnd + 1) : head, truncated: true };
}

export interface SecurityDiffTarget {
  readonly execution: string;
  readonly promotion: string;
  readonly application: string;
  readonly environment: string;
  readonly revision: number;
  /** `s3://<artifacts bucket>/<securityDiffKey(...)>`: the one place this revision's diff for this environment is. */
  readonly diffUri: string;
}

/**
 * Reads the security diff the build wrote for `target` and records the verdict in the timeline.
 *
 * @example
 * const summary = await readSecurityDiff({ artifacts, events, clock }, { ...target, diffUri });
 * if (summary.broadening) console.log(summary.excerpt);
 */
export async function readSecurityDiff(
  deps: { readonly artifacts: ArtifactReader; readonly events: EventStore; readonly clock: () => number },
  target: SecurityDiffTarget,
): Promise<SecurityDiffSummary> {
  const expectedKey = securityDiffKey(target.application, target.revision, target.environment);
  if (parseS3Uri(target.diffUri).key !== expectedKey) {
    throw new InvalidInputError(
      `Security diff location ${target.diffUri} is not this revision's (${expectedKey}); the execution input is not one Lockstep built`,
      { details: { environment: target.environment, revision: target.revision } },
    );
  }
  const object = await deps.artifacts.readText(target.diffUri, MAX_SECURITY_DIFF_BYTES);
  const details = { environment: target.environment, application: target.application, revision: target.revision };
  if (!object) {
    throw new SecurityDiffUnreadableError(
      `The security-diff build of ${target.application} revision ${target.revision} for ${target.environment} wrote no result at ${target.diffUri}; see the security-diff build's log (its upload with "aws s3 cp" failed or never ran)`,
      { details },
    );
  }
  if (object.text === undefined) {
    throw new SecurityDiffUnreadableError(
      `The security diff at ${target.diffUri} is ${object.size} bytes, over the ${MAX_SECURITY_DIFF_BYTES} bytes Lockstep reads; split the app's stacks or deploy them from environments of their own`,
      { details },
    );
  }
  let parsed: SecurityDiffResult;
  try {
    parsed = securityDiffResultSchema.parse(JSON.parse(object.text));
  } catch (error) {
    throw new SecurityDiffUnreadableError(
      `The security diff at ${target.diffUri} is not the { broadening, stacks, diff } JSON the security-diff build writes`,
      { details, cause: error },
    );
  }
  const { excerpt, truncated } = diffExcerpt(parsed.diff);
  await deps.events.append({
    at: deps.clock(),
    type: 'security-diff',
    actor: `execution:${target.execution}`,
    message: parsed.broadening
      ? `${target.application} revision ${target.revision} broadens permissions in ${target.environment} (${parsed.stacks.join(', ')}): the deploy waits for a permissions-broadening approval`
      : `${target.application} revision ${target.revision} broadens no permission in ${target.environment}`,
    environment: target.environment,
    application: target.application,
    revision: target.revision,
    promotion: target.promotion,
    execution: target.execution,
    details: { broadening: parsed.broadening, stacks: parsed.stacks, location: target.diffUri },
  });
  return { broadening: parsed.broadening, stacks: parsed.stacks, excerpt, truncated, location: target.diffUri };
}
