// What the console's reads cost on a long history, counted in items DynamoDB read (a Query's ScannedCount, one per
// GetItem): opening a change by commit and paging a timeline must cost the same on revision 3,000 or page 60 as on
// the first, so a change that goes back to reading the whole history fails here.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoEventStore } from '../../lambdas/adapters/dynamo-event-store';
import { DynamoRevisionStore } from '../../lambdas/adapters/dynamo-revision-store';
import { batchPutAll, pad } from '../../lambdas/adapters/dynamo-util';
import { parseTimelineCursor, timelinePage, TIMELINE_PAGE_SIZE } from '../../lambdas/console/timeline';
import type { PipelineEvent } from '../../lambdas/ports/stores';
import { startDynamoTables, type DynamoTables } from '../support/dynamo-tables';

const HISTORY = 3_000;

let db: DynamoTables;
beforeAll(async () => {
  db = await startDynamoTables();
});
afterAll(() => db.stop());

/** A client that counts the items DynamoDB read for it; `reads()` says how many since the last `reset()`. */
function countingClient(): { client: DynamoDBDocumentClient; reads: () => number; reset: () => void } {
  let read = 0;
  const client = db.pagedClient(1_000);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as {
        ScannedCount?: number;
        Responses?: Record<string, unknown[]>;
      };
      if (context.commandName === 'QueryCommand') read += output.ScannedCount ?? 0;
      else if (context.commandName === 'GetCommand') read += 1;
      else if (context.commandName === 'BatchGetCommand')
        read += Object.values(output.Responses ?? {}).reduce((n, items) => n + items.length, 0);
      return result;
    },
    { step: 'initialize', name: 'countReads' },
  );
  return { client, reads: () => read, reset: () => (read = 0) };
}

const commitOf = (n: number) => `${pad(n, 8)}${'ab'.repeat(16)}`;

describe('opening a change by commit', () => {
  const application = 'shop';
  let counter: ReturnType<typeof countingClient>;
  let store: DynamoRevisionStore;

  beforeAll(async () => {
    counter = countingClient();
    store = new DynamoRevisionStore(counter.client, db.table('Revisions'), () => 1);
    // A history written by a Lockstep without the commit index: revisions and the counter only.
    const legacy = Array.from({ length: HISTORY }, (_, i) => {
      const number = i + 1;
      return {
        pk: `APP#${application}`,
        sk: `REV#${pad(number)}`,
        application,
        number,
        versionSet: { shop: commitOf(number), lib: 'f'.repeat(40) },
        commits: [{ id: commitOf(number), message: `Change ${number}`, author: 'dev@example.com', timestamp: number }],
        authors: ['dev@example.com'],
        artifact: `s3://artifacts/${number}`,
        buildId: `build-${number}`,
        createdAt: number,
        priority: false,
        testResults: {},
      };
    });
    await batchPutAll(db.client, db.table('Revisions'), [
      ...legacy,
      { pk: `APP#${application}`, sk: '#COUNTER', last: HISTORY },
    ]);
  }, 60_000);

  it('finds revisions written before the index while the reconcile pass has not indexed them yet', async () => {
    expect(await store.findByCommit(application, commitOf(2_990).slice(0, 12))).toBe(2_990);
  });

  it('indexes the older revisions a share per pass, then reads one item per lookup however long the history', async () => {
    let passes = 0;
    while ((await store.indexLegacyCommits(application, 200)) > 0) passes++;
    expect(passes).toBe(HISTORY / 200);
    expect(await store.indexLegacyCommits(application, 200)).toBe(0);

    const created = await store.create(application, 'build-new', async () => ({
      versionSet: { shop: 'c0ffee'.padEnd(40, '0'), lib: 'f'.repeat(40) },
      commits: [{ id: 'c0ffee'.padEnd(40, '0'), message: 'New', author: 'ann@example.com', timestamp: 1 }],
      authors: ['ann@example.com'],
      artifact: 's3://artifacts/new',
      buildId: 'build-new',
      createdAt: 1,
      priority: false,
    }));
    expect(created.number).toBe(HISTORY + 1);

    const lookups: Array<[string, number | undefined]> = [
      ['c0ffee0', HISTORY + 1], // written by this Lockstep, by 7-character prefix
      [commitOf(1), 1], // the oldest revision, indexed by the pass
      [commitOf(1_500).slice(0, 10).toUpperCase(), 1_500], // any case
      ['f'.repeat(40), HISTORY + 1], // a version every revision carries: the newest
      ['1234567', undefined], // no revision has it
    ];
    for (const [commit, expected] of lookups) {
      counter.reset();
      expect(await store.findByCommit(application, commit)).toBe(expected);
      // One index item on a hit; on a miss the empty query and the migration marker.
      expect(counter.reads()).toBeLessThanOrEqual(2);
    }
  });
});

describe('paging a timeline', () => {
  let counter: ReturnType<typeof countingClient>;
  let events: DynamoEventStore;
  const scope = { environment: 'Prod' };

  beforeAll(async () => {
    counter = countingClient();
    events = new DynamoEventStore(counter.client, db.table('Events'));
    const writer = new DynamoEventStore(db.client, db.table('Events'));
    const all: PipelineEvent[] = Array.from({ length: HISTORY }, (_, i) => ({
      at: Date.parse('2030-01-01T00:00:00Z') + i * 1_000,
      type: 'deployed',
      actor: 'agent:reconcile',
      message: `entry ${i + 1}`,
      environment: 'Prod',
    }));
    for (let i = 0; i < all.length; i += 200) await writer.append(all.slice(i, i + 200));
  }, 60_000);

  it('walks every page older and back newer, each costing at most two pages of reads, however deep', async () => {
    const seen: string[] = [];
    const cursors: Array<string | undefined> = [undefined];
    let page = await timelinePage(events, scope);
    for (;;) {
      seen.push(...page.entries.map((e) => e.message));
      if (!page.older) break;
      cursors.push(page.older);
      counter.reset();
      page = await timelinePage(events, scope, parseTimelineCursor({ cursor: page.older }));
      expect(counter.reads()).toBeLessThanOrEqual(2 * (TIMELINE_PAGE_SIZE + 1));
    }
    expect(seen).toEqual(Array.from({ length: HISTORY }, (_, i) => `entry ${HISTORY - i}`));
    expect(page.page).toBe(HISTORY / TIMELINE_PAGE_SIZE);
    expect(page.hasMore).toBe(false);

    // Back from the oldest page to the newest through `newer`: the same pages, in reverse.
    for (let n = cursors.length - 1; n > 0; n--) {
      const back = parseTimelineCursor({ cursor: page.newer! });
      page = await timelinePage(events, scope, back);
      expect(page.page).toBe(n);
      expect(page.entries[0]!.message).toBe(`entry ${HISTORY - (n - 1) * TIMELINE_PAGE_SIZE}`);
    }
    expect(page.newer).toBeUndefined();
  }, 60_000);

  it('refuses a damaged cursor and a page number with the way to page', () => {
    expect(() => parseTimelineCursor({ cursor: 'not a cursor' })).toThrow(/damaged or out of date/);
    expect(() => parseTimelineCursor({ cursor: Buffer.from('{"p":3}').toString('base64url') })).toThrow(/damaged/);
    expect(() => parseTimelineCursor({ page: '4' })).toThrow(/follow the "older" and "newer" cursors/);
    expect(parseTimelineCursor({ page: '1' })).toEqual({ p: 1 });
  });
});
