/**
 * The console's sign-in in a real browser (Debian's chromium, driven by playwright-core; no browser download):
 * the one-time URL that `npm start` prints signs in once and leaves the address bar, the session survives a reload,
 * a used link says so, and an action that meets an ended session is resumed after the next login.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ManualClock } from '../../local/clock';
import { startLocalSystem, type LocalSystem } from '../../local/assembly/system';
import { tempDataDir } from '../local/helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('console sign-in in chromium', () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let system: LocalSystem;
  let browser: Browser;
  const clock = new ManualClock(Date.parse('2030-01-07T12:00:00Z'));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    data = await tempDataDir('lockstep-console-browser-');
    system = await startLocalSystem({
      dataDir: data.dir,
      clock,
      javaPreference: 'dynalite',
      instantRetries: true,
      sdkPublishing: false,
      firstPush: false,
      progress: false,
      write: () => undefined,
      consoleUser: 'alice@example.com',
      consoleGroups: 'operators,approvers',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    await data?.cleanup();
  });

  const who = (page: Page) => page.locator('#who');
  /** The header names the user once `ensureSignedIn()` resolved. */
  const signedIn = (page: Page) => page.locator('#who', { hasText: /\S/ }).waitFor();

  it('signs in once with the printed URL, drops the token from the address bar, and survives a reload', async () => {
    const page = await browser.newPage();
    const url = system.consoleLogin.consoleUrl(system.connection.http);
    await page.goto(url);
    await signedIn(page);
    expect(await who(page).textContent()).toBe('alice@example.com (operators, approvers)');
    expect(new URL(page.url()).searchParams.has('login')).toBe(false);

    await page.reload();
    await signedIn(page);
    expect(await who(page).textContent()).toBe('alice@example.com (operators, approvers)');

    // The same link in another browser (a new context: its own sessionStorage) no longer works.
    const other = await (await browser.newContext()).newPage();
    await other.goto(url);
    await other.locator('#main', { hasText: 'used already' }).waitFor();
    expect(await who(other).textContent()).toBe('');
  });

  it('resumes the action an ended session interrupted after the next login', async () => {
    const page = await browser.newPage();
    const first = system.consoleLogin.issueLoginToken({ user: 'alice@example.com', groups: ['operators'] });
    await page.goto(system.consoleLogin.consoleUrl(system.connection.http, first));
    await signedIn(page);

    // The bearer outlives its 12 hours (the server's clock); the operator then turns automation off.
    clock.advance(13 * 60 * 60 * 1000);
    // The page's own module instance (same URL, same module), as a button's handler would call it.
    await page.evaluate(`import('/console/auth.js').then(({ apiFetch }) => {
      void apiFetch('/console/api/switches', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ automation: false }),
      });
    })`);
    await page.locator('#main', { hasText: 'open the console URL that npm start printed last' }).waitFor();

    // A new one-time link in the same tab: signed in again, the switch goes through once, and the page says so.
    const resumed = page.waitForRequest(
      (request) => request.url().endsWith('/console/api/switches') && request.method() === 'POST',
    );
    const token = system.consoleLogin.issueLoginToken({ user: 'alice@example.com', groups: ['operators'] });
    await page.goto(system.consoleLogin.consoleUrl(system.connection.http, token));
    const request = await resumed;
    expect(request.headers().authorization).toMatch(/^Bearer [A-Za-z0-9_-]{43}$/);
    expect(request.postData()).toBe('{"automation":false}');
    expect((await request.response())?.status()).toBe(200);
    await page.locator('#notice', { hasText: 'Resumed after login: POST /console/api/switches' }).waitFor();
    const switches = await system.runtime
      .agentDependencies()
      .environments.switches({ enabled: true, automation: true });
    expect(switches.automation).toBe(false);
  });
});
