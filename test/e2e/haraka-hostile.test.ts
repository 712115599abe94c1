import assert from 'node:assert/strict';
import { provisionSecretKey } from '../../src/core/accounts';
import { RawSmtpSession } from '../helpers/smtp-raw';
import { smtpLogin, startHaraka, type RunningHaraka } from '../helpers/haraka';
import { keys } from '../../src/core/model';
import { SMTP_REJECT } from '../../src/adapters/replies';
import { RFC_KEY } from '../helpers/installation';

const PASSWORD = 'hostile-input-password';

const b64 = (value: string | Buffer) => (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('base64');

/** AUTH PLAIN payloads that no client should send, each with a marker to look for in the log. */
const PLAIN_CASES: ReadonlyArray<[string, string]> = [
  ['malformed base64', '!!!not-base64***'],
  ['only NUL bytes', b64('\x00\x00')],
  ['empty password', b64('\x00alice@example.org\x00')],
  ['empty user', b64(`\x00\x00${PASSWORD}`)],
  ['over-long password', b64(`\x00alice@example.org\x00${'p'.repeat(2000)}`)],
  ['over-long user', b64(`\x00${'u'.repeat(2000)}@example.org\x00${PASSWORD}`)],
  ['control bytes in user', b64(`\x00alice\r\nX-Injected: 1@example.org\x00${PASSWORD}`)],
  ['NUL inside the password', b64(`\x00alice@example.org\x00pass\x00word`)],
  ['invalid UTF-8', b64(Buffer.concat([Buffer.from('\x00alice@example.org\x00'), Buffer.from([0xc3, 0x28, 0xff, 0xfe])]))],
  ['only digits', b64('\x00alice@example.org\x00123456')],
  ['bare password', b64(`\x00alice@example.org\x00${PASSWORD}`)],
];

describe('Haraka AUTH with hostile input', function () {
  this.timeout(120_000);
  let haraka: RunningHaraka;

  before(async () => {
    haraka = await startHaraka({ pluginTimeoutSeconds: 8 });
    await haraka.installation.passwdFile!.setPassword('alice@example.org', PASSWORD, 'PLAIN');
    await provisionSecretKey(haraka.installation.context, { actor: 'test' }, 'alice@example.org', RFC_KEY);
  });

  after(async () => {
    await haraka?.stop();
  });

  for (const [title, payload] of PLAIN_CASES) {
    it(`AUTH PLAIN with ${title} is rejected cleanly`, async () => {
      const session = await RawSmtpSession.open(haraka.port);
      try {
        const reply = await session.command(`AUTH PLAIN ${payload}`);
        // Haraka itself answers 521 and closes for a command line over 512 bytes (RFC 5321 §4.5.3.1.4).
        assert.match(reply, /^(535 5\.7\.8|504 |521 )/, `${title}: ${reply}`);
        if (!reply.startsWith('521')) {
          // The connection stays usable after the rejection.
          assert.match(await session.command('NOOP'), /^250/);
        }
      } finally {
        session.close();
      }
    });
  }

  it('AUTH LOGIN with a malformed password line is rejected cleanly', async () => {
    const session = await RawSmtpSession.open(haraka.port);
    try {
      assert.match(await session.command('AUTH LOGIN'), /^334 /);
      assert.match(await session.command(b64('alice@example.org')), /^334 /);
      assert.match(await session.command('%'.repeat(400)), /^(535 5\.7\.8|504 )/);
    } finally {
      session.close();
    }
  });

  it('AUTH LOGIN with control bytes and a wrong code is rejected cleanly', async () => {
    const session = await RawSmtpSession.open(haraka.port);
    try {
      assert.match(await session.command(`AUTH LOGIN ${b64('alice@example.org\u0001\u0002')}`), /^334 /);
      assert.match(await session.command(b64(`${PASSWORD}000000`)), /^535 5\.7\.8/);
      assert.match(await session.command('NOOP'), /^250/);
    } finally {
      session.close();
    }
  });

  it('a long throttle delay still ends in 535, before the plugin timeout', async () => {
    // 20 recent wrong passwords from this address: the throttle asks for its maximum delay of 30 s.
    for (let i = 0; i < 20; i++) {
      await haraka.installation.context.store.increment(keys.passwordFailuresByAccountAndIp('alice@example.org', '127.0.0.30'), 900_000);
    }
    const started = Date.now();
    const result = await smtpLogin(haraka.port, 'alice@example.org', 'wrong password', { localAddress: '127.0.0.30' });
    const elapsed = Date.now() - started;
    assert.deepEqual(result, { ok: false, code: 535, response: `535 ${SMTP_REJECT.message}` });
    assert.ok(elapsed >= 4000, `the reply was not delayed: ${elapsed} ms`);
    assert.ok(elapsed < 8000, `the reply took ${elapsed} ms, past the 8 s plugin timeout`);
  });

  it('never writes the submitted secrets to the log', () => {
    const output = haraka.output();
    assert.ok(!output.includes(PASSWORD), 'the password appears in the log');
    assert.doesNotMatch(output, /^X-Injected/m, 'a line break from a user name reached the log');
  });
});
