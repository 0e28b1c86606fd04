/** Step Functions as the orchestrator of promotion executions. */
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type {
  ExecutionController,
  ExecutionOutcome,
  ExecutionStatus,
  ExecutionStatusReader,
  PromotionOrchestrator,
  RunningExecution,
  StartExecutionResult,
} from '../ports/services';

export class StepFunctionsOrchestrator implements PromotionOrchestrator, ExecutionStatusReader, ExecutionController {
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
    if (!this.stateMachineArn)
      throw new Error('This orchestrator has no state machine whose executions it could describe');
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

  async running(): Promise<RunningExecution[]> {
    if (!this.stateMachineArn) throw new Error('This orchestrator has no state machine to list executions of');
    const running: RunningExecution[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn, statusFilter: 'RUNNING', nextToken }),
      );
      for (const e of page.executions ?? []) {
        if (!e.executionArn || !e.name) continue;
        const described = await this.client.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
        if (described.status !== 'RUNNING') continue; // ended between the two calls
        running.push({
          name: e.name,
          executionArn: e.executionArn,
          input: described.input ? (JSON.parse(described.input) as unknown) : undefined,
        });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return running;
  }

  async stop(executionArn: string, error: string, cause: string): Promise<void> {
    await this.client.send(new StopExecutionCommand({ executionArn, error, cause: cause.slice(0, 32_768) }));
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
