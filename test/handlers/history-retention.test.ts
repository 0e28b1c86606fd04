/**
 * History retention against the local stand-ins (dynalite for the tables, s3rver for the artifacts bucket): the
 * archiver writes JSON Lines before it sets TTL, keeps the revisions environments still need, runs again without
 * loss or duplicates, and `audit export` reads the table and the archive as one trail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoEnvironmentStore } from '../../lambdas/adapters/dynamo-environment-store';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoHistoryStore } from '../../lambdas/adapters/dynamo-history-store';
import { S3HistoryArchive } from '../../lambdas/adapters/s3-history-archive';
import { pipelineSchema, type PipelineInput } from '../../lambdas/core/config/schema';
import { HISTORY_EXPIRY_ATTRIBUTE, TABLES } from '../../lambdas/core/tables';
import { createHandler } from '../../lambdas/handlers/history-archiver';
import { auditEntries, toCsv, toJsonLines } from '../../lambdas/promotion/audit-export';
import { DAY_MS, TIMELINE_PREFIX, type ArchiverDependencies } from '../../lambdas/promotion/history-archiver';
import { ensureTables } from '../../local/dynamodb';
import { auditExport } from '../../bin/commands/audit';
import { localS3Client, startLocalS3, type LocalS3 } from '../../local/s3';

const NOW = Date.parse('2027-06-01T12:00:00Z');
const BUCKET = 'lockstep-artifacts';

let server: ReturnType<typeof dynalite>;
let s3: LocalS3;
let dataDir: string;
let client: DynamoDBDocumentClient;
let tables: Record<string, string>;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tables = await ensureTables(endpoint, TABLES);
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  dataDir = await mkdtemp(join(tmpdir(), 'lockstep-retention-'));
  s3 = await startLocalS3({ dataDir, buckets: [BUCKET] });
  await localS3Client(s3.endpoint)
    .send(new CreateBucketCommand({ Bucket: BUCKET }))
    .catch(() => undefined); // configured at start already
});
afterAll(async () => {
  await s3.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dataDir, { recursive: true, force: true });
});

const PIPELINE: PipelineInput = {
  pipeline: { name: 'shop' },
  packages: [{ name: 'web', source: { github: { owner: 'acme', repo: 'web' } }, build: { commands: ['make'] } }],
  applications: [{ name: 'web', packages: ['web'] }],
  stages: [{ name: 'Beta', environments: [{ name: 'Beta', deploy: { commands: ['deploy'] } }] }],
  promotions: [{ from: { application: 'web' }, to: 'Beta' }],
  retention: { archiveAfterDays: 30 },
};

function dependencies(pipeline: PipelineInput = PIPELINE): ArchiverDependencies {
  return {
    pipeline: pipelineSchema.parse(pipeline),
    history: new DynamoHistoryStore(client, { events: tables.Events!, revisions: tables.Revisions! }),
    archive: new S3HistoryArchive(localS3Client(s3.endpoint), BUCKET),
    environments: new DynamoEnvironmentStore(client, tables.Environments!),
    clock: () => NOW,
  };
}

const revision = (number: number, createdAt: number) => ({
  pk: 'APP#web',
  sk: `REV#${String(number).padStart(12, '0')}`,
  application: 'web',
  number,
  versionSet: { web: `c${number}` },
  commits: [],
  authors: [],
  artifact: `s3://${BUCKET}/revisions/web/${number}/artifact.zip`,
  buildId: `b${number}`,
  createdAt,
  priority: false,
  testResults: {},
});

describe('history retention', () => {
  it('archives old entries and revisions as JSON Lines before expiring them, keeps what environments run, and exports table and archive as one trail', async () => {
    const events = new DynamoEventStore(client, tables.Events!);
    const old = NOW - 40 * DAY_MS;
    await events.append([
      {
        at: old,
        type: 'deployed',
        actor: 'execution:e1',
        message: 'old deploy',
        environment: 'Beta',
        application: 'web',
        revision: 1,
      },
      { at: old + 1000, type: 'switched', actor: 'ann@example.com', message: 'automation off' },
      {
        at: NOW - DAY_MS,
        type: 'deployed',
        actor: 'execution:e3',
        message: 'recent deploy',
        environment: 'Beta',
        application: 'web',
        revision: 3,
      },
    ]);
    for (const [n, at] of [
      [1, old],
      [2, old + 5000],
      [3, NOW - DAY_MS],
    ] as const)
      await client.send(new PutCommand({ TableName: tables.Revisions!, Item: revision(n, at) }));
    // Beta runs revision 2: old, but still needed, so it stays.
    const environments = new DynamoEnvironmentStore(client, tables.Environments!);
    await environments.recordDeployed(
      'Beta',
      { application: 'web', number: 2, versionSet: {}, deployedAt: old },
      undefined,
    );

    const archive = createHandler(dependencies());
    const report = await archive({}, {} as never);
    expect(report).toMatchObject({ events: 2, revisions: 1, cutoff: new Date(NOW - 30 * DAY_MS).toISOString() });

    // In the archive: the two old entries and revision 1, as JSON Lines.
    const store = new S3HistoryArchive(localS3Client(s3.endpoint), BUCKET);
    const timelineKeys = await store.keys(TIMELINE_PREFIX);
    expect(timelineKeys).toHaveLength(1);
    const lines = (await store.get(timelineKeys[0]!))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.message)).toEqual(['old deploy', 'automation off']);
    const revisionKeys = await store.keys('history/revisions/');
    expect(
      (await store.get(revisionKeys[0]!))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).number),
    ).toEqual([1]);

    // In the table: every copy of the archived entries carries the TTL; nothing else does.
    const item = async (table: string, pk: string, sk: string) =>
      (await client.send(new GetCommand({ TableName: table, Key: { pk, sk } }))).Item;
    const oldId = lines[0].id as string;
    for (const pk of ['TIMELINE', 'ENV#Beta', 'REV#web#1'])
      expect((await item(tables.Events!, pk, oldId))?.[HISTORY_EXPIRY_ATTRIBUTE]).toBe(Math.floor(NOW / 1000));
    const rev = async (n: number) => (await item(tables.Revisions!, 'APP#web', `REV#${String(n).padStart(12, '0')}`))!;
    await expect(rev(1)).resolves.toHaveProperty(HISTORY_EXPIRY_ATTRIBUTE);
    expect(await rev(2)).not.toHaveProperty(HISTORY_EXPIRY_ATTRIBUTE);
    expect(await rev(3)).not.toHaveProperty(HISTORY_EXPIRY_ATTRIBUTE);

    // A second pass finds nothing new: no entry archived twice.
    expect(await archive({}, {} as never)).toMatchObject({ events: 0, revisions: 0, objects: [] });

    // The export reads both places and counts each entry once (the archived ones are still in the table here:
    // local DynamoDB never runs TTL).
    const audit = { history: dependencies().history, archive: store, clock: () => NOW };
    const all = await auditEntries(audit, {});
    expect(all.map((e) => e.message)).toEqual(['old deploy', 'automation off', 'recent deploy']);
    expect((await auditEntries(audit, { environment: 'Beta' })).map((e) => e.message)).toEqual([
      'old deploy',
      'recent deploy',
    ]);
    expect((await auditEntries(audit, { actor: 'ann@example.com' })).map((e) => e.type)).toEqual(['switched']);
    expect((await auditEntries(audit, { from: NOW - 2 * DAY_MS, to: NOW })).map((e) => e.message)).toEqual([
      'recent deploy',
    ]);
    expect(toJsonLines(all).trim().split('\n')).toHaveLength(3);
    expect(toCsv(all).split('\r\n')[0]).toBe(
      'time,type,actor,environment,application,revision,promotion,execution,message,id',
    );
  });

  it('reads an archived entry that the table no longer holds (TTL deleted it)', async () => {
    const store = new S3HistoryArchive(localS3Client(s3.endpoint), BUCKET);
    const day = '2026-01-02';
    await store.put(
      `${TIMELINE_PREFIX}${day}/gone.jsonl`,
      JSON.stringify({
        id: `${day}T00:00:00.000Z#gone`,
        at: Date.parse(`${day}T00:00:00Z`),
        type: 'approval-decided',
        actor: 'bob@example.com',
        message: 'approved, with "quotes", and a comma',
      }) + '\n',
    );
    const entries = await auditEntries(
      { history: dependencies().history, archive: store, clock: () => NOW },
      { actor: 'bob@example.com' },
    );
    expect(entries.map((e) => e.type)).toEqual(['approval-decided']);
    expect(toCsv(entries)).toContain('"approved, with ""quotes"", and a comma"');
  });

  it('keeps everything when the pipeline sets no retention', async () => {
    const { retention: _omitted, ...keepAll } = PIPELINE;
    expect(await createHandler(dependencies(keepAll))({}, {} as never)).toEqual({
      cutoff: null,
      events: 0,
      revisions: 0,
      objects: [],
    });
  });

  it('refuses an archive line that is not a timeline entry, naming the object and line', async () => {
    const store = new S3HistoryArchive(localS3Client(s3.endpoint), BUCKET);
    await store.put(`${TIMELINE_PREFIX}2026-01-03/bad.jsonl`, '{"id":"x"}\n');
    await expect(
      auditEntries({ history: dependencies().history, archive: store, clock: () => NOW }, {}),
    ).rejects.toThrow(/history\/timeline\/2026-01-03\/bad\.jsonl line 1 is not a timeline entry/);
  });

  it('lockstep audit export refuses a format or time it cannot read, saying what to write instead', async () => {
    await expect(auditExport({ format: 'xml', dataDir })).rejects.toThrow(
      '--format xml is not supported; use jsonl or csv',
    );
    await expect(auditExport({ format: 'csv', from: 'yesterday', dataDir })).rejects.toThrow(
      '--from yesterday is not a date or time; use ISO 8601, e.g. 2026-01-31 or 2026-01-31T18:00:00Z',
    );
    await expect(
      auditEntries(
        {
          history: dependencies().history,
          archive: new S3HistoryArchive(localS3Client(s3.endpoint), BUCKET),
          clock: () => NOW,
        },
        { from: NOW, to: NOW - 1 },
      ),
    ).rejects.toThrow(/The time range is empty/);
  });
});
