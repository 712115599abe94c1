import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { openStore } from '../../src/store';
import { loadSecretBox } from '../../src/store/encryption-key';
import { join } from 'node:path';
import { provisionSecretKey } from '../../src/core/accounts';
import { generateCode } from '../../src/core/totp';
import { PasswdFileBackend } from '../../src/backends/passwd-file';
import { smtpLogin, startHaraka, type RunningHaraka, type SmtpAuthResult } from '../helpers/haraka';
import { RFC_KEY } from '../helpers/installation';

const ALICE = 'alice@example.org';
const PASSWORD = 'correct horse 2024';

/** Signs in every second until `done` holds for the result, or fails after `timeoutMs`. */
async function pollLogin(
  port: number,
  done: (result: SmtpAuthResult) => boolean,
  timeoutMs: number,
  password = PASSWORD,
): Promise<{ result: SmtpAuthResult; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const result = await smtpLogin(port, ALICE, password);
    if (done(result)) {
      return { result, waitedMs: Date.now() - started };
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`the login decision did not change within ${timeoutMs} ms; last result: ${JSON.stringify(result)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

describe('Haraka config reload', function () {
  this.timeout(90_000);
  let haraka: RunningHaraka;

  before(async () => {
    // Many rejected polls must not be slowed by the throttle; no email leaves the test.
    haraka = await startHaraka({ extraIni: '[policy]\nglobal = disabled\n[throttle]\nfree_failures = 100\n[notify]\nenabled = false' });
    await haraka.installation.passwdFile!.setPassword(ALICE, PASSWORD, 'PLAIN');
    await provisionSecretKey(haraka.installation.context, { actor: 'cli:test' }, ALICE, RFC_KEY);
  });

  after(async () => {
    await haraka?.stop();
  });

  /** Waits up to 30 s for a line of Haraka's output that contains `text`, and returns it. */
  async function outputLine(text: string): Promise<string> {
    const started = Date.now();
    while (!haraka.output().includes(text) && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const line = haraka.output().split('\n').find((entry) => entry.includes(text));
    assert.ok(line, `a line with "${text}": ${haraka.output().slice(-2000)}`);
    return line;
  }

  it('applies a new global policy without restart', async () => {
    // Enrolled, but the global policy is disabled: the bare password is enough.
    assert.deepEqual(await smtpLogin(haraka.port, ALICE, PASSWORD), { ok: true });

    const iniPath = join(haraka.home, 'config', 'twostep.ini');
    const before = readFileSync(iniPath, 'utf8');
    assert.match(before, /^global = disabled$/m);
    writeFileSync(iniPath, before.replace(/^global = disabled$/m, 'global = optional'));

    const { result, waitedMs } = await pollLogin(haraka.port, (login) => !login.ok, 45_000);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 535, 'a rejection, not a temporary failure');
    assert.ok(waitedMs < 45_000);
    assert.match(haraka.output(), /Reloaded file: .*twostep\.ini/);
  });

  const movedPassword = 'moved password 2025';

  it('uses a new passwd_file without restart', async () => {
    // The workers opened their installation at the first login above.
    await new PasswdFileBackend(join(haraka.installation.dataDir, 'moved-passwd')).setPassword(ALICE, movedPassword, 'PLAIN');
    const iniPath = join(haraka.home, 'config', 'twostep.ini');
    writeFileSync(iniPath, `${readFileSync(iniPath, 'utf8')}\n[backend]\npasswd_file = moved-passwd\n`);

    const started = Date.now();
    let result = await smtpLogin(haraka.port, ALICE, `${movedPassword}${await generateCode(RFC_KEY, Math.floor(Date.now() / 1000))}`);
    while (!result.ok && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      result = await smtpLogin(haraka.port, ALICE, `${movedPassword}${await generateCode(RFC_KEY, Math.floor(Date.now() / 1000))}`);
    }
    assert.deepEqual(result, { ok: true });
    assert.doesNotMatch(haraka.output(), /take effect after a Haraka restart/);
  });

  it('refuses a [store] url that was never set up', async () => {
    const iniPath = join(haraka.home, 'config', 'twostep.ini');
    const valid = readFileSync(iniPath, 'utf8');
    // A mistyped file name would otherwise be a new, empty store: no account enrolled there.
    writeFileSync(iniPath, `${valid}\n[store]\nurl = sqlite://typo-store.sqlite\n`);
    const line = await outputLine('typo-store.sqlite does not exist');
    assert.match(line, /\[ERROR\].*cannot open with them, keeping the previous settings: the store file .*typo-store\.sqlite does not exist: a running front end only switches to an installation that was set up before/);
    assert.equal(existsSync(join(haraka.installation.dataDir, 'typo-store.sqlite')), false, 'no empty store is left behind');
    assert.equal((await smtpLogin(haraka.port, ALICE, movedPassword)).ok, false, 'the device still counts');

    // The other settings of such an edit still apply to the installation in use.
    writeFileSync(iniPath, `${valid.replace(/^global = optional$/m, 'global = disabled')}\n[store]\nurl = sqlite://typo-store.sqlite\n`);
    assert.deepEqual((await pollLogin(haraka.port, (login) => login.ok, 30_000, movedPassword)).result, { ok: true });
    writeFileSync(iniPath, valid);
    await pollLogin(haraka.port, (login) => !login.ok, 30_000, movedPassword);
  });

  it('opens a new [store] url without restart', async () => {
    // The new store is set up (it has the installation's key id) but has no device for the
    // account, and the global policy is now optional, so the bare password is enough there.
    assert.equal((await smtpLogin(haraka.port, ALICE, movedPassword)).ok, false);
    const other = openStore('sqlite://other-store.sqlite', haraka.installation.dataDir);
    await loadSecretBox(haraka.installation.dataDir, other, process.env, { allowNewStore: true });
    await other.close();
    const iniPath = join(haraka.home, 'config', 'twostep.ini');
    writeFileSync(iniPath, `${readFileSync(iniPath, 'utf8')}\n[store]\nurl = sqlite://other-store.sqlite\n`);

    const { result } = await pollLogin(haraka.port, (login) => login.ok, 30_000, movedPassword);
    assert.deepEqual(result, { ok: true });
    assert.match(haraka.output(), /\[NOTICE\].*twostep\.ini has new values for \[store\] url: the installation was opened again with them/);
    assert.doesNotMatch(haraka.output(), /take effect after a Haraka restart/);
  });

  it('keeps the store when a new [store] url cannot open', async () => {
    const iniPath = join(haraka.home, 'config', 'twostep.ini');
    const valid = readFileSync(iniPath, 'utf8');
    // Not a store URL at all: the file is rejected as it is read.
    writeFileSync(iniPath, valid.replace('url = sqlite://other-store.sqlite', 'url = mysql://127.0.0.1/mail'));
    const invalid = await outputLine('mysql://');
    assert.match(invalid, /\[ERROR\].*twostep\.ini changed but is invalid, keeping the previous settings: invalid \[store\] url "mysql:\/\/127\.0\.0\.1\/mail"/);

    // A valid URL of a file that cannot be created (/etc/hostname is a file): the new thread cannot open it.
    writeFileSync(iniPath, valid.replace('url = sqlite://other-store.sqlite', 'url = sqlite:///etc/hostname/twostep/store.sqlite'));
    const failed = await outputLine('cannot open with them');
    assert.match(failed, /\[ERROR\].*twostep\.ini has new values for \[store\] url, but the installation cannot open with them, keeping the previous settings: /);
    // Logins still use the store opened before.
    assert.deepEqual(await smtpLogin(haraka.port, ALICE, movedPassword), { ok: true });
    writeFileSync(iniPath, valid);
  });

  it('warns of a misspelt setting at reload', async () => {
    const iniPath = join(haraka.home, 'config', 'twostep.ini');
    writeFileSync(iniPath, `${readFileSync(iniPath, 'utf8')}\n[totp]\nwindw = 2\n`);
    const started = Date.now();
    while (!haraka.output().includes('check their spelling') && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const line = haraka.output().split('\n').find((entry) => entry.includes('check their spelling'));
    assert.ok(line, `a warning line: ${haraka.output().slice(-2000)}`);
    assert.match(line, /\[WARN\].*twostep\.ini has settings that TwoStep does not read, check their spelling: \[totp\] windw\b/);
    assert.doesNotMatch(line, /undefined/);
  });
});
