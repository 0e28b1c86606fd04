import { TABLES, type TableDefinition } from '../lambdas/core/tables';

/**
 * Names local mode gives the resources CDK would create on AWS. Handlers learn them through the same environment
 * variables as on AWS (docs/ARCHITECTURE.md), so none of these strings appear in handler code.
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/** Physical table name for a logical one: `lockstep-revisions`, `lockstep-locks`, ... */
export function localTableName(table: TableDefinition): string {
  return `lockstep-${table.logicalName.toLowerCase()}`;
}

export const LOCAL_TABLE_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  TABLES.map((t) => [t.logicalName, localTableName(t)]),
);

export const LOCAL_ARTIFACTS_BUCKET = 'lockstep-artifacts';

export const LOCAL_TOPICS = {
  approvals: 'lockstep-approvals',
  notifications: 'lockstep-notifications',
} as const;

export const LOCAL_SECRETS = {
  webhook: 'lockstep/github-webhook-secret',
  approvalSigning: 'lockstep/approval-link-signing-secret',
} as const;

export const LOCAL_PROMOTION_STATE_MACHINE = 'lockstep-promotion';

export function topicArn(name: string): string {
  return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
}

export function stateMachineArn(name: string): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
}

export function lambdaArn(functionName: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`;
}
