import assert from 'node:assert/strict';
import { createAppPassword, getAccountStatus, provisionSecretKey } from '../../src/core/accounts';
import { getStoredBranding } from '../../src/core/branding';
import { addDomain, createClass } from '../../src/core/directory';
import { keys } from '../../src/core/model';
import type { AuditEvent } from '../../src/store/types';
import { RFC_KEY } from '../helpers/installation';
import { ALICE, ALICE_PASSWORD, PanelClient, createPanelFixture, currentCode, type PanelFixture } from './panel-client';

const ADMIN = 'admin@example.org';
const ADMIN_PASSWORD = 'admin password 2024';
const ADMIN_ACTOR = `admin:${ADMIN}`;
const CLI = { actor: 'cli:test' };
const ADMIN_INI = `[main]\nadmins[] = ${ADMIN}\nadmins[] = root@example.org\n[throttle]\nmax_delay = 0\n[session]\nidle_timeout = 3600\n[notify]\nenabled = false\n`;
const ALICE_URL = `/admin/accounts/${encodeURIComponent(ALICE)}`;

describe('admin pages', () => {
  let fixture: PanelFixture;
  let admin: PanelClient;

  async function auditEvents(action: string): Promise<AuditEvent[]> {
    const events = await fixture.installation.context.store.listAudit({ limit: 1000 });
    return events.filter((event) => event.action === action);
  }

  /** Signs the admin in with password and code, then opens a page for a fresh CSRF token. */
  async function signInAdmin(client: PanelClient): Promise<void> {
    const reply = await client.signIn(ADMIN, ADMIN_PASSWORD, await currentCode(fixture.installation, RFC_KEY));
    assert.equal(reply.headers.location, '/settings', `admin sign-in: ${reply.statusCode} ${reply.body.slice(0, 200)}`);
    fixture.installation.clock.advanceSeconds(30);
    await client.get('/admin/accounts');
  }

  beforeEach(async () => {
    fixture = await createPanelFixture(ADMIN_INI);
    const { context, passwdFile } = fixture.installation;
    await passwdFile!.setPassword(ADMIN, ADMIN_PASSWORD);
    await provisionSecretKey(context, CLI, ADMIN, RFC_KEY, 'Admin phone');
    admin = new PanelClient(fixture.app);
  });

  afterEach(async () => {
    await fixture.dispose();
  });

  it('redirects anonymous visitors to sign-in', async () => {
    const reply = await admin.get('/admin/accounts');
    assert.equal(reply.statusCode, 303);
    assert.equal(reply.headers.location, '/sign-in');
  });

  it('rejects a non-admin with 403', async () => {
    const alice = new PanelClient(fixture.app);
    await alice.signIn(ALICE, ALICE_PASSWORD);
    const settings = await alice.get('/settings');
    assert.doesNotMatch(settings.body, /href="\/admin\/accounts"/, 'no admin link for users');
    for (const url of ['/admin/accounts', ALICE_URL, '/admin/policy', '/admin/audit', '/admin/branding', '/admin/accounts.csv']) {
      const reply = await alice.get(url);
      assert.equal(reply.statusCode, 403, url);
      assert.match(reply.body, /This page is for administrators only\./, url);
      assert.match(reply.body, /<title>Access denied/, url);
    }
    const post = await alice.post(`${ALICE_URL}/unlock`);
    assert.equal(post.statusCode, 403);
    assert.equal((await auditEvents('account-unlocked')).length, 0);
  });

  it('requires a code even with policy disabled', async () => {
    await fixture.installation.context.store.set(keys.globalPolicy, 'disabled');
    await admin.get('/sign-in');
    const first = await admin.post('/sign-in', { account: ADMIN, password: ADMIN_PASSWORD });
    assert.equal(first.headers.location, '/sign-in/code', 'an admin with a device always gives a code');
    await admin.get('/sign-in/code');
    await admin.post('/sign-in/code', { code: await currentCode(fixture.installation, RFC_KEY) });
    const page = await admin.get('/admin/accounts');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<h1>Accounts<\/h1>/);
  });

  it('rejects an admin without a device', async () => {
    // root@example.org is named in admins[] but never turned 2-Step Verification on.
    await fixture.installation.passwdFile!.setPassword('root@example.org', 'root password 2024');
    const root = new PanelClient(fixture.app);
    await root.signIn('root@example.org', 'root password 2024');
    const reply = await root.get('/admin/accounts');
    assert.equal(reply.statusCode, 403);
    assert.match(reply.body, /Administrators must sign in with 2-Step Verification/);
  });

  it('rejects a missing or wrong CSRF token', async () => {
    await signInAdmin(admin);
    for (const token of ['', 'not-a-token']) {
      const reply = await admin.post(`${ALICE_URL}/unlock`, { _csrf: token });
      assert.equal(reply.statusCode, 403);
      assert.match(reply.body, /Invalid or missing CSRF token/);
    }
    assert.equal((await auditEvents('account-unlocked')).length, 0);
  });

  it('lists, filters and exports accounts', async () => {
    const { context } = fixture.installation;
    await provisionSecretKey(context, CLI, ALICE, RFC_KEY);
    await fixture.installation.passwdFile!.setPassword('bob@example.net', 'bob password');
    await createClass(context, CLI, 'staff');
    await signInAdmin(admin);

    const all = await admin.get('/admin/accounts');
    assert.equal(all.statusCode, 200);
    for (const account of [ADMIN, ALICE, 'bob@example.net']) {
      assert.ok(all.body.includes(`>${account}</a>`), account);
    }
    const enrolled = await admin.get('/admin/accounts?state=enrolled&domain=example.org');
    assert.ok(enrolled.body.includes(`>${ALICE}</a>`));
    assert.ok(!enrolled.body.includes('>bob@example.net</a>'));
    assert.match(enrolled.body, /href="\/admin\/accounts\.csv\?domain=example\.org&amp;state=enrolled"/);

    const csv = await admin.get('/admin/accounts.csv?domain=example.net');
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="twostep-accounts.csv"/);
    assert.equal(csv.body, 'account,domain,class,policy,policy_source,enrolled,devices,app_passwords,recovery_codes_left,failed_codes,locked,in_passwd_file\r\nbob@example.net,example.net,,optional,global,no,0,0,0,0,no,yes\r\n');

    const json = await admin.get('/admin/accounts.json?state=enrolled');
    const parsed = JSON.parse(json.body) as { accounts: { account: string; enrolled: boolean; devices: number }[] };
    assert.deepEqual(parsed.accounts.map((entry) => [entry.account, entry.enrolled, entry.devices]), [[ADMIN, true, 1], [ALICE, true, 1]]);
    const exported = await auditEvents('accounts-exported');
    assert.equal(exported.length, 2);
    assert.equal(exported[0].actor, ADMIN_ACTOR);
    assert.deepEqual(exported.map((event) => event.detail).sort(), ['csv, 1 account, filter domain=example.net', 'json, 2 accounts, filter state=enrolled']);

    const bad = await admin.get('/admin/accounts?state=sleeping');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Invalid state &#34;sleeping&#34;|Invalid state &quot;sleeping&quot;/);
    assert.equal((await admin.get('/admin/accounts.csv?class=Bad Class')).statusCode, 400);
  });

  it('shows account status', async () => {
    const { context } = fixture.installation;
    await provisionSecretKey(context, CLI, ALICE, RFC_KEY, 'Hardware <token>');
    await createAppPassword(context, CLI, ALICE, 'Thunderbird', ['imap']);
    await signInAdmin(admin);

    const page = await admin.get(ALICE_URL);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Hardware &lt;token&gt;/);
    assert.doesNotMatch(page.body, /Hardware <token>/);
    assert.match(page.body, /Thunderbird/);
    assert.match(page.body, /optional <span class="muted">\(from the global level/);
    assert.equal((await admin.get('/admin/accounts/nobody%40example.org')).statusCode, 404);
    assert.equal((await admin.get('/admin/accounts/not-an-address')).statusCode, 400);
  });

  it('provisions a key and rejects a bad one', async () => {
    await signInAdmin(admin);
    const confirm = await admin.get(`${ALICE_URL}/provision`);
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /16 or more base32 characters/);

    const bad = await admin.post(`${ALICE_URL}/provision`, { secret_key: 'JBSW Y3DP EHPK 3PX1', name: 'Token' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /A-Z and 2-7|A-Z, 2-7/);
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).devices.length, 0, 'nothing written');

    const good = await admin.post(`${ALICE_URL}/provision`, { secret_key: 'gezd gnbv gy3t qojq gezd gnbv gy3t qojq', name: 'Token' });
    assert.equal(good.statusCode, 303);
    assert.equal(good.headers.location, ALICE_URL);
    const after = await admin.get(ALICE_URL);
    assert.match(after.body, /Device &#34;Token&#34; added|Device &quot;Token&quot; added/);

    const again = await admin.post(`${ALICE_URL}/provision`, { secret_key: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', name: 'Copy' });
    assert.equal(again.statusCode, 409);
    assert.match(again.body, /alice@example\.org already has this secret key on device/, 'the account keeps its case');
    assert.doesNotMatch(again.body, /Alice@example\.org/);
    const [event] = await auditEvents('secret-key-provisioned');
    assert.equal(event.actor, ADMIN_ACTOR);
    assert.equal(event.account, ALICE);
    assert.equal(event.ip, '127.0.0.1');
  });

  it('audits each account action', async () => {
    const { context } = fixture.installation;
    const device = await provisionSecretKey(context, CLI, ALICE, RFC_KEY, 'Phone');
    const app = await createAppPassword(context, CLI, ALICE, 'Thunderbird', ['imap']);
    await createClass(context, CLI, 'staff');
    await signInAdmin(admin);

    const run = async (action: string, fields: Record<string, string> = {}, query = '') => {
      const page = await admin.get(`${ALICE_URL}/${action}${query}`);
      assert.equal(page.statusCode, 200, `${action} confirmation page`);
      assert.match(page.body, new RegExp(`title="Signed in as ${ADMIN}"`), `${action}: the top bar names the admin, not the target account`);
      return admin.post(`${ALICE_URL}/${action}`, fields);
    };

    const codes = await run('view-code');
    assert.equal(codes.statusCode, 200);
    assert.match(codes.body, /<code class="secret">\d{6}<\/code>/);
    assert.equal(codes.headers['cache-control'], 'no-store');

    const notLocked = await run('unlock');
    assert.match((await admin.get(notLocked.headers.location as string)).body, /alice@example\.org has no failed verification codes; nothing changed\./);
    await context.store.increment(keys.secondFactorFailures(ALICE));
    assert.equal((await run('unlock')).statusCode, 303);
    assert.equal((await run('policy', { policy: 'mandatory' })).statusCode, 303);
    assert.equal((await getAccountStatus(context, ALICE)).accountPolicy, 'mandatory');
    const badPolicy = await run('policy', { policy: 'sometimes' });
    assert.equal(badPolicy.statusCode, 400);
    assert.equal((await run('class', { class: 'staff' })).statusCode, 303);
    assert.equal((await getAccountStatus(context, ALICE)).accountClass, 'staff');
    assert.equal((await run('class', { class: 'nosuch' })).statusCode, 404);

    assert.equal((await run('revoke-app-password', { id: app.record.id }, `?id=${app.record.id}`)).statusCode, 303);
    assert.equal((await admin.get(`${ALICE_URL}/revoke-app-password?id=${app.record.id}`)).statusCode, 404, 'already revoked');
    assert.equal((await run('revoke-device', { id: device.id }, `?id=${device.id}`)).statusCode, 303);

    const reset = await run('reset-secret-key', { name: 'New phone' });
    assert.equal(reset.statusCode, 200);
    assert.match(reset.body, /<code class="secret-key" id="secret-key">[A-Z2-7 ]+<\/code>/);
    assert.match(reset.body, /<svg/);
    assert.equal(reset.headers['cache-control'], 'no-store');
    const confirmOne = await admin.get(`${ALICE_URL}/revoke-devices`);
    assert.match(confirmOne.body, /Removes the device and the recovery codes of alice@example\.org\./);
    assert.equal((await run('revoke-devices')).statusCode, 303);
    assert.equal((await getAccountStatus(context, ALICE)).devices.length, 0);
    assert.match((await admin.get(`${ALICE_URL}/revoke-devices`)).body, /alice@example\.org has no device to revoke\./);
    const nothingLeft = await run('revoke-devices');
    assert.equal(nothingLeft.statusCode, 303);
    assert.match((await admin.get(nothingLeft.headers.location as string)).body, /alice@example\.org has no device to revoke; nothing changed\./);

    // The only device was revoked above, so the reset found none and the audit action is secret-key-created.
    const expected = ['code-viewed', 'account-unlocked', 'policy-set', 'class-assigned', 'app-password-revoked', 'device-revoked', 'secret-key-created', 'devices-revoked-all'];
    for (const action of expected) {
      const events = await auditEvents(action);
      assert.equal(events.length, 1, action);
      assert.equal(events[0].actor, ADMIN_ACTOR, action);
      assert.equal(events[0].ip, '127.0.0.1', action);
    }
    assert.equal((await admin.get(`${ALICE_URL}/launch-rockets`)).statusCode, 404);
  });

  it('manages policy, domains and classes', async () => {
    await signInAdmin(admin);
    const page = await admin.get('/admin/policy');
    assert.equal(page.statusCode, 200);

    assert.equal((await admin.post('/admin/policy/global', { policy: 'mandatory' })).statusCode, 303);
    assert.equal((await admin.post('/admin/domains', { domain: 'Example.ORG' })).statusCode, 303);
    assert.equal((await admin.post('/admin/domains/example.org/policy', { policy: 'disabled' })).statusCode, 303);
    assert.equal((await admin.post('/admin/classes', { name: 'staff', policy: 'optional' })).statusCode, 303);
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).policy.source, 'domain');

    const badDomain = await admin.post('/admin/domains', { domain: 'not a domain' });
    assert.equal(badDomain.statusCode, 400);
    assert.match(badDomain.body, /Invalid domain/);
    const sameDomain = await admin.post('/admin/domains', { domain: 'example.org' });
    assert.equal(sameDomain.statusCode, 409);
    assert.match(sameDomain.body, /Domain example\.org already exists\./);
    assert.doesNotMatch(sameDomain.body, /Domain example\.org added\./);
    const sameClass = await admin.post('/admin/classes', { name: 'staff' });
    assert.equal(sameClass.statusCode, 409);
    assert.match(sameClass.body, /Class staff already exists\./);
    const unconfirmed = await admin.post('/admin/classes/staff/delete', {});
    assert.equal(unconfirmed.statusCode, 400);
    assert.match(unconfirmed.body, /Tick the confirmation box to delete the class\./);
    assert.equal((await admin.post('/admin/classes/staff/delete', { confirm: 'yes' })).statusCode, 303);
    assert.equal((await admin.post('/admin/classes/staff/delete', { confirm: 'yes' })).statusCode, 404);
    assert.equal((await admin.post('/admin/domains/example.org/remove', { confirm: 'yes' })).statusCode, 303);

    const actions = (await fixture.installation.context.store.listAudit({ limit: 100 })).filter((event) => event.actor === ADMIN_ACTOR).map((event) => event.action);
    assert.deepEqual(actions.reverse(), ['policy-set', 'domain-added', 'policy-set', 'class-created', 'class-deleted', 'domain-removed']);
  });

  it('escapes branding on user pages', async () => {
    const { context } = fixture.installation;
    await addDomain(context, CLI, 'example.org');
    await provisionSecretKey(context, CLI, ALICE, RFC_KEY);
    await signInAdmin(admin);

    const hostile = '<script>alert(1)</script>';
    const saved = await admin.post('/admin/branding/example.org', { product_name: `Mail ${hostile}`, accent: '#AA3300', help_text: `Help ${hostile}\nline two`, logo: '' });
    assert.equal(saved.statusCode, 303);
    const stored = await getStoredBranding(context, 'example.org');
    assert.equal(stored?.productName, `Mail ${hostile}`);
    assert.equal(stored?.accent, '#aa3300');

    const alice = new PanelClient(fixture.app);
    await alice.get('/sign-in');
    await alice.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    const codePage = await alice.get('/sign-in/code');
    assert.equal(codePage.statusCode, 200);
    assert.ok(!codePage.body.includes(hostile), 'no raw script tag');
    assert.match(codePage.body, /Mail &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(codePage.body, /<p class="help-text small">Help &lt;script&gt;/);
    assert.match(codePage.body, /<link rel="stylesheet" href="\/branding\/example.org.css">/);

    const css = await alice.get('/branding/example.org.css');
    assert.equal(css.statusCode, 200);
    assert.equal(css.body, ':root { --accent: #aa3300; --accent-dark: #802600; }\n');
    assert.equal((await alice.get('/branding/example.net.css')).body, ':root { --accent: #1f5fbf; --accent-dark: #17478f; }\n', 'default for a domain without branding');
    assert.equal((await alice.get('/branding/..%2Fx.css')).statusCode, 404);
    const preview = await alice.get('/branding/example.org.css?scope=preview');
    assert.equal(preview.body, '.preview-frame { --accent: #aa3300; --accent-dark: #802600; }\n', 'the admin preview colours only the preview box');
  });

  it('rejects bad branding and writes nothing', async () => {
    const { context } = fixture.installation;
    await addDomain(context, CLI, 'example.org');
    await signInAdmin(admin);

    const cases: [Record<string, string>, RegExp][] = [
      [{ accent: 'red' }, /Invalid accent colour &#34;red&#34;|Invalid accent colour &quot;red&quot;/],
      [{ accent: '#12345g' }, /Invalid accent colour/],
      [{ logo: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' }, /Invalid logo: expected a PNG, JPEG or SVG file/],
      [{ logo: `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>').toString('base64')}` }, /the SVG contains a script/],
      [{ logo: `data:image/png;base64,${Buffer.alloc(70 * 1024, 1).toString('base64')}` }, /Invalid logo/],
      [{ help_text: 'x'.repeat(501) }, /Invalid help text/],
    ];
    for (const [fields, pattern] of cases) {
      const reply = await admin.post('/admin/branding/example.org', { product_name: 'Half Written', ...fields });
      assert.equal(reply.statusCode, 400, JSON.stringify(fields).slice(0, 80));
      assert.match(reply.body, pattern);
    }
    assert.equal(await getStoredBranding(context, 'example.org'), undefined);
    assert.equal((await admin.get('/admin/branding/example.net')).statusCode, 404);

    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40, 7)]);
    const ok = await admin.post('/admin/branding/example.org', { product_name: 'Example Mail', logo: `data:image/png;base64,${png.toString('base64')}` });
    assert.equal(ok.statusCode, 303);
    const preview = await admin.get('/admin/branding/example.org');
    assert.ok(preview.body.includes(`src="data:image/png;base64,${png.toString('base64')}"`));
    assert.equal((await auditEvents('branding-set'))[0].actor, ADMIN_ACTOR);
  });

  it('filters the audit log', async () => {
    const { context } = fixture.installation;
    await createAppPassword(context, CLI, ALICE, 'Thunderbird', ['imap']);
    await signInAdmin(admin);

    const all = await admin.get('/admin/audit');
    assert.equal(all.statusCode, 200);
    assert.match(all.body, /app-password-created/);
    const filtered = await admin.get(`/admin/audit?account=${encodeURIComponent(ALICE)}&action=app-password-created&since=1d`);
    assert.match(filtered.body, /Thunderbird \(imap\)/);
    assert.doesNotMatch(filtered.body, /secret-key-provisioned/);
    const none = await admin.get('/admin/audit?action=device-added');
    assert.match(none.body, /No audit event matches\./);

    const bad = await admin.get('/admin/audit?since=yesterday');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Invalid since &#34;yesterday&#34;|Invalid since &quot;yesterday&quot;/);
  });
});
