import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createSmtpAuthHandler } from '../../plugins/twostep';
import { freePort } from '../helpers/ports';
import { smtpLogin } from './helpers/mail-clients';
import { ACCOUNT, PASSWORD, startTwoStep, type TwoStepFixture } from './helpers/twostep-fixture';

describe('smtp-server with createSmtpAuthHandler', function () {
  let twostep: TwoStepFixture;
  let server: SMTPServer;
  let port: number;
  const received: string[] = [];

  before(async function () {
    // One free failure per account and address: the second wrong password is delayed 1 s.
    twostep = await startTwoStep('[throttle]\nfree_failures = 1\n');
    server = new SMTPServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: createSmtpAuthHandler({ installation: twostep.installation }),
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => {
          received.push(String(session.user));
          callback();
        });
      },
    });
    port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });

  after(async function () {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await twostep?.close();
  });

  function send(pass: string, authMethod: string): Promise<unknown> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, authMethod, auth: { user: ACCOUNT, pass } });
    return transport.sendMail({ from: ACCOUNT, to: 'bob@example.org', subject: 'test', text: 'hello' }).finally(() => transport.close());
  }

  it('sends with an app password scoped to SMTP', async function () {
    await send(twostep.smtpOnlyAppPassword, 'PLAIN');
    assert.deepEqual(received, [ACCOUNT]);
  });

  it('sends with the password followed by the code over AUTH LOGIN', async function () {
    await send(`${PASSWORD}081804`, 'LOGIN');
    assert.equal(received.length, 2);
  });

  it('rejects the bare password with 535 5.7.8', async function () {
    const outcome = await smtpLogin(port, ACCOUNT, PASSWORD, '127.0.0.50');
    assert.equal(outcome.code, 535);
    assert.match(outcome.response ?? '', /^535 5\.7\.8 Authentication failed/);
  });

  it('delays a repeated failure', async function () {
    const started = Date.now();
    const outcome = await smtpLogin(port, ACCOUNT, `${PASSWORD}x`, '127.0.0.50');
    assert.equal(outcome.code, 535);
    assert.ok(Date.now() - started >= 1000, `the second failure from one address was answered after ${Date.now() - started} ms`);
  });

  it('rejects an app password scoped to IMAP and POP3', async function () {
    assert.equal((await smtpLogin(port, ACCOUNT, twostep.appPassword, '127.0.0.51')).code, 535);
  });

  it('answers 454 4.7.0 when the store is down', async function () {
    twostep.setStoreDown(true);
    try {
      const outcome = await smtpLogin(port, ACCOUNT, twostep.smtpOnlyAppPassword, '127.0.0.52');
      assert.equal(outcome.code, 454);
      assert.match(outcome.response ?? '', /^454 4\.7\.0/);
    } finally {
      twostep.setStoreDown(false);
    }
  });
});
