/** Step Functions as the orchestrator of promotion executions. */
import { DescribeExecutionCommand, ExecutionDoesNotExist, SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionOutcome, PromotionOrchestrator, StartExecutionResult } from '../ports/services';

export class StepFunctionsOrchestrator implements PromotionOrchestrator {
  constructor(
    private readonly client: SFNClient,
    /** Omitted for a caller that only decides tasks (the approval API); `start` then refuses. */
    private readonly stateMachineArn?: string,
  ) {}

  async start(name: string, input: unknown): Promise<StartExecutionResult> {
    if (!this.stateMachineArn) throw new Error('This orchestrator has no state machine to start executions of');
    try {
      const result = await this.client.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return { started: true, ...(result.executionArn ? { executionArn: result.executionArn } : {}) };
    } catch (error) {
      // The name is the idempotency key of a (promotion, revision): it exists, so it was started before.
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return { started: false };
      throw error;
    }
  }

  async describe(name: string): Promise<ExecutionOutcome | undefined> {
    if (!this.stateMachineArn) throw new Error('This orchestrator has no state machine whose executions it could describe');
    // arn:aws:states:<region>:<account>:stateMachine:<machine> -> arn:aws:states:<region>:<account>:execution:<machine>:<name>
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      const result = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return {
        status: result.status ?? 'RUNNING',
        ...(result.error ? { error: result.error } : {}),
        ...(result.cause ? { cause: result.cause } : {}),
        ...(result.stopDate ? { stoppedAt: result.stopDate.getTime() } : {}),
        ...(result.input ? { input: parseInput(result.input) } : {}),
      };
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist || (error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }

  async succeed(taskToken: string, output: unknown): Promise<void> {
    await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }

  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    await this.client.send(new SendTaskFailureCommand({ taskToken, error, cause }));
  }
}

/** The execution's input as JSON; text that is not JSON is kept as it is (it only names what the execution did). */
function parseInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
