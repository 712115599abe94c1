import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { openInstallation, type Installation } from '../../src/installation';
import { generateCode } from '../../src/core/totp';
import { buildHttpService } from '../../src/web/server';
import { startHaraka, smtpLogin, type RunningHaraka } from '../helpers/haraka';
import { TestClock } from '../helpers/installation';
import { freePort } from '../helpers/ports';
import { describeWithPrograms } from '../helpers/system';

const ACCOUNT = 'carol@example.test';
const PASSWORD = 'a long panel password';
const ARTIFACTS = resolve(__dirname, '..', '..', '..', 'test', 'artifacts', 'web');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** The part of a form input that the browser's own validation sets. */
interface FormField {
  readonly validity: { readonly valid: boolean; readonly patternMismatch: boolean };
}

describeWithPrograms('web panel in Chromium', ['/usr/bin/chromium'], function () {
  this.timeout(120_000);

  let haraka: RunningHaraka;
  let installation: Installation;
  let app: FastifyInstance;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  let baseUrl: string;
  // The panel runs on an injected clock so that a new time step needs no 30 s wait.
  // Haraka keeps the real clock, which is fine because it only checks the app password.
  const clock = new TestClock(Date.now());

  /** Screenshots the current page at desktop and phone width. */
  async function shot(name: string): Promise<void> {
    for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${label}.png`), fullPage: true });
    }
    await page.setViewportSize(DESKTOP);
  }

  async function codeFor(secretKey: string): Promise<string> {
    return generateCode(secretKey, Math.floor(clock.now() / 1000));
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    haraka = await startHaraka({ extraIni: '[throttle]\nmax_delay = 0\n' });
    installation = await openInstallation({ configDir: join(haraka.home, 'config'), now: clock.now });
    await installation.passwdFile!.setPassword(ACCOUNT, PASSWORD);

    app = await buildHttpService(installation);
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    baseUrl = `http://127.0.0.1:${port}`;

    profile = mkdtempSync(join(tmpdir(), 'twostep-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: DESKTOP,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await installation?.close();
    await haraka?.stop();
    if (profile) {
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('turns on 2-Step Verification and uses an app password', async () => {
    await page.goto(`${baseUrl}/`);
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    await shot('01-sign-in');

    await page.fill('#account', ACCOUNT);
    await page.fill('#password', PASSWORD);
    await page.click('button:has-text("Next")');
    await page.waitForURL('**/settings');
    await shot('02-settings-off');

    await page.click('a:has-text("Turn on")');
    await page.waitForURL('**/settings/2sv/start');
    await shot('03-get-started');

    // Past the re-verification window, so the panel requests the password again.
    clock.advanceSeconds(301);
    await page.click('a:has-text("Get Started")');
    await page.waitForURL('**/verify?next=*');
    await shot('04-verify-password');
    await page.fill('#password', PASSWORD);
    await page.click('button:has-text("Verify")');
    await page.waitForURL('**/settings/2sv/pair');
    await shot('05-device-name');

    await page.fill('#name', 'Carol phone');
    await page.click('button:has-text("Show the QR code")');
    await page.waitForSelector('#secret-key');
    assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code is inline SVG from the server');
    const formattedKey = (await page.textContent('#secret-key'))!.trim();
    assert.match(formattedKey, /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
    const otpauth = await page.getAttribute('#otpauth-link', 'href');
    assert.match(otpauth!, /^otpauth:\/\/totp\/TwoStep:carol%40example.test\?secret=/);
    await shot('06-pairing');

    const secretKey = formattedKey.replace(/ /g, '');
    // The browser stops a space before the code; a code in groups, as apps show it, is sent.
    const code = await codeFor(secretKey);
    await page.fill('#code', ` ${code}`);
    assert.equal(await page.locator('#code').evaluate((input) => (input as unknown as FormField).validity.patternMismatch), true);
    await page.fill('#code', `${code.slice(0, 3)} ${code.slice(3)}`);
    assert.equal(await page.locator('#code').evaluate((input) => (input as unknown as FormField).validity.valid), true);
    await page.click('button:has-text("Next")');
    await page.waitForSelector('#recovery-codes');
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    assert.match((await page.getAttribute('#download-codes', 'href'))!, /^data:text\/plain/);
    await shot('07-recovery-codes');

    await page.click('a:has-text("Done")');
    await page.waitForURL('**/settings');
    assert.match((await page.textContent('#two-step'))!, /On/);
    await shot('08-settings-on');

    await page.click('button:has-text("Sign out")');
    await page.waitForURL('**/sign-in');
    assert.match((await page.textContent('main'))!, /You are signed out/);
    await shot('09-signed-out');

    clock.advanceSeconds(30);
    await page.fill('#account', ACCOUNT);
    await page.fill('#password', PASSWORD);
    await page.click('button:has-text("Next")');
    await page.waitForURL('**/sign-in/code');
    await shot('10-code-page');
    await page.fill('#code', await codeFor(secretKey));
    await page.click('button:has-text("Verify")');
    await page.waitForURL('**/settings');

    await page.click('a:has-text("Manage app passwords")');
    await page.waitForURL('**/settings/app-passwords');
    await shot('11-app-passwords');
    await page.fill('#name', 'Thunderbird');
    await page.uncheck('input[name=scopes][value=imap]');
    await page.uncheck('input[name=scopes][value=pop3]');
    await page.click('button:has-text("Create")');
    await page.waitForSelector('#app-password');
    assert.equal(await page.isVisible('button[data-copy]'), true, 'the copy button shows with JavaScript');
    const appPassword = (await page.textContent('#app-password'))!.trim();
    await shot('12-app-password-created');

    const bare = await smtpLogin(haraka.port, ACCOUNT, PASSWORD);
    assert.equal(bare.ok, false, 'the bare password no longer signs in over SMTP');
    const login = await smtpLogin(haraka.port, ACCOUNT, appPassword);
    assert.deepEqual(login, { ok: true }, haraka.output().slice(-2000));

    await page.click('a:has-text("Done")');
    await page.waitForURL('**/settings/app-passwords');
    // Haraka writes login activity in batches ([audit] batch_ms, 50 ms): reload until it shows.
    const usedPattern = /last used .* from 127\.0\.0\.1 over SMTP/;
    for (let attempt = 0; attempt < 20 && !usedPattern.test((await page.textContent('#app-password-list'))!); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await page.reload();
    }
    assert.match((await page.textContent('#app-password-list'))!, usedPattern);
    await shot('13-app-password-used');

    await page.goto(`${baseUrl}/settings/2sv`);
    await shot('14-manage');
    await page.click('a:has-text("Revoke all devices")');
    await page.waitForSelector('h1:has-text("Revoke all devices?")');
    await page.click('button:has-text("Yes, revoke all devices")');
    await page.waitForURL('**/settings');
    assert.match((await page.textContent('main'))!, /1 device revoked\. 2-Step Verification is off\./);
    await shot('15-revoked-all');

    await page.goto(`${baseUrl}/settings/activity`);
    assert.match((await page.textContent('main'))!, /devices revoked all/);
    await shot('16-activity');
  });
});
