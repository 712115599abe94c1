import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { provisionSecretKey, getAccountStatus } from '../../src/core/accounts';
import { generateCode } from '../../src/core/totp';
import { smtpLogin, startHaraka, type RunningHaraka } from '../helpers/haraka';
import { RFC_KEY } from '../helpers/installation';

const PASSWORD = 'several workers 1';
const CLI = { actor: 'cli:test' };

describe('Haraka with several worker processes', function () {
  this.timeout(90_000);
  let haraka: RunningHaraka;

  before(async () => {
    haraka = await startHaraka({ workers: 2 });
    for (const account of ['replay@example.org', 'counter@example.org']) {
      await haraka.installation.passwdFile!.setPassword(account, PASSWORD, 'PLAIN');
      await provisionSecretKey(haraka.installation.context, CLI, account, RFC_KEY);
    }
  });

  after(async () => {
    await haraka?.stop();
  });

  it('runs two worker processes', () => {
    const children = execFileSync('ps', ['-o', 'comm=', '--ppid', String(haraka.process.pid)], { encoding: 'utf8' }).trim().split('\n');
    const workers = children.filter((command) => command.trim() === 'node');
    assert.equal(workers.length, 2, `child processes: ${children.join(', ')}`);
  });

  it('one code is accepted once across workers', async () => {
    const left = 30 - (Math.floor(Date.now() / 1000) % 30);
    if (left < 10) {
      await new Promise((resolve) => setTimeout(resolve, left * 1000 + 200));
    }
    const secret = `${PASSWORD}${await generateCode(RFC_KEY, Math.floor(Date.now() / 1000))}`;
    // Distinct source addresses, so no login grant can be shared between the attempts.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) => smtpLogin(haraka.port, 'replay@example.org', secret, { localAddress: `127.0.1.${index + 1}` })),
    );
    assert.equal(results.filter((result) => result.ok).length, 1, JSON.stringify(results));
    assert.ok(results.filter((result) => !result.ok).every((result) => !result.ok && result.code === 535));
  });

  it('failed codes are counted exactly across workers', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        smtpLogin(haraka.port, 'counter@example.org', `${PASSWORD}${String(500000 + index)}`, { localAddress: `127.0.2.${index + 1}` }),
      ),
    );
    assert.ok(results.every((result) => !result.ok));
    const status = await getAccountStatus(haraka.installation.context, 'counter@example.org');
    assert.equal(status.secondFactorFailures, 6);
  });
});
