import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionSecretKey } from '../../src/core/accounts';
import { generateCode } from '../../src/core/totp';
import { PACKAGE_ROOT } from '../../src/installation';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';
import { describeWithPrograms } from '../helpers/system';
import { startDovecot, type DovecotInstance } from './helpers/dovecot-instance';
import { imapLogin } from './helpers/mail-clients';

const ACCOUNT = 'bob@example.org';
const PASSWORD = 'Tr0ub4dor&3';

describeWithPrograms('Dovecot with twostep checkpassword', ['/usr/sbin/dovecot'], function () {
  let installation: TestInstallation;
  let dovecot: DovecotInstance;

  before(async function () {
    // Dovecot runs checkpassword with the real clock, so this installation keeps it too.
    installation = await createTestInstallation({ startSeconds: Math.floor(Date.now() / 1000), iniText: '[policy]\nglobal = optional\n' });
    await installation.passwdFile!.setPassword(ACCOUNT, PASSWORD, 'SHA512-CRYPT');
    await provisionSecretKey(installation.context, { actor: 'test' }, ACCOUNT, RFC_KEY, 'Phone');
    // The program runs as the dovecot user: it must reach the config and write the store.
    await installation.close();
    chmodSync(installation.home, 0o755);
    spawnSync('chown', ['-R', 'dovecot:dovecot', join(installation.home, 'data')]);

    const program = join(installation.home, 'twostep-checkpassword');
    // The program is the real `twostep checkpassword` command, as an operator configures it.
    const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
    writeFileSync(
      program,
      [
        '#!/bin/sh',
        `TWOSTEP_DATA_DIR=${JSON.stringify(join(installation.home, 'data'))}`,
        'export TWOSTEP_DATA_DIR',
        `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} --config ${JSON.stringify(installation.configDir)} checkpassword "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const shipped = readFileSync(join(PACKAGE_ROOT, 'config', 'dovecot', 'twostep-checkpassword.conf.ext'), 'utf8');
    dovecot = await startDovecot({ authConfig: () => shipped.replace('args = /usr/local/bin/twostep checkpassword', `args = ${program}`) });
  });

  after(async function () {
    await dovecot?.stop();
    await installation?.dispose();
  });

  it('accepts the password followed by the code', async function () {
    const code = await generateCode(RFC_KEY, Math.floor(Date.now() / 1000));
    assert.deepEqual(await imapLogin(dovecot.imapPort, ACCOUNT, `${PASSWORD}${code}`), { ok: true }, dovecot.logTail());
  });

  it('rejects the bare password', async function () {
    const outcome = await imapLogin(dovecot.imapPort, ACCOUNT, PASSWORD, '127.0.0.40');
    assert.equal(outcome.code, 'AUTHENTICATIONFAILED', dovecot.logTail());
  });
});
