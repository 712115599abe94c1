import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite';
import { defineStoreContract } from './contract';
import { MAX_AUDIT_EVENTS_PER_ACCOUNT, type AuditEvent } from '../../src/store/types';
import { isTwoStepError } from '../../src/core/errors';

describe('SQLite store contract', () => {
  let folder: string;
  let files = 0;

  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-contract-'));
  });

  after(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  defineStoreContract({
    faultBudgetMs: 1000,
    async create() {
      files += 1;
      return new SqliteStore(join(folder, `store-${files}.sqlite`));
    },
    async createBroken() {
      // A folder where the database file should be: SQLite cannot open it.
      const path = join(folder, `folder-${files++}.sqlite`);
      mkdirSync(path);
      return new SqliteStore(path);
    },
  });

  it('names the file it cannot open', async () => {
    const path = join(folder, 'a-folder.sqlite');
    mkdirSync(path);
    const store = new SqliteStore(path);
    await assert.rejects(store.get('anything'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_STORE_UNAVAILABLE');
      assert.match(error.message, new RegExp(`^store read failed: cannot open ${path} as user \\S+: .+; check that this user can read and write the file and its folder$`));
      return true;
    });
  });
});

describe('SQLite writeMany', () => {
  it('lands all writes or none', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-batch-'));
    const store = new SqliteStore(join(folder, 'store.sqlite'));
    try {
      await store.set('grant', 'before');
      // An audit event without a time breaks the table's NOT NULL rule after the first write ran.
      const broken = { at: null, actor: 'cli', action: 'test' } as unknown as AuditEvent;
      await assert.rejects(
        store.writeMany([{ type: 'set', key: 'grant', value: 'after' }, { type: 'audit', event: broken }]),
        (error: unknown) => isTwoStepError(error, 'ERR_STORE_UNAVAILABLE'),
      );
      assert.equal(await store.get('grant'), 'before');
      assert.deepEqual(await store.listAudit({}), []);
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('SQLite attemptSecondFactor', () => {
  it('failed write undoes claim and count', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-attempt-'));
    const store = new SqliteStore(join(folder, 'store.sqlite'));
    try {
      const broken = { at: null, actor: 'cli', action: 'test' } as unknown as AuditEvent;
      await assert.rejects(
        store.attemptSecondFactor({ counterKey: 'fails', limit: 3, count: true, claim: { key: 'device', step: 5 }, onClaim: [{ type: 'audit', event: broken }] }),
        (error: unknown) => isTwoStepError(error, 'ERR_STORE_UNAVAILABLE'),
      );
      assert.equal(await store.readCounter('fails'), 0);
      assert.equal(await store.claimStep('device', 5), true, 'the step is still free');
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('SQLite audit log limits', () => {
  it('keeps the newest events per account and drops older ones', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-audit-'));
    const store = new SqliteStore(join(folder, 'store.sqlite'));
    try {
      // 1,200 appends cross the every-500 pruning point twice.
      for (let i = 0; i < 1200; i++) {
        await store.appendAudit({ at: i, actor: 'busy@example.org', action: 'login', account: 'busy@example.org', detail: String(i) });
      }
      await store.appendAudit({ at: 5000, actor: 'quiet@example.org', action: 'login', account: 'quiet@example.org' });
      await store.pruneAudit();
      const busy = await store.listAudit({ account: 'busy@example.org', limit: 5000 });
      assert.equal(busy.length, MAX_AUDIT_EVENTS_PER_ACCOUNT);
      assert.equal(busy[0].detail, '1199', 'the newest event is kept');
      assert.equal(busy[busy.length - 1].detail, String(1200 - MAX_AUDIT_EVENTS_PER_ACCOUNT));
      assert.equal((await store.listAudit({ account: 'quiet@example.org' })).length, 1);
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

/** Counts rows through a read-only connection of its own, as another process would read them. */
function countRows(path: string, sql: string): number {
  const reader = new Database(path, { readonly: true });
  try {
    return (reader.prepare(sql).get() as { count: number }).count;
  } finally {
    reader.close();
  }
}

describe('SQLite expired counters', () => {
  it('deleted every 1,000 windowed increments', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-counters-'));
    let now = 1_000_000;
    const store = new SqliteStore(join(folder, 'store.sqlite'), () => now);
    const rows = () => countRows(join(folder, 'store.sqlite'), 'SELECT COUNT(*) AS count FROM twostep_counters');
    try {
      await store.increment('lock:kept');
      for (let i = 0; i < 999; i++) {
        await store.increment(`rate-limit:address-${i}`, 60_000);
      }
      now += 60_000;
      assert.equal(rows(), 1000, 'expired rows stay until the next pruning point');

      await store.increment('rate-limit:address-new', 60_000);
      assert.equal(rows(), 2, 'the counter without a window and the new one');
      assert.equal(await store.readCounter('lock:kept'), 1);
      assert.equal(await store.readCounter('rate-limit:address-new'), 1);
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('SQLite expired values', () => {
  it('deleted every 1,000 writes with a time to live', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-values-'));
    const path = join(folder, 'store.sqlite');
    const store = new SqliteStore(path);
    const rows = () => countRows(path, "SELECT COUNT(*) AS count FROM keyv WHERE key LIKE 'twostep:%'");
    try {
      await store.set('account:kept@example.org', { devices: [] });
      await store.set('web-session:live', { stage: 'signed-in' }, 60_000);
      for (let i = 0; i < 998; i++) {
        await store.set(`grant:old-${i}`, { account: 'a@example.org' }, 1);
      }
      // keyv judges expiry by the wall clock.
      await new Promise((resolvePause) => setTimeout(resolvePause, 20));
      assert.equal(rows(), 1000, 'expired rows stay until the next pruning point');

      await store.set('grant:new', { account: 'a@example.org' }, 60_000);
      assert.equal(rows(), 3, 'the account, the live session and the new grant');
      assert.deepEqual(await store.get('web-session:live'), { stage: 'signed-in' });
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('SQLite file locked by another connection', () => {
  let folder: string;
  let path: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-busy-'));
    path = join(folder, 'store.sqlite');
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('waits without blocking timers', async () => {
    const store = new SqliteStore(path, Date.now, 5000);
    await store.increment('count');
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      const pending = store.increment('count');
      await new Promise((resolvePause) => setTimeout(resolvePause, 300));
      // The other connection commits after a timer, which a blocked event loop would never fire.
      other.exec('COMMIT');
      assert.equal(await pending, 2);
      assert.ok(ticks >= 10, `the timer ran ${ticks} times in 300 ms`);
    } finally {
      clearInterval(ticker);
      other.close();
      await store.close();
    }
  });

  it('fails as unavailable after the timeout', async () => {
    const store = new SqliteStore(path, Date.now, 100);
    await store.set('record', { n: 1 });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      await assert.rejects(
        store.update<{ n: number }>('record', (current) => ({ n: (current?.n ?? 0) + 1 })),
        (error: unknown) => isTwoStepError(error, 'ERR_STORE_UNAVAILABLE') && /locked/.test((error as Error).message),
      );
      other.exec('COMMIT');
      assert.deepEqual(await store.update<{ n: number }>('record', (current) => ({ n: (current?.n ?? 0) + 1 })), { n: 2 });
    } finally {
      other.close();
      await store.close();
    }
  });
});

describe('SQLite file layout', () => {
  let folder: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'twostep-sqlite-layout-'));
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  function tableSql(path: string): Record<string, string> {
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all();
      return Object.fromEntries(rows.map((row) => [row.name, row.sql]));
    } finally {
      db.close();
    }
  }

  it('makes the claim and counter tables without rowid', async () => {
    const path = join(folder, 'store.sqlite');
    const store = new SqliteStore(path);
    await store.claimStep('device', 1);
    await store.close();
    const tables = tableSql(path);
    assert.match(tables.twostep_steps, /WITHOUT ROWID$/);
    assert.match(tables.twostep_counters, /WITHOUT ROWID$/);
  });

  it('works on a file whose tables have rowids', async () => {
    const path = join(folder, 'store.sqlite');
    // The layout that files made by earlier versions have.
    const earlier = new Database(path);
    earlier.exec('CREATE TABLE twostep_steps (key TEXT PRIMARY KEY, step INTEGER NOT NULL)');
    earlier.exec('CREATE TABLE twostep_counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER)');
    earlier.exec("INSERT INTO twostep_steps VALUES ('device', 7)");
    earlier.close();

    const store = new SqliteStore(path);
    try {
      assert.equal(await store.claimStep('device', 7), false, 'the claim made before still counts');
      assert.equal(await store.claimStep('device', 8), true);
      await store.increment('fails', 60_000);
      await store.increment('fails', 60_000);
      await store.set('state', { devices: 1 });
      assert.deepEqual(await store.readMany(['state', 'absent'], ['fails', 'other']), { values: [{ devices: 1 }, undefined], counters: [2, 0] });
    } finally {
      await store.close();
    }
    assert.doesNotMatch(tableSql(path).twostep_steps, /WITHOUT ROWID/);
  });
});
