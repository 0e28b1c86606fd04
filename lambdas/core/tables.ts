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
 * The TTL attribute of every table (epoch seconds), as Powertools names it for idempotency records. An item
 * without it never expires; DynamoDB Local and dynalite delete nothing, so readers treat a passed time as absent.
 */
export const TTL_ATTRIBUTE = 'expiration';

/**
 * The TTL the history archiver sets on Revisions and Events items it has archived (`retention:` in the pipeline), so
 * nothing expires that is not in the archive. DynamoDB allows one TTL attribute per table: it is the same one.
 */
export const HISTORY_EXPIRY_ATTRIBUTE = TTL_ATTRIBUTE;

export const TABLES: readonly TableDefinition[] = [
  /**
   * Revisions (`APP#<application>` / `REV#<number, 12 digits>`, read newest first by key range), build markers,
   * AutoBuild's pushes and builds.
   */
  {
    logicalName: 'Revisions',
    envVar: 'LOCKSTEP_TABLE_REVISIONS',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: TTL_ATTRIBUTE,
  },
  /**
   * Environment slots, the approved index (`APPROVED#<environment>#<application>` / `REV#<number, 12 digits>`,
   * read newest first by key range), switches, go-aheads, execution records (`PROMOTION#<id>` /
   * `EXECUTION#<name>`, read by key) and retry requests.
   */
  {
    logicalName: 'Environments',
    envVar: 'LOCKSTEP_TABLE_ENVIRONMENTS',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: TTL_ATTRIBUTE,
  },
  {
    logicalName: 'Locks',
    envVar: 'LOCKSTEP_TABLE_LOCKS',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: TTL_ATTRIBUTE,
  },
  {
    logicalName: 'Events',
    envVar: 'LOCKSTEP_TABLE_EVENTS',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: TTL_ATTRIBUTE,
  },
  {
    logicalName: 'Idempotency',
    envVar: 'LOCKSTEP_TABLE_IDEMPOTENCY',
    partitionKey: 'id',
    timeToLiveAttribute: TTL_ATTRIBUTE,
  },
];

/** Tables of the SDK publishing half (`SdkPublisher` construct); local mode creates these as well as `TABLES`. */
export const SDK_TABLES: readonly (Omit<TableDefinition, 'logicalName'> & { readonly logicalName: 'Sdk' })[] = [
  { logicalName: 'Sdk', envVar: 'LOCKSTEP_SDK_TABLE', partitionKey: 'pk', sortKey: 'sk' },
];
