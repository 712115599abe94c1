import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertFailure, CliHome, EXPECTED_ACTOR } from './cli-runner';

describe('cli: passwd', function () {
  let cli: CliHome;
  const passwdPath = () => join(cli.dataDir, 'passwd');

  beforeEach(() => {
    cli = new CliHome();
  });

  afterEach(() => {
    cli.remove();
  });

  async function verify(account: string, password: string): Promise<boolean> {
    const installation = await cli.open();
    try {
      return await installation.backend.verify(account, password);
    } finally {
      await installation.close();
    }
  }

  it('sets a password from stdin', async () => {
    const result = await cli.json<{ account: string; scheme: string; created: boolean }>(['passwd', 'Alice@Example.ORG'], { input: 'Winter2024 123456\n' });
    assert.equal(result.account, 'alice@example.org');
    assert.equal(result.scheme, 'BLF-CRYPT');
    assert.equal(result.created, true);
    assert.match(readFileSync(passwdPath(), 'utf8'), /^alice@example\.org:\{BLF-CRYPT\}\$2y\$/m);
    assert.equal(await verify('alice@example.org', 'Winter2024 123456'), true);
    assert.equal(await verify('alice@example.org', 'Winter2024'), false);
  });

  it('says when it creates the passwd file', async () => {
    const first = await cli.run(['passwd', 'alice@example.org'], { input: 'first\n' });
    assert.equal(first.code, 0, first.stderr);
    assert.ok(first.stdout.includes(`Created the passwd file ${passwdPath()}, which did not exist.`), first.stdout);
    const second = await cli.run(['passwd', 'bob@example.org'], { input: 'second\n' });
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /Created the passwd file/);
    assert.match(second.stdout, /Added the password of bob@example\.org/);
  });

  it('changes a password and keeps other lines', async () => {
    await cli.json(['passwd', 'alice@example.org'], { input: 'first\n' });
    await cli.json(['passwd', 'bob@example.org'], { input: 'bobs\n' });
    const changed = await cli.json<{ created: boolean }>(['passwd', 'alice@example.org'], { input: 'second\r\nignored line\n' });
    assert.equal(changed.created, false);
    assert.equal(await verify('alice@example.org', 'second'), true);
    assert.equal(await verify('alice@example.org', 'first'), false);
    assert.equal(await verify('bob@example.org', 'bobs'), true);
  });

  it('writes each scheme', async () => {
    for (const [scheme, prefix] of [['ARGON2ID', '{ARGON2ID}$argon2id$'], ['sha512-crypt', '{SHA512-CRYPT}$6$'], ['BLF-CRYPT', '{BLF-CRYPT}$2y$']]) {
      const account = `${scheme.toLowerCase()}@example.org`;
      const result = await cli.run(['passwd', account, '--scheme', scheme], { input: 'pass word\n' });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Added the password of/);
      assert.ok(readFileSync(passwdPath(), 'utf8').includes(`${account}:${prefix}`), scheme);
      assert.equal(await verify(account, 'pass word'), true, scheme);
    }
  });

  it('rejects an empty or missing password', async () => {
    assertFailure(await cli.run(['passwd', 'alice@example.org'], { input: '\n' }), 1, /invalid password: it is empty/);
    assertFailure(await cli.run(['passwd', 'alice@example.org'], { input: '' }), 1, /missing password/);
    assert.equal(existsSync(passwdPath()), false, 'no passwd file written');
  });

  it('rejects a bad scheme, account or long password', async () => {
    assertFailure(await cli.run(['passwd', 'alice@example.org', '--scheme', 'MD5'], { input: 'x\n' }), 1, /invalid --scheme "MD5": expected BLF-CRYPT, ARGON2ID, SHA512-CRYPT/);
    assertFailure(await cli.run(['passwd', 'alice'], { input: 'x\n' }), 1, /invalid account: expected a full address/);
    assertFailure(await cli.run(['passwd', 'alice@example.org'], { input: `${'x'.repeat(73)}\n` }), 1, /BLF-CRYPT uses only the first 72 bytes/);
    assert.equal(existsSync(passwdPath()), false, 'no passwd file written');
  });

  it('never prints the password and audits the change', async () => {
    const result = await cli.run(['passwd', 'alice@example.org'], { input: 'VerySecret99\n' });
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.stdout + result.stderr, /VerySecret99/);
    const audit = await cli.json<{ events: { action: string; actor: string; account: string; detail?: string }[] }>(['audit', '--account', 'alice@example.org']);
    assert.equal(audit.events[0].action, 'password-set');
    assert.equal(audit.events[0].actor, EXPECTED_ACTOR);
    assert.doesNotMatch(JSON.stringify(audit), /VerySecret99/);
  });
});
