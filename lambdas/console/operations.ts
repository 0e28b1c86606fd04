/**
 * The console's operator actions on the code the CLI runs: switches through `setSwitches`, rollback, pin and
 * unpin through `lambdas/promotion/operator-actions.ts`, approve/reject through `decideApprovalAsUser`. A refusal
 * of those functions becomes the HTTP answer a person acts on: 404 for something unknown, 409 for a state that
 * stands in the way (locked, window closed, pinned, another operator's rollback won), with their own message.
 */
import { HttpError } from '../core/errors';
import { decideApprovalAsUser, type ApprovalDependencies } from '../promotion/approvals';
import {
  OperatorActionRefusedError,
  RollbackConflictError,
  pinEnvironment,
  rollbackEnvironment,
  unpinEnvironment,
  type OperatorDependencies,
  type RefusalCode,
} from '../promotion/operator-actions';
import { setSwitches, type SwitchDependencies } from '../promotion/switches';
import type { ConsoleOperations } from './actions';

export interface ConsoleOperationDependencies {
  readonly switches: SwitchDependencies;
  readonly operators: OperatorDependencies;
  readonly approvals: ApprovalDependencies;
}

const NOT_FOUND: ReadonlySet<RefusalCode> = new Set(['unknown-environment', 'unknown-application', 'unknown-revision']);

/** Runs `action`, turning the operator actions' refusals into HTTP errors with their message. */
async function answered<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof OperatorActionRefusedError)
      throw new HttpError(NOT_FOUND.has(error.code) ? 404 : 409, error.message, {
        cause: error,
        details: error.details,
      });
    if (error instanceof RollbackConflictError)
      throw new HttpError(409, error.message, { cause: error, details: error.details });
    throw error;
  }
}

export function consoleOperations(deps: ConsoleOperationDependencies): ConsoleOperations {
  return {
    setSwitches: (change, actor) => setSwitches(deps.switches, change, actor.user),
    rollback: (environment, input, actor) =>
      answered(() => rollbackEnvironment(deps.operators, { environment, ...input, actor })),
    pin: (environment, input, actor) =>
      answered(() => pinEnvironment(deps.operators, { environment, ...input, actor })),
    unpin: (environment, input, actor) =>
      answered(() => unpinEnvironment(deps.operators, { environment, ...input, actor })),
    decideApproval: async (requestId, input, actor) => {
      const decided = await decideApprovalAsUser(deps.approvals, { requestId, ...input, actor });
      return { requestId, status: decided.status, decidedBy: decided.decidedBy };
    },
  };
}
