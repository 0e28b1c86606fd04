import { SDK_TABLES, TABLES, type TableDefinition } from '../lambdas/core/tables';

/**
 * Names local mode gives the resources CDK would create on AWS. Handlers learn them through the same environment
 * variables as on AWS (docs/ARCHITECTURE.md), so none of these strings appear in handler code.
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/** A table local mode creates: the promotion tables and the SDK-publishing tables of lambdas/core/tables.ts. */
export type LocalTable = Omit<TableDefinition, 'logicalName'> & { readonly logicalName: string };

/** Every table local mode creates. */
export const LOCAL_TABLES: readonly LocalTable[] = [...TABLES, ...SDK_TABLES];

/** Physical table name for a logical one: `lockstep-revisions`, `lockstep-locks`, `lockstep-sdk`... */
export function localTableName(table: Pick<LocalTable, 'logicalName'>): string {
  return `lockstep-${table.logicalName.toLowerCase()}`;
}

export const LOCAL_ARTIFACTS_BUCKET = 'lockstep-artifacts';

export const LOCAL_TOPICS = {
  approvals: 'lockstep-approvals',
  notifications: 'lockstep-notifications',
} as const;

export const LOCAL_SECRETS = {
  webhook: 'lockstep/github-webhook-secret',
  approvalSigning: 'lockstep/approval-link-signing-secret',
} as const;

/** The promotion state machine's name, as the CDK names it (`lockstep-<pipeline>-promotion`). */
export function promotionStateMachineName(pipeline: string): string {
  return `lockstep-${pipeline}-promotion`;
}

export function topicArn(name: string): string {
  return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
}

export function stateMachineArn(name: string): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
}

export function lambdaArn(functionName: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`;
}
