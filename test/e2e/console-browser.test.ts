import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';
import { deployed, eventually } from './support';

// The web console in a real browser (Debian's chromium, driven by playwright-core, headless): local mode started,
// a change pushed and watched from Alpha to Beta on the page, approved from the page, prod-na rolled back from the
// page with the timeline and audit log showing it, a bake alarm flipped from the page, a viewer refused (403), a
// hostile commit message shown as text, and axe-core finding no serious or critical accessibility problem. Screenshots go to docs/ on request (SHOTS).
const CHROMIUM = process.env.LOCKSTEP_CHROMIUM ?? '/usr/bin/chromium';
const MONDAY_NOON_UTC = Date.parse('2030-01-07T12:00:00Z');
const HOSTILE = 'Say <script>window.__pwned = true</script> & <b>bold</b>';
// The screenshots are always taken; they replace the README's copies in docs/ only when asked
// (`LOCKSTEP_SCREENSHOTS=docs npm test -- test/e2e/console-browser.test.ts`), so a test run leaves the tree clean.
const SHOTS =
  process.env.LOCKSTEP_SCREENSHOTS === 'docs'
    ? join(import.meta.dirname, '../../docs')
    : mkdtempSync(join(tmpdir(), 'lockstep-screenshots-'));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ALARM = 'quickstart-prod-fe-5xx';

/**
 * The quickstart pipeline with an alarm bake on prod-fe, whose night window stays closed through these tests: the
 * alarm is seeded and shown, and flipping it fails no bake of the flow the other cases watch.
 */
function quickstartWithAlarm(): string {
  const config = parse(
    readFileSync(join(import.meta.dirname, '../../examples/quickstart/lockstep.config.yaml'), 'utf8'),
  ) as { stages: { environments: { name: string; approval: Record<string, unknown> }[] }[] };
  const prodFe = config.stages.flatMap((s) => s.environments).find((e) => e.name === 'prod-fe')!;
  prodFe.approval.bakeTime = { duration: '10m', alarms: [ALARM] };
  const file = join(mkdtempSync(join(tmpdir(), 'lockstep-console-config-')), 'lockstep.config.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

describe('the web console in chromium', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  let browser: Browser;
  let page: Page;
  const clock = new ManualClock(MONDAY_NOON_UTC);
  /** Script errors in the page: none is expected (a CSP refusal of our own script would show here). */
  const pageErrors: string[] = [];
  const afterDebounce = () => clock.advance(2_500);
  const card = (environment: string) => page.locator(`article[data-environment="${environment}"]`);

  async function seriousA11yViolations(target: Page): Promise<string[]> {
    // evaluate() runs through the DevTools protocol, outside the page's CSP, which (rightly) refuses inline script.
    return target.evaluate<string[]>(`(async () => {
      ${axeSource};
      const result = await window.axe.run(document);
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ' (' + v.impact + ', ' + v.nodes.length + ' nodes): ' + v.nodes.map((n) => n.target.join(' ')).join(', '));
    })()`);
  }

  async function approveFromPage(revision: number) {
    const approve = card('beta').getByRole('button', { name: `Approve r${revision}` });
    await approve.waitFor({ timeout: 120_000 });
    await approve.click();
    await page
      .locator('#notice')
      .filter({ hasText: `Approved sample-app r${revision} in beta` })
      .waitFor();
  }

  beforeAll(async () => {
    data = await tempDataDir('lockstep-console-');
    system = await startLocalSystem({
      dataDir: data.dir,
      configFile: quickstartWithAlarm(),
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      sdkPublishing: false,
      progress: false,
      write: () => undefined,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    await data?.cleanup();
  });

  it('signs in with the one-time URL and shows the first revision reaching Prod once approved from the page', async () => {
    await page.goto(system.consoleLogin.consoleUrl(system.services.endpoints.http));
    await page.locator('#who').filter({ hasText: 'release-manager@example.com' }).waitFor();
    afterDebounce();
    await approveFromPage(1);
    await card('prod-na').locator('[data-state="approved"]').waitFor({ timeout: 120_000 });
    expect(await card('prod-na').locator('[data-application]').textContent()).toContain('sample-app r1');
    // prod-fe's night window in Tokyo is closed at noon UTC: the card says when it opens, in Tokyo time.
    expect(await card('prod-fe').textContent()).toContain('Window closed, opens Mon 2030-01-07 22:00 Asia/Tokyo');
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it('watches a pushed change move from Alpha to Beta on the page, its message shown as text', async () => {
    await system.push({ message: HOSTILE });
    afterDebounce();
    await card('alpha').locator('[data-application]', { hasText: 'sample-app r2' }).waitFor({ timeout: 120_000 });
    await card('beta').locator('[data-application]', { hasText: 'sample-app r2' }).waitFor({ timeout: 120_000 });
    await card('beta').getByRole('button', { name: 'Approve r2' }).waitFor({ timeout: 120_000 });
    await page.screenshot({ path: join(SHOTS, 'console-pipeline.png'), fullPage: true });

    await page.goto(`${system.services.endpoints.http}/console/#/revisions/sample-app/2`);
    const message = page.locator('.commits .commit-message').first();
    await message.waitFor();
    expect(await message.textContent()).toBe(HOSTILE);
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
    expect(await page.locator('.commits b, .commits script').count()).toBe(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it('approves the change from the page, then rolls prod-na back from the page; the timeline and audit log show it', async () => {
    await page.goto(`${system.services.endpoints.http}/console/#/`);
    await approveFromPage(2);
    await eventually(async () => (await deployed(data.dir, 'prod-na'))?.revision === 2, 'r2 in prod-na');
    await card('prod-na').locator('[data-state="approved"]', { hasText: 'approved' }).waitFor({ timeout: 120_000 });
    await card('prod-na').locator('[data-application]', { hasText: 'sample-app r2' }).waitFor();

    await card('prod-na').getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back prod-na' });
    await dialog.getByLabel('Reason').fill('Checkout errors after r2');
    await dialog.getByRole('button', { name: 'Roll back', exact: true }).click();
    await page.locator('#notice').filter({ hasText: 'Rolling prod-na back' }).waitFor();
    await eventually(async () => (await deployed(data.dir, 'prod-na'))?.revision === 1, 'prod-na back on r1');
    await card('prod-na').locator('[data-state="rolled back"]').waitFor({ timeout: 120_000 });

    await page.goto(`${system.services.endpoints.http}/console/#/environments/prod-na`);
    await page.locator('tr[data-type="rollback-rolled-back"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('tr[data-type="rollback-requested"]').textContent()).toContain(
      'release-manager@example.com',
    );
    await page.screenshot({ path: join(SHOTS, 'console-timeline.png'), fullPage: true });
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.goto(`${system.services.endpoints.http}/console/#/audit?environment=prod-na`);
    const row = page.locator('tr[data-action="rollback-requested"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('release-manager@example.com');
    expect(await row.textContent()).toContain('console');
  });

  it("flips prod-fe's bake alarm from the page, in the CloudWatch the bake reads", async () => {
    await page.goto(`${system.services.endpoints.http}/console/#/`);
    const alarm = card('prod-fe').locator(`[data-alarm="${ALARM}"]`);
    await alarm.locator('[data-alarm-state="OK"]').waitFor();
    await alarm.getByRole('button', { name: `Set ALARM for ${ALARM}` }).click();
    await alarm.locator('[data-alarm-state="ALARM"]').waitFor();
    expect((await system.runtime.alarmReader().states({}, [ALARM]))[0]).toMatchObject({
      state: 'ALARM',
      reason: 'set from the console by release-manager@example.com',
    });
    expect(await seriousA11yViolations(page)).toEqual([]);
    await alarm.getByRole('button', { name: `Set OK for ${ALARM}` }).click();
    await alarm.locator('[data-alarm-state="OK"]').waitFor();
  });

  it('refuses a viewer who tries to roll back (403), and says so on the page', async () => {
    const token = system.consoleLogin.issueLoginToken({ user: 'vera@example.com', groups: ['viewers'] });
    const context = await browser.newContext();
    const viewer = await context.newPage();
    await viewer.goto(system.consoleLogin.consoleUrl(system.services.endpoints.http, token));
    await viewer.locator('#who').filter({ hasText: 'vera@example.com (viewers)' }).waitFor();
    const status = await viewer.evaluate<number>(`(async () => {
      const session = JSON.parse(sessionStorage.getItem('lockstep.console.session'));
      const response = await fetch('/console/api/environments/prod-na/rollback', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + session.token },
        body: JSON.stringify({ application: 'sample-app' }),
      });
      return response.status;
    })()`);
    expect(status).toBe(403);
    await viewer.locator('article[data-environment="prod-na"]').getByRole('button', { name: 'Roll back…' }).click();
    await viewer.getByRole('dialog').getByRole('button', { name: 'Roll back', exact: true }).click();
    await viewer.locator('#notice').filter({ hasText: 'Refused (403)' }).waitFor();
    expect((await deployed(data.dir, 'prod-na'))?.revision).toBe(1);
    await context.close();
    expect(pageErrors).toEqual([]);
  });
});
