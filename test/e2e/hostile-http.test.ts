import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { loadAuthKey } from '../../src/adapters/auth-key';
import { provisionSecretKey } from '../../src/core/accounts';
import type { Logger, LogFields } from '../../src/core/context';
import { buildHttpService } from '../../src/web/server';
import { readHttpSettings } from '../../src/web/settings';
import { createTestInstallation, RFC_KEY, type TestInstallation } from '../helpers/installation';
import { freePort } from '../helpers/ports';

/** A marker inside every hostile password, so a test can see whether any log line carries it. */
const SECRET_MARKER = 'S3cretMarker';
const ACCOUNT = 'alice@example.org';

/** Hostile values for the user name and password fields, as a client could send them. */
const HOSTILE: ReadonlyArray<[string, string, string]> = [
  ['NUL in the password', ACCOUNT, `${SECRET_MARKER}\u0000tail`],
  ['CR LF in the user name', `alice\r\nX-Injected: 1@example.org`, SECRET_MARKER],
  ['control bytes in the password', ACCOUNT, `${SECRET_MARKER}\u0001\u0002\u001b[31m`],
  ['over-long password (2 KB)', ACCOUNT, `${SECRET_MARKER}${'p'.repeat(2048)}`],
  ['over-long user name (2 KB)', `${'u'.repeat(2048)}@example.org`, SECRET_MARKER],
  ['empty user name', '', SECRET_MARKER],
  ['empty password', ACCOUNT, ''],
  ['only digits', ACCOUNT, '123456'],
  ['lone surrogate', ACCOUNT, `${SECRET_MARKER}\ud800`],
];

/** Escapes a value as nginx does in Auth-User and Auth-Pass: space, % and bytes below 0x20. */
function nginxEscape(value: string): string {
  return Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[\u0000-\u0020%]/g, (character) => `%${character.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

/** Sends raw bytes as one HTTP request and returns the status line. */
function rawRequest(port: number, head: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.split('\r\n')[0]);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply.split('\r\n')[0] ?? ''));
    socket.write(head);
  });
}

describe('HTTP entry points with hostile input', function () {
  this.timeout(60_000);
  let installation: TestInstallation;
  let app: FastifyInstance;
  let port: number;
  let key: string;
  const logged: string[] = [];

  before(async () => {
    const base = await createTestInstallation({ iniText: '[nginx]\nimap_server = 127.0.0.1:1143\n' });
    await base.passwdFile!.setPassword(ACCOUNT, `right-${SECRET_MARKER}`, 'PLAIN');
    await provisionSecretKey(base.context, { actor: 'test' }, ACCOUNT, RFC_KEY);
    const record = (level: string) => (fields: LogFields, message: string) => logged.push(`${level} ${message} ${JSON.stringify(fields)}`);
    const logger: Logger = { info: record('info'), warn: record('warn'), error: record('error') };
    installation = { ...base, context: { ...base.context, logger } };
    app = await buildHttpService(installation, { settings: readHttpSettings(installation.ini), sleep: async () => undefined });
    port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    key = await loadAuthKey(installation);
  });

  after(async () => {
    await app?.close();
    await installation?.dispose();
  });

  for (const [title, user, password] of HOSTILE) {
    it(`/auth/nginx: ${title}`, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/auth/nginx`, {
        headers: {
          'X-TwoStep-Key': key,
          'Auth-Method': 'plain',
          'Auth-User': nginxEscape(user),
          'Auth-Pass': nginxEscape(password),
          'Auth-Protocol': 'imap',
          'Auth-Login-Attempt': '1',
          'Client-IP': '127.0.0.1',
        },
      });
      assert.ok(response.status < 500, `status ${response.status}`);
      assert.notEqual(response.headers.get('auth-status'), 'OK');
    });

    it(`/auth/dovecot: ${title}`, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/auth/dovecot`, {
        method: 'POST',
        headers: { 'X-TwoStep-Key': key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user, password, remote_ip: '127.0.0.1', service: 'imap' }),
      });
      assert.ok([400, 401].includes(response.status), `status ${response.status}`);
    });

    it(`panel JSON sign-in: ${title}`, async () => {
      const session = await fetch(`http://127.0.0.1:${port}/api/session`);
      const cookie = session.headers.get('set-cookie')?.split(';')[0] ?? '';
      const { csrfToken } = (await session.json()) as { csrfToken: string };
      const response = await fetch(`http://127.0.0.1:${port}/api/sign-in`, {
        method: 'POST',
        headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, 'Content-Type': 'application/json' },
        body: JSON.stringify({ account: user, password }),
      });
      assert.ok(response.status < 500, `status ${response.status}`);
      const body = (await response.json()) as { next?: string };
      assert.notEqual(body.next, 'done', 'a hostile sign-in went straight in');
    });
  }

  it('/auth/nginx: %-escapes that decode to control bytes are not accepted', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/auth/nginx`, {
      headers: {
        'X-TwoStep-Key': key,
        'Auth-Method': 'plain',
        'Auth-User': 'alice%0D%0AX-Injected:%201@example.org',
        'Auth-Pass': `${SECRET_MARKER}%00%07`,
        'Auth-Protocol': 'imap',
        'Auth-Login-Attempt': '1',
        'Client-IP': '127.0.0.1',
      },
    });
    assert.ok(response.status < 500);
    assert.notEqual(response.headers.get('auth-status'), 'OK');
  });

  it('/auth/nginx: invalid UTF-8 bytes in the headers are rejected', async () => {
    const head = Buffer.concat([
      Buffer.from(`GET /auth/nginx HTTP/1.1\r\nHost: 127.0.0.1\r\nX-TwoStep-Key: ${key}\r\nAuth-Method: plain\r\nAuth-User: `, 'latin1'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from(`@example.org\r\nAuth-Pass: ${SECRET_MARKER}`, 'latin1'),
      Buffer.from([0xfe, 0xfe]),
      Buffer.from('\r\nAuth-Protocol: imap\r\nClient-IP: 127.0.0.1\r\nConnection: close\r\n\r\n', 'latin1'),
    ]);
    const status = await rawRequest(port, head);
    assert.match(status, /^HTTP\/1\.1 (200|4\d\d)/);
    if (status.startsWith('HTTP/1.1 200')) {
      const response = await fetch(`http://127.0.0.1:${port}/auth/nginx`, { headers: { 'X-TwoStep-Key': key } });
      assert.notEqual(response.headers.get('auth-status'), 'OK');
    }
  });

  it('huge headers get 431, not a crash', async () => {
    const status = await rawRequest(port, Buffer.from(`GET /auth/nginx HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'a'.repeat(70_000)}\r\n\r\n`, 'latin1'));
    assert.match(status, /^HTTP\/1\.1 431/);
    const after = await fetch(`http://127.0.0.1:${port}/sign-in`);
    assert.equal(after.status, 200, 'the service still answers');
  });

  it('no log line carries a submitted secret or an injected line break', () => {
    assert.ok(logged.length > 0, 'the endpoints log their decisions');
    for (const line of logged) {
      assert.ok(!line.includes(SECRET_MARKER), `a secret reached the log: ${line.slice(0, 200)}`);
      assert.ok(!/[\r\n]/.test(line), `a line break reached the log: ${JSON.stringify(line.slice(0, 200))}`);
    }
  });
});
