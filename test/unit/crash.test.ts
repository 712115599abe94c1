import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openInstallation } from '../../src/installation';
import { keys, type AccountRecord } from '../../src/core/model';

describe('a crash during enrollment', function () {
  this.timeout(60_000);

  it('loses no acknowledged enrollment and leaves no half-enrolled device', async () => {
    const home = mkdtempSync(join(tmpdir(), 'twostep-crash-'));
    const configDir = join(home, 'config');
    const dataDir = join(home, 'data');
    mkdirSync(configDir);
    try {
      const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'enroll-loop.js'), configDir, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      const acknowledged: string[] = [];
      let errors = '';
      child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        let buffer = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) {
            acknowledged.push(line.replace(/^ack /, ''));
          }
          if (acknowledged.length >= 30) {
            // SIGKILL: no chance to finish the current write or close the file.
            child.kill('SIGKILL');
          }
        });
        child.once('exit', () => (acknowledged.length >= 30 ? resolve() : reject(new Error(`the child stopped early: ${errors}`))));
      });

      const installation = await openInstallation({ configDir, ini: {}, env: { TWOSTEP_DATA_DIR: dataDir } });
      try {
        for (const account of acknowledged) {
          const record = await installation.context.store.get<AccountRecord>(keys.account(account));
          assert.equal(record?.devices.length, 1, `${account} lost its acknowledged device`);
          assert.equal(record?.recoveryCodes.length, 10, `${account} lost its recovery codes`);
        }
        const stored = await installation.context.store.listKeys(keys.accountPrefix);
        for (const key of stored) {
          const record = await installation.context.store.get<AccountRecord>(key);
          assert.ok(record, key);
          const halfEnrolled = record.devices.length > 0 && record.recoveryCodes.length === 0;
          assert.ok(!halfEnrolled, `${key} has a device without recovery codes`);
          assert.ok(!record.devices.some((device) => device.id === record.pendingDevice?.id), `${key} has a device that is also pending`);
        }
        assert.ok(stored.length >= acknowledged.length);
      } finally {
        await installation.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
