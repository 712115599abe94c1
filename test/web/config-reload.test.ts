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
import { openInstallation } from '../../src/installation';
import { openStore } from '../../src/store';
import { loadSecretBox } from '../../src/store/encryption-key';
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

describe('HTTP service open-time settings', function () {
  this.timeout(60_000);
  let home: string;
  let lines: string[];
  let service: RunningHttpService;

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'twostep-reload-'));
    lines = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    mkdirSync(join(home, 'config'));
    writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data\n[notify]\nenabled = false\n');
    service = await startHttpService({ configDir: join(home, 'config'), port: await freePort(), logger });
    // Enrolled in the first store only: there the password alone is not enough to sign in.
    await service.installation.passwdFile!.setPassword(ADMIN, PASSWORD);
    await provisionSecretKey(service.installation.context, { actor: 'cli:test' }, ADMIN, RFC_KEY);
  });

  afterEach(async () => {
    await service.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** Waits up to 30 s for a log entry whose message contains `text`. */
  async function logEntry(text: string): Promise<{ msg: string; settings?: string; cause?: string }> {
    const started = Date.now();
    const find = () => lines.map((line) => JSON.parse(line) as { msg: string; settings?: string; cause?: string }).find((entry) => entry.msg.includes(text));
    while (!find() && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const entry = find();
    assert.ok(entry, `no "${text}" in: ${lines.join('')}`);
    return entry;
  }

  it('opens a new store URL without restart', async () => {
    const signIn = () => new PanelClient(service.app).signIn(ADMIN, PASSWORD);
    assert.equal((await signIn()).statusCode, 401);

    // A set-up store: a file with the installation's encryption key id.
    const other = openStore('sqlite://other.sqlite', service.installation.dataDir);
    await loadSecretBox(service.installation.dataDir, other, process.env, { allowNewStore: true });
    await other.close();
    writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data\n[notify]\nenabled = false\n[store]\nurl = sqlite://other.sqlite\n');
    const entry = await logEntry('it was opened again with the new values');
    assert.equal(entry.settings, '[store] url');
    // The new store has no device for the account and the policy is optional.
    assert.equal((await signIn()).headers.location, '/settings');
  });

  it('refuses a store that was never set up', async () => {
    writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data\n[notify]\nenabled = false\n[store]\nurl = sqlite://typo.sqlite\n');
    const entry = await logEntry('cannot open with them');
    assert.match(entry.cause ?? '', /typo\.sqlite does not exist: a running front end only switches to an installation that was set up before/);
    assert.equal((await new PanelClient(service.app).signIn(ADMIN, PASSWORD)).statusCode, 401, 'still the first store');
  });

  it('refuses another installation', async () => {
    // A complete installation of its own in data2, with another encryption key.
    const otherInstallation = await openInstallation({ configDir: join(home, 'config'), ini: { main: { data_dir: 'data2' }, notify: { enabled: 'false' } } });
    const otherKeyId = otherInstallation.context.secrets.keyId;
    await otherInstallation.close();
    writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data2\n[notify]\nenabled = false\n');
    const entry = await logEntry('cannot open with them');
    assert.equal(entry.settings, '[main] data_dir');
    assert.match(entry.cause ?? '', new RegExp(`has encryption key id ${otherKeyId}, not ${service.installation.context.secrets.keyId} of the one in use`));
    assert.equal((await new PanelClient(service.app).signIn(ADMIN, PASSWORD)).statusCode, 401, 'still the first installation');
  });

  it('keeps the store when the new one cannot open', async () => {
    // /etc/hostname is a file, so no folder can be made under it.
    writeFileSync(join(home, 'config', 'twostep.ini'), '[main]\ndata_dir = data\n[notify]\nenabled = false\n[store]\nurl = sqlite:///etc/hostname/twostep/store.sqlite\n');
    const entry = await logEntry('cannot open with them');
    assert.equal(entry.settings, '[store] url');
    assert.match(entry.cause ?? '', /\/etc\/hostname\/twostep\/store\.sqlite/);
    assert.equal((await new PanelClient(service.app).signIn(ADMIN, PASSWORD)).statusCode, 401, 'still the first store');
  });
});
