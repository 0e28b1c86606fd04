/**
 * The DynamoDB tables Lockstep uses. The CDK construct and local mode both create them from this list, so keys
 * cannot drift between AWS and local. Every table but idempotency uses a string partition key `pk` and a string
 * sort key `sk`; idempotency follows Powertools' defaults (`id`, TTL attribute `expiration`).
 */
export interface TableDefinition {
  /** Logical name: the CDK construct id and the local table name suffix. */
  readonly logicalName: 'Revisions' | 'Environments' | 'Locks' | 'Events' | 'Idempotency';
  /** Environment variable through which handlers learn the physical name. */
  readonly envVar: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly timeToLiveAttribute?: string;
}

/**
 * The TTL attribute of the history tables (epoch seconds). Only the history archiver sets it, and only on entries
 * it has archived (`retention:` in the pipeline), so nothing expires that is not in the archive.
 */
export const HISTORY_EXPIRY_ATTRIBUTE = 'expiresAt';

export const TABLES: readonly TableDefinition[] = [
  {
    logicalName: 'Revisions',
    envVar: 'LOCKSTEP_TABLE_REVISIONS',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: HISTORY_EXPIRY_ATTRIBUTE,
  },
  { logicalName: 'Environments', envVar: 'LOCKSTEP_TABLE_ENVIRONMENTS', partitionKey: 'pk', sortKey: 'sk' },
  { logicalName: 'Locks', envVar: 'LOCKSTEP_TABLE_LOCKS', partitionKey: 'pk', sortKey: 'sk' },
  {
    logicalName: 'Events',
    envVar: 'LOCKSTEP_TABLE_EVENTS',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: HISTORY_EXPIRY_ATTRIBUTE,
  },
  {
    logicalName: 'Idempotency',
    envVar: 'LOCKSTEP_TABLE_IDEMPOTENCY',
    partitionKey: 'id',
    timeToLiveAttribute: 'expiration',
  },
];

/** Tables of the SDK publishing half (`SdkPublisher` construct); local mode creates these as well as `TABLES`. */
export const SDK_TABLES: readonly (Omit<TableDefinition, 'logicalName'> & { readonly logicalName: 'Sdk' })[] = [
  { logicalName: 'Sdk', envVar: 'LOCKSTEP_SDK_TABLE', partitionKey: 'pk', sortKey: 'sk' },
];
