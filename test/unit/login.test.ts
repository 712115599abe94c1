import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decideLogin, type LoginDecision, type LoginRequest } from '../../src/core/login';
import {
  createAppPassword,
  getAccountStatus,
  provisionSecretKey,
  revokeAllDevices,
  unlockAccount,
} from '../../src/core/accounts';
import { setPolicy } from '../../src/core/directory';
import { keys, type AccountRecord } from '../../src/core/model';
import type { PasswordBackend } from '../../src/backends/types';
import { PasswdFileBackend } from '../../src/backends/passwd-file';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';
import type { Logger, LogFields } from '../../src/core/context';
import { FaultLog } from '../../src/core/fault-log';

const ALICE = 'alice@example.org';
const PASSWORD = 'Winter2024123456';
const CLI = { actor: 'cli:test' };

/** Wraps the passwd-file backend and records the passwords it was asked to check. */
class RecordingBackend implements PasswordBackend {
  readonly checked: string[] = [];
  constructor(readonly inner: PasswdFileBackend) {}
  async verify(account: string, password: string): Promise<boolean> {
    this.checked.push(password);
    return this.inner.verify(account, password);
  }
  hasAccount(account: string): Promise<boolean> {
    return this.inner.hasAccount(account);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function request(secret: string, overrides: Partial<LoginRequest> = {}): LoginRequest {
  return { account: ALICE, secret, protocol: 'smtp', ip: '127.0.0.1', ...overrides };
}

function assertAccepted(decision: LoginDecision, method: string): void {
  assert.equal(decision.outcome, 'accepted', JSON.stringify(decision));
  assert.equal(decision.outcome === 'accepted' && decision.method, method);
}

function assertRejected(decision: LoginDecision, reason: string): void {
  assert.equal(decision.outcome, 'rejected', JSON.stringify(decision));
  assert.equal(decision.outcome === 'rejected' && decision.reason, reason);
}

describe('decideLogin', () => {
  let installation: TestInstallation;
  let backend: RecordingBackend;

  beforeEach(async () => {
    const base = await createTestInstallation();
    await base.passwdFile!.setPassword(ALICE, PASSWORD, 'PLAIN');
    await base.passwdFile!.setPassword('bob@example.org', 'bob-password', 'PLAIN');
    backend = new RecordingBackend(base.passwdFile!);
    installation = { ...base, context: { ...base.context, backend } };
  });

  afterEach(async () => {
    await installation.dispose();
  });

  const decide = (secret: string, overrides: Partial<LoginRequest> = {}) => decideLogin(installation.context, request(secret, overrides));
  const enroll = () => provisionSecretKey(installation.context, CLI, ALICE, RFC_KEY);

  describe('not enrolled, policy optional', () => {
    it('a password that ends in digits is the whole password', async () => {
      assertAccepted(await decide(PASSWORD), 'password');
    });

    it('a wrong password is rejected', async () => {
      assertRejected(await decide('wrong'), 'wrong-password');
    });

    it('an unknown account is rejected like a wrong password', async () => {
      const decision = await decideLogin(installation.context, request(PASSWORD, { account: 'nobody@example.org' }));
      assertRejected(decision, 'wrong-password');
    });
  });

  describe('enrolled', () => {
    beforeEach(enroll);

    it('password followed by the code splits exactly', async () => {
      const decision = await decide(`${PASSWORD}081804`);
      assertAccepted(decision, 'password+code');
      assert.equal(decision.outcome === 'accepted' && decision.password, PASSWORD);
      assert.deepEqual(backend.checked, [PASSWORD]);
    });

    it('the bare password is rejected', async () => {
      assertRejected(await decide(PASSWORD), 'wrong-password');
    });

    it('a wrong code is rejected with the password right', async () => {
      assertRejected(await decide(`${PASSWORD}123456`), 'wrong-code');
    });

    it('a replayed code is rejected from another client', async () => {
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
      installation.clock.setSeconds(1111111115);
      assertRejected(await decide(`${PASSWORD}081804`, { ip: '127.0.0.9', protocol: 'imap' }), 'replay');
    });

    it('an earlier step is a replay after a later one', async () => {
      installation.clock.setSeconds(1111111110);
      assertAccepted(await decide(`${PASSWORD}050471`, { ip: '127.0.0.2' }), 'password+code');
      assertRejected(await decide(`${PASSWORD}081804`, { ip: '127.0.0.3' }), 'replay');
    });

    it('window of one step at t=1111111110', async () => {
      installation.clock.setSeconds(1111111110);
      assertRejected(await decide(`${PASSWORD}731029`), 'wrong-code');
      assertRejected(await decide(`${PASSWORD}306183`), 'wrong-code');
      assertAccepted(await decide(`${PASSWORD}266759`), 'password+code');
    });

    it('counts a secret too short for a code', async () => {
      for (const secret of ['12345', '081804']) {
        assertRejected(await decide(secret), 'missing-code');
      }
      assert.ok(!backend.checked.includes(''), `an empty password reached the backend: ${JSON.stringify(backend.checked)}`);
      const failures = await installation.context.store.readCounter(keys.passwordFailuresByAccountAndIp(ALICE, '127.0.0.1'));
      assert.equal(failures, 2);
    });

    it('codes are strings: leading zeros count', async () => {
      for (const code of ['81804', '0081804', ' 081804']) {
        assert.equal((await decide(`${PASSWORD}${code}`)).outcome, 'rejected', code);
      }
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
    });

    it('a login grant lets the same client reuse the credential', async () => {
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
      installation.clock.advanceSeconds(600);
      assertAccepted(await decide(`${PASSWORD}081804`), 'grant');
    });

    it('a grant login records last use', async () => {
      assertAccepted(await decide(`${PASSWORD}081804`, { ip: '192.0.2.8' }), 'password+code');
      const codeLogin = installation.clock.milliseconds;
      installation.clock.advanceSeconds(30);
      assertAccepted(await decide(`${PASSWORD}081804`, { ip: '192.0.2.8' }), 'grant');
      let status = await getAccountStatus(installation.context, ALICE);
      assert.equal(status.devices[0].lastUse?.at, codeLogin, 'nothing is written again within a minute');

      installation.clock.advanceSeconds(600);
      assertAccepted(await decide(`${PASSWORD}081804`, { ip: '192.0.2.8' }), 'grant');
      status = await getAccountStatus(installation.context, ALICE);
      assert.deepEqual(status.devices[0].lastUse, { at: installation.clock.milliseconds, ip: '192.0.2.8', protocol: 'smtp' });
      const logins = (await installation.context.store.listAudit({ account: ALICE })).filter((event) => event.action === 'login');
      assert.deepEqual(logins.map((event) => event.detail).sort(), ['grant', 'password+code']);
    });

    it('a grant is bound to the protocol and the client address', async () => {
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
      installation.clock.advanceSeconds(1);
      assertRejected(await decide(`${PASSWORD}081804`, { protocol: 'imap' }), 'replay');
    });

    it('a grant ends after the idle timeout', async () => {
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
      installation.clock.advanceSeconds(901);
      assertRejected(await decide(`${PASSWORD}081804`), 'wrong-code');
    });

    it('a grant ends at its maximum age even when used', async () => {
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
      for (let elapsed = 0; elapsed < 86_400 - 800; elapsed += 800) {
        installation.clock.advanceSeconds(800);
        assertAccepted(await decide(`${PASSWORD}081804`), 'grant');
      }
      installation.clock.advanceSeconds(800);
      assert.equal((await decide(`${PASSWORD}081804`)).outcome, 'rejected');
    });

    it('revoking the devices ends the grant', async () => {
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
      await revokeAllDevices(installation.context, CLI, ALICE);
      await enroll();
      installation.clock.advanceSeconds(1);
      assert.equal((await decide(`${PASSWORD}081804`)).outcome, 'rejected');
    });

    it('parallel logins with one credential all succeed through the grant', async () => {
      const decisions = await Promise.all(Array.from({ length: 5 }, () => decide(`${PASSWORD}081804`)));
      for (const decision of decisions) {
        assert.equal(decision.outcome, 'accepted', JSON.stringify(decision));
      }
      assert.equal(decisions.filter((decision) => decision.outcome === 'accepted' && decision.method === 'password+code').length, 1);
    });

    it('a burst of one credential past lock_after', async () => {
      // A mail client that opens more connections at once than lock_after allows.
      const context = { ...installation.context, options: { ...installation.context.options, lockAfter: 3 } };
      const decisions = await Promise.all(Array.from({ length: 12 }, () => decideLogin(context, request(`${PASSWORD}081804`))));
      for (const decision of decisions) {
        assert.equal(decision.outcome, 'accepted', JSON.stringify(decision));
      }
      const status = await getAccountStatus(installation.context, ALICE);
      assert.equal(status.locked, false);
      assert.equal(status.secondFactorFailures, 0);
      const events = await installation.context.store.listAudit({ account: ALICE });
      assert.ok(!events.some((event) => event.action === 'second-factor-locked'), 'a lock was audited');
    });

    it('locks the second factor after the limit of wrong codes', async () => {
      for (let i = 0; i < 10; i++) {
        assertRejected(await decide(`${PASSWORD}${String(100000 + i)}`, { ip: `127.0.0.${10 + i}` }), 'wrong-code');
      }
      assertRejected(await decide(`${PASSWORD}081804`), 'locked');
      const status = await getAccountStatus(installation.context, ALICE);
      assert.equal(status.locked, true);
      const events = await installation.context.store.listAudit({ account: ALICE });
      assert.ok(events.some((event) => event.action === 'second-factor-locked'));

      await unlockAccount(installation.context, CLI, ALICE);
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
    });

    it('parallel guesses cannot pass the lock limit', async () => {
      const guesses = await Promise.all(
        Array.from({ length: 25 }, (_, i) => decide(`${PASSWORD}${String(400000 + i)}`, { ip: `127.0.3.${i + 1}` })),
      );
      const checked = guesses.filter((decision) => decision.outcome === 'rejected' && decision.reason === 'wrong-code').length;
      const locked = guesses.filter((decision) => decision.outcome === 'rejected' && decision.reason === 'locked').length;
      assert.equal(checked, 10, 'exactly lock_after codes were checked');
      assert.equal(locked, 15);
      assertRejected(await decide(`${PASSWORD}081804`), 'locked');
      assert.equal((await getAccountStatus(installation.context, ALICE)).secondFactorFailures, 10);
    });

    it('a success clears the counted attempts', async () => {
      for (let i = 0; i < 3; i++) {
        await decide(`${PASSWORD}${String(410000 + i)}`);
      }
      assert.equal((await getAccountStatus(installation.context, ALICE)).secondFactorFailures, 3);
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
      assert.equal((await getAccountStatus(installation.context, ALICE)).secondFactorFailures, 0);
    });

    it('time alone does not reset failed codes', async () => {
      for (let i = 0; i < 10; i++) {
        await decide(`${PASSWORD}${String(200000 + i)}`);
      }
      installation.clock.advanceSeconds(30 * 86_400);
      assertRejected(await decide(`${PASSWORD}${'0'.repeat(6)}`), 'locked');
    });

    it('delays grow with failed codes', async () => {
      const delays: number[] = [];
      for (let i = 0; i < 6; i++) {
        const decision = await decide(`${PASSWORD}${String(300000 + i)}`);
        delays.push(decision.outcome === 'rejected' ? decision.delayMs : -1);
      }
      assert.deepEqual(delays, [0, 0, 0, 1000, 2000, 4000]);
    });

    it('a repeated identical credential counts once', async () => {
      for (let i = 0; i < 20; i++) {
        assertRejected(await decide(`${PASSWORD}999999`), 'wrong-code');
      }
      const status = await getAccountStatus(installation.context, ALICE);
      assert.equal(status.secondFactorFailures, 1);
      assert.equal(status.locked, false);
      assertAccepted(await decide(`${PASSWORD}081804`), 'password+code');
    });

    it('a wrong-password flood from one address does not lock out another', async () => {
      for (let i = 0; i < 50; i++) {
        assertRejected(await decide(`guess${i}081804`, { ip: '127.0.0.2' }), 'wrong-password');
      }
      const decision = await decide(`${PASSWORD}081804`, { ip: '127.0.0.3' });
      assertAccepted(decision, 'password+code');
      assert.equal((await getAccountStatus(installation.context, ALICE)).secondFactorFailures, 0);
    });

    it('after 1000 logins the stored state stays small', async () => {
      for (let i = 0; i < 1000; i++) {
        installation.clock.advanceSeconds(30);
        const { generateCode } = await import('../../src/core/totp');
        const code = await generateCode(RFC_KEY, installation.clock.milliseconds / 1000);
        assertAccepted(await decide(`${PASSWORD}${code}`, { ip: `10.0.${i % 200}.1` }), 'password+code');
      }
      const record = await installation.context.store.get<AccountRecord>(keys.account(ALICE));
      assert.ok(record);
      assert.ok(JSON.stringify(record).length < 2000, `account record is ${JSON.stringify(record).length} bytes`);
      assert.equal(record.devices.length, 1);
    }).timeout(120_000);
  });

  describe('app passwords', () => {
    it('accepted for its scope, rejected for another', async () => {
      await enroll();
      const created = await createAppPassword(installation.context, CLI, ALICE, 'Phone', ['imap']);
      assertAccepted(await decide(created.appPassword, { protocol: 'imap' }), 'app-password');
      assertAccepted(await decide(created.appPassword.replace(/ /g, ''), { protocol: 'imap' }), 'app-password');
      assertRejected(await decide(created.appPassword, { protocol: 'smtp' }), 'app-password-scope');
    });

    it('an expired app password is rejected', async () => {
      const created = await createAppPassword(installation.context, CLI, ALICE, 'Laptop', ['smtp'], installation.clock.milliseconds + 60_000);
      assertAccepted(await decide(created.appPassword), 'app-password');
      installation.clock.advanceSeconds(61);
      assertRejected(await decide(created.appPassword), 'app-password-expired');
    });

    it('names the app password in the log', async () => {
      const created = await createAppPassword(installation.context, CLI, ALICE, 'Thunderbird', ['smtp']);
      const logged: LogFields[] = [];
      const logger: Logger = { info: (fields) => logged.push(fields), warn() {}, error() {} };
      await decideLogin({ ...installation.context, logger }, request(created.appPassword));
      assert.equal(logged.length, 1);
      assert.equal(logged[0].method, 'app-password');
      assert.equal(logged[0].app_password, 'Thunderbird');
    });

    it('records last use', async () => {
      const created = await createAppPassword(installation.context, CLI, ALICE, 'Laptop', ['smtp']);
      await decide(created.appPassword, { ip: '192.0.2.7' });
      const status = await getAccountStatus(installation.context, ALICE);
      assert.deepEqual(status.appPasswords[0].lastUse, { at: installation.clock.milliseconds, ip: '192.0.2.7', protocol: 'smtp' });
    });
  });

  describe('policy', () => {
    it('mandatory without a device rejects even the right password', async () => {
      await setPolicy(installation.context, CLI, { level: 'account', account: ALICE }, 'mandatory');
      assertRejected(await decide(PASSWORD), 'wrong-password');
      assertRejected(await decide(`${PASSWORD}081804`), 'not-enrolled');
    });

    it('disabled lets the password alone decide', async () => {
      await enroll();
      await setPolicy(installation.context, CLI, { level: 'global' }, 'disabled');
      assertAccepted(await decide(PASSWORD), 'password');
    });
  });

  describe('malformed input', () => {
    const cases: ReadonlyArray<[string, Partial<LoginRequest>]> = [
      ['empty secret', { secret: '' }],
      ['NUL in secret', { secret: 'pass\u0000word' }],
      ['over-long secret', { secret: 'x'.repeat(1025) }],
      ['account without domain', { account: 'alice' }],
      ['account with control bytes', { account: 'alice\r\n@example.org' }],
      ['over-long account', { account: `${'a'.repeat(300)}@example.org` }],
      ['empty account', { account: '' }],
    ];
    for (const [title, overrides] of cases) {
      it(`${title} is rejected without a backend call`, async () => {
        const decision = await decideLogin(installation.context, { ...request(PASSWORD), ...overrides });
        assertRejected(decision, 'malformed');
        assert.deepEqual(backend.checked, []);
      });
    }
  });

  describe('faults', () => {
    it('a failing store is a temporary failure, logged with its cause', async () => {
      await enroll();
      const logged: Array<[LogFields, string]> = [];
      const warned: Array<[LogFields, string]> = [];
      const logger: Logger = { info() {}, warn: (fields, message) => warned.push([fields, message]), error: (fields, message) => logged.push([fields, message]) };
      const store = installation.context.store;
      const failing = new Proxy(store, {
        get(target, property, receiver) {
          if (property === 'readMany' || property === 'getMany' || property === 'get') {
            return () => Promise.reject(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }));
          }
          return Reflect.get(target, property, receiver);
        },
      });
      const context = { ...installation.context, store: failing, logger, faultLog: new FaultLog(60_000, installation.clock.now) };
      for (let i = 0; i < 5; i++) {
        const decision = await decideLogin(context, request(`${PASSWORD}081804`));
        assert.equal(decision.outcome, 'temporary-failure');
      }
      assert.equal(logged.length, 1, 'the same fault is logged once per minute');
      assert.match(String(logged[0][0].cause), /disk I\/O error/);
      assert.ok(!JSON.stringify(logged).includes(PASSWORD));
      // Every other login gets a short line without the cause.
      assert.deepEqual(
        warned.map(([fields, message]) => [fields.account, fields.result, fields.reason, fields.cause, message]),
        Array(4).fill([ALICE, 'temporary-failure', 'ERR_INTERNAL', undefined, 'login could not be decided, for the cause in the last error line']),
      );
      assert.ok(!JSON.stringify(warned).includes(PASSWORD));

      installation.clock.advanceSeconds(61);
      await decideLogin(context, request(`${PASSWORD}081804`));
      assert.equal(logged.length, 2);
      assert.equal(logged[1][0].repeats_since_last_log, 4);
    });

    it('a password backend that hangs is a temporary failure', async () => {
      const hanging: PasswordBackend = { verify: () => new Promise(() => undefined), hasAccount: async () => true, close: async () => undefined };
      const context = { ...installation.context, backend: hanging, options: { ...installation.context.options, backendTimeoutMs: 100 } };
      const decision = await decideLogin(context, request(PASSWORD));
      assert.deepEqual(decision, { outcome: 'temporary-failure', reason: 'ERR_BACKEND_UNAVAILABLE' });
    });

    it('a missing passwd file is a temporary failure', async () => {
      const missing = new PasswdFileBackend(join(installation.home, 'no-such-folder', 'passwd'));
      const decision = await decideLogin({ ...installation.context, backend: missing }, request(PASSWORD));
      assert.deepEqual(decision, { outcome: 'temporary-failure', reason: 'ERR_BACKEND_UNAVAILABLE' });
    });

    it('a password backend that throws is a temporary failure', async () => {
      const broken: PasswordBackend = { verify: () => Promise.reject(new Error('LDAP down')), hasAccount: async () => true, close: async () => undefined };
      const decision = await decideLogin({ ...installation.context, backend: broken }, request(PASSWORD));
      assert.equal(decision.outcome, 'temporary-failure');
    });
  });
});
