import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH, CliHome, assertFailure } from './cli-runner';
import { freePort } from '../helpers/ports';
import { openStore } from '../../src/store';
import { keys } from '../../src/core/model';

describe('twostep serve, migrate and auth-key', function () {
  this.timeout(60_000);
  let home: CliHome;

  beforeEach(() => {
    home = new CliHome();
  });

  afterEach(() => {
    home.remove();
  });

  it('serve answers on the given port and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', String(port)], {
      env: { ...process.env, TWOSTEP_HOME: home.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
          if (match) {
            resolve(match[1]);
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      assert.equal(url, `http://127.0.0.1:${port}/`);
      const response = await fetch(`${url}sign-in`);
      assert.equal(response.status, 200);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });

  it('serve rejects a bad port', async () => {
    assertFailure(await home.run(['serve', '--port', '70000']), 1, /--port/);
  });

  it('migrate copies a store and refuses a non-empty target', async () => {
    await home.run(['passwd', 'alice@example.org'], { input: 'a-long-password\n' });
    await home.json(['secret', 'set', 'alice@example.org', 'JBSWY3DPEHPK3PXP']);
    const source = `sqlite://${join(home.dataDir, 'store.sqlite')}`;
    const target = `sqlite://${join(home.home, 'copy.sqlite')}`;

    const counts = await home.json<{ values: number; audit: number }>(['migrate', '--from', source, '--to', target]);
    assert.ok(counts.values >= 2, JSON.stringify(counts));
    assert.ok(counts.audit >= 1, JSON.stringify(counts));
    const copy = openStore(target, home.home);
    try {
      assert.ok(await copy.get(keys.account('alice@example.org')));
    } finally {
      await copy.close();
    }

    const rejected = await home.run(['migrate', '--from', source, '--to', target]);
    assertFailure(rejected, 1, /^twostep: the target sqlite store already holds records: migrate into an empty store, or pass --force to replace records with the same keys$/);
    assert.equal(rejected.stderr.match(/--force/g)?.length, 1, 'the hint is given once');
  });

  it('migrate prints plain lines into a pipe', async () => {
    // One audit event, so the summary must use the singular for it.
    await home.json(['domain', 'add', 'example.org']);
    const source = `sqlite://${join(home.dataDir, 'store.sqlite')}`;

    const text = await home.run(['migrate', '--from', source, '--to', `sqlite://${join(home.home, 'copy.sqlite')}`]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stderr, '', 'no progress line when stderr is a pipe');
    const summary = /^Copied (\d+) (values?), (\d+) (step claims?), (\d+) (counters?) and (\d+) (audit events?)\.\n$/.exec(text.stdout);
    assert.ok(summary, text.stdout);
    for (let group = 1; group < summary.length; group += 2) {
      const count: number = Number(summary[group]);
      assert.equal(summary[group + 1].endsWith('s'), count !== 1, `"${summary[group]} ${summary[group + 1]}" agrees in number`);
    }
    assert.equal(summary[7], '1', 'the store holds one audit event');
  });

  it('auth-key prints the key in auth.key, the same on every call', async () => {
    const first = await home.json<{ key: string }>(['auth-key']);
    const second = await home.run(['auth-key']);
    assert.equal(second.code, 0);
    assert.equal(second.stdout.trim(), first.key);
    assert.equal(readFileSync(join(home.dataDir, 'auth.key'), 'utf8').trim(), first.key);
  });

  it('migrate rejects an unknown URL scheme', async () => {
    assertFailure(await home.run(['migrate', '--from', 'mysql://x', '--to', 'sqlite:///tmp/x.sqlite']), 78, /expected empty, sqlite:\/\/PATH or redis:\/\/HOST:PORT/);
  });
});
