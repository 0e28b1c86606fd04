import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditLog } from '../../lambdas/console/timeline';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';
import { decide, deployed, deploysOf, eventually } from './support';

// A 2-of-3 manual approval in local mode, as its approvers meet it: three approval emails, each with its own link;
// the approver who authored the change opens theirs and is told they cannot approve it (and the refusal is in the
// audit log and the revision's timeline); the other two approve, and the revision goes on to Prod exactly once. A
// second change, pushed by an approver who did not author it, is refused to that approver the same way.
// No test steps and a 1-second debounce keep it short.
const CONFIG = `
pipeline:
  name: two-of-three
  buildDebounce: 1s
packages:
  - name: sample-app
    source:
      local:
        path: repos/sample-app
        branch: main
    build:
      commands: [node scripts/build.js]
      artifacts: [dist/**, scripts/**, package.json]
applications:
  - name: sample-app
    packages: [sample-app]
stages:
  - name: Beta
    environments:
      - name: beta
        deploy:
          commands: [node scripts/deploy.js]
        approval:
          manual:
            approvers: [ann@example.com, bob@example.com, carol@example.com]
            required: 2
            timeout: 1h
  - name: Prod
    environments:
      - name: prod
        deploy:
          commands: [node scripts/deploy.js]
promotions:
  - from: { application: sample-app }
    to: beta
  - from: { environment: beta }
    to: prod
`;

/** Each step's own limit: a step that hangs fails here, well inside the file's overall timeout. */
const STEP_TIMEOUT_MS = 90_000;

describe('a 2-of-3 approval whose change one of the approvers authored', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  const clock = new ManualClock(Date.parse('2030-01-07T12:00:00Z'));
  let revision: number;
  let commit: string;
  const links: Record<string, string> = {};

  beforeAll(async () => {
    data = await tempDataDir('lockstep-e2e-');
    const configFile = join(data.dir, 'lockstep.config.yaml');
    await writeFile(configFile, CONFIG);
    system = await startLocalSystem({
      dataDir: data.dir,
      configFile,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      firstPush: false,
      sdkPublishing: false,
      write: () => undefined,
    });
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    await system?.stop();
    await data?.cleanup();
  });

  it(
    'mails each of the three approvers their own link once the change, authored by Ann, waits in beta',
    async () => {
      const pushed = await system.push({
        message: 'Change authored by an approver',
        author: { name: 'Ann', email: 'ann@example.com' },
      });
      commit = String(pushed.payload.after);
      clock.advance(1_500); // past the build debounce
      const pending = await eventually(async () => {
        const approvals = (await system.status()).approvals.filter((a) => a.environment === 'beta');
        return approvals.length === 3 ? approvals : undefined;
      }, 'three approval links for beta');
      for (const approval of pending) links[approval.approver] = approval.link;
      expect(Object.keys(links).sort()).toEqual(['ann@example.com', 'bob@example.com', 'carol@example.com']);
      revision = pending[0]!.revision;
      expect(new Set(pending.map((p) => p.requestId)).size).toBe(1);
      expect(await deployed(data.dir, 'beta')).toMatchObject({ revision, commit });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "refuses Ann's own link on the page, saying why, and records the refusal in the audit log and the timeline",
    async () => {
      const short = commit.slice(0, 12);
      const page = await fetch(links['ann@example.com']!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`You authored commit ${short} in this revision`);

      const refused = await decide(links['ann@example.com']!, 'approve');
      expect(refused.status).toBe(403);
      expect(refused.body).toContain(
        `You (ann@example.com) authored commit ${short} in sample-app revision ${revision}, so another approver must approve it.`,
      );

      const events = system.runtime.eventStore();
      const timeline = await events.list({ application: 'sample-app', revision });
      expect(timeline.filter((e) => e.type === 'approval-refused')).toEqual([
        expect.objectContaining({
          actor: 'ann@example.com',
          environment: 'beta',
          details: expect.objectContaining({ reason: 'self-approval', role: 'authored', commit: short }),
        }),
      ]);
      expect(await auditLog(events, { action: 'approval-refused' })).toEqual([
        expect.objectContaining({ actor: 'ann@example.com', environment: 'beta', revision }),
      ]);
      // Refused, not counted: the request still waits for two approvals.
      expect((await system.status()).approvals.filter((a) => a.environment === 'beta')).toHaveLength(3);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'completes at the second of the other two approvals, and the revision goes on to prod exactly once',
    async () => {
      const first = await decide(links['bob@example.com']!, 'approve');
      expect(first.status).toBe(200);
      expect(first.body).toContain('1 of 2 approvals');
      expect(await deployed(data.dir, 'prod')).toBeUndefined();

      const second = await decide(links['carol@example.com']!, 'approve');
      expect(second.status).toBe(200);
      expect(second.body).toContain('<h1>Approved</h1>');

      await eventually(async () => {
        const s = await system.status();
        const prod = s.environments.find((e) => e.name === 'prod');
        return prod?.applications['sample-app']?.approved.includes(revision) && prod.lock === null;
      }, `r${revision} approved in prod and its lock released`);
      expect(await deployed(data.dir, 'prod')).toMatchObject({ revision, commit, rollback: false });

      // More passes change nothing: one execution into prod, one deploy there.
      await system.reconcile();
      await system.reconcile();
      expect(await deploysOf(data.dir, 'prod', revision)).toHaveLength(1);
      const timeline = await system.runtime.eventStore().list({ application: 'sample-app', revision }, 500);
      expect(timeline.filter((e) => e.type === 'promotion-started' && e.environment === 'prod')).toHaveLength(1);
      expect(timeline.filter((e) => e.type === 'approval-approved')).toEqual([
        expect.objectContaining({ actor: 'carol@example.com', environment: 'beta' }),
      ]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'refuses the approver who pushed the next change, though someone else authored it, naming the commit',
    async () => {
      const pushed = await system.push({
        message: 'Change pushed by an approver',
        author: { name: 'Dev', email: 'dev@example.com' },
        pusher: { name: 'Bob', email: 'bob@example.com' },
      });
      const next = String(pushed.payload.after);
      clock.advance(1_500);
      const pending = await eventually(async () => {
        const approvals = (await system.status()).approvals.filter(
          (a) => a.environment === 'beta' && a.revision > revision,
        );
        return approvals.length === 3 ? approvals : undefined;
      }, 'three approval links for the next revision in beta');
      const link = (approver: string) => pending.find((p) => p.approver === approver)!.link;
      const refused = await decide(link('bob@example.com'), 'approve');
      expect(refused.status).toBe(403);
      expect(refused.body).toContain(`You (bob@example.com) pushed commit ${next.slice(0, 12)}`);
      expect((await decide(link('ann@example.com'), 'approve')).status).toBe(200);
      expect((await decide(link('carol@example.com'), 'approve')).body).toContain('<h1>Approved</h1>');
      await eventually(
        async () => (await deployed(data.dir, 'prod'))?.commit === next,
        'the next revision deployed to prod',
      );
    },
    STEP_TIMEOUT_MS,
  );
});
