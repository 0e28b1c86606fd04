/** Step Functions as the orchestrator of promotion executions. */
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionStatus, ExecutionStatusReader, Orchestrator, StartExecutionResult } from '../ports/services';

export class StepFunctionsOrchestrator implements Orchestrator, ExecutionStatusReader {
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

  async status(executionArn: string): Promise<ExecutionStatus | undefined> {
    try {
      const result = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return result.status;
    } catch (error) {
      // Step Functions forgets executions 90 days after they end; an unknown one has no status to report.
      if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return undefined;
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
