import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createAppPassword, getAccountStatus, provisionSecretKey } from '../../src/core/accounts';
import { getStoredBranding } from '../../src/core/branding';
import { addDomain, createClass } from '../../src/core/directory';
import { generateCode } from '../../src/core/totp';
import { buildHttpService } from '../../src/web/server';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';
import { freePort } from '../helpers/ports';
import { describeWithPrograms } from '../helpers/system';

const ADMIN = 'postmaster@example.test';
const ADMIN_PASSWORD = 'a long admin password';
const USER = 'dave@example.test';
const USER_PASSWORD = 'a long user password';
const USER_KEY = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const CLI = { actor: 'cli:test' };
const ARTIFACTS = resolve(__dirname, '..', '..', '..', 'test', 'artifacts', 'admin');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const HOSTILE_NAME = 'Example <script>window.__branded=1</script> Mail';

describeWithPrograms('admin pages in Chromium', ['/usr/bin/chromium'], function () {
  this.timeout(120_000);

  let installation: TestInstallation;
  let app: FastifyInstance;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  let baseUrl: string;
  const dialogs: string[] = [];

  async function shot(name: string): Promise<void> {
    for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${label}.png`), fullPage: true });
    }
    await page.setViewportSize(DESKTOP);
  }

  async function signIn(account: string, password: string, secretKey: string): Promise<void> {
    await page.goto(`${baseUrl}/sign-in`);
    await page.fill('#account', account);
    await page.fill('#password', password);
    await page.click('button:has-text("Next")');
    assert.equal(new URL(page.url()).pathname, '/sign-in/code');
    await page.fill('#code', await generateCode(secretKey, Math.floor(installation.clock.now() / 1000)));
    await page.click('button:has-text("Verify")');
    // The next sign-in with the same key needs a new time step.
    installation.clock.advanceSeconds(30);
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    installation = await createTestInstallation({
      startSeconds: Math.floor(Date.now() / 1000),
      iniText: `[main]\nadmins[] = ${ADMIN}\n[throttle]\nmax_delay = 0\n[notify]\nenabled = false\n`,
    });
    const { context, passwdFile } = installation;
    await passwdFile!.setPassword(ADMIN, ADMIN_PASSWORD);
    await passwdFile!.setPassword(USER, USER_PASSWORD);
    await passwdFile!.setPassword('erin@example.test', 'another password');
    await provisionSecretKey(context, CLI, ADMIN, RFC_KEY, 'Admin phone');
    await provisionSecretKey(context, CLI, USER, USER_KEY, 'Dave phone');
    await createAppPassword(context, CLI, USER, 'Thunderbird', ['smtp', 'imap']);
    await addDomain(context, CLI, 'example.test');
    await createClass(context, CLI, 'staff', 'mandatory');

    app = await buildHttpService(installation);
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    baseUrl = `http://127.0.0.1:${port}`;

    profile = mkdtempSync(join(tmpdir(), 'twostep-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: DESKTOP,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await installation?.dispose();
    if (profile) {
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('manages accounts as an admin', async () => {
    await signIn(ADMIN, ADMIN_PASSWORD, RFC_KEY);
    await page.click('a:has-text("Admin")');
    assert.equal(new URL(page.url()).pathname, '/admin/accounts');
    assert.equal(await page.locator('#accounts tbody tr').count(), 3);
    await shot('01-accounts');

    await page.selectOption('select[name=state]', 'enrolled');
    await page.click('button:has-text("Filter")');
    assert.equal(await page.locator('#accounts tbody tr').count(), 2);

    await page.click(`a:has-text("${USER}")`);
    assert.equal(await page.locator('#devices li').count(), 1);
    assert.equal(await page.locator('#app-passwords li').count(), 1);
    await shot('02-account');

    await page.click('a:has-text("View current code")');
    await shot('03-confirm-view-code');
    await page.click('button:has-text("Show the code")');
    const shown = await page.locator('#codes code').first().textContent();
    assert.equal(shown, await generateCode(USER_KEY, Math.floor(installation.clock.now() / 1000)));
    await shot('04-current-code');

    await page.goto(`${baseUrl}/admin/accounts/${encodeURIComponent(USER)}`);
    await page.click('#app-passwords a:has-text("Revoke")');
    assert.match((await page.locator('#action-description').textContent()) ?? '', /Thunderbird/);
    await page.click('button:has-text("Revoke the app password")');
    assert.match((await page.locator('.notice').textContent()) ?? '', /App password "Thunderbird" of dave@example.test revoked\./);
    assert.equal((await getAccountStatus(installation.context, USER)).appPasswords.length, 0);

    const events = await installation.context.store.listAudit({ account: USER, limit: 10 });
    assert.deepEqual(events.slice(0, 2).map((event) => [event.action, event.actor, event.ip]), [
      ['app-password-revoked', `admin:${ADMIN}`, '127.0.0.1'],
      ['code-viewed', `admin:${ADMIN}`, '127.0.0.1'],
    ]);
  });

  it('sets policy and branding with a preview', async () => {
    await page.goto(`${baseUrl}/admin/policy`);
    await page.selectOption('select[aria-label="Policy of example.test"]', 'mandatory');
    await page.click('form[action="/admin/domains/example.test/policy"] button');
    assert.match((await page.locator('.notice').textContent()) ?? '', /Policy of domain example.test set to mandatory\./);
    await shot('05-policy');

    const logo = join(profile, 'logo.svg');
    writeFileSync(logo, '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><circle cx="14" cy="14" r="12" fill="#aa3300"/></svg>');
    await page.goto(`${baseUrl}/admin/branding/example.test`);
    await page.fill('#product_name', HOSTILE_NAME);
    await page.fill('#accent', '#aa3300');
    await page.fill('#help_text', 'Lost your phone? Call the help desk on 555-0100.');
    await page.setInputFiles('#logo_file', logo);
    await page.waitForFunction("document.getElementById('logo').value.startsWith('data:image/svg+xml;base64,')");
    await page.click('button:has-text("Save")');
    assert.match((await page.locator('.notice').textContent()) ?? '', /Branding of example.test saved\./);
    assert.equal(await page.locator('#preview-name').textContent(), HOSTILE_NAME, 'the name shows as text');
    const previewAccent = await page.evaluate("getComputedStyle(document.querySelector('.preview-frame')).getPropertyValue('--accent').trim()");
    assert.equal(previewAccent, '#aa3300', 'the preview shows the accent colour');
    const pageAccent = await page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()");
    assert.notEqual(pageAccent, '#aa3300', "the admin's own page keeps its colours");
    await shot('06-branding');

    const stored = await getStoredBranding(installation.context, 'example.test');
    assert.equal(stored?.logo?.mediaType, 'image/svg+xml');
    assert.equal(await page.evaluate('window.__branded'), undefined, 'no script ran');

    await page.goto(`${baseUrl}/admin/audit`);
    assert.ok((await page.locator('#audit tbody tr').count()) >= 3);
    await shot('07-audit');
  });

  it('shows the branding to users', async () => {
    await page.click('button:has-text("Sign out")');
    await page.goto(`${baseUrl}/sign-in`);
    await page.fill('#account', USER);
    await page.fill('#password', USER_PASSWORD);
    await page.click('button:has-text("Next")');
    assert.equal(new URL(page.url()).pathname, '/sign-in/code');
    assert.equal(await page.locator('.brand span').textContent(), HOSTILE_NAME);
    assert.match((await page.locator('.help-text').textContent()) ?? '', /555-0100/);
    assert.match((await page.locator('.brand img').getAttribute('src')) ?? '', /^data:image\/svg\+xml;base64,/);
    assert.equal(await page.evaluate('window.__branded'), undefined, 'no script ran');
    await shot('08-branded-code-page');

    await page.goto(`${baseUrl}/admin/accounts`);
    assert.equal(new URL(page.url()).pathname, '/sign-in', 'an unfinished sign-in does not reach admin pages');
    assert.deepEqual(dialogs, []);
  });
});
