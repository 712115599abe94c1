import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PasswdFileBackend } from '../../src/backends/passwd-file';
import { hashPassword } from '../../src/backends/password-hash';

describe('passwd-file backend', () => {
  let folder: string;
  let path: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-passwd-'));
    path = join(folder, 'passwd');
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('reads Dovecot lines with extra fields and every supported scheme', async () => {
    const lines = [
      `a@example.org:${await hashPassword('pw-a', 'BLF-CRYPT')}:1000:1000::/home/a::`,
      `b@example.org:${await hashPassword('pw-b', 'SHA512-CRYPT')}`,
      `c@example.org:${await hashPassword('pw-c', 'ARGON2ID')}`,
      'd@example.org:{PLAIN}pw-d',
      '# a comment',
      'e@example.org:{MD5}unsupported',
    ];
    writeFileSync(path, `${lines.join('\n')}\n`);
    const backend = new PasswdFileBackend(path);
    for (const letter of ['a', 'b', 'c', 'd']) {
      assert.equal(await backend.verify(`${letter}@example.org`, `pw-${letter}`), true, letter);
      assert.equal(await backend.verify(`${letter}@example.org`, 'wrong'), false, letter);
    }
    assert.equal(await backend.verify('e@example.org', 'unsupported'), false);
    assert.equal(await backend.verify('nobody@example.org', 'pw-a'), false);
  });

  it('missing file fails logins, lists no accounts', async () => {
    const backend = new PasswdFileBackend(join(folder, 'mistyped', 'passwd'));
    await assert.rejects(backend.verify('a@example.org', 'pw-a'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_BACKEND_UNAVAILABLE');
      assert.ok(error.message.includes(`passwd file ${join(folder, 'mistyped', 'passwd')} does not exist`), error.message);
      assert.match(error.message, /\[backend\] passwd_file/);
      return true;
    });
    assert.equal(await backend.exists(), false);
    assert.equal(await backend.hasAccount('a@example.org'), false);
    assert.deepEqual(await backend.listAccounts(), []);

    await backend.setPassword('a@example.org', 'pw-a', 'PLAIN');
    assert.equal(await backend.exists(), true);
    assert.equal(await backend.verify('a@example.org', 'pw-a'), true);
  });

  it('names the file and user it cannot read', async () => {
    // A folder where the file should be: it exists, but cannot be read as a file.
    mkdirSync(path);
    await assert.rejects(new PasswdFileBackend(path).verify('a@example.org', 'pw-a'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_BACKEND_UNAVAILABLE');
      assert.match(error.message, new RegExp(`^cannot read passwd file ${path} as user \\S+: EISDIR`));
      return true;
    });
  });

  it('keeps mode and group when rewriting', async () => {
    writeFileSync(path, 'a@example.org:{PLAIN}one\n');
    chmodSync(path, 0o640);
    await new PasswdFileBackend(path).setPassword('b@example.org', 'two', 'PLAIN');
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(folder), ['passwd'], 'no temporary file is left');
  });

  it('keeps the owner when root rewrites', async function () {
    if (process.getuid?.() !== 0) {
      this.skip();
    }
    // Owned by the mail server's user, as a live passwd file is (uid 65534 is Debian's "nobody").
    writeFileSync(path, 'a@example.org:{PLAIN}one\n');
    chownSync(path, 65534, 65534);
    await new PasswdFileBackend(path).setPassword('b@example.org', 'two', 'PLAIN');
    assert.deepEqual([statSync(path).uid, statSync(path).gid], [65534, 65534]);

    // A new file takes the owner of its folder.
    const created = join(folder, 'new', 'passwd');
    mkdirSync(join(folder, 'new'));
    chownSync(join(folder, 'new'), 65534, 65534);
    await new PasswdFileBackend(created).setPassword('c@example.org', 'three', 'PLAIN');
    assert.deepEqual([statSync(created).uid, statSync(created).gid, statSync(created).mode & 0o777], [65534, 65534, 0o600]);
  });

  it('sees an account that another program added a moment ago', async () => {
    writeFileSync(path, 'a@example.org:{PLAIN}one\n');
    const backend = new PasswdFileBackend(path);
    assert.equal(await backend.verify('a@example.org', 'one'), true);
    writeFileSync(path, 'a@example.org:{PLAIN}one\nb@example.org:{PLAIN}two-and-more\n');
    assert.equal(await backend.verify('b@example.org', 'two-and-more'), true);
  });

  it('a changed password works at once', async () => {
    writeFileSync(path, 'a@example.org:{PLAIN}old\n');
    const backend = new PasswdFileBackend(path);
    assert.equal(await backend.verify('a@example.org', 'old'), true);
    writeFileSync(path, 'a@example.org:{PLAIN}new-password\n');
    assert.equal(await backend.verify('a@example.org', 'new-password'), true);
  });
});
