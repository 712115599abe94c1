import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../../src/store';
import { describeWithPrograms } from '../helpers/system';
import { REDIS_SERVER, startRedis, type RedisServer } from '../helpers/redis';

const run = promisify(execFile);
const WORKER = join(__dirname, 'fixtures', 'store-worker.js');
const PROCESSES = 6;
const INCREMENTS = 25;

/** Starts the worker processes together on one store and returns how many claims won. */
async function race(url: string): Promise<number> {
  const startAt = Date.now() + 1500;
  const outputs = await Promise.all(
    Array.from({ length: PROCESSES }, () => run(process.execPath, [WORKER, url, String(startAt), String(INCREMENTS)], { timeout: 20_000 })),
  );
  return outputs.map((output) => JSON.parse(output.stdout) as { claimed: boolean }).filter((result) => result.claimed).length;
}

async function check(url: string): Promise<void> {
  assert.equal(await race(url), 1, 'exactly one process wins the step');
  const store = openStore(url, '/nonexistent');
  try {
    assert.equal(await store.readCounter('shared-counter'), PROCESSES * INCREMENTS);
  } finally {
    await store.close();
  }
}

describe('store across processes', function () {
  this.timeout(30_000);

  it('SQLite: one claim wins, counts are exact', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twostep-processes-'));
    try {
      await check(`sqlite://${join(folder, 'store.sqlite')}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  describeWithPrograms('on Redis', [REDIS_SERVER], () => {
    let server: RedisServer;
    before(async () => {
      server = await startRedis();
    });
    after(async () => {
      await server?.stop();
    });

    it('Redis: one claim wins, counts are exact', async () => {
      await check(server.url('processes'));
    });
  });
});
