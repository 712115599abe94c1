import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideLogin } from '../../src/core/login';
import { assertFailure, CliHome } from './cli-runner';
import { freePort } from '../helpers/ports';

interface AppPasswordJson {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt?: string;
  expired: boolean;
  lastUse?: { at: string; ip: string; protocol: string };
}

describe('cli: app-password', function () {
  let cli: CliHome;
  const account = 'alice@example.org';

  beforeEach(async () => {
    cli = new CliHome();
    await cli.json(['passwd', account], { input: 'Winter2024\n' });
  });

  afterEach(() => {
    cli.remove();
  });

  const list = async () => (await cli.json<{ appPasswords: AppPasswordJson[] }>(['app-password', 'list', account])).appPasswords;

  it('reports a notification that could not be sent', async () => {
    const port = await freePort();
    writeFileSync(join(cli.configDir, 'twostep.ini'), `[notify]\nsmtp_host = 127.0.0.1\nsmtp_port = ${port}\ntimeout = 2\n`);
    const result = await cli.run(['app-password', 'add', account, '--name', 'Phone', '--scope', 'imap', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const { appPassword } = JSON.parse(result.stdout) as { appPassword: string };
    assert.match(result.stderr, new RegExp(`^twostep: warning: notification could not be sent: .*ECONNREFUSED.* \\(account=${account}, smtp_host=127\\.0\\.0\\.1, smtp_port=${port}\\)$`, 'm'));
    assert.ok(!result.stderr.includes(appPassword.replace(/ /g, '').slice(0, 8)), 'the app password stays out of the message');
  });

  it('adds an app password that signs in once printed', async () => {
    const added = await cli.json<{ appPassword: string; scopes: string[]; id: string }>(['app-password', 'add', account, '--name', 'Thunderbird', '--scope', 'imap,smtp']);
    assert.match(added.appPassword, /^[a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}$/);
    assert.deepEqual(added.scopes, ['smtp', 'imap']);

    const installation = await cli.open();
    try {
      const imap = await decideLogin(installation.context, { account, secret: added.appPassword, protocol: 'imap', ip: '127.0.0.1' });
      assert.equal(imap.outcome, 'accepted');
      const pop3 = await decideLogin(installation.context, { account, secret: added.appPassword, protocol: 'pop3', ip: '127.0.0.1' });
      assert.equal(pop3.outcome, 'rejected');
    } finally {
      await installation.close();
    }

    const [entry] = await list();
    assert.equal(entry.id, added.id);
    assert.equal(entry.lastUse?.protocol, 'imap');
    assert.equal(entry.lastUse?.ip, '127.0.0.1');
  });

  it('lists without the secret', async () => {
    const text = await cli.run(['app-password', 'add', account, '--name', 'Phone, "work"', '--scope', 'smtp', '--expires', '30d']);
    assert.equal(text.code, 0, text.stderr);
    const secret = /^ {4}([a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4})$/m.exec(text.stdout)?.[1];
    assert.ok(secret, 'printed once in text');

    const table = await cli.run(['app-password', 'list', account]);
    assert.match(table.stdout, /^ID\s+NAME\s+SCOPES\s+CREATED\s+LAST USED\s+EXPIRES$/m);
    assert.match(table.stdout, /Phone, "work"\s+smtp\s+\S+\s+never\s+\d{4}-/);
    assert.equal(table.stdout.includes(secret), false);

    const entries = await list();
    assert.equal(JSON.stringify(entries).includes(secret.replace(/ /g, '')), false);
    const expiresIn = Date.parse(entries[0].expiresAt!) - Date.now();
    assert.ok(expiresIn > 29.9 * 86_400_000, `expires in ${expiresIn} ms`);
    assert.ok(expiresIn <= 30 * 86_400_000, `expires in ${expiresIn} ms`);
    assert.equal(entries[0].expired, false);
  });

  it('accepts an ISO expiry date', async () => {
    const added = await cli.json<{ expiresAt: string }>(['app-password', 'add', account, '--name', 'x', '--scope', 'pop3', '--expires', '2099-12-31']);
    assert.equal(added.expiresAt, '2099-12-31T00:00:00.000Z');
  });

  it('rejects bad input and writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--name', 'x', '--scope', 'smtp,ftp'], /unknown scope "ftp": expected smtp, imap or pop3/],
      [['--name', 'x', '--scope', ','], /missing scope/],
      [['--name', 'x', '--scope', 'smtp', '--expires', '2020-01-01'], /invalid expiry "2020-01-01": it is in the past/],
      [['--name', 'x', '--scope', 'smtp', '--expires', '2027-02-30'], /invalid expiry "2027-02-30": expected a number of days/],
      [['--name', 'x', '--scope', 'smtp', '--expires', 'next week'], /invalid expiry/],
      [['--name', 'x', '--scope', 'smtp', '--expires', '0d'], /invalid expiry "0d": give 1d to 3650d/],
      [['--name', ' ', '--scope', 'smtp'], /missing app password name/],
    ];
    for (const [options, pattern] of cases) {
      assertFailure(await cli.run(['app-password', 'add', account, ...options]), 1, pattern);
    }
    assertFailure(await cli.run(['app-password', 'add', 'nobody@example.org', '--name', 'x', '--scope', 'smtp']), 1, /account nobody@example.org not found/);
    assert.deepEqual(await list(), []);
  });

  it('revokes by name or id', async () => {
    const first = await cli.json<{ id: string }>(['app-password', 'add', account, '--name', 'One', '--scope', 'smtp']);
    await cli.json(['app-password', 'add', account, '--name', 'Two', '--scope', 'smtp']);

    const byId = await cli.json<{ revoked: { name: string } }>(['app-password', 'revoke', account, first.id]);
    assert.equal(byId.revoked.name, 'One');
    const byName = await cli.run(['app-password', 'revoke', account, 'Two']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /Revoked app password "Two"/);
    assertFailure(await cli.run(['app-password', 'revoke', account, 'Two']), 1, /app password "Two" not found for alice@example.org/);
    assert.deepEqual(await list(), []);
  });
});
