/**
 * What the tester is asked to do (`tests/<plan id>/plan.json` in the staging bucket, written by the stage step;
 * its presigned URL reaches the build as `LOCKSTEP_SDK_TEST_PLAN`) and where it reports.
 */
import { z } from 'zod';

/**
 * Where an object is, and the presigned URL the tester uses for it (GET for packages, PUT for the results): the
 * tester's role may touch no object itself, so it reaches exactly the plan's objects and one results key, which
 * it cannot choose.
 */
const location = z.object({ bucket: z.string().min(1), key: z.string().min(1), url: z.string().min(1).optional() });

export const testPlanSchema = z.object({
  planId: z.string().min(1),
  /** The packages under test (one SDK, or every member of a batch). */
  members: z.array(z.object({ name: z.string().min(1), version: z.string().min(1) })).min(1),
  /** Every package of the resolved set: the members (from staging) and what they need (staging or package host). */
  packages: z.array(
    location.extend({
      name: z.string().min(1),
      version: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      size: z.number().int().nonnegative(),
    }),
  ),
  results: location,
});

export type TestPlan = z.infer<typeof testPlanSchema>;

/** `s3://bucket/key` -> parts. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match === null ? undefined : { bucket: match[1]!, key: match[2]! };
}
