/**
 * The `World` as a zod schema, for state read from files (`lockstep explain --state`, local mode). Missing
 * collections default to empty, so a state file lists only what exists.
 */
import { z } from 'zod';
import { LockstepError } from '../errors';
import type { World } from './snapshots';

const epochMs = z.number().int().nonnegative();
const versionSet = z.record(z.string(), z.string());

const revisionSchema = z.strictObject({
  application: z.string().min(1),
  number: z.number().int().positive(),
  versionSet,
  commits: z
    .array(
      z.strictObject({
        id: z.string(),
        message: z.string(),
        author: z.string(),
        timestamp: epochMs,
        pushedBy: z.string().optional(),
      }),
    )
    .default([]),
  authors: z.array(z.string()).default([]),
  artifact: z.string().default(''),
  buildId: z.string().default(''),
  createdAt: epochMs.default(0),
  priority: z.boolean().default(false),
  testResults: z
    .record(
      z.string(),
      z.strictObject({ passed: z.number().int().nonnegative(), failed: z.number().int().nonnegative() }),
    )
    .default({}),
});

const deployedSchema = z.strictObject({
  application: z.string().min(1),
  number: z.number().int().positive(),
  versionSet: versionSet.default({}),
  deployedAt: epochMs.default(0),
});

const environmentStateSchema = z.strictObject({
  name: z.string().min(1),
  applications: z
    .record(
      z.string(),
      z.strictObject({
        current: deployedSchema.optional(),
        previous: deployedSchema.optional(),
        approved: z.array(z.number().int().positive()).default([]),
        cleared: z.number().int().positive().optional(),
        failed: z.array(z.number().int().positive()).optional(),
        lastApproval: z.strictObject({ revision: z.number().int().positive(), at: epochMs }).optional(),
      }),
    )
    .default({}),
  lock: z
    .strictObject({
      environment: z.string().min(1),
      owner: z.string().min(1),
      acquiredAt: epochMs,
      leaseExpiresAt: epochMs,
      fencingToken: z.number().int().positive(),
    })
    .nullable()
    .default(null),
});

/** Validates a whole-world state. Types match `World` in `snapshots.ts`. */
export const worldSchema = z.strictObject({
  switches: z.strictObject({ enabled: z.boolean().optional(), automation: z.boolean().optional() }).optional(),
  promotionsEnabled: z.record(z.string(), z.boolean()).optional(),
  revisions: z.record(z.string(), z.array(revisionSchema)).default({}),
  environments: z.record(z.string(), environmentStateSchema).default({}),
  promotionApprovals: z
    .array(
      z.strictObject({
        promotion: z.string().min(1),
        application: z.string().min(1),
        revision: z.number().int().positive(),
        decision: z.enum(['approved', 'rejected', 'pending']),
        decidedBy: z.string().optional(),
        decidedAt: epochMs.optional(),
      }),
    )
    .default([]),
  startedExecutions: z.array(z.string()).default([]),
  retries: z
    .array(
      z.strictObject({
        promotion: z.string().min(1),
        application: z.string().min(1),
        revision: z.number().int().positive(),
        attempt: z.number().int().min(2),
        requestedBy: z.string().min(1),
        requestedAt: epochMs,
        reason: z.string().optional(),
      }),
    )
    .optional(),
  pins: z
    .array(
      z.strictObject({
        environment: z.string().min(1),
        application: z.string().min(1),
        revision: z.number().int().positive(),
        pinnedBy: z.string().min(1),
        pinnedAt: epochMs,
        reason: z.string().optional(),
      }),
    )
    .optional(),
});

// Compile-time check that the schema's output stays assignable to World.
const _worldShape: (w: z.output<typeof worldSchema>) => World = (w) => w;
void _worldShape;

/** A state file that does not match the `World` shape; `details.problems` lists each with its path. */
export class WorldStateError extends LockstepError {}

/**
 * Parses a whole-world state (e.g. the JSON of a state file), reporting every problem at once.
 *
 * @throws WorldStateError listing each problem as `path: message`.
 * @example
 * const world = parseWorld(JSON.parse(readFileSync('state.json', 'utf8')), 'state.json');
 */
export function parseWorld(input: unknown, source = 'state'): World {
  const result = worldSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new WorldStateError(`${source} is not a valid Lockstep state:\n  ${problems.join('\n  ')}`, {
    details: { source, problems },
  });
}
