import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import {
  createAppPassword,
  provisionSecretKey,
  regenerateRecoveryCodes,
  resetSecretKey,
  revokeAllDevices,
  revokeAppPassword,
  revokeDevice,
  unlockAccount,
  viewCurrentCodes,
} from '../../src/core/accounts';
import { setBranding } from '../../src/core/branding';
import type { LogFields, Logger } from '../../src/core/context';
import { addDomain } from '../../src/core/directory';
import { decideLogin } from '../../src/core/login';
import { verifySecondFactor } from '../../src/core/sign-in';
import { parseNotifyOptions } from '../../src/notify/options';
import { openInstallation } from '../../src/installation';
import { createTestInstallation, RFC_CODES, RFC_KEY, type TestInstallation } from '../helpers/installation';
import { freePort } from '../helpers/ports';
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from '../helpers/smtp-sink';

const ALICE = 'alice@example.org';
const PASSWORD = 'Winter2024';
const ADMIN = { actor: 'cli:test', ip: '192.0.2.7' };

class RecordingLogger implements Logger {
  readonly lines: { level: string; fields: LogFields; message: string }[] = [];
  info(fields: LogFields, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: LogFields, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: LogFields, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
}

/** Asserts that no secret shown to the user during the test appears anywhere in the message. */
function assertNoSecret(message: ReceivedMessage, secrets: readonly string[]): void {
  const compact = (value: string) => value.replace(/[\s=-]/g, '').toLowerCase();
  for (const secret of secrets) {
    assert.ok(!compact(message.raw).includes(compact(secret)), `message "${message.headers.get('subject')}" contains a secret`);
    assert.ok(!compact(message.body).includes(compact(secret)), `decoded body of "${message.headers.get('subject')}" contains a secret`);
  }
}

describe('notification emails', function () {
  let sink: SmtpSink;
  let installation: TestInstallation;
  let logger: RecordingLogger;

  async function open(iniText: string): Promise<TestInstallation> {
    logger = new RecordingLogger();
    const base = await createTestInstallation({ iniText });
    // The test installation has no logger hook, so open the same folder again with one.
    await base.close();
    const reopened = await openInstallation({ configDir: base.configDir, now: base.clock.now, logger, env: { TWOSTEP_DATA_DIR: base.dataDir } });
    await reopened.passwdFile!.setPassword(ALICE, PASSWORD, 'PLAIN');
    return { ...reopened, home: base.home, clock: base.clock, dispose: async () => { await reopened.close(); await base.dispose(); } };
  }

  beforeEach(async () => {
    sink = await startSmtpSink();
  });

  afterEach(async () => {
    await installation?.dispose();
    await sink.close();
  });

  it('reports each change without secrets', async () => {
    installation = await open(`[notify]\nsmtp_port = ${sink.port}\nsender = security@example.org\n`);
    const { context } = installation;
    const secrets: string[] = [PASSWORD, RFC_KEY];

    await provisionSecretKey(context, ADMIN, ALICE, RFC_KEY, 'Old token');
    const app = await createAppPassword(context, { actor: ALICE, ip: '198.51.100.4' }, ALICE, 'Thunderbird', ['smtp', 'imap']);
    secrets.push(app.appPassword);
    secrets.push(...(await regenerateRecoveryCodes(context, { actor: ALICE }, ALICE)));
    const codes = await viewCurrentCodes(context, ADMIN, ALICE);
    secrets.push(...codes.map((entry) => entry.code));
    await unlockAccount(context, ADMIN, ALICE);
    await revokeAppPassword(context, ADMIN, ALICE, 'Thunderbird');
    const reset = await resetSecretKey(context, ADMIN, ALICE, 'Phone');
    secrets.push(reset.secretKey);
    await revokeDevice(context, ADMIN, ALICE, reset.device.id);
    await provisionSecretKey(context, ADMIN, ALICE, RFC_KEY, 'Token again');
    await revokeAllDevices(context, ADMIN, ALICE);
    await installation.notifier!.flush();

    const messages = await sink.waitFor(8);
    assert.equal(messages.length, 8, 'viewing a code and unlocking send nothing');
    const subjects = messages.map((message) => message.headers.get('subject')).sort();
    assert.deepEqual(subjects, [
      'TwoStep: a device was added',
      'TwoStep: a device was added',
      'TwoStep: a device was removed',
      'TwoStep: all devices were removed',
      'TwoStep: an app password was created',
      'TwoStep: an app password was revoked',
      'TwoStep: new recovery codes were created',
      'TwoStep: your devices were replaced',
    ]);

    for (const message of messages) {
      assert.equal(message.headers.get('to'), ALICE);
      assert.equal(message.headers.get('from'), 'TwoStep <security@example.org>');
      assert.equal(message.headers.get('auto-submitted'), 'auto-generated');
      assert.equal(message.mailFrom, 'security@example.org');
      assert.deepEqual(message.rcptTo, [ALICE]);
      assert.match(message.body, /If this was not you, sign in at http:\/\/127\.0\.0\.1:8025\/ to check your devices/);
      assertNoSecret(message, secrets);
    }

    const created = messages.find((message) => message.headers.get('subject') === 'TwoStep: an app password was created')!;
    assert.match(created.body, /^An app password was created for alice@example.org: Thunderbird \(smtp,imap\)\./);
    assert.match(created.body, /^When: 2005-03-18 01:58:29 UTC$/m);
    assert.match(created.body, /^By: {3}you \(or someone signed in as you\)$/m);
    assert.match(created.body, /^From: 198\.51\.100\.4$/m);
    const added = messages.find((message) => message.body.includes('"Old token"'))!;
    assert.match(added.body, /^An administrator added the device "Old token"/);
    assert.match(added.body, /^By: {3}an administrator$/m);
  });

  it('reset without device reports added', async () => {
    installation = await open(`[notify]\nsmtp_port = ${sink.port}\n`);
    const { context } = installation;

    assert.equal(await revokeAllDevices(context, ADMIN, ALICE), 0);
    const reset = await resetSecretKey(context, ADMIN, ALICE, 'Phone');
    assert.equal(reset.replaced, 0);
    await installation.notifier!.flush();

    const messages = await sink.waitFor(1);
    assert.equal(messages.length, 1, 'revoking no device sends nothing');
    assert.equal(messages[0].headers.get('subject'), 'TwoStep: a device was added');
    assert.match(messages[0].body, /^An administrator added the device "Phone" with a new secret key to 2-Step Verification for alice@example\.org\./);
    assert.doesNotMatch(messages[0].body, /replaced/);
    assertNoSecret(messages[0], [reset.secretKey]);

    const actions = (await context.store.listAudit({ account: ALICE })).map((event) => event.action);
    assert.deepEqual(actions, ['secret-key-created']);
  });

  it('reports a lock and a used recovery code', async () => {
    installation = await open(`[notify]\nsmtp_port = ${sink.port}\n[throttle]\nlock_after = 3\nfree_failures = 5\n`);
    const { context } = installation;
    await provisionSecretKey(context, ADMIN, ALICE, RFC_KEY);
    const recoveryCodes = await regenerateRecoveryCodes(context, ADMIN, ALICE);
    await installation.notifier!.flush();
    const before = sink.messages.length;

    const wrongCodes = ['000000', '111111', '222222'];
    for (const code of wrongCodes) {
      const decision = await decideLogin(context, { account: ALICE, secret: `${PASSWORD}${code}`, protocol: 'imap', ip: '203.0.113.9' });
      assert.equal(decision.outcome, 'rejected');
    }
    const used = await verifySecondFactor(context, ALICE, recoveryCodes[0], '203.0.113.10');
    assert.equal(used.ok, true);
    await installation.notifier!.flush();

    const messages = (await sink.waitFor(before + 2)).slice(before);
    assert.equal(messages.length, 2);
    // Emails are sent concurrently, so they may arrive in either order.
    const locked = messages.find((message) => message.headers.get('subject') === 'TwoStep: sign-in locked after wrong verification codes');
    const recovery = messages.find((message) => message.headers.get('subject') === 'TwoStep: a recovery code was used');
    assert.ok(locked, 'lock email');
    assert.ok(recovery, 'recovery code email');
    assert.equal(locked.headers.get('from'), 'TwoStep <postmaster@example.org>', 'default sender');
    assert.match(locked.body, /^From: 203\.0\.113\.9 \(imap\)$/m);
    assert.match(locked.body, /^By: {3}the mail server$/m);
    assert.match(recovery.body, /^A recovery code was used to sign in as alice@example.org\./);
    for (const message of messages) {
      assertNoSecret(message, [PASSWORD, RFC_KEY, ...recoveryCodes, ...wrongCodes, ...Object.values(RFC_CODES)]);
    }
  });

  it('uses the domain branding as sender name', async () => {
    installation = await open(`[notify]\nsmtp_port = ${sink.port}\n`);
    const { context } = installation;
    await addDomain(context, ADMIN, 'example.org');
    await setBranding(context, ADMIN, 'example.org', { productName: 'Example <script>Mail', helpText: 'Questions? Call 555-0100.' });
    await provisionSecretKey(context, ADMIN, ALICE, RFC_KEY);
    await installation.notifier!.flush();

    const [message] = await sink.waitFor(1);
    assert.equal(message.headers.get('subject'), 'Example <script>Mail: a device was added');
    assert.equal(message.headers.get('from'), '"Example <script>Mail" <postmaster@example.org>');
    assert.match(message.body, /\n\nQuestions\? Call 555-0100\.\n\n-- Example <script>Mail\n$/);
  });

  it('never breaks the action when SMTP fails', async () => {
    const closedPort = await freePort();
    installation = await open(`[notify]\nsmtp_port = ${closedPort}\n`);
    const { context } = installation;

    const device = await provisionSecretKey(context, ADMIN, ALICE, RFC_KEY);
    assert.ok(device.id);
    await installation.notifier!.flush();

    const failures = logger.lines.filter((line) => line.level === 'error' && line.message === 'notification could not be sent');
    assert.equal(failures.length, 1);
    assert.equal(failures[0].fields.action, 'secret-key-provisioned');
    assert.equal(failures[0].fields.account, ALICE);
    assert.equal(failures[0].fields.smtp_port, closedPort);
    assert.match(String(failures[0].fields.cause), /ECONNREFUSED/);
    assert.equal(sink.messages.length, 0);
  });

  it('never delays the action on a silent server', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      installation = await open(`[notify]\nsmtp_port = ${port}\ntimeout = 1\n`);
      const started = Date.now();
      await provisionSecretKey(installation.context, ADMIN, ALICE, RFC_KEY);
      assert.ok(Date.now() - started < 500, 'the action returns before the SMTP server answers');

      await installation.notifier!.flush();
      const failures = logger.lines.filter((line) => line.message === 'notification could not be sent');
      assert.equal(failures.length, 1);
      assert.match(String(failures[0].fields.cause), /timeout/i);
    } finally {
      silent.close();
    }
  });

  it('sends nothing when turned off', async () => {
    installation = await open(`[notify]\nenabled = false\nsmtp_port = ${sink.port}\n`);
    assert.equal(installation.notifier, undefined);
    await provisionSecretKey(installation.context, ADMIN, ALICE, RFC_KEY);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(sink.messages.length, 0);
  });

  it('rejects bad notify settings', () => {
    const parse = (notify: Record<string, string>) => () => parseNotifyOptions({ notify });
    assert.throws(parse({ enabled: 'maybe' }), /invalid twostep.ini \[notify\] enabled = maybe: expected true or false/);
    assert.throws(parse({ sender: 'Security <sec@example.org>' }), /invalid twostep.ini \[notify\] sender = Security <sec@example.org>: expected an address/);
    assert.throws(parse({ smtp_port: '0' }), /\[notify\] smtp_port = 0: expected a TCP port from 1 to 65535/);
    assert.throws(parse({ smtp_host: 'mail host' }), /\[notify\] smtp_host = mail host: expected a host name or IP address/);
    assert.throws(parse({ timeout: '0.5' }), /\[notify\] timeout = 0.5: expected a number of seconds from 1 to 120/);
    assert.deepEqual(parseNotifyOptions({}), { enabled: true, sender: undefined, smtpHost: '127.0.0.1', smtpPort: 25, timeoutMs: 10_000 });
    assert.equal(parseNotifyOptions({ notify: { enabled: 'off' } }).enabled, false);
  });
});
