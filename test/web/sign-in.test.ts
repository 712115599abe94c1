import assert from 'node:assert/strict';
import { setPolicy } from './policy-helper';
import {
  ALICE,
  ALICE_PASSWORD,
  FAST_INI,
  PanelClient,
  createPanelFixture,
  currentCode,
  enroll,
  type PanelFixture,
} from './panel-client';
import { readHttpSettings } from '../../src/web/settings';
import { buildHttpService } from '../../src/web/server';
import { keys } from '../../src/core/model';

/** Blanks the per-request CSRF tokens of a page, to compare two replies. */
function withoutTokens(html: string): string {
  return html.replace(/name="_csrf" value="[^"]+"/g, 'name="_csrf" value=""');
}

describe('panel sign-in', () => {
  let fixture: PanelFixture;

  beforeEach(async () => {
    fixture = await createPanelFixture();
  });

  afterEach(async () => {
    await fixture.dispose();
  });

  it('sign-in page sets safety headers', async () => {
    const client = new PanelClient(fixture.app);
    const page = await client.get('/sign-in');

    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.match(page.body, /name="_csrf" value="[^"]+"/);
    assert.ok(client.cookies.has('twostep-session'), 'a plain cookie on a loopback listener');
  });

  it('password alone signs in a non-enrolled account', async () => {
    const client = new PanelClient(fixture.app);
    await client.get('/sign-in');
    const before = client.cookies.get('twostep-session');
    const reply = await client.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });

    assert.equal(reply.statusCode, 303);
    assert.equal(reply.headers.location, '/settings');
    const cookie = String(reply.headers['set-cookie']);
    assert.match(cookie, /^twostep-session=/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Secure/);
    assert.notEqual(client.cookies.get('twostep-session'), before, 'session id renewed at sign-in');

    const settings = await client.get('/settings');
    assert.equal(settings.statusCode, 200);
    assert.match(settings.body, /Turn on/);
  });

  it('old session id stops working after sign-in', async () => {
    const client = new PanelClient(fixture.app);
    await client.get('/sign-in');
    const before = client.cookies.get('twostep-session')!;
    await client.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });

    const stale = new PanelClient(fixture.app);
    stale.cookies.set('twostep-session', before);
    const reply = await stale.get('/settings');
    assert.equal(reply.statusCode, 303);
    assert.equal(reply.headers.location, '/sign-in');
  });

  it('wrong password reads like a wrong code', async () => {
    const signedIn = new PanelClient(fixture.app);
    await signedIn.signIn(ALICE, ALICE_PASSWORD);
    await enroll(signedIn, fixture.installation);

    const wrongPassword = new PanelClient(fixture.app);
    await wrongPassword.get('/sign-in');
    const afterPassword = await wrongPassword.post('/sign-in', { account: ALICE, password: 'wrong password' });
    assert.equal(afterPassword.headers.location, '/sign-in/code', 'a wrong password also leads to the code page');
    await wrongPassword.get('/sign-in/code');
    const wrongPasswordReply = await wrongPassword.post('/sign-in/code', { code: '123456' });

    const wrongCode = new PanelClient(fixture.app);
    await wrongCode.get('/sign-in');
    const afterRightPassword = await wrongCode.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    assert.equal(afterRightPassword.headers.location, '/sign-in/code');
    await wrongCode.get('/sign-in/code');
    const wrongCodeReply = await wrongCode.post('/sign-in/code', { code: '123456' });

    const unknown = new PanelClient(fixture.app);
    const unknownReply = await unknown.signIn('nobody@example.org', 'whatever it is', '123456');

    for (const reply of [wrongPasswordReply, wrongCodeReply, unknownReply]) {
      assert.equal(reply.statusCode, 401);
      assert.match(reply.body, /Wrong password or verification code\./);
    }
    assert.equal(withoutTokens(wrongPasswordReply.body), withoutTokens(wrongCodeReply.body));
    assert.equal(withoutTokens(unknownReply.body), withoutTokens(wrongCodeReply.body));
  });

  it('enrolled account signs in with a code', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    const { secretKey } = await enroll(client, fixture.installation);
    await client.post('/sign-out');

    const again = new PanelClient(fixture.app);
    const reply = await again.signIn(ALICE, ALICE_PASSWORD, await currentCode(fixture.installation, secretKey));
    assert.equal(reply.statusCode, 303);
    assert.equal(reply.headers.location, '/settings');
    const settings = await again.get('/settings');
    assert.match(settings.body, /badge on/);
  });

  it('code typed in groups signs in', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    const { secretKey } = await enroll(client, fixture.installation);
    await client.post('/sign-out');
    const code = await currentCode(fixture.installation, secretKey);

    const leadingSpace = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, ` ${code}`);
    assert.equal(leadingSpace.statusCode, 401, 'a space before the code is not a grouping');
    const grouped = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, `${code.slice(0, 3)} ${code.slice(3)}`);
    assert.equal(grouped.statusCode, 303);
    assert.equal(grouped.headers.location, '/settings');
  });

  it('code is rejected when replayed', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    const { secretKey } = await enroll(client, fixture.installation);
    const code = await currentCode(fixture.installation, secretKey);

    const first = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, code);
    assert.equal(first.headers.location, '/settings');
    const second = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, code);
    assert.equal(second.statusCode, 401);
  });

  it('recovery code signs in once', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    const { recoveryCodes } = await enroll(client, fixture.installation);
    assert.equal(recoveryCodes.length, 10);

    const first = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, recoveryCodes[0]);
    assert.equal(first.headers.location, '/settings');
    const again = await new PanelClient(fixture.app).signIn(ALICE, ALICE_PASSWORD, recoveryCodes[0]);
    assert.equal(again.statusCode, 401);
  });

  it('code page without a password redirects', async () => {
    const client = new PanelClient(fixture.app);
    const page = await client.get('/sign-in/code');
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/sign-in');

    await client.get('/sign-in');
    const post = await client.post('/sign-in/code', { code: '123456' });
    assert.equal(post.statusCode, 303);
    assert.equal(post.headers.location, '/sign-in');
  });

  it('sign-out ends the session', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    await client.get('/settings');
    const out = await client.post('/sign-out');
    assert.equal(out.headers.location, '/sign-in');
    const settings = await client.get('/settings');
    assert.equal(settings.statusCode, 303);
    assert.equal(settings.headers.location, '/sign-in');
  });

  it('missing and over-long fields are rejected', async () => {
    const client = new PanelClient(fixture.app);
    await client.get('/sign-in');
    const missing = await client.post('/sign-in', { account: ALICE });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.body, /Missing password\./);

    const longPassword = await client.post('/sign-in', { account: ALICE, password: 'x'.repeat(1025) });
    assert.equal(longPassword.statusCode, 400);
    assert.match(longPassword.body, /longer than 1024 characters/);

    const badAccount = await client.post('/sign-in', { account: 'no-at-sign', password: 'x' });
    assert.equal(badAccount.statusCode, 400);
    assert.match(badAccount.body, /Invalid account: expected a full address/);

    const huge = await client.post('/sign-in', { account: ALICE, password: 'x'.repeat(20_000) });
    assert.equal(huge.statusCode, 413);
  });

  /** Checks that a sign-in POST failed its CSRF check: a fresh form with a notice, and no one signed in. */
  async function assertSignInRestarted(reply: { statusCode: number; headers: Record<string, unknown> }, client: PanelClient, message: string): Promise<void> {
    assert.equal(reply.statusCode, 303, message);
    assert.equal(reply.headers.location, '/sign-in', message);
    assert.deepEqual(await fixture.installation.context.store.listKeys(keys.webSessionPrefix), [], `${message}: no session stored`);
    assert.match((await client.get('/sign-in')).body, /The sign-in form expired\. Enter your email address and password again\./, message);
    assert.equal((await client.get('/settings')).headers.location, '/sign-in', `${message}: not signed in`);
  }

  it('wrong or missing CSRF token is rejected', async () => {
    const client = new PanelClient(fixture.app);
    await client.get('/sign-in');
    const wrong = await client.post('/sign-in', { _csrf: 'forged-token', account: ALICE, password: ALICE_PASSWORD });
    await assertSignInRestarted(wrong, client, 'forged token');

    const missing = await client.post('/sign-in', { _csrf: '', account: ALICE, password: ALICE_PASSWORD });
    await assertSignInRestarted(missing, client, 'missing token');

    const other = new PanelClient(fixture.app);
    await other.get('/sign-in');
    const noSession = new PanelClient(fixture.app);
    noSession.csrfToken = other.csrfToken;
    const crossSession = await noSession.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    await assertSignInRestarted(crossSession, noSession, "another session's token");

    // Other forms keep the error page.
    const signedIn = new PanelClient(fixture.app);
    await signedIn.signIn(ALICE, ALICE_PASSWORD);
    const appPassword = await signedIn.post('/settings/app-passwords', { _csrf: 'forged-token', name: 'X', scopes: ['smtp'] });
    assert.equal(appPassword.statusCode, 403);
    assert.match(appPassword.body, /CSRF token/);
  });

  it('sign-in page visits write nothing to the store', async () => {
    const store = fixture.installation.context.store;
    for (let visit = 0; visit < 3; visit++) {
      const page = await new PanelClient(fixture.app).get('/sign-in');
      assert.equal(page.statusCode, 200);
    }
    const client = new PanelClient(fixture.app);
    await client.get('/sign-in');
    await client.get('/sign-in');
    assert.deepEqual(await store.listKeys(keys.webSessionPrefix), [], 'anonymous visitors get no session row');

    // The form still works with the secret from the cookie, and signing in stores a session.
    const reply = await client.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    assert.equal(reply.statusCode, 303);
    assert.equal((await store.listKeys(keys.webSessionPrefix)).length, 1);
  });

  it('altered or expired sign-in cookie fails the CSRF check', async () => {
    const client = new PanelClient(fixture.app);
    await client.get('/sign-in');
    const sealed = client.cookies.get('twostep-session')!;
    assert.match(sealed, /^a\./);

    // Another CSRF secret in the cookie, with the original keyed hash.
    const [, payload, tag] = sealed.split('.');
    const state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...state, csrfSecret: 'chosen-by-someone-else' })).toString('base64url');
    client.cookies.set('twostep-session', `a.${forgedPayload}.${tag}`);
    const forged = await client.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    await assertSignInRestarted(forged, client, 'altered cookie');

    const fresh = new PanelClient(fixture.app);
    await fresh.get('/sign-in');
    fixture.installation.clock.advanceSeconds(601);
    const late = await fresh.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    await assertSignInRestarted(late, fresh, 'the sign-in form lasts 10 minutes, as a stored one did');
  });

  it('sign-out notice is shown once without a stored session', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    await client.get('/settings');
    assert.equal((await client.post('/sign-out')).headers.location, '/sign-in');
    assert.deepEqual(await fixture.installation.context.store.listKeys(keys.webSessionPrefix), []);
    assert.match((await client.get('/sign-in')).body, /You are signed out/);
    assert.doesNotMatch((await client.get('/sign-in')).body, /You are signed out/);
  });

  it('idle session expires', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    fixture.installation.clock.advanceSeconds(600);
    assert.equal((await client.get('/settings')).statusCode, 200, 'within the idle limit');

    fixture.installation.clock.advanceSeconds(901);
    const expired = await client.get('/settings');
    assert.equal(expired.statusCode, 303);
    assert.equal(expired.headers.location, '/sign-in');
    const page = await client.get('/sign-in');
    assert.match(page.body, /Your session expired/);
  });

  it('absolute session limit asks the code again', async () => {
    const client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    const { secretKey } = await enroll(client, fixture.installation);
    for (let elapsed = 0; elapsed < 8 * 3600; elapsed += 800) {
      fixture.installation.clock.advanceSeconds(800);
      await client.get('/settings');
    }
    const expired = await client.get('/settings');
    assert.equal(expired.statusCode, 303);

    const again = await client.signIn(ALICE, ALICE_PASSWORD);
    assert.equal(again.statusCode, 401, 'no code, no sign-in');
    const withCode = await client.signIn(ALICE, ALICE_PASSWORD, await currentCode(fixture.installation, secretKey));
    assert.equal(withCode.headers.location, '/settings');
  });

  it('mandatory policy starts setup first', async () => {
    await setPolicy(fixture.installation, ALICE, 'mandatory');
    const client = new PanelClient(fixture.app);
    const reply = await client.signIn(ALICE, ALICE_PASSWORD);
    assert.equal(reply.headers.location, '/settings/2sv/start');

    for (const url of ['/settings', '/settings/app-passwords', '/settings/activity', '/settings/2sv']) {
      const blocked = await client.get(url);
      assert.equal(blocked.statusCode, 303, url);
      assert.equal(blocked.headers.location, '/settings/2sv/start', url);
    }
    const api = await client.api('GET', '/api/status');
    assert.equal(api.statusCode, 403);
    assert.equal(JSON.parse(api.body).error.code, 'ERR_SETUP_REQUIRED');

    const start = await client.get('/settings/2sv/start');
    assert.match(start.body, /requires 2-Step Verification/);
    const { recoveryCodes } = await enroll(client, fixture.installation);
    assert.equal(recoveryCodes.length, 10);
    assert.equal((await client.get('/settings')).statusCode, 200, 'setup done: the panel opens');
  });

  it('throttling delay follows failures', async () => {
    await fixture.dispose();
    fixture = await createPanelFixture('[throttle]\nfree_failures = 0\nmax_delay = 30\n');
    await new PanelClient(fixture.app).signIn(ALICE, 'wrong password one', '123456');
    await new PanelClient(fixture.app).signIn(ALICE, 'wrong password two', '123456');
    assert.deepEqual(fixture.sleeps, [1000, 2000]);
  });

  it('sign-in is rate limited per address', async () => {
    await fixture.dispose();
    fixture = await createPanelFixture(`${FAST_INI}[http]\nsign_in_rate_limit = 2\n`);
    const client = new PanelClient(fixture.app);
    await client.get('/sign-in');
    await client.post('/sign-in', { account: ALICE, password: 'one' });
    await client.get('/sign-in');
    await client.post('/sign-in', { account: ALICE, password: 'two' });
    await client.get('/sign-in');
    const limited = await client.post('/sign-in', { account: ALICE, password: 'three' });
    assert.equal(limited.statusCode, 429);
    assert.match(limited.body, /Too many attempts/);
  });

  it('rate limit shared between panels', async () => {
    await fixture.dispose();
    fixture = await createPanelFixture(`${FAST_INI}[http]\nsign_in_rate_limit = 2\n`);
    // A second panel on the same store, as a second process behind a load balancer would be.
    const otherApp = await buildHttpService(fixture.installation, { sleep: async () => undefined });
    try {
      const first = new PanelClient(fixture.app);
      const second = new PanelClient(otherApp);
      await first.get('/sign-in');
      const firstReply = await first.post('/sign-in', { account: ALICE, password: 'one' });
      await second.get('/sign-in');
      const secondReply = await second.post('/sign-in', { account: ALICE, password: 'two' });
      await first.get('/sign-in');
      const limited = await first.post('/sign-in', { account: ALICE, password: 'three' });

      assert.notEqual(firstReply.statusCode, 429);
      assert.notEqual(secondReply.statusCode, 429);
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.headers['retry-after'], '60');

      fixture.installation.clock.advanceSeconds(60);
      await second.get('/sign-in');
      const later = await second.post('/sign-in', { account: ALICE, password: 'four' });
      assert.notEqual(later.statusCode, 429);
    } finally {
      await otherApp.close();
    }
  });

  it('secure cookies use the __Host- prefix', async () => {
    await fixture.dispose();
    fixture = await createPanelFixture(FAST_INI, { settings: { ...readHttpSettings({}), cookieSecure: 'always' } });
    const client = new PanelClient(fixture.app);
    const page = await client.get('/sign-in');
    const cookie = String(page.headers['set-cookie']);
    assert.match(cookie, /^__Host-twostep-session=/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Domain=/);

    const reply = await client.post('/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    assert.equal(reply.headers.location, '/settings');
  });
});
