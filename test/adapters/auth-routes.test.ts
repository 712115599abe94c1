import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { AUTH_KEY_FILE_NAME, loadAuthKey } from '../../src/adapters/auth-key';
import { registerAuthRoutes } from '../../src/adapters/auth-routes';
import { parseBackendRouting } from '../../src/adapters/backend-servers';
import { answerNginxAuth, decodeNginxValue } from '../../src/adapters/nginx';
import { IMAP_TEMPORARY } from '../../src/adapters/replies';
import { provisionSecretKey } from '../../src/core/accounts';
import type { LogFields, Logger } from '../../src/core/context';
import { FaultLog } from '../../src/core/fault-log';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';
import { freePort } from '../helpers/ports';

const ACCOUNT = 'carol@example.org';
const OTHER = 'dave@example.net';
/** Every character nginx treats specially: space and % are escaped, + and UTF-8 arrive raw. */
const PASSWORD = 'Grüße 100%+ok';

/** nginx's escaping of Auth-User and Auth-Pass, as latin1 text the way Node writes header bytes. */
function nginxEscape(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let escaped = '';
  for (const byte of bytes) {
    escaped += byte === 0x20 || byte === 0x25 || byte < 0x20 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return escaped;
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Decodes a response header that carries raw UTF-8 bytes. */
function utf8Header(value: string | string[] | undefined): string {
  return Buffer.from(String(value), 'latin1').toString('utf8');
}

describe('auth endpoints', function () {
  let installation: TestInstallation;
  let app: FastifyInstance;
  let port: number;
  let key: string;
  const logged: { fields: LogFields; message: string }[] = [];
  const logger: Logger = {
    info: (fields, message) => logged.push({ fields, message }),
    warn: (fields, message) => logged.push({ fields, message }),
    error: (fields, message) => logged.push({ fields, message }),
  };

  function nginx(user: string, pass: string, protocol = 'imap', extra: Record<string, string> = {}): Promise<Reply> {
    return send(port, 'GET', '/auth/nginx', {
      'X-TwoStep-Key': key,
      'Auth-Method': 'plain',
      'Auth-User': nginxEscape(user),
      'Auth-Pass': nginxEscape(pass),
      'Auth-Protocol': protocol,
      'Auth-Login-Attempt': '1',
      'Client-IP': '192.0.2.7',
      ...extra,
    });
  }

  before(async function () {
    installation = await createTestInstallation({
      iniText: [
        '[policy]',
        'global = optional',
        '[throttle]',
        'free_failures = 1',
        '[nginx]',
        'imap_server = 127.0.0.1:1143',
        'smtp_server = 127.0.0.1:1025',
        '[nginx_domains]',
        'example.net.imap = 192.0.2.20:143',
        '',
      ].join('\n'),
    });
    await installation.passwdFile!.setPassword(ACCOUNT, PASSWORD, 'SHA512-CRYPT');
    await installation.passwdFile!.setPassword(OTHER, PASSWORD, 'SHA512-CRYPT');
    await provisionSecretKey(installation.context, { actor: 'test' }, ACCOUNT, RFC_KEY, 'Phone');
    app = Fastify();
    // A fault log of its own, so no-backend lines of other tests in this process are not counted here.
    await registerAuthRoutes(app, { ...installation, context: { ...installation.context, logger, faultLog: new FaultLog() } });
    port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    key = await loadAuthKey(installation);
  });

  after(async function () {
    await app?.close();
    await installation?.dispose();
  });

  beforeEach(function () {
    logged.length = 0;
  });

  describe('shared key', function () {
    it('is created once with mode 0600', async function () {
      const path = join(installation.dataDir, AUTH_KEY_FILE_NAME);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(await loadAuthKey(installation), key);
      assert.ok(key.length >= 32);
    });

    it('comes from twostep.ini when set', async function () {
      const configured = 'k'.repeat(30);
      assert.equal(await loadAuthKey({ dataDir: installation.dataDir, ini: { auth_endpoints: { key: configured } } }), configured);
      await assert.rejects(loadAuthKey({ dataDir: installation.dataDir, ini: { auth_endpoints: { key: 'short' } } }), /at least 24 characters/);
    });

    it('missing key is 401 with no decision', async function () {
      const reply = await send(port, 'GET', '/auth/nginx', { 'Auth-User': ACCOUNT, 'Auth-Pass': 'x', 'Auth-Protocol': 'imap', 'Client-IP': '192.0.2.7' });
      assert.equal(reply.status, 401);
      assert.equal(reply.headers['auth-status'], undefined);
      assert.deepEqual(logged.map((line) => line.fields.event), ['auth-endpoint-key']);
    });

    it('wrong key is 403 and not logged', async function () {
      const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
      const reply = await send(port, 'POST', '/auth/dovecot', { 'X-TwoStep-Key': wrong, 'Content-Type': 'application/json' }, '{}');
      assert.equal(reply.status, 403);
      assert.deepEqual(logged.map((line) => line.fields.event), ['auth-endpoint-key']);
      assert.ok(!JSON.stringify(logged).includes(wrong.slice(0, 12)), 'the log line contains the key');
    });
  });

  describe('/auth/nginx', function () {
    it('decodes nginx escaping', function () {
      assert.equal(decodeNginxValue('a%20b%25c+d'), 'a b%c+d');
      assert.equal(decodeNginxValue(Buffer.from('ü', 'utf8').toString('latin1')), 'ü');
      assert.equal(decodeNginxValue('bad%2'), undefined);
      assert.equal(decodeNginxValue('%FF'), undefined);
    });

    it('accepts password+code and strips the code', async function () {
      const reply = await nginx(ACCOUNT, `${PASSWORD}081804`);
      assert.equal(reply.headers['auth-status'], 'OK');
      assert.equal(reply.headers['auth-server'], '127.0.0.1');
      assert.equal(reply.headers['auth-port'], '1143');
      assert.equal(reply.headers['auth-user'], ACCOUNT);
      assert.equal(utf8Header(reply.headers['auth-pass']), PASSWORD);
    });

    it('routes by domain', async function () {
      const reply = await nginx(OTHER, PASSWORD);
      assert.equal(reply.headers['auth-status'], 'OK');
      assert.equal(reply.headers['auth-server'], '192.0.2.20');
      assert.equal(reply.headers['auth-port'], '143');
    });

    it('grows Auth-Wait with repeated SMTP failures', async function () {
      const waits: string[] = [];
      for (const attempt of ['1', '2', '3']) {
        const reply = await nginx(OTHER, `wrong ${attempt}`, 'smtp');
        assert.equal(reply.headers['auth-error-code'], '535 5.7.8');
        assert.match(String(reply.headers['auth-status']), /^Authentication failed/);
        waits.push(String(reply.headers['auth-wait']));
      }
      assert.deepEqual(waits, ['1', '1', '2']);
    });

    it('answers a temporary failure with no backend', async function () {
      const noBackend = await nginx(OTHER, PASSWORD, 'pop3');
      assert.match(String(noBackend.headers['auth-status']), /^\[SYS\/TEMP\]/);
      assert.ok(logged.some((entry) => entry.fields.reason === 'no-backend'));
      // Deciding would use up a code and record a login that never reaches a mail server.
      assert.ok(!logged.some((entry) => entry.fields.event === 'login'), JSON.stringify(logged));
    });

    it('logs no backend once a minute per protocol and domain', async function () {
      const context = { ...installation.context, logger, faultLog: new FaultLog() };
      const routing = parseBackendRouting({});
      const request = (user: string, protocol: string) =>
        answerNginxAuth(context, routing, {
          'auth-method': 'plain',
          'auth-user': nginxEscape(user),
          'auth-pass': nginxEscape(PASSWORD),
          'auth-protocol': protocol,
          'client-ip': '192.0.2.7',
        });
      const lines = () => logged.filter((entry) => entry.fields.reason === 'no-backend');
      const started = installation.clock.milliseconds;

      try {
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(await request(ACCOUNT, 'imap'), { status: 200, headers: { 'Auth-Status': IMAP_TEMPORARY, 'Auth-Wait': '1' } });
        }
        assert.equal(lines().length, 1, JSON.stringify(lines()));
        assert.equal(lines()[0].message, 'no backend server for imap at example.org: set [nginx] imap_server or [nginx_domains] example.org.imap in twostep.ini');
        assert.equal(lines()[0].fields.repeats_since_last_log, undefined);

        await request(ACCOUNT, 'pop3');
        await request(OTHER, 'imap');
        assert.deepEqual(
          lines().map((entry) => [entry.fields.protocol, entry.fields.domain]),
          [
            ['imap', 'example.org'],
            ['pop3', 'example.org'],
            ['imap', 'example.net'],
          ],
        );

        installation.clock.advanceSeconds(30);
        await request(ACCOUNT, 'imap');
        assert.equal(lines().length, 3, 'still within the minute');

        installation.clock.advanceSeconds(31);
        await request(ACCOUNT, 'imap');
        assert.equal(lines().length, 4);
        assert.equal(lines()[3].fields.repeats_since_last_log, 3);
        assert.match(lines()[3].message, /\(3 more requests answered this way since the last line\)$/);
        assert.ok(!JSON.stringify(logged).includes(PASSWORD));
      } finally {
        installation.clock.milliseconds = started;
      }
    });

    it('rejects an unsupported Auth-Method', async function () {
      const reply = await nginx(ACCOUNT, PASSWORD, 'smtp', { 'Auth-Method': 'cram-md5' });
      assert.equal(reply.headers['auth-error-code'], '535 5.7.8');
    });

    it('400 for an invalid Client-IP', async function () {
      const reply = await nginx(ACCOUNT, PASSWORD, 'imap', { 'Client-IP': 'example.org' });
      assert.equal(reply.status, 400);
      assert.match(reply.body, /invalid Client-IP/);
    });
  });

  describe('/auth/dovecot', function () {
    it('accepts JSON and returns the password without the code', async function () {
      const body = JSON.stringify({ user: ACCOUNT, password: `${PASSWORD}050471`, remote_ip: '192.0.2.8', service: 'imap' });
      const reply = await send(port, 'POST', '/auth/dovecot', { 'X-TwoStep-Key': key, 'Content-Type': 'application/json' }, body);
      assert.equal(reply.status, 200);
      assert.deepEqual(JSON.parse(reply.body), { result: 'accepted', account: ACCOUNT, password: PASSWORD });
    });

    it('rejects a form login with 401', async function () {
      const form = new URLSearchParams({ user: ACCOUNT, password: PASSWORD, remote_ip: '192.0.2.9', service: 'submission' }).toString();
      const reply = await send(port, 'POST', '/auth/dovecot', { 'X-TwoStep-Key': key, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/plain' }, form);
      assert.equal(reply.status, 401);
      assert.equal(reply.body, 'rejected');
    });

    it('400 for an unknown service', async function () {
      const body = JSON.stringify({ user: ACCOUNT, password: PASSWORD, remote_ip: '192.0.2.9', service: 'sieve' });
      const reply = await send(port, 'POST', '/auth/dovecot', { 'X-TwoStep-Key': key, 'Content-Type': 'application/json' }, body);
      assert.equal(reply.status, 400);
      assert.match(reply.body, /invalid service/);
    });
  });

  describe('backend routing config', function () {
    it('rejects a host name', function () {
      assert.throws(() => parseBackendRouting({ nginx: { imap_server: 'mail.example.org:143' } }), /IP address, not a host name/);
    });

    it('accepts IPv6 and per-domain keys', function () {
      const routing = parseBackendRouting({ nginx: { smtp_server: '[::1]:25' }, nginx_domains: { 'example.com.pop3': '192.0.2.1:110' } });
      assert.deepEqual(routing.defaults.smtp, { host: '::1', port: 25 });
      assert.deepEqual(routing.domains.get('example.com'), { pop3: { host: '192.0.2.1', port: 110 } });
    });
  });
});
