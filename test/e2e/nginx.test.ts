import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareHarakaInstance, spawnHaraka } from '../../src/stack/haraka-instance';
import { freePort, waitForPort } from '../helpers/ports';
import { describeWithPrograms } from '../helpers/system';
import { startDovecot, type DovecotInstance } from './helpers/dovecot-instance';
import { imapLogin, pop3Login, smtpLogin } from './helpers/mail-clients';
import { startNginx, type NginxInstance } from './helpers/nginx-instance';
import { ACCOUNT, PASSWORD, startTwoStep, type TwoStepFixture } from './helpers/twostep-fixture';

/** The master credential the backends accept; nginx sends it in place of what the user typed. */
const BACKEND_PASSWORD = 'backend-master-credential-1';

describeWithPrograms(
  'nginx mail proxy with TwoStep auth_http',
  ['/usr/sbin/nginx', '/usr/lib/nginx/modules/ngx_mail_module.so', '/usr/sbin/dovecot'],
  function () {
    let dovecot: DovecotInstance;
    let harakaHome: string;
    let haraka: ChildProcess | undefined;
    let twostep: TwoStepFixture;
    let nginx: NginxInstance;

    before(async function () {
      this.timeout(60_000);
      // The backend accepts only the master credential, so a login that reaches it with the
      // user's password+code (or anything else) would fail there.
      dovecot = await startDovecot({ authConfig: () => `passdb {\n  driver = static\n  args = password=${BACKEND_PASSWORD}\n}` });

      harakaHome = mkdtempSync(join(tmpdir(), 'twostep-haraka-'));
      const harakaPort = await freePort();
      await prepareHarakaInstance({ home: harakaHome, smtpPort: harakaPort, httpPort: await freePort(), logLevel: 'warn' });
      // nginx talks to its SMTP backend in plaintext, and without the tls plugin Haraka skips
      // generating Diffie-Hellman parameters (an `openssl dhparam` run of minutes).
      writeFileSync(join(harakaHome, 'config', 'plugins'), 'twostep\n');
      haraka = spawnHaraka(harakaHome);
      await waitForPort(harakaPort, 30_000);

      twostep = await startTwoStep(
        [
          '[nginx]',
          `imap_server = 127.0.0.1:${dovecot.imapPort}`,
          `pop3_server = 127.0.0.1:${dovecot.pop3Port}`,
          `smtp_server = 127.0.0.1:${harakaPort}`,
          `backend_password = ${BACKEND_PASSWORD}`,
          '',
        ].join('\n'),
      );
      nginx = await startNginx({ authPort: twostep.port, key: twostep.key });
    });

    after(async function () {
      await nginx?.stop();
      await twostep?.close();
      haraka?.kill('SIGTERM');
      await dovecot?.stop();
      if (harakaHome) {
        rmSync(harakaHome, { recursive: true, force: true });
      }
    });

    describe('IMAP', function () {
      it('accepts an app password', async function () {
        assert.deepEqual(await imapLogin(nginx.imapPort, ACCOUNT, twostep.appPassword), { ok: true }, nginx.logTail());
      });

      it('accepts the password followed by the code', async function () {
        assert.deepEqual(await imapLogin(nginx.imapPort, ACCOUNT, `${PASSWORD}081804`), { ok: true }, nginx.logTail());
      });

      it('accepts parallel logins through the login grant', async function () {
        const outcomes = await Promise.all([1, 2, 3].map(() => imapLogin(nginx.imapPort, ACCOUNT, `${PASSWORD}050471`, '127.0.0.2')));
        assert.deepEqual(outcomes, [{ ok: true }, { ok: true }, { ok: true }]);
      });

      it('rejects the bare password', async function () {
        const outcome = await imapLogin(nginx.imapPort, ACCOUNT, PASSWORD, '127.0.0.10');
        assert.equal(outcome.code, 'AUTHENTICATIONFAILED');
        assert.match(outcome.text ?? '', /app password, or your password followed by your verification code/);
      });

      it('rejects a wrong code', async function () {
        assert.equal((await imapLogin(nginx.imapPort, ACCOUNT, `${PASSWORD}123456`, '127.0.0.11')).code, 'AUTHENTICATIONFAILED');
      });

      it('rejects a replayed code from another address', async function () {
        assert.equal((await imapLogin(nginx.imapPort, ACCOUNT, `${PASSWORD}081804`, '127.0.0.12')).code, 'AUTHENTICATIONFAILED');
      });

      it('rejects an app password scoped to SMTP', async function () {
        assert.equal((await imapLogin(nginx.imapPort, ACCOUNT, twostep.smtpOnlyAppPassword, '127.0.0.13')).code, 'AUTHENTICATIONFAILED');
      });

      it('answers UNAVAILABLE when the store is down', async function () {
        twostep.setStoreDown(true);
        try {
          assert.equal((await imapLogin(nginx.imapPort, ACCOUNT, twostep.appPassword, '127.0.0.14')).code, 'UNAVAILABLE');
        } finally {
          twostep.setStoreDown(false);
        }
      });
    });

    describe('POP3', function () {
      it('accepts an app password', async function () {
        assert.match(await pop3Login(nginx.pop3Port, ACCOUNT, twostep.appPassword), /^\+OK/);
      });

      it('accepts the password followed by the code', async function () {
        // The IMAP cases used the codes of steps 37037036 and 37037037: move on one step.
        twostep.installation.clock.advanceSeconds(30);
        assert.match(await pop3Login(nginx.pop3Port, ACCOUNT, `${PASSWORD}266759`), /^\+OK/);
      });

      it('rejects the bare password', async function () {
        assert.match(await pop3Login(nginx.pop3Port, ACCOUNT, PASSWORD, '127.0.0.20'), /^-ERR \[AUTH\] Authentication failed/);
      });

      it('rejects an app password scoped to SMTP', async function () {
        assert.match(await pop3Login(nginx.pop3Port, ACCOUNT, twostep.smtpOnlyAppPassword, '127.0.0.21'), /^-ERR \[AUTH\]/);
      });

      it('answers a temporary failure when the store is down', async function () {
        twostep.setStoreDown(true);
        try {
          assert.match(await pop3Login(nginx.pop3Port, ACCOUNT, twostep.appPassword, '127.0.0.22'), /^-ERR \[SYS\/TEMP\]/);
        } finally {
          twostep.setStoreDown(false);
        }
      });
    });

    describe('SMTP in front of the Haraka stack', function () {
      it('accepts an app password scoped to SMTP', async function () {
        assert.deepEqual(await smtpLogin(nginx.smtpPort, ACCOUNT, twostep.smtpOnlyAppPassword), { ok: true }, nginx.logTail());
      });

      it('accepts the password followed by the code', async function () {
        // The POP3 case used step 37037038: move on one step.
        twostep.installation.clock.advanceSeconds(30);
        assert.deepEqual(await smtpLogin(nginx.smtpPort, ACCOUNT, `${PASSWORD}306183`), { ok: true }, nginx.logTail());
      });

      it('rejects the bare password with 535 5.7.8', async function () {
        const outcome = await smtpLogin(nginx.smtpPort, ACCOUNT, PASSWORD, '127.0.0.30');
        assert.equal(outcome.code, 535);
        assert.match(outcome.response ?? '', /^535 5\.7\.8 Authentication failed/);
      });

      it('rejects an app password scoped to IMAP and POP3', async function () {
        assert.equal((await smtpLogin(nginx.smtpPort, ACCOUNT, twostep.appPassword, '127.0.0.31')).code, 535);
      });

      it('answers 454 4.7.0 when the store is down', async function () {
        twostep.setStoreDown(true);
        try {
          const outcome = await smtpLogin(nginx.smtpPort, ACCOUNT, twostep.smtpOnlyAppPassword, '127.0.0.32');
          assert.equal(outcome.code, 454);
          assert.match(outcome.response ?? '', /^454 4\.7\.0/);
        } finally {
          twostep.setStoreDown(false);
        }
      });
    });
  },
);
