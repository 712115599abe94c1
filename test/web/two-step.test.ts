import assert from 'node:assert/strict';
import { decideLogin } from '../../src/core/login';
import { getAccountStatus } from '../../src/core/accounts';
import { setPolicy } from './policy-helper';
import {
  ALICE,
  ALICE_PASSWORD,
  PanelClient,
  createPanelFixture,
  currentCode,
  enroll,
  recoveryCodesFromPage,
  secretKeyFromPage,
  type PanelFixture,
} from './panel-client';

const LONG_WINDOWS = '[throttle]\nmax_delay = 0\n[session]\nidle_timeout = 3600\nreverify_window = 3600\n';

describe('panel 2-Step Verification', () => {
  let fixture: PanelFixture;
  let client: PanelClient;

  beforeEach(async () => {
    fixture = await createPanelFixture();
    client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    // The sign-in renewed the session and its CSRF secret: load a page for a fresh token.
    await client.get('/settings');
  });

  afterEach(async () => {
    await fixture.dispose();
  });

  it('turn on asks to verify again', async () => {
    const start = await client.get('/settings/2sv/start');
    assert.equal(start.statusCode, 200);
    assert.match(start.body, /Get Started/);
    assert.doesNotMatch(start.body, /asked to confirm your password/, 'signed in a moment ago');

    fixture.installation.clock.advanceSeconds(301);
    assert.match((await client.get('/settings/2sv/start')).body, /You will be asked to confirm your password first\./);
    const pair = await client.get('/settings/2sv/pair');
    assert.equal(pair.statusCode, 303);
    assert.equal(pair.headers.location, '/verify?next=%2Fsettings%2F2sv%2Fpair');

    const form = await client.get(pair.headers.location as string);
    assert.match(form.body, /Verify it is you/);
    assert.doesNotMatch(form.body, /name="code"/, 'no code field before enrollment');
    const wrong = await client.post('/verify', { password: 'wrong password', next: '/settings/2sv/pair' });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /Wrong password\./);
    assert.doesNotMatch(wrong.body, /verification code\./, 'no code was asked for');

    const right = await client.post('/verify', { password: ALICE_PASSWORD, next: '/settings/2sv/pair' });
    assert.equal(right.statusCode, 303);
    assert.equal(right.headers.location, '/settings/2sv/pair');
    assert.equal((await client.get('/settings/2sv/pair')).statusCode, 200);
  });

  it('verify ignores foreign return paths', async () => {
    const reply = await client.post('/verify', { password: ALICE_PASSWORD, next: 'https://attacker.example/' });
    assert.equal(reply.headers.location, '/settings');
    const schemeRelative = await client.post('/verify', { password: ALICE_PASSWORD, next: '//attacker.example' });
    assert.equal(schemeRelative.headers.location, '/settings');
  });

  it('pairing shows QR code, key and link', async () => {
    await client.get('/settings/2sv/pair');
    const started = await client.post('/settings/2sv/pair', { name: 'Work phone' });
    assert.equal(started.headers.location, '/settings/2sv/pair');
    const page = await client.get('/settings/2sv/pair');

    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(page.body, /<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(page.body, /id="secret-key">([A-Z2-7]{4} ){7}[A-Z2-7]{4}</, 'secret key in groups of four');
    const secretKey = secretKeyFromPage(page.body);
    assert.match(page.body, new RegExp(`href="otpauth://totp/TwoStep:alice%40example.org\\?secret=${secretKey}&amp;issuer=TwoStep`));
    assert.match(page.body, /<em>Work phone<\/em>/);

    const status = await getAccountStatus(fixture.installation.context, ALICE);
    assert.equal(status.enrolled, false, 'not active before the first code');
    assert.equal(status.pendingDevice, true);
  });

  it('wrong first code keeps the device pending', async () => {
    await client.post('/settings/2sv/pair', { name: 'Phone' });
    const page = await client.get('/settings/2sv/pair');
    const secretKey = secretKeyFromPage(page.body);
    const code = await currentCode(fixture.installation, secretKey);
    const wrongCode = code === '000000' ? '111111' : '000000';

    const wrong = await client.post('/settings/2sv/confirm', { code: wrongCode });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /Invalid verification code/);
    assert.equal(secretKeyFromPage(wrong.body), secretKey, 'the same secret key is shown again');
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).enrolled, false);

    const missing = await client.post('/settings/2sv/confirm', {});
    assert.equal(missing.statusCode, 400);
    assert.match(missing.body, /Missing verification code/);
  });

  it('first code activates and shows recovery codes', async () => {
    await client.post('/settings/2sv/pair', { name: 'Phone' });
    const secretKey = secretKeyFromPage((await client.get('/settings/2sv/pair')).body);
    const confirmed = await client.post('/settings/2sv/confirm', { code: await currentCode(fixture.installation, secretKey) });

    assert.equal(confirmed.statusCode, 200);
    assert.equal(confirmed.headers['cache-control'], 'no-store');
    const codes = recoveryCodesFromPage(confirmed.body);
    assert.equal(codes.length, 10);
    assert.match(confirmed.body, /download="recovery-codes.txt"/);
    assert.ok(confirmed.body.includes(`data:text/plain;charset=utf-8,`));
    assert.ok(confirmed.body.includes(encodeURIComponent(codes[9])), 'the download holds the codes');
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).enrolled, true);
  });

  it('pending secret key expires', async () => {
    await fixture.dispose();
    fixture = await createPanelFixture(LONG_WINDOWS);
    client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    await client.get('/settings');
    await client.post('/settings/2sv/pair', { name: 'Phone' });
    const secretKey = secretKeyFromPage((await client.get('/settings/2sv/pair')).body);

    fixture.installation.clock.advanceSeconds(601);
    const late = await client.post('/settings/2sv/confirm', { code: await currentCode(fixture.installation, secretKey) });
    assert.equal(late.statusCode, 303);
    assert.equal(late.headers.location, '/settings/2sv/pair');
    const page = await client.get('/settings/2sv/pair');
    assert.match(page.body, /The pairing expired/);
    assert.match(page.body, /Show the QR code/, 'a new pairing starts from the name form');
  });

  it('an unfinished pairing starts again', async () => {
    await client.post('/settings/2sv/pair', { name: 'Tablet' });
    const first = await client.get('/settings/2sv/pair');
    assert.match(first.body, /Tablet/);
    const oldKey = secretKeyFromPage(first.body);

    const cancel = await client.post('/settings/2sv/pair/cancel', {});
    assert.equal(cancel.statusCode, 303);
    assert.equal(cancel.headers.location, '/settings/2sv/pair');
    const form = await client.get('/settings/2sv/pair');
    assert.match(form.body, /Pairing cancelled\. Name the device to start again\./);
    assert.match(form.body, /Show the QR code/, 'the name form again');

    await client.post('/settings/2sv/pair', { name: 'Phone' });
    const second = await client.get('/settings/2sv/pair');
    assert.match(second.body, /Phone/);
    assert.notEqual(secretKeyFromPage(second.body), oldKey, 'a new secret key');
    const stale = await client.post('/settings/2sv/confirm', { code: await currentCode(fixture.installation, oldKey) });
    assert.equal(stale.statusCode, 400, "the cancelled key's code does not confirm");
    assert.match(stale.body, /Invalid verification code/);
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).enrolled, false);
  });

  it('add device pairs a second one', async () => {
    await enroll(client, fixture.installation, 'Phone');
    const form = await client.get('/settings/2sv/pair');
    assert.match(form.body, /Add a device/);
    await client.post('/settings/2sv/pair', { name: 'Tablet' });
    const secretKey = secretKeyFromPage((await client.get('/settings/2sv/pair')).body);
    const added = await client.post('/settings/2sv/confirm', { code: await currentCode(fixture.installation, secretKey) });
    assert.equal(added.statusCode, 303);
    assert.equal(added.headers.location, '/settings/2sv');

    const manage = await client.get('/settings/2sv');
    assert.match(manage.body, /Device &quot;Tablet&quot; added\./);
    assert.match(manage.body, /<strong>Phone<\/strong>/);
    assert.match(manage.body, /<strong>Tablet<\/strong>/);
  });

  it('revoke one device', async () => {
    await enroll(client, fixture.installation, 'Phone');
    const status = await getAccountStatus(fixture.installation.context, ALICE);
    assert.equal(status.recoveryCodesLeft, 10);
    await client.get('/settings/2sv');
    const revoked = await client.post(`/settings/2sv/devices/${status.devices[0].id}/revoke`);
    assert.equal(revoked.statusCode, 303);
    assert.equal(revoked.headers.location, '/settings');
    const after = await getAccountStatus(fixture.installation.context, ALICE);
    assert.equal(after.enrolled, false);
    assert.equal(after.recoveryCodesLeft, 0, 'the recovery codes go with the last device');

    const unknown = await client.post('/settings/2sv/devices/no-such-device/revoke');
    assert.equal(unknown.statusCode, 404);
    const malformed = await client.post(`/settings/2sv/devices/${'x'.repeat(100)}/revoke`);
    assert.equal(malformed.statusCode, 400);
  });

  it('revoke all turns optional off', async () => {
    await enroll(client, fixture.installation);
    const manage = await client.get('/settings/2sv');
    assert.match(manage.body, /href="\/settings\/2sv\/revoke-all"/, 'the manage page links to the confirmation');
    assert.match((await client.get('/settings')).body, /<p>1 device, 10 recovery codes left\.<\/p>[\s\S]*<p>0 app passwords\.<\/p>/);
    const confirm = await client.get('/settings/2sv/revoke-all');
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /Revoke all devices\?/);
    assert.match(confirm.body, /All 1 device of/);
    assert.match(confirm.body, /2-Step Verification is turned off/);
    const reply = await client.post('/settings/2sv/revoke-all');
    assert.equal(reply.headers.location, '/settings');
    const settings = await client.get('/settings');
    assert.match(settings.body, /1 device revoked\. 2-Step Verification is off\./);
    assert.match(settings.body, /badge off/);

    const repeated = await client.post('/settings/2sv/revoke-all');
    assert.equal(repeated.headers.location, '/settings');
    assert.match((await client.get('/settings')).body, /You have no device to revoke; nothing changed\./);
    const events = await fixture.installation.context.store.listAudit({ account: ALICE });
    assert.equal(events.filter((event) => event.action === 'devices-revoked-all').length, 1);
    await client.post('/sign-out');

    const again = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD);
    assert.equal(again.headers.location, '/settings', 'the password alone signs in again');
  });

  it('revoke all under mandatory restarts setup', async () => {
    await setPolicy(fixture.installation, ALICE, 'mandatory');
    await enroll(client, fixture.installation);
    await client.get('/settings/2sv');
    await client.post('/settings/2sv/revoke-all');
    const settings = await client.get('/settings');
    assert.match(settings.body, /next sign-in will ask you to set up 2-Step Verification again/);

    const again = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD);
    assert.equal(again.headers.location, '/settings/2sv/start');
  });

  it('revoking ends login grants of the device', async () => {
    const { secretKey } = await enroll(client, fixture.installation, 'Phone');
    await client.post('/settings/2sv/pair', { name: 'Tablet' });
    const tabletKey = secretKeyFromPage((await client.get('/settings/2sv/pair')).body);
    await client.post('/settings/2sv/confirm', { code: await currentCode(fixture.installation, tabletKey) });
    fixture.installation.clock.advanceSeconds(30);

    const context = fixture.installation.context;
    const secret = ALICE_PASSWORD + (await currentCode(fixture.installation, secretKey));
    const request = { account: ALICE, secret, protocol: 'imap' as const, ip: '127.0.0.1' };
    assert.equal((await decideLogin(context, request)).outcome, 'accepted');
    const reuse = await decideLogin(context, request);
    assert.equal(reuse.outcome === 'accepted' && reuse.method, 'grant');

    const phone = (await getAccountStatus(context, ALICE)).devices.find((device) => device.name === 'Phone')!;
    await client.get('/settings/2sv');
    await client.post(`/settings/2sv/devices/${phone.id}/revoke`);
    assert.equal((await getAccountStatus(context, ALICE)).enrolled, true, 'the tablet stays');
    assert.equal((await decideLogin(context, request)).outcome, 'rejected');
  });

  it('new recovery codes replace the old', async () => {
    const { recoveryCodes: old } = await enroll(client, fixture.installation);
    await client.get('/settings/2sv');
    const page = await client.post('/settings/2sv/recovery-codes');
    assert.equal(page.headers['cache-control'], 'no-store');
    const fresh = recoveryCodesFromPage(page.body);
    assert.equal(fresh.length, 10);
    await client.post('/sign-out');

    assert.equal((await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, old[0])).statusCode, 401);
    assert.equal((await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, fresh[0])).headers.location, '/settings');
  });

  it('manage pages need a recent verification', async () => {
    await enroll(client, fixture.installation);
    fixture.installation.clock.advanceSeconds(301);
    for (const url of ['/settings/2sv', '/settings/app-passwords']) {
      const reply = await client.get(url);
      assert.equal(reply.statusCode, 303, url);
      assert.equal(reply.headers.location, `/verify?next=${encodeURIComponent(url)}`);
    }
    await client.get('/settings');
    const post = await client.post('/settings/2sv/revoke-all');
    assert.equal(post.headers.location, '/verify?next=%2Fsettings%2F2sv');
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).enrolled, true, 'nothing revoked');

    const verify = await client.get('/verify?next=%2Fsettings%2F2sv');
    assert.match(verify.body, /name="code"/, 'enrolled accounts give a code too');
    const passwordOnly = await client.post('/verify', { password: ALICE_PASSWORD, next: '/settings/2sv' });
    assert.equal(passwordOnly.statusCode, 401);
  });

  it('recent activity lists own events', async () => {
    await new PanelClient(fixture.app).signIn(ALICE, 'wrong password', '123456');
    await enroll(client, fixture.installation, 'Phone');
    const page = await client.get('/settings/activity');
    assert.match(page.body, /sign in failed/);
    assert.match(page.body, /device added<\/span>\s*<span class="event-detail">Phone/);
    assert.match(page.body, /sign in<\/span>/);
    assert.match(page.body, /WEB · 127\.0\.0\.1/);
  });

  it('names are escaped in pages', async () => {
    await enroll(client, fixture.installation, '<script>alert(1)</script>');
    const manage = await client.get('/settings/2sv');
    assert.doesNotMatch(manage.body, /<script>alert/);
    assert.match(manage.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });

  it('no secret appears in a redirect', async () => {
    const { secretKey } = await enroll(client, fixture.installation);
    await client.get('/settings/app-passwords');
    await client.post('/settings/app-passwords', { name: 'Mail', scopes: ['smtp'] });
    for (const location of client.locations) {
      assert.doesNotMatch(location, new RegExp(secretKey, 'i'));
      assert.doesNotMatch(location, /password|code=|secret/i);
    }
  });
});
