/**
 * The hostile-archive limits of one deployment (`SdkPublisher`'s `archiveLimits`), as they travel to the convert
 * step and the tester: `LOCKSTEP_SDK_ARCHIVE_LIMITS`, a JSON object of `ArchiveLimits` fields. One schema checks
 * the construct prop at synth and the variable at cold start.
 */
import { z } from 'zod';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../converter';
import { SdkServiceError } from './errors';

/** Name of the environment variable; unset or empty: `DEFAULT_ARCHIVE_LIMITS` (local mode leaves it unset). */
export const ARCHIVE_LIMITS_ENV = 'LOCKSTEP_SDK_ARCHIVE_LIMITS';

const count = z.number().int().positive();

export const archiveLimitsSchema = z
  .object({
    maxEntries: count,
    maxTotalBytes: count,
    maxCompressionRatio: z.number().finite().min(1),
    ratioExemptBytes: z.number().int().nonnegative(),
    maxPathBytes: count,
  })
  .partial()
  .strict();

/** Every problem of a partial limits object, each as `<prefix>.<field>: <message>` (empty when it is fine). */
export function archiveLimitsProblems(value: unknown, prefix: string): string[] {
  const parsed = archiveLimitsSchema.safeParse(value);
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`);
}

/**
 * The limits from `LOCKSTEP_SDK_ARCHIVE_LIMITS`, defaults filled in. Read once, at cold start.
 * @throws SdkServiceError naming the variable and every problem
 */
export function archiveLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiveLimits {
  const text = env[ARCHIVE_LIMITS_ENV];
  if (text === undefined || text === '') return DEFAULT_ARCHIVE_LIMITS;
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch (cause) {
    throw new SdkServiceError(
      `${ARCHIVE_LIMITS_ENV} is not JSON (${(cause as Error).message}); set it to an object such as {"maxTotalBytes": 1073741824}`,
      { cause },
    );
  }
  const problems = archiveLimitsProblems(tree, ARCHIVE_LIMITS_ENV);
  if (problems.length > 0)
    throw new SdkServiceError(
      `${ARCHIVE_LIMITS_ENV} is not a valid archive limits object: ${problems.join('; ')}; fix the SdkPublisher archiveLimits prop`,
      { details: { problems } },
    );
  return { ...DEFAULT_ARCHIVE_LIMITS, ...archiveLimitsSchema.parse(tree) };
}

/** Lambda's `/tmp`: 512 MiB unless `ephemeralStorageSize` raises it, to at most 10,240 MiB. */
export const LAMBDA_MAX_EPHEMERAL_MIB = 10_240;
const LAMBDA_DEFAULT_EPHEMERAL_MIB = 512;
/** Room besides the largest scratch file: the runtime's own files and the SDK's temporary files. */
const SCRATCH_HEADROOM_MIB = 512;

/**
 * `/tmp` the SDK steps function needs: the convert step copies one entry at a time to `/tmp` (a binary while the
 * package's contents are read, a nested archive while it is inspected), and one entry can be as large as
 * `maxTotalBytes`, so `/tmp` holds that plus headroom.
 * @example stepsEphemeralStorageMiB(DEFAULT_ARCHIVE_LIMITS) // 2560 (2 GiB + 512 MiB)
 */
export function stepsEphemeralStorageMiB(limits: Pick<ArchiveLimits, 'maxTotalBytes'>): number {
  return Math.max(LAMBDA_DEFAULT_EPHEMERAL_MIB, Math.ceil(limits.maxTotalBytes / 1024 ** 2) + SCRATCH_HEADROOM_MIB);
}

/** Why `maxTotalBytes` cannot fit the steps function's `/tmp`, or undefined when it can. */
export function ephemeralStorageProblem(
  limits: Pick<ArchiveLimits, 'maxTotalBytes'>,
  prefix: string,
): string | undefined {
  if (stepsEphemeralStorageMiB(limits) <= LAMBDA_MAX_EPHEMERAL_MIB) return undefined;
  const largest = (LAMBDA_MAX_EPHEMERAL_MIB - SCRATCH_HEADROOM_MIB) * 1024 ** 2;
  return (
    `${prefix}.maxTotalBytes: the SDK steps function copies entries of up to this size to /tmp, which Lambda caps at ` +
    `${LAMBDA_MAX_EPHEMERAL_MIB} MiB with ${SCRATCH_HEADROOM_MIB} MiB kept free; use at most ${largest} (got ${limits.maxTotalBytes})`
  );
}
