/**
 * The console's operator actions, validated at the boundary (zod) and run through the same code as the CLI:
 * switches (`lambdas/promotion/switches.ts`), rollback, pin and unpin (`lambdas/promotion/operator-actions.ts`) and
 * the approval decision (`lambdas/promotion/approvals.ts`). Each action is audited and notified there; the console
 * adds the actor (`via: 'console'`, the source IP) so the audit log says who, from where.
 */
import { z } from 'zod';
import { HttpError } from '../core/errors';
import type { ConsoleAction, ConsoleIdentity } from './auth';

/** Who acts, as the operator actions record it. */
export interface ConsoleActor {
  readonly user: string;
  readonly via: 'console';
  readonly sourceIp?: string;
}

export function actorOf(identity: ConsoleIdentity): ConsoleActor {
  return { user: identity.user, via: 'console', ...(identity.sourceIp ? { sourceIp: identity.sourceIp } : {}) };
}

const reason = z.string().trim().max(500).optional();

export const switchesBody = z.strictObject({ enabled: z.boolean().optional(), automation: z.boolean().optional() });
export const rollbackBody = z.strictObject({
  application: z.string().min(1).max(100),
  toRevision: z.number().int().positive().optional(),
  overrideLockAndWindows: z.boolean().optional(),
  reason,
});
export const pinBody = z.strictObject({
  application: z.string().min(1).max(100),
  revision: z.number().int().positive(),
  reason,
});
export const unpinBody = z.strictObject({ application: z.string().min(1).max(100) });
/** Local mode's alarm flip; the reason is CloudWatch's StateReason (at most 1023 characters). */
export const alarmBody = z.strictObject({
  state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z.string().trim().min(1).max(1023).optional(),
});
export const approvalBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().trim().max(1000).optional(),
});

/** What each action route needs from the operator-action code; built by the composition root. */
export interface ConsoleOperations {
  setSwitches(change: z.infer<typeof switchesBody>, actor: ConsoleActor): Promise<unknown>;
  rollback(environment: string, input: z.infer<typeof rollbackBody>, actor: ConsoleActor): Promise<unknown>;
  pin(environment: string, input: z.infer<typeof pinBody>, actor: ConsoleActor): Promise<unknown>;
  unpin(environment: string, input: z.infer<typeof unpinBody>, actor: ConsoleActor): Promise<unknown>;
  decideApproval(requestId: string, input: z.infer<typeof approvalBody>, actor: ConsoleActor): Promise<unknown>;
}

/** The right each action route needs (`authorize` checks it before the body is read). */
export const ACTION_RIGHTS = {
  switches: 'switch',
  rollback: 'rollback',
  pin: 'pin',
  unpin: 'pin',
  approval: 'approve',
  // Flipping a local alarm steers a bake as a switch steers the pipeline: the same operators may do it.
  alarm: 'switch',
} as const satisfies Record<string, ConsoleAction>;

/** Parses an action's JSON body with its schema; every problem in one 400 with its field and the fix. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  throw new HttpError(
    400,
    `The ${what} request is not valid (${problems}); send a JSON object with the fields the console sends`,
  );
}
