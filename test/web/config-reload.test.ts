import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAppPassword, provisionSecretKey } from '../../src/core/accounts';
import { loadAuthKey } from '../../src/adapters/auth-key';
import { generateCode } from '../../src/core/totp';
import { PasswdFileBackend } from '../../src/backends/passwd-file';
import { startHttpService, type RunningHttpService } from '../../src/web/server';
import { RFC_KEY } from '../helpers/installation';
import { freePort } from '../helpers/ports';
import { PanelClient } from './panel-client';

const ADMIN = 'admin@example.org';
const PASSWORD = 'admin password 2024';

describe('HTTP service config reload', function () {
  this.timeout(60_000);
  let home: string;
  let service: RunningHttpService;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'twostep-reload-'));
    mkdirSync(join(home, 'config'));
    writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data\n[notify]\nenabled = false\n');
    service = await startHttpService({ configDir: join(home, 'config'), port: await freePort(), logger: pino({ level: 'silent' }) });
    await service.installation.passwdFile!.setPassword(ADMIN, PASSWORD);
    await provisionSecretKey(service.installation.context, { actor: 'cli:test' }, ADMIN, RFC_KEY);
  });

  after(async () => {
    await service?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('applies a new admins list without restart', async () => {
    const client = new PanelClient(service.app);
    await client.signIn(ADMIN, PASSWORD, await generateCode(RFC_KEY, Math.floor(Date.now() / 1000)));
    assert.equal((await client.get('/admin/accounts')).statusCode, 403, 'not an admin yet');

    writeFileSync(join(home, 'config', 'twostep.ini'), `[main]\ndata_dir = data\nadmins[] = ${ADMIN}\n[notify]\nenabled = false\n`);
    const started = Date.now();
    let status = 403;
    while (status === 403 && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = (await client.get('/admin/accounts')).statusCode;
    }
    assert.equal(status, 200, 'the admin page opens once twostep.ini is reloaded');
  });

  it('applies new nginx backends to /auth/nginx without restart', async () => {
    const key = await loadAuthKey(service.installation);
    const ask = () =>
      fetch(`${service.url}auth/nginx`, {
        headers: {
          'X-TwoStep-Key': key,
          'Auth-Method': 'plain',
          'Auth-User': ADMIN,
          'Auth-Pass': `${PASSWORD.replace(/ /g, '%20')}${'0'.repeat(6)}`,
          'Auth-Protocol': 'imap',
          'Auth-Login-Attempt': '1',
          'Client-IP': '127.0.0.1',
        },
      });
    const created = await createAppPassword(service.installation.context, { actor: 'cli:test' }, ADMIN, 'Mail', ['imap']);
    const askWithAppPassword = () =>
      fetch(`${service.url}auth/nginx`, {
        headers: {
          'X-TwoStep-Key': key,
          'Auth-Method': 'plain',
          'Auth-User': ADMIN,
          'Auth-Pass': created.appPassword.replace(/ /g, '%20'),
          'Auth-Protocol': 'imap',
          'Auth-Login-Attempt': '1',
          'Client-IP': '127.0.0.1',
        },
      });
    assert.notEqual((await ask()).headers.get('auth-status'), 'OK');
    assert.match((await askWithAppPassword()).headers.get('auth-status') ?? '', /UNAVAILABLE/, 'no IMAP backend configured yet');

    writeFileSync(join(home, 'config', 'twostep.ini'), `[main]\ndata_dir = data\nadmins[] = ${ADMIN}\n[notify]\nenabled = false\n[nginx]\nimap_server = 127.0.0.1:1143\n`);
    const started = Date.now();
    let response = await askWithAppPassword();
    while (response.headers.get('auth-status') !== 'OK' && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      response = await askWithAppPassword();
    }
    assert.equal(response.headers.get('auth-status'), 'OK');
    assert.equal(response.headers.get('auth-server'), '127.0.0.1');
    assert.equal(response.headers.get('auth-port'), '1143');
  });

  it('applies a new passwd_file without restart', async () => {
    const movedPassword = 'moved password 2024';
    await new PasswdFileBackend(join(home, 'data', 'moved-passwd')).setPassword(ADMIN, movedPassword);
    // The next step's code is inside the window, and unlike the current one the admin test has not used it.
    const signIn = async () => new PanelClient(service.app).signIn(ADMIN, movedPassword, await generateCode(RFC_KEY, Math.floor(Date.now() / 1000) + 30));
    assert.notEqual((await signIn()).headers.location, '/settings', 'the old file has the old password');

    writeFileSync(
      join(home, 'config', 'twostep.ini'),
      `[main]\ndata_dir = data\nadmins[] = ${ADMIN}\n[notify]\nenabled = false\n[nginx]\nimap_server = 127.0.0.1:1143\n[backend]\npasswd_file = moved-passwd\n`,
    );
    const started = Date.now();
    let reply = await signIn();
    while (reply.headers.location !== '/settings' && Date.now() - started < 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      reply = await signIn();
    }
    assert.equal(reply.headers.location, '/settings', 'the new file is read once twostep.ini is reloaded');
  });
});

describe('HTTP service restart settings', function () {
  this.timeout(60_000);

  it('warns that a new store URL needs a restart', async () => {
    const home = mkdtempSync(join(tmpdir(), 'twostep-reload-'));
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    mkdirSync(join(home, 'config'));
    writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data\n[notify]\nenabled = false\n');
    const service = await startHttpService({ configDir: join(home, 'config'), port: await freePort(), logger });
    try {
      writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data\n[notify]\nenabled = false\n[store]\nurl = redis://127.0.0.1:6379/0\n');
      const started = Date.now();
      while (!lines.some((line) => line.includes('take effect after a restart')) && Date.now() - started < 30_000) {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const warning = lines.map((line) => JSON.parse(line) as { msg: string; settings?: string }).find((entry) => entry.msg.includes('take effect after a restart'));
      assert.ok(warning, `no restart warning in: ${lines.join('')}`);
      assert.equal(warning.settings, '[store] url');
    } finally {
      await service.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
