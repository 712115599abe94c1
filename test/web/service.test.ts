import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createLogger } from '../../src/logger';
import { SqliteStore } from '../../src/store/sqlite';
import { buildHttpService, startHttpService } from '../../src/web/server';
import { createTestInstallation } from '../helpers/installation';
import { freePort } from '../helpers/ports';
import { loadAuthKey } from '../../src/adapters/auth-key';
import { ALICE, ALICE_PASSWORD } from './panel-client';

describe('startHttpService', () => {
  it('listens on the configured port', async () => {
    const home = mkdtempSync(join(tmpdir(), 'twostep-http-'));
    const port = await freePort();
    mkdirSync(join(home, 'config'));
    writeFileSync(join(home, 'config', 'twostep.ini'), `[http]\nhost = 127.0.0.1\nport = ${port}\n`);
    const lines: string[] = [];
    const logger = createLogger('twostep-http-test', { write: (line: string) => void lines.push(line) });
    const service = await startHttpService({ configDir: join(home, 'config'), logger });
    try {
      assert.equal(service.url, `http://127.0.0.1:${port}/`);
      const response = await fetch(`${service.url}sign-in`);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /<h1>Sign in<\/h1>/);
      assert.ok(lines.some((line) => line.includes('"event":"http-start"')));
    } finally {
      await service.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('serves the nginx and Dovecot auth endpoints next to the panel', async () => {
    const home = mkdtempSync(join(tmpdir(), 'twostep-http-'));
    const port = await freePort();
    mkdirSync(join(home, 'config'));
    writeFileSync(join(home, 'config', 'twostep.ini'), `[http]\nhost = 127.0.0.1\nport = ${port}\n[nginx]\nimap_server = 127.0.0.1:1143\n`);
    const logger = createLogger('twostep-http-test', { write: () => undefined });
    const service = await startHttpService({ configDir: join(home, 'config'), logger });
    try {
      await service.installation.passwdFile!.setPassword('a@example.org', 'a password', 'PLAIN');
      const key = await loadAuthKey(service.installation);

      const nginx = await fetch(`${service.url}auth/nginx`, {
        headers: {
          'X-TwoStep-Key': key,
          'Auth-Method': 'plain',
          'Auth-User': 'a@example.org',
          'Auth-Pass': 'a%20password',
          'Auth-Protocol': 'imap',
          'Auth-Login-Attempt': '1',
          'Client-IP': '127.0.0.1',
        },
      });
      assert.equal(nginx.headers.get('auth-status'), 'OK');
      assert.equal(nginx.headers.get('set-cookie'), null, 'an auth endpoint must not start a panel session');

      const dovecot = await fetch(`${service.url}auth/dovecot`, {
        method: 'POST',
        headers: { 'X-TwoStep-Key': key, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'user=a%40example.org&password=wrong&remote_ip=127.0.0.1&service=imap',
      });
      assert.equal(dovecot.status, 401);
      const accepted = await fetch(`${service.url}auth/dovecot`, {
        method: 'POST',
        headers: { 'X-TwoStep-Key': key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'a@example.org', password: 'a password', remote_ip: '127.0.0.1', service: 'imap' }),
      });
      assert.equal(accepted.status, 200);
    } finally {
      await service.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

/** Signs ALICE in through the sign-in form and returns the Cookie header of her session. */
async function signIn(base: string): Promise<string> {
  const form = await fetch(`${base}/sign-in`);
  const anonymous = String(form.headers.get('set-cookie')).split(';')[0];
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
  const reply = await fetch(`${base}/sign-in`, {
    method: 'POST',
    headers: { cookie: anonymous, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, account: ALICE, password: ALICE_PASSWORD }).toString(),
    redirect: 'manual',
  });
  assert.equal(reply.status, 303);
  return String(reply.headers.get('set-cookie')).split(';')[0];
}

describe('HTTP service error log', () => {
  it('logs a failed request once', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twostep-http-'));
    const path = join(folder, 'store.sqlite');
    // A short busy timeout, so the locked file fails the session write in 50 ms rather than 5 s.
    const installation = await createTestInstallation({ store: new SqliteStore(path, Date.now, 50) });
    const lines: string[] = [];
    const logger = createLogger('twostep-http-test', { write: (line: string) => void lines.push(line) });
    const app = await buildHttpService(installation, { logger });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    await installation.passwdFile!.setPassword(ALICE, ALICE_PASSWORD);
    const other = new Database(path);
    try {
      // Signed in, the session is written back with each request, here to the locked file.
      const cookie = await signIn(`http://127.0.0.1:${port}`);
      other.exec('BEGIN IMMEDIATE');
      const response = await fetch(`http://127.0.0.1:${port}/settings`, { headers: { cookie }, redirect: 'manual' });
      assert.equal(response.status, 503);
      other.exec('ROLLBACK');

      const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const errors = entries.filter((entry) => Number(entry.level) >= 50);
      assert.equal(errors.length, 1, `one error line: ${lines.join('')}`);
      const [error] = errors;
      assert.equal(error.msg, 'request failed');
      assert.equal(error.event, 'http-error');
      assert.equal(error.error_code, 'ERR_STORE_UNAVAILABLE');
      assert.equal(error.status, 503);
      assert.equal(error.method, 'GET');
      assert.equal(error.url, '/settings');
      assert.equal((error.err as { message: string }).message, 'store write failed: database is locked');
      assert.ok(!JSON.stringify(error).includes('[redacted]'), JSON.stringify(error));
      const completed = entries.find((entry) => entry.msg === 'request completed' && (entry.res as { statusCode?: number } | undefined)?.statusCode === 503);
      assert.ok(completed, `a request completed line: ${lines.join('')}`);
      assert.equal(error.reqId, completed.reqId);
    } finally {
      other.close();
      await app.close();
      await installation.dispose();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
