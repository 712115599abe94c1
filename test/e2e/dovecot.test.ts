import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/installation';
import { describeWithPrograms } from '../helpers/system';
import { startDovecot, type DovecotInstance } from './helpers/dovecot-instance';
import { imapLogin } from './helpers/mail-clients';
import { ACCOUNT, PASSWORD, startTwoStep, type TwoStepFixture } from './helpers/twostep-fixture';

/** The shipped config fragment, with its /etc/dovecot paths and URL pointed at this test's files. */
function shippedLuaConfig(dir: string, twostep: TwoStepFixture): string {
  const shipped = readFileSync(join(PACKAGE_ROOT, 'config', 'dovecot', 'twostep-lua.conf.ext'), 'utf8');
  const script = join(PACKAGE_ROOT, 'config', 'dovecot', 'twostep.lua');
  return shipped
    .replace('http://127.0.0.1:8025/auth/dovecot', `http://127.0.0.1:${twostep.port}/auth/dovecot`)
    .replaceAll('/etc/dovecot/twostep.key', twostep.keyFile)
    .replace('/etc/dovecot/twostep.lua', script)
    .replace(/^auth_mechanisms.*$/m, `# auth_mechanisms as in ${dir}`);
}

describeWithPrograms('Dovecot with the TwoStep Lua passdb', ['/usr/sbin/dovecot', '/usr/lib/dovecot/modules/auth/libauthdb_lua.so'], function () {
  let twostep: TwoStepFixture;
  let dovecot: DovecotInstance;

  before(async function () {
    twostep = await startTwoStep();
    dovecot = await startDovecot({ authConfig: (dir) => shippedLuaConfig(dir, twostep) });
  });

  after(async function () {
    await dovecot?.stop();
    await twostep?.close();
  });

  // Successes come first, and every rejection uses its own source address: Dovecot 2.3
  // penalises an address for seconds after a failed login, and that cannot be switched off.
  it('accepts an app password', async function () {
    const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, twostep.appPassword);
    assert.deepEqual(outcome, { ok: true }, dovecot.logTail());
  });

  it('accepts the password followed by the code', async function () {
    const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, `${PASSWORD}081804`);
    assert.deepEqual(outcome, { ok: true }, dovecot.logTail());
  });

  it('accepts parallel logins through the login grant', async function () {
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => imapLogin(dovecot.imapPort, ACCOUNT, `${PASSWORD}050471`, '127.0.0.2')));
    assert.deepEqual(outcomes, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }], dovecot.logTail());
  });

  it('rejects the bare password', async function () {
    const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, PASSWORD, '127.0.0.10');
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, 'AUTHENTICATIONFAILED');
  });

  it('rejects a wrong code', async function () {
    const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, `${PASSWORD}123456`, '127.0.0.11');
    assert.equal(outcome.code, 'AUTHENTICATIONFAILED');
  });

  it('rejects a replayed code from another address', async function () {
    const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, `${PASSWORD}081804`, '127.0.0.12');
    assert.equal(outcome.code, 'AUTHENTICATIONFAILED');
  });

  it('rejects an app password scoped to SMTP', async function () {
    const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, twostep.smtpOnlyAppPassword, '127.0.0.13');
    assert.equal(outcome.code, 'AUTHENTICATIONFAILED');
  });

  it('answers UNAVAILABLE when the store is down', async function () {
    twostep.setStoreDown(true);
    try {
      const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, twostep.appPassword, '127.0.0.14');
      assert.equal(outcome.ok, false);
      assert.equal(outcome.code, 'UNAVAILABLE', dovecot.logTail());
    } finally {
      twostep.setStoreDown(false);
    }
  });
});
