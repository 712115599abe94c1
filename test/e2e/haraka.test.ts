import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { RawSmtpSession } from '../helpers/smtp-raw';
import { createAppPassword, provisionSecretKey } from '../../src/core/accounts';
import { generateCode } from '../../src/core/totp';
import { keys } from '../../src/core/model';
import { SMTP_REJECT, SMTP_TEMPORARY } from '../../src/adapters/replies';
import { commandWithoutTls, ehloWithoutTls, smtpLogin, startHaraka, type RunningHaraka } from '../helpers/haraka';
import { RFC_KEY } from '../helpers/installation';

const ALICE = 'alice@example.org';
const PASSWORD = 'correct horse 2024';
const CLI = { actor: 'cli:test' };
const REJECT_TEXT = SMTP_REJECT.message;

async function currentCode(offsetSteps = 0): Promise<string> {
  return generateCode(RFC_KEY, Math.floor(Date.now() / 1000) + offsetSteps * 30);
}

/** Waits until at least `seconds` remain in the current 30 s step, so a test's code stays current. */
async function awayFromStepEdge(seconds = 8): Promise<void> {
  const left = 30 - (Math.floor(Date.now() / 1000) % 30);
  if (left < seconds) {
    await new Promise((resolve) => setTimeout(resolve, left * 1000 + 200));
  }
}

/** Holds an SQLite write lock on the store from another process, as a stuck writer would. */
function lockStore(path: string): Promise<ChildProcess> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN EXCLUSIVE; INSERT INTO twostep_counters (key, count) VALUES (\\'lock-holder\\', 1) ON CONFLICT DO NOTHING;');
    process.stdout.write('locked\\n');
    process.stdin.on('end', () => { db.exec('ROLLBACK'); process.exit(0); });
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['-e', script, path], { stdio: ['pipe', 'pipe', 'inherit'], cwd: process.cwd() });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
}

describe('Haraka with the twostep plugin', function () {
  this.timeout(60_000);
  let haraka: RunningHaraka;

  let enrolledCount = 0;

  /** Creates an account for one test that signs in with a code, because a used time step stays used. */
  async function enrolledAccount(): Promise<string> {
    enrolledCount++;
    const account = `user${enrolledCount}@example.org`;
    await haraka.installation.passwdFile!.setPassword(account, PASSWORD, 'PLAIN');
    await provisionSecretKey(haraka.installation.context, CLI, account, RFC_KEY);
    return account;
  }

  before(async () => {
    haraka = await startHaraka({ probeNotes: true, logLevel: 'info' });
    await haraka.installation.passwdFile!.setPassword(ALICE, PASSWORD, 'BLF-CRYPT');
    await haraka.installation.passwdFile!.setPassword('bob@example.org', 'bob password', 'SHA512-CRYPT');
    await haraka.installation.passwdFile!.setPassword('carol@example.org', 'carol password', 'ARGON2ID');
    await provisionSecretKey(haraka.installation.context, CLI, ALICE, RFC_KEY);
  });

  after(async () => {
    await haraka?.stop();
  });

  it('offers AUTH only after STARTTLS, and never CRAM-MD5', async () => {
    const plain = await ehloWithoutTls(haraka.port);
    assert.match(plain, /STARTTLS/);
    assert.doesNotMatch(plain, /AUTH/);
  });

  it('answers AUTH before STARTTLS with 530', async () => {
    const credentials = Buffer.from(`\u0000${ALICE}\u0000${PASSWORD}`).toString('base64');
    assert.equal(await commandWithoutTls(haraka.port, `AUTH PLAIN ${credentials}`), '530 5.7.0 Must issue a STARTTLS command first');
  });

  it('accepts password+code with AUTH PLAIN', async () => {
    await awayFromStepEdge();
    const result = await smtpLogin(haraka.port, ALICE, `${PASSWORD}${await currentCode()}`, { localAddress: '127.0.0.2' });
    assert.deepEqual(result, { ok: true });
  });

  it('accepts password+code with AUTH LOGIN', async () => {
    const account = await enrolledAccount();
    await awayFromStepEdge();
    const result = await smtpLogin(haraka.port, account, `${PASSWORD}${await currentCode()}`, { localAddress: '127.0.0.2', method: 'LOGIN' });
    assert.deepEqual(result, { ok: true });
  });

  it('reuses the login grant on reconnect, with AUTH LOGIN too', async () => {
    const account = await enrolledAccount();
    await awayFromStepEdge();
    const secret = `${PASSWORD}${await currentCode()}`;
    assert.deepEqual(await smtpLogin(haraka.port, account, secret, { localAddress: '127.0.0.3' }), { ok: true });
    assert.deepEqual(await smtpLogin(haraka.port, account, secret, { localAddress: '127.0.0.3', method: 'LOGIN' }), { ok: true });
  });

  it('rejects a replayed code from another client', async () => {
    const account = await enrolledAccount();
    await awayFromStepEdge();
    const secret = `${PASSWORD}${await currentCode()}`;
    assert.deepEqual(await smtpLogin(haraka.port, account, secret, { localAddress: '127.0.0.4' }), { ok: true });
    const replay = await smtpLogin(haraka.port, account, secret, { localAddress: '127.0.0.5' });
    assert.deepEqual(replay, { ok: false, code: 535, response: `535 ${REJECT_TEXT}` });
  });

  it('rejects every failure with one reply', async () => {
    const replies = [
      await smtpLogin(haraka.port, ALICE, PASSWORD, { localAddress: '127.0.0.6' }),
      await smtpLogin(haraka.port, ALICE, `${PASSWORD}000000`, { localAddress: '127.0.0.7' }),
      await smtpLogin(haraka.port, 'nobody@example.org', `${PASSWORD}000000`, { localAddress: '127.0.0.8' }),
      await smtpLogin(haraka.port, ALICE, 'wrong password', { localAddress: '127.0.0.9', method: 'LOGIN' }),
    ];
    for (const reply of replies) {
      assert.deepEqual(reply, { ok: false, code: 535, response: `535 ${REJECT_TEXT}` });
    }
  });

  it('accepts SHA512-CRYPT and ARGON2ID passwords of accounts without a device', async () => {
    assert.deepEqual(await smtpLogin(haraka.port, 'bob@example.org', 'bob password', { localAddress: '127.0.0.10' }), { ok: true });
    assert.deepEqual(await smtpLogin(haraka.port, 'carol@example.org', 'carol password', { localAddress: '127.0.0.10' }), { ok: true });
  });

  it('accepts an app password only for its scope', async () => {
    const smtpOnly = await createAppPassword(haraka.installation.context, CLI, ALICE, 'Thunderbird', ['smtp']);
    const imapOnly = await createAppPassword(haraka.installation.context, CLI, ALICE, 'Phone', ['imap']);
    assert.deepEqual(await smtpLogin(haraka.port, ALICE, smtpOnly.appPassword, { localAddress: '127.0.0.11' }), { ok: true });
    const wrongScope = await smtpLogin(haraka.port, ALICE, imapOnly.appPassword, { localAddress: '127.0.0.12' });
    assert.deepEqual(wrongScope, { ok: false, code: 535, response: `535 ${REJECT_TEXT}` });
  });

  it('keeps no password in the connection notes', async () => {
    const account = await enrolledAccount();
    const probeFile = join(haraka.home, 'notes.json');
    await awayFromStepEdge();
    const secret = `${PASSWORD}${await currentCode()}`;
    const session = await RawSmtpSession.open(haraka.port);
    try {
      const credentials = Buffer.from(`\u0000${account}\u0000${secret}`).toString('base64');
      assert.match(await session.command(`AUTH PLAIN ${credentials}`), /^235 /);
      await session.command('MAIL FROM:<probe@example.org>');
    } finally {
      session.close();
    }
    const notes = readFileSync(probeFile, 'utf8');
    assert.match(notes, /auth_user/);
    assert.ok(!notes.includes(PASSWORD), `the password is in connection.notes: ${notes}`);
  });

  it('keeps passwords out of the INFO log', () => {
    const output = haraka.output();
    assert.match(output, /\[INFO\]/, 'Haraka logs at INFO in this test');
    // The plugin hands its fields to Haraka, which formats them as key=value after the connection id.
    assert.match(output, /\[INFO\] \[[0-9A-Fa-f-]{8,}(\.\d+)?\] \[twostep\] login accepted event=login account=\S+@\S+ protocol=smtp ip=127\.0\.0\.\d+ result=accepted method=password\+code/);
    assert.ok(!output.includes(PASSWORD), 'the password appears in Haraka output');
    const encoded = Buffer.from(PASSWORD).toString('base64').slice(0, 16);
    assert.ok(!output.includes(encoded), 'the base64 password appears in Haraka output');
  });

  it('answers 454 while the store is locked, and recovers', async () => {
    const account = await enrolledAccount();
    const holder = await lockStore(join(haraka.installation.dataDir, 'store.sqlite'));
    try {
      await awayFromStepEdge(15);
      const result = await smtpLogin(haraka.port, account, `${PASSWORD}${await currentCode()}`, { localAddress: '127.0.0.13' });
      assert.deepEqual(result, { ok: false, code: 454, response: `454 ${SMTP_TEMPORARY.message}` });
    } finally {
      holder.stdin!.end();
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    await awayFromStepEdge();
    const recovered = await smtpLogin(haraka.port, account, `${PASSWORD}${await currentCode()}`, { localAddress: '127.0.0.14' });
    assert.deepEqual(recovered, { ok: true });
  });
});

describe('Haraka login activity', function () {
  this.timeout(60_000);
  let haraka: RunningHaraka | undefined;

  afterEach(async () => {
    await haraka?.stop();
    haraka = undefined;
  });

  it('is written on SIGINT stop', async () => {
    // A batch window far longer than the test, so only the stop can write it.
    haraka = await startHaraka({ extraIni: '[audit]\nbatch_ms = 1000' });
    const { context, passwdFile } = haraka.installation;
    await passwdFile!.setPassword(ALICE, PASSWORD, 'PLAIN');
    await provisionSecretKey(context, CLI, ALICE, RFC_KEY);
    const created = await createAppPassword(context, CLI, ALICE, 'Mail app', ['smtp']);

    assert.deepEqual(await smtpLogin(haraka.port, ALICE, created.appPassword, { localAddress: '127.0.0.21' }), { ok: true });
    const lastUseKey = keys.lastUse(ALICE, created.record.id);
    assert.equal(await context.store.get(lastUseKey), undefined, 'the batch is still waiting');

    const exited = new Promise((resolve) => haraka!.process.once('exit', resolve));
    haraka.process.kill('SIGINT');
    await exited;
    const used = await context.store.get<{ ip: string; protocol: string }>(lastUseKey);
    assert.deepEqual([used?.ip, used?.protocol], ['127.0.0.21', 'smtp']);
    const logins = (await context.store.listAudit({ account: ALICE })).filter((event) => event.action === 'login');
    assert.deepEqual(
      logins.map((event) => [event.ip, event.protocol, event.detail]),
      [['127.0.0.21', 'smtp', 'app-password']],
    );
  });

  it('is written on SIGTERM stop', async () => {
    haraka = await startHaraka({ extraIni: '[audit]\nbatch_ms = 1000' });
    const { context, passwdFile } = haraka.installation;
    await passwdFile!.setPassword(ALICE, PASSWORD, 'PLAIN');
    await provisionSecretKey(context, CLI, ALICE, RFC_KEY);
    const created = await createAppPassword(context, CLI, ALICE, 'Mail app', ['smtp']);

    assert.deepEqual(await smtpLogin(haraka.port, ALICE, created.appPassword, { localAddress: '127.0.0.22' }), { ok: true });
    const lastUseKey = keys.lastUse(ALICE, created.record.id);
    assert.equal(await context.store.get(lastUseKey), undefined, 'the batch is still waiting');

    const exited = new Promise<NodeJS.Signals | null>((resolve) => haraka!.process.once('exit', (_code, signal) => resolve(signal)));
    haraka.process.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM', 'Haraka still ends by the signal');
    const used = await context.store.get<{ ip: string; protocol: string }>(lastUseKey);
    assert.deepEqual([used?.ip, used?.protocol], ['127.0.0.22', 'smtp']);
  });
});
