/**
 * The manual approval step (`arn:aws:states:::lambda:invoke.waitForTaskToken`): stores the task token in DynamoDB
 * under a new request id and mails each approver a signed, expiring link bound to (execution, environment,
 * revision). The token never leaves DynamoDB and is never logged.
 *
 * Input: `{ taskToken, request: { execution, promotion, environment, application, revision, approvers, timeoutSeconds,
 * securityDiff? } }` (`securityDiff` on a permission-broadening confirmation, `lambdas/promotion/permissions-gate.ts`)
 * (the request sits apart so the ASL's `TimeoutSecondsPath` resolves the same on AWS and in the local engine).
 * Output: `{ requestId, expiresAt }` (Step Functions ignores it: the execution waits for the decision).
 */
import middy from '@middy/core';
import { z } from 'zod';
import { lazyHandler } from '../adapters/middleware';
import { createObservability, observability, type Observability } from '../adapters/observability';
import { defaultRuntime } from '../adapters/runtime';
import { sendApprovalRequest, type ApprovalDependencies } from '../promotion/approvals';
import { InvalidInputError } from '../promotion/errors';

export const approvalRequestInputSchema = z.object({
  taskToken: z.string().min(1),
  request: z.object({
    execution: z.string().min(1),
    promotion: z.string().min(1).optional(),
    environment: z.string().min(1),
    application: z.string().min(1),
    revision: z.number().int().positive(),
    approvers: z.array(z.string().min(1)).min(1),
    /** Absent in requests from executions started before N-of-M approvals: one approver decides. */
    required: z.number().int().positive().default(1),
    timeoutSeconds: z.number().int().positive(),
    /** Set by RequestPermissionsApproval: the permission-broadening confirmation of a `deploy.cdk` deploy. */
    securityDiff: z
      .object({
        stacks: z.array(z.string()),
        excerpt: z.string(),
        truncated: z.boolean(),
        location: z.string().min(1),
      })
      .optional(),
  }),
});
export type ApprovalRequestInput = z.infer<typeof approvalRequestInputSchema>;

export function createHandler(deps: ApprovalDependencies, o: Observability = createObservability('approval-request')) {
  return middy<unknown, { requestId: string; expiresAt: number }>()
    .use(observability(o))
    .handler(async (event: unknown) => {
      const parsed = approvalRequestInputSchema.safeParse(event);
      if (!parsed.success) {
        // Paths only: the input holds the task token.
        throw new InvalidInputError(
          `Invalid approval request input at ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
        );
      }
      const { taskToken, request: input } = parsed.data;
      const result = await sendApprovalRequest(deps, { kind: 'environment', taskToken, ...input });
      o.logger.info('Approval requested', {
        requestId: result.requestId,
        execution: input.execution,
        environment: input.environment,
      });
      return result;
    });
}

export const handler = lazyHandler(() => createHandler(defaultRuntime().approvalDependencies()));
