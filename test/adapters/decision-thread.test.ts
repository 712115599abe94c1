import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { DecisionThread } from '../../src/adapters/decision-thread';
import { provisionSecretKey } from '../../src/core/accounts';
import type { Logger, LogFields } from '../../src/core/context';
import { keys } from '../../src/core/model';
import type { IniConfig } from '../../src/core/options';
import { generateCode } from '../../src/core/totp';
import { openInstallation, type Installation } from '../../src/installation';
import { RFC_KEY } from '../helpers/installation';

const ALICE = 'alice@example.org';
const PASSWORD = 'correct horse 2024';
const CLI = { actor: 'cli:test' };

type Line = readonly [level: string, fields: LogFields, message: string];

function recordingLogger(lines: Line[]): Logger {
  return {
    info: (fields, message) => lines.push(['info', fields, message]),
    warn: (fields, message) => lines.push(['warn', fields, message]),
    error: (fields, message) => lines.push(['error', fields, message]),
  };
}

function smtpLogin(secret: string, ip = '127.0.0.1') {
  return { account: ALICE, secret, protocol: 'smtp' as const, ip };
}

async function currentCode(): Promise<string> {
  return generateCode(RFC_KEY, Math.floor(Date.now() / 1000));
}

describe('Decision thread', function () {
  this.timeout(20_000);
  let home: string;
  let configDir: string;
  let ini: IniConfig;
  let installation: Installation;
  let thread: DecisionThread | undefined;
  let threadLines: Line[];

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'twostep-thread-'));
    configDir = join(home, 'config');
    mkdirSync(configDir);
    // The maximum batch window, so a test that reads at once finds the batch still waiting.
    ini = { main: { data_dir: join(home, 'data') }, audit: { batch_ms: '1000' } };
    installation = await openInstallation({ configDir, ini, env: {} });
    await installation.passwdFile!.setPassword(ALICE, PASSWORD, 'PLAIN');
    await provisionSecretKey(installation.context, CLI, ALICE, RFC_KEY);
    threadLines = [];
  });

  afterEach(async () => {
    await thread?.close();
    thread = undefined;
    await installation?.close();
    rmSync(home, { recursive: true, force: true });
  });

  function startThread(startIni: IniConfig = ini): DecisionThread {
    thread = new DecisionThread(configDir, startIni, recordingLogger(threadLines));
    return thread;
  }

  it('decides logins and logs them per login', async () => {
    startThread();
    const loginLines: Line[] = [];
    const secret = PASSWORD + (await currentCode());
    const first = await thread!.decide(smtpLogin(secret), recordingLogger(loginLines));
    assert.deepEqual(first, { outcome: 'accepted', account: ALICE, method: 'password+code', password: PASSWORD });
    assert.deepEqual(
      loginLines.map(([level, fields, message]) => [level, fields.result, fields.method, message]),
      [['info', 'accepted', 'password+code', 'login accepted']],
    );

    // The claim and the grant are in the store the main thread reads.
    const again = await thread!.decide(smtpLogin(secret), recordingLogger([]));
    assert.equal(again.outcome === 'accepted' && again.method, 'grant');
    const other = await thread!.decide(smtpLogin(secret, '192.0.2.7'), recordingLogger([]));
    assert.deepEqual([other.outcome, other.outcome === 'rejected' && other.reason], ['rejected', 'replay']);

    const wrong = await thread!.decide(smtpLogin('not the password'), recordingLogger(loginLines));
    assert.deepEqual([wrong.outcome, wrong.outcome === 'rejected' && wrong.reason], ['rejected', 'missing-code']);
    assert.deepEqual(threadLines, [], 'login lines never reach the thread logger');
  });

  it('logs other lines to the thread logger', async () => {
    startThread({ ...ini, totp: { windw: '1' } });
    await thread!.decide(smtpLogin(PASSWORD), recordingLogger([]));
    assert.match(threadLines.map(([, , message]) => message).join('\n'), /windw/);
  });

  it('applies a re-read twostep.ini', async () => {
    startThread();
    const before = await thread!.decide(smtpLogin(PASSWORD), recordingLogger([]));
    assert.equal(before.outcome, 'rejected');
    thread!.applyIni({ ...ini, policy: { global: 'disabled' } });
    const after = await thread!.decide(smtpLogin(PASSWORD), recordingLogger([]));
    assert.deepEqual(after, { outcome: 'accepted', account: ALICE, method: 'password', password: PASSWORD });
  });

  it('fails temporarily until the installation opens', async () => {
    startThread({ ...ini, backend: { type: 'ldap' } });
    const loginLines: Line[] = [];
    const failed = await thread!.decide(smtpLogin(PASSWORD), recordingLogger(loginLines));
    assert.equal(failed.outcome, 'temporary-failure');
    assert.deepEqual(
      loginLines.map(([level, fields, message]) => [level, message, fields.account, fields.reason, fields.cause]),
      [['error', 'cannot open the TwoStep installation', ALICE, 'ERR_INVALID_CONFIG', 'invalid twostep.ini [backend] type = ldap: expected passwd-file']],
    );

    thread!.applyIni({ ...ini, policy: { global: 'disabled' } });
    const recovered = await thread!.decide(smtpLogin(PASSWORD), recordingLogger([]));
    assert.equal(recovered.outcome, 'accepted');
  });

  it('writes waiting activity on flush', async () => {
    startThread();
    const accepted = await thread!.decide(smtpLogin(PASSWORD + (await currentCode()), '127.0.0.31'), recordingLogger([]));
    assert.equal(accepted.outcome, 'accepted');
    const deviceId = (await installation.context.store.get<{ devices: { id: string }[] }>(keys.account(ALICE)))!.devices[0].id;
    const lastUseKey = keys.lastUse(ALICE, deviceId);
    assert.equal(await installation.context.store.get(lastUseKey), undefined, 'the batch is still waiting');
    await thread!.flush();
    const used = await installation.context.store.get<{ ip: string }>(lastUseKey);
    assert.equal(used?.ip, '127.0.0.31');
  });

  it('opens before the first login', async () => {
    startThread();
    await thread!.open();
    const failing = new DecisionThread(configDir, { ...ini, backend: { type: 'ldap' } }, recordingLogger([]));
    try {
      await assert.rejects(failing.open(), /invalid twostep.ini \[backend\] type = ldap/);
    } finally {
      await failing.close();
    }
  });

  it('closes after the logins in flight', async () => {
    startThread();
    const waiting = thread!.decide(smtpLogin(PASSWORD + (await currentCode())), recordingLogger([]));
    await thread!.close();
    assert.equal((await waiting).outcome, 'accepted');
  });

  it('fails waiting logins when the thread ends', async () => {
    startThread();
    const waiting = thread!.decide(smtpLogin(PASSWORD + (await currentCode())), recordingLogger([]));
    // As a crash would: the worker ends before it replies.
    await (thread as unknown as { worker: Worker }).worker.terminate();
    assert.deepEqual(await waiting, { outcome: 'temporary-failure', reason: 'ERR_INTERNAL' });
    assert.equal(thread!.ended, true);
  });

  it('fails temporarily once closed', async () => {
    startThread();
    await thread!.close();
    assert.equal(thread!.ended, true);
    const decision = await thread!.decide(smtpLogin(PASSWORD), recordingLogger([]));
    assert.deepEqual(decision, { outcome: 'temporary-failure', reason: 'ERR_INTERNAL' });
  });
});
