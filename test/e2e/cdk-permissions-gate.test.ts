import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { commitChange, git } from '../../local/git';
import { tempDataDir } from '../local/helpers';
import { builds, decide, eventually, notifications } from './support';

// Issue 12, item 4: the permission-broadening gate on a real CDK app (examples/cdk-app), in local mode, with the
// installed aws-cdk CLI. The app's repository gets three commits: the bucket (no broadening: deployed at once), then
// an `iam:*` grant (the gate stops it; rejected, nothing deployed), then the same grant again (confirmed on the
// approval page, which shows the `iam:*` row; deployed). Each CDK step synthesizes the app (a few seconds each on a
// quiet machine, several times that on a loaded one), so every test has a generous timeout of its own.
const ROOT = resolve(import.meta.dirname, '..', '..');
const TEST_TIMEOUT_MS = 300_000;
const STACK = 'ReportsStack';
const SECURITY = 'security@example.com';
const DEVELOPER = { name: 'Dev Eloper', email: 'developer@example.com' };

/** The second commit's change: a role that may do anything in IAM. */
const ADMIN_GRANT = `
const iam = require('aws-cdk-lib/aws-iam');
const admin = new iam.Role(stack, 'IdentityAdmin', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
admin.addToPolicy(new iam.PolicyStatement({ actions: ['iam:*'], resources: ['*'] }));
`;

describe('deploy.cdk: the permission-broadening gate on examples/cdk-app', () => {
  let work: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  let repo: string;
  let dataDir: string;
  const clock = new ManualClock(Date.parse('2030-01-08T10:00:00Z'));

  const recordedTemplate = async (): Promise<string | undefined> =>
    readFile(join(dataDir, 'deployments', 'dev', 'cdk', `${STACK}.template.json`), 'utf8').catch(() => undefined);
  const pendingApproval = async (revision: number, approver = SECURITY) =>
    (await system.status()).approvals.find(
      (a) => a.environment === 'dev' && a.revision === revision && a.approver === approver,
    );
  const timeline = async (revision: number) =>
    (await system.runtime.eventStore().list({})).filter((e) => e.environment === 'dev' && e.revision === revision);
  /** One reconcile pass records the new branch head as a push; the next, past the 1 s build debounce, builds it. */
  const build = async () => {
    for (let pass = 0; pass < 2; pass++) {
      clock.advance(2_000);
      await system.reconcile();
    }
  };
  const unlocked = async () =>
    eventually(async () => {
      const status = await system.status();
      return status.environments.find((e) => e.name === 'dev')?.lock === null ? status : undefined;
    }, 'dev unlocked');

  beforeAll(async () => {
    work = await tempDataDir('lockstep-cdk-gate-');
    dataDir = join(work.dir, 'data');
    repo = join(work.dir, 'cdk-app');
    await mkdir(repo, { recursive: true });
    await cp(join(ROOT, 'examples', 'cdk-app'), repo, { recursive: true });
    await git(repo, 'init', '--quiet', '--initial-branch', 'main');
    await git(repo, 'config', 'user.name', DEVELOPER.name);
    await git(repo, 'config', 'user.email', DEVELOPER.email);
    await git(repo, 'add', '--all');
    await git(repo, 'commit', '--quiet', '--message', 'Add the reports bucket');
    // The example's own pipeline, pointed at this repository and this machine's aws-cdk (no npm ci offline).
    const config = join(work.dir, 'lockstep.config.yaml');
    await writeFile(
      config,
      JSON.stringify({
        pipeline: { name: 'cdk-gate', buildDebounce: '1s' },
        packages: [
          {
            name: 'cdk-app',
            source: { local: { path: repo, branch: 'main' } },
            build: {
              commands: ['node -e "require(\'./bin/app.js\')"'],
              variables: { NODE_PATH: join(ROOT, 'node_modules') },
            },
          },
        ],
        applications: [{ name: 'cdk-app', packages: ['cdk-app'] }],
        stages: [
          {
            name: 'Dev',
            environments: [
              {
                name: 'dev',
                deploy: {
                  cdk: {
                    stacks: [STACK],
                    // The developer may confirm others' changes, never their own (the manual approvals' rule).
                    approvers: [SECURITY, DEVELOPER.email],
                    cli: `node ${join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk')}`,
                  },
                  variables: { NODE_PATH: join(ROOT, 'node_modules') },
                },
              },
            ],
          },
        ],
        promotions: [{ from: { application: 'cdk-app' }, to: 'dev' }],
        notifications: [
          { events: ['approval-requested', 'deployment-failed', 'revision-approved'], emails: ['ops@example.com'] },
        ],
      }),
    );
    await mkdir(dataDir, { recursive: true });
    system = await startLocalSystem({
      dataDir,
      configFile: config,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      sdkPublishing: false,
      progress: false,
      write: () => undefined,
    });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await system?.stop();
    await work?.cleanup();
  });

  it(
    'deploys the first commit at once: a new bucket whose only statement is a Deny broadens nothing',
    async () => {
      await build();
      const template = await eventually(recordedTemplate, 'r1 recorded as deployed in dev', 240_000);
      const types = Object.values(JSON.parse(template).Resources as Record<string, { Type: string }>).map(
        (r) => r.Type,
      );
      expect(types).toEqual(expect.arrayContaining(['AWS::S3::Bucket', 'AWS::S3::BucketPolicy']));
      expect(types).not.toContain('AWS::IAM::Role');
      const status = await unlocked();
      expect(status.environments.find((e) => e.name === 'dev')?.applications['cdk-app']?.approved).toContain(1);
      expect(status.approvals).toEqual([]);
      const verdict = (await timeline(1)).find((e) => e.type === 'security-diff');
      expect(verdict?.details).toMatchObject({ broadening: false, stacks: [] });
      const steps = (await builds(dataDir)).filter((b) => b.vars.LOCKSTEP_REVISION === '1').map((b) => b.vars);
      // One security diff and one deploy (their order is the state machine's, test/statemachines/permissions-gate.test.ts).
      expect(
        steps
          .map((v) => v.LOCKSTEP_STEP)
          .filter(Boolean)
          .sort(),
      ).toEqual(['deploy', 'security-diff']);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'stops the iam:* grant for a confirmation that shows it; a rejection deploys nothing and says why',
    async () => {
      const before = await recordedTemplate();
      await commitChange(repo, {
        message: 'Let the identity admin manage IAM',
        files: {
          'bin/app.js': (await readFile(join(repo, 'bin', 'app.js'), 'utf8')) + ADMIN_GRANT,
        },
        author: DEVELOPER,
      });
      await build();
      const approval = await eventually(() => pendingApproval(2), 'r2 waiting for a permissions confirmation', 240_000);
      expect(approval.approver).toBe(SECURITY);

      // The page says what this is, and shows the CLI's security table with the iam:* row, escaped.
      const html = await (await fetch(approval.link)).text();
      expect(html).toContain('permissions-broadening confirmation');
      expect(html).toContain('not the normal manual approval');
      expect(html).toMatch(/<pre class="diff">[\s\S]*IAM Statement Changes[\s\S]*iam:\*[\s\S]*<\/pre>/);
      expect(html).toContain('${IdentityAdmin'); // CloudFormation references as the CLI prints them
      // And so does the approver's email.
      const mail = (await notifications(dataDir)).find(
        (m) => m.attributes.approver === SECURITY && m.subject?.includes('cdk-app revision 2') === true,
      );
      expect(mail?.subject).toContain('Permissions broadening to confirm');
      expect(mail?.message).toMatch(/iam:\*/);

      // Waiting for the confirmation deployed nothing: dev still runs r1's template.
      expect(await recordedTemplate()).toBe(before);
      expect(
        (await builds(dataDir)).some((b) => b.vars.LOCKSTEP_REVISION === '2' && b.vars.LOCKSTEP_STEP === 'deploy'),
      ).toBe(false);

      expect((await decide(approval.link, 'reject')).status).toBe(200);
      await unlocked();
      const failure = await eventually(
        async () =>
          (await notifications(dataDir)).find(
            (m) => m.attributes.event === 'deployment-failed' && m.message.includes('cdk-app revision 2'),
          ),
        'the notification that r2 was not deployed',
      );
      expect(failure.message).toContain('its permissions-broadening confirmation was rejected');
      expect(failure.message).toContain('Nothing was deployed');
      expect(await recordedTemplate()).toBe(before);
      const entries = await timeline(2);
      expect(entries.find((e) => e.type === 'security-diff')?.details).toMatchObject({
        broadening: true,
        stacks: [STACK],
      });
      expect(entries.some((e) => e.type === 'deployment-failed' && e.message.includes('rejected'))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'deploys the grant once it is confirmed on the approval page',
    async () => {
      await commitChange(repo, {
        message: 'Ask again for the IAM grant',
        files: { 'CHANGES.md': 'The identity admin manages IAM (reviewed with security).\n' },
        author: DEVELOPER,
      });
      await build();
      const approval = await eventually(() => pendingApproval(3), 'r3 waiting for a permissions confirmation', 240_000);
      // The developer wrote the grant: their own link may not confirm it, and the refusal is in the timeline.
      const own = (await pendingApproval(3, DEVELOPER.email))!;
      const refused = await decide(own.link, 'approve');
      expect(refused.status).toBe(403);
      expect(refused.body).toMatch(/authored commit [0-9a-f]{12} in cdk-app revision 3/);
      expect((await timeline(3)).some((e) => e.type === 'approval-refused')).toBe(true);
      expect((await decide(approval.link, 'approve')).status).toBe(200);
      const template = await eventually(
        async () => ((await recordedTemplate())?.includes('iam:*') ? await recordedTemplate() : undefined),
        'r3 recorded as deployed in dev',
        240_000,
      );
      expect(template).toContain('IdentityAdmin');
      const status = await unlocked();
      expect(status.environments.find((e) => e.name === 'dev')?.applications['cdk-app']?.approved).toContain(3);
    },
    TEST_TIMEOUT_MS,
  );
});
