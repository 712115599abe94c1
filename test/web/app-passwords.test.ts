import assert from 'node:assert/strict';
import { decideLogin } from '../../src/core/login';
import { getAccountStatus } from '../../src/core/accounts';
import { ALICE, ALICE_PASSWORD, PanelClient, createPanelFixture, type PanelFixture } from './panel-client';

function appPasswordFromPage(html: string): string {
  const match = /<code class="secret" id="app-password">([a-z ]+)<\/code>/.exec(html);
  if (!match) {
    throw new Error('no app password on the page');
  }
  return match[1];
}

describe('panel app passwords', () => {
  let fixture: PanelFixture;
  let client: PanelClient;

  beforeEach(async () => {
    fixture = await createPanelFixture();
    client = new PanelClient(fixture.app);
    await client.signIn(ALICE, ALICE_PASSWORD);
    await client.get('/settings/app-passwords');
  });

  afterEach(async () => {
    await fixture.dispose();
  });

  it('created app password is shown once', async () => {
    const created = await client.post('/settings/app-passwords', { name: 'Thunderbird', scopes: ['smtp', 'imap'] });
    assert.equal(created.statusCode, 200);
    assert.equal(created.headers['cache-control'], 'no-store');
    const appPassword = appPasswordFromPage(created.body);
    assert.match(appPassword, /^[a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}$/);
    assert.match(created.body, /data-copy="app-password"/);
    assert.match(created.body, /SMTP, IMAP/);

    const list = await client.get('/settings/app-passwords');
    assert.ok(!list.body.includes(appPassword), 'not shown again');
    assert.match(list.body, /<strong>Thunderbird<\/strong> <span class="tag">SMTP, IMAP<\/span>/);
    assert.match(list.body, /Created 2005-03-18 01:58 UTC · never used/);
  });

  it('app password works for its scopes only', async () => {
    const created = await client.post('/settings/app-passwords', { name: 'Phone mail', scopes: ['smtp'] });
    const appPassword = appPasswordFromPage(created.body);
    const context = fixture.installation.context;

    const smtp = await decideLogin(context, { account: ALICE, secret: appPassword, protocol: 'smtp', ip: '127.0.0.9' });
    assert.equal(smtp.outcome, 'accepted');
    const imap = await decideLogin(context, { account: ALICE, secret: appPassword, protocol: 'imap', ip: '127.0.0.9' });
    assert.equal(imap.outcome, 'rejected');

    const list = await client.get('/settings/app-passwords');
    assert.match(list.body, /last used 2005-03-18 01:58 UTC from 127\.0\.0\.9 over SMTP/);
  });

  it('revoked app password stops working', async () => {
    const created = await client.post('/settings/app-passwords', { name: 'Old laptop', scopes: ['imap'] });
    const appPassword = appPasswordFromPage(created.body);
    const [entry] = (await getAccountStatus(fixture.installation.context, ALICE)).appPasswords;

    await client.get('/settings/app-passwords');
    const revoked = await client.post(`/settings/app-passwords/${entry.id}/revoke`);
    assert.equal(revoked.headers.location, '/settings/app-passwords');
    const list = await client.get('/settings/app-passwords');
    assert.match(list.body, /App password &quot;Old laptop&quot; revoked\./);
    const login = await decideLogin(fixture.installation.context, { account: ALICE, secret: appPassword, protocol: 'imap', ip: '127.0.0.1' });
    assert.equal(login.outcome, 'rejected');

    const again = await client.post(`/settings/app-passwords/${entry.id}/revoke`);
    assert.equal(again.statusCode, 404);
  });

  it('revoke by name is not accepted', async () => {
    await client.post('/settings/app-passwords', { name: 'ByName', scopes: ['imap'] });
    await client.get('/settings/app-passwords');
    const reply = await client.post('/settings/app-passwords/ByName/revoke');
    assert.equal(reply.statusCode, 404);
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).appPasswords.length, 1);
  });

  it('bad app password input is rejected', async () => {
    const cases: [Record<string, string | string[]>, RegExp][] = [
      [{ scopes: ['smtp'] }, /Missing app password name\./],
      [{ name: 'x'.repeat(65), scopes: ['smtp'] }, /longer than 64 characters/],
      [{ name: 'No scope' }, /Missing scope/],
      [{ name: 'Bad scope', scopes: ['ftp'] }, /Unknown scope &quot;ftp&quot;/],
      [{ name: 'Control\u0001char', scopes: ['smtp'] }, /control characters/],
    ];
    for (const [fields, message] of cases) {
      const reply = await client.post('/settings/app-passwords', fields);
      assert.equal(reply.statusCode, 400, JSON.stringify(fields));
      assert.match(reply.body, message);
    }
    assert.equal((await getAccountStatus(fixture.installation.context, ALICE)).appPasswords.length, 0);
  });

  it('app password pages need a session', async () => {
    const anonymous = new PanelClient(fixture.app);
    const page = await anonymous.get('/settings/app-passwords');
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/sign-in');
    await anonymous.get('/sign-in');
    const post = await anonymous.post('/settings/app-passwords', { name: 'X', scopes: ['smtp'] });
    assert.equal(post.statusCode, 303);
    assert.equal(post.headers.location, '/sign-in');
  });
});
