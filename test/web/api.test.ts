import assert from 'node:assert/strict';
import { decideLogin } from '../../src/core/login';
import { generateCode } from '../../src/core/totp';
import { storeUnavailable } from '../../src/core/errors';
import { ALICE, ALICE_PASSWORD, PanelClient, createPanelFixture, type PanelFixture } from './panel-client';

describe('panel JSON API', () => {
  let fixture: PanelFixture;

  beforeEach(async () => {
    fixture = await createPanelFixture();
  });

  afterEach(async () => {
    await fixture.dispose();
  });

  async function codeFor(secretKey: string): Promise<string> {
    return generateCode(secretKey, Math.floor(fixture.installation.clock.now() / 1000));
  }

  async function signedInClient(): Promise<PanelClient> {
    const client = new PanelClient(fixture.app);
    await client.api('GET', '/api/session');
    const reply = await client.api('POST', '/api/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    assert.equal(reply.statusCode, 200);
    assert.equal(JSON.parse(reply.body).next, 'done');
    return client;
  }

  it('full flow through the API', async () => {
    const client = new PanelClient(fixture.app);
    const session = await client.api('GET', '/api/session');
    assert.equal(session.statusCode, 200);
    assert.equal(session.headers['cache-control'], 'no-store');
    assert.equal(JSON.parse(session.body).stage, 'anonymous');

    const signIn = await client.api('POST', '/api/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    assert.deepEqual(Object.keys(JSON.parse(signIn.body)).sort(), ['csrfToken', 'next']);

    const pairing = await client.api('POST', '/api/2sv/pairing', { name: 'Phone' });
    assert.equal(pairing.statusCode, 200);
    const view = JSON.parse(pairing.body);
    assert.match(view.formattedKey, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
    assert.match(view.otpauthUri, /^otpauth:\/\/totp\//);
    assert.match(view.qrSvg, /^<svg/);
    const pending = await client.api('GET', '/api/2sv/pairing');
    assert.equal(JSON.parse(pending.body).secretKey, view.secretKey);
    assert.deepEqual(JSON.parse((await client.api('POST', '/api/2sv/pairing/cancel')).body), { cancelled: true });
    assert.equal((await client.api('GET', '/api/2sv/pairing')).statusCode, 404);
    assert.deepEqual(JSON.parse((await client.api('POST', '/api/2sv/pairing/cancel')).body), { cancelled: false });
    const restarted = JSON.parse((await client.api('POST', '/api/2sv/pairing', { name: 'Phone' })).body);
    assert.notEqual(restarted.secretKey, view.secretKey);
    Object.assign(view, restarted);

    const confirm = await client.api('POST', '/api/2sv/pairing/confirm', { code: await codeFor(view.secretKey) });
    assert.equal(confirm.statusCode, 200);
    const { recoveryCodes } = JSON.parse(confirm.body);
    assert.equal(recoveryCodes.length, 10);

    const status = JSON.parse((await client.api('GET', '/api/status')).body);
    assert.equal(status.enrolled, true);
    assert.equal(status.devices.length, 1);
    assert.equal(status.recoveryCodesLeft, 10);
    assert.equal(JSON.stringify(status).includes(view.secretKey), false, 'status holds no secret');

    const created = await client.api('POST', '/api/app-passwords', { name: 'Webmail', scopes: ['imap', 'smtp'] });
    assert.equal(created.statusCode, 201);
    const appPassword = JSON.parse(created.body);
    assert.deepEqual(appPassword.scopes, ['smtp', 'imap']);
    const login = await decideLogin(fixture.installation.context, { account: ALICE, secret: appPassword.appPassword, protocol: 'imap', ip: '127.0.0.1' });
    assert.equal(login.outcome, 'accepted');

    const list = JSON.parse((await client.api('GET', '/api/app-passwords')).body);
    assert.equal(list.appPasswords[0].name, 'Webmail');
    assert.equal(list.appPasswords[0].lastUse.protocol, 'imap');

    const revoked = await client.api('POST', `/api/app-passwords/${appPassword.id}/revoke`);
    assert.deepEqual(JSON.parse(revoked.body), { revoked: 'Webmail' });

    const codes = await client.api('POST', '/api/recovery-codes');
    assert.equal(JSON.parse(codes.body).recoveryCodes.length, 10);

    const activity = JSON.parse((await client.api('GET', '/api/activity')).body);
    const actions = activity.events.map((event: { action: string }) => event.action);
    for (const action of ['sign-in', 'device-added', 'app-password-created', 'app-password-revoked', 'recovery-codes-regenerated']) {
      assert.ok(actions.includes(action), action);
    }

    const all = await client.api('POST', '/api/devices/revoke-all');
    assert.deepEqual(JSON.parse(all.body), { revoked: 1, setupRequiredAtNextSignIn: false });

    await client.api('POST', '/api/sign-out');
    const after = await client.api('GET', '/api/status');
    assert.equal(after.statusCode, 401);
    assert.equal(JSON.parse(after.body).error.code, 'ERR_SIGN_IN_REQUIRED');
  });

  it('code step through the API', async () => {
    const setup = await signedInClient();
    const view = JSON.parse((await setup.api('POST', '/api/2sv/pairing', { name: 'Phone' })).body);
    await setup.api('POST', '/api/2sv/pairing/confirm', { code: await codeFor(view.secretKey) });
    fixture.installation.clock.advanceSeconds(30);

    const client = new PanelClient(fixture.app);
    await client.api('GET', '/api/session');
    const first = JSON.parse((await client.api('POST', '/api/sign-in', { account: ALICE, password: ALICE_PASSWORD })).body);
    assert.equal(first.next, 'code');
    const wrong = await client.api('POST', '/api/sign-in/code', { code: '000000' === (await codeFor(view.secretKey)) ? '111111' : '000000' });
    assert.equal(wrong.statusCode, 401);
    assert.deepEqual(JSON.parse(wrong.body).error, { code: 'ERR_SIGN_IN_FAILED', message: 'Wrong password or verification code.' });

    await client.api('POST', '/api/sign-in', { account: ALICE, password: ALICE_PASSWORD });
    const right = await client.api('POST', '/api/sign-in/code', { code: await codeFor(view.secretKey) });
    assert.equal(JSON.parse(right.body).next, 'done');
  });

  it('device revoke through the API', async () => {
    const client = await signedInClient();
    const view = JSON.parse((await client.api('POST', '/api/2sv/pairing', { name: 'Phone' })).body);
    await client.api('POST', '/api/2sv/pairing/confirm', { code: await codeFor(view.secretKey) });
    const [device] = JSON.parse((await client.api('GET', '/api/status')).body).devices;

    const revoked = await client.api('POST', `/api/devices/${device.id}/revoke`);
    assert.deepEqual(JSON.parse(revoked.body), { revoked: 'Phone' });
    const missing = await client.api('POST', `/api/devices/${device.id}/revoke`);
    assert.equal(missing.statusCode, 404);
    assert.equal(JSON.parse(missing.body).error.code, 'ERR_NOT_FOUND');
  });

  it('re-verification through the API', async () => {
    const client = await signedInClient();
    fixture.installation.clock.advanceSeconds(301);
    const stale = await client.api('POST', '/api/app-passwords', { name: 'X', scopes: ['smtp'] });
    assert.equal(stale.statusCode, 403);
    assert.equal(JSON.parse(stale.body).error.code, 'ERR_VERIFY_REQUIRED');

    const wrong = await client.api('POST', '/api/verify', { password: 'nope' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(JSON.parse(wrong.body).error.code, 'ERR_VERIFY_FAILED');
    const right = await client.api('POST', '/api/verify', { password: ALICE_PASSWORD });
    assert.equal(right.statusCode, 200);
    assert.equal(typeof JSON.parse(right.body).verifiedUntil, 'number');
    assert.equal((await client.api('POST', '/api/app-passwords', { name: 'X', scopes: ['smtp'] })).statusCode, 201);
  });

  it('API rejects bad requests with JSON errors', async () => {
    const client = await signedInClient();
    const cases: [string, unknown, number, string][] = [
      ['/api/app-passwords', { name: 'X' }, 400, 'ERR_INVALID_SCOPE'],
      ['/api/app-passwords', { name: 'X', scopes: 'smtp,telnet' }, 400, 'ERR_INVALID_SCOPE'],
      ['/api/app-passwords', { name: 42, scopes: ['smtp'] }, 400, 'ERR_INVALID_INPUT'],
      // A name that is too long and one with a control character get the same code, as in the CLI.
      ['/api/app-passwords', { name: 'y'.repeat(65), scopes: ['smtp'] }, 400, 'ERR_INVALID_NAME'],
      ['/api/app-passwords', { name: 'y\u0007', scopes: ['smtp'] }, 400, 'ERR_INVALID_NAME'],
      ['/api/app-passwords', { name: 'y'.repeat(1025), scopes: ['smtp'] }, 400, 'ERR_INVALID_INPUT'],
      ['/api/2sv/pairing/confirm', { code: '123456' }, 404, 'ERR_NOT_FOUND'],
      ['/api/2sv/pairing/confirm', {}, 400, 'ERR_INVALID_INPUT'],
      ['/api/devices/%3Cbad%3E/revoke', {}, 400, 'ERR_INVALID_INPUT'],
    ];
    for (const [url, body, status, code] of cases) {
      const reply = await client.api('POST', url, body);
      assert.equal(reply.statusCode, status, `${url} ${JSON.stringify(body)}`);
      assert.equal(JSON.parse(reply.body).error.code, code, `${url} ${JSON.stringify(body)}`);
    }

    const invalidJson = await fixture.app.inject({
      method: 'POST',
      url: '/api/sign-in',
      headers: { cookie: client.cookieHeader, 'x-csrf-token': client.csrfToken!, 'content-type': 'application/json' },
      payload: '{"account":',
    });
    assert.equal(invalidJson.statusCode, 400);
    assert.equal(JSON.parse(invalidJson.body).error.code, 'ERR_INVALID_INPUT');

    const notFound = await client.api('GET', '/api/nothing-here');
    assert.equal(notFound.statusCode, 404);
    assert.equal(JSON.parse(notFound.body).error.code, 'ERR_NOT_FOUND');
  });

  it('API needs the CSRF header', async () => {
    const client = await signedInClient();
    const missing = await client.api('POST', '/api/recovery-codes', undefined, null);
    assert.equal(missing.statusCode, 403);
    assert.equal(JSON.parse(missing.body).error.code, 'ERR_CSRF');
    const wrong = await client.api('POST', '/api/app-passwords', { name: 'X', scopes: ['smtp'] }, 'not-a-token');
    assert.equal(wrong.statusCode, 403);
    assert.equal(JSON.parse(wrong.body).error.code, 'ERR_CSRF');
  });

  it('API session expires', async () => {
    const client = await signedInClient();
    fixture.installation.clock.advanceSeconds(901);
    const reply = await client.api('GET', '/api/status');
    assert.equal(reply.statusCode, 401);
    assert.match(JSON.parse(reply.body).error.message, /session expired/);
  });

  it('store fault is a temporary failure', async () => {
    const client = await signedInClient();
    const store = fixture.installation.context.store;
    const original = store.get.bind(store);
    store.get = async () => {
      throw storeUnavailable('read', new Error('disk I/O error'));
    };
    try {
      const reply = await client.api('GET', '/api/status');
      assert.equal(reply.statusCode, 503);
      assert.equal(JSON.parse(reply.body).error.code, 'ERR_STORE_UNAVAILABLE');
      assert.doesNotMatch(reply.body, /disk I\/O/, 'the cause stays in the log');

      const page = await client.get('/settings');
      assert.equal(page.statusCode, 503);
      assert.match(page.body, /temporarily unavailable/);
    } finally {
      store.get = original;
    }
  });

  it('failed session write is one 503', async () => {
    const client = await signedInClient();
    const store = fixture.installation.context.store;
    const original = store.set.bind(store);
    let writes = 0;
    store.set = async () => {
      writes += 1;
      throw storeUnavailable('write', new Error('Redis at redis://127.0.0.1:6379/0 is not connected'));
    };
    try {
      // A signed-in session is written back with each request.
      const page = await client.get('/settings');
      assert.equal(page.statusCode, 503);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.body, /temporarily unavailable/);
      assert.doesNotMatch(page.body, /Redis|127\.0\.0\.1/, 'the cause stays in the log');
      assert.equal(writes, 1, 'the error page does not try the write again');

      const reply = await client.api('GET', '/api/status');
      assert.equal(reply.statusCode, 503);
      assert.equal(JSON.parse(reply.body).error.code, 'ERR_STORE_UNAVAILABLE');
      assert.doesNotMatch(reply.body, /Redis/);
    } finally {
      store.set = original;
    }
  });
});
