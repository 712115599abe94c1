import { chmodSync, mkdirSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import Keyv, { type KeyvStoreAdapter, type StoredData } from 'keyv';
import { storeUnavailable } from '../core/errors';
import { processUser } from '../process-user';
import { keys } from '../core/model';
import { isExpiredEntry, MAX_AUDIT_EVENTS, MAX_AUDIT_EVENTS_PER_ACCOUNT, type AuditEvent, type AuditQuery, type SecondFactorAttempt, type SecondFactorAttemptResult, type Store, type StoreEntry, type StoreWrite } from './types';

const NAMESPACE = 'twostep';
const TABLE = 'keyv';
/** A writer waits this long for another process's transaction before it reports a fault. */
const BUSY_TIMEOUT_MS = 5000;
/** Maximum pause between two tries for a lock that another connection holds. */
const MAX_BUSY_PAUSE_MS = 50;
/** The audit log is trimmed to its limits once per this many appends in a process. */
const AUDIT_PRUNE_EVERY = 500;
/**
 * Expired windowed counters (failures per address, panel rate limits) are deleted once per this
 * many windowed increments in a process. Redis expires them itself.
 */
const COUNTER_PRUNE_EVERY = 1000;
/**
 * Keys whose values are written with a time to live. keyv hides an expired value but leaves its
 * row, so expired rows under these prefixes are deleted once per VALUE_PRUNE_EVERY such writes in
 * a process. Redis expires them itself.
 */
const EXPIRING_PREFIXES = [keys.grantPrefix, keys.webSessionPrefix];
const VALUE_PRUNE_EVERY = 1000;
/** Rows per multi-row INSERT when importing; keeps each statement under SQLite's parameter limit. */
const IMPORT_ROWS_PER_STATEMENT = 200;
const AUDIT_COLUMNS = ['at', 'actor', 'action', 'account', 'ip', 'protocol', 'detail'] as const;

interface Envelope<T> {
  value: T;
  expires?: number;
}

type Row = Record<string, unknown>;

const SCHEMA = [
  // The table and columns of @keyv/sqlite, so files written by earlier versions open unchanged.
  `CREATE TABLE IF NOT EXISTS ${TABLE} (key VARCHAR(255) PRIMARY KEY, value TEXT)`,
  // WITHOUT ROWID keeps each row in the key's b-tree, so a claim or a count writes one page, not
  // a table page and an index page. Files made before keep their tables, and the SQL is the same.
  'CREATE TABLE IF NOT EXISTS twostep_steps (key TEXT PRIMARY KEY, step INTEGER NOT NULL) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS twostep_counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER) WITHOUT ROWID',
  `CREATE TABLE IF NOT EXISTS twostep_audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
     account TEXT, ip TEXT, protocol TEXT, detail TEXT)`,
  'CREATE INDEX IF NOT EXISTS twostep_audit_account ON twostep_audit (account, at)',
];

/** Prepares the statements of the login path, once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    getValue: db.prepare<[string], { value: string }>(`SELECT value FROM ${TABLE} WHERE key = ?`),
    getValues: db.prepare<[string], { key: string; value: string }>(`SELECT key, value FROM ${TABLE} WHERE key IN (SELECT value FROM json_each(?))`),
    // One statement reads one snapshot, so the values and counters need no BEGIN and COMMIT around them.
    // The join looks each listed key up in the table's index. `IN (SELECT …)` copies the list into
    // a temporary table first, and the read took about 12 % longer in a test.
    getValuesAndCounters: db.prepare<[string, string], { kind: 0 | 1; key: string; value: string | null; count: number | null; expires: number | null }>(
      `SELECT 0 AS kind, stored.key, stored.value, NULL AS count, NULL AS expires FROM json_each(?) AS wanted JOIN ${TABLE} AS stored ON stored.key = wanted.value
       UNION ALL
       SELECT 1, counter.key, NULL, counter.count, counter.expires FROM json_each(?) AS wanted JOIN twostep_counters AS counter ON counter.key = wanted.value`,
    ),
    setValue: db.prepare(`INSERT INTO ${TABLE} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    deleteValue: db.prepare(`DELETE FROM ${TABLE} WHERE key = ?`),
    claimStep: db.prepare(
      `INSERT INTO twostep_steps (key, step) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET step = excluded.step WHERE twostep_steps.step < excluded.step`,
    ),
    increment: db.prepare<[string, number | null, number, number], { count: number }>(
      `INSERT INTO twostep_counters (key, count, expires) VALUES (?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN twostep_counters.expires IS NOT NULL AND twostep_counters.expires <= ? THEN 1 ELSE twostep_counters.count + 1 END,
         expires = CASE WHEN twostep_counters.expires IS NOT NULL AND twostep_counters.expires <= ? THEN excluded.expires ELSE twostep_counters.expires END
       RETURNING count`,
    ),
    readCounter: db.prepare<[string], { count: number; expires: number | null }>('SELECT count, expires FROM twostep_counters WHERE key = ?'),
    resetCounter: db.prepare('DELETE FROM twostep_counters WHERE key = ?'),
    appendAudit: db.prepare(`INSERT INTO twostep_audit (${AUDIT_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The transactions of the login path, made once per connection: better-sqlite3 builds four
 * wrapper functions for every db.transaction() call, which a login would otherwise pay each time.
 */
function prepareTransactions(db: Database.Database, statements: Statements) {
  return {
    writeMany: db.transaction((writes: readonly StoreWrite[], wallClock: number) => applyWrites(statements, writes, wallClock)),
    // IMMEDIATE takes the write lock first: the count read here is the one written.
    attemptSecondFactor: db.transaction((attempt: SecondFactorAttempt, now: number, wallClock: number): SecondFactorAttemptResult => {
      const current = counterValue(statements, attempt.counterKey, now);
      const attempts = attempt.count ? current + 1 : undefined;
      const allowed = attempts === undefined ? current < attempt.limit : attempts <= attempt.limit;
      let claimed = false;
      if (allowed && attempt.claim) {
        claimed = statements.claimStep.run(attempt.claim.key, attempt.claim.step).changes === 1;
        if (claimed) {
          applyWrites(statements, attempt.onClaim, wallClock);
        }
      }
      if (!claimed && attempt.claim && attempt.grantKey !== undefined && hasLiveValue(statements, `${NAMESPACE}:${attempt.grantKey}`, wallClock)) {
        return { allowed: true, claimed: false, granted: true };
      }
      // A winning claim resets the count in its writes, so the count is written only when
      // the attempt did not get in: raising it first would write the row twice for nothing.
      if (attempt.count && !claimed) {
        statements.increment.get(attempt.counterKey, null, now, now);
      }
      return attempts === undefined ? { allowed, claimed } : { allowed, attempts, claimed };
    }).immediate,
  };
}

/** Returns whether adding `added` to reach `total` passed a multiple of `every`. */
function reachesMultiple(total: number, added: number, every: number): boolean {
  return added > 0 && Math.floor(total / every) > Math.floor((total - added) / every);
}

/** Returns whether an error is SQLite's "database is locked" (SQLITE_BUSY and its extended codes). */
function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
}

/** Returns the value in a stored keyv envelope, or undefined when there is none or it expired by keyv's rule. */
function liveValue(raw: string | undefined, wallClock: number): unknown {
  if (raw === undefined) {
    return undefined;
  }
  const envelope = JSON.parse(raw) as Envelope<unknown>;
  return typeof envelope.expires === 'number' && wallClock > envelope.expires ? undefined : envelope.value;
}

/** Returns whether a value row exists and has not expired by keyv's clock. */
function hasLiveValue(statements: Statements, rowKey: string, wallClock: number): boolean {
  return liveValue(statements.getValue.get(rowKey)?.value, wallClock) !== undefined;
}

/** Returns a counter's count, 0 when absent or past its window. */
function counterValue(statements: Statements, key: string, now: number): number {
  const row = statements.readCounter.get(key);
  return row === undefined || (typeof row.expires === 'number' && row.expires <= now) ? 0 : Number(row.count);
}

/**
 * Reads values (keyv row keys) and counters as one snapshot, with one statement. `now` is the
 * counters' clock; `wallClock` is keyv's clock for value expiry.
 */
function readValuesAndCounters(statements: Statements, rowKeys: readonly string[], counterKeys: readonly string[], now: number, wallClock: number) {
  const values = new Map<string, string>();
  const counters = new Map<string, number>();
  for (const row of statements.getValuesAndCounters.all(JSON.stringify(rowKeys), JSON.stringify(counterKeys))) {
    if (row.kind === 0) {
      values.set(row.key, row.value!);
    } else if (!(typeof row.expires === 'number' && row.expires <= now)) {
      counters.set(row.key, Number(row.count));
    }
  }
  return {
    values: rowKeys.map((rowKey) => liveValue(values.get(rowKey), wallClock)),
    counters: counterKeys.map((key) => counters.get(key) ?? 0),
  };
}

interface Connection {
  readonly db: Database.Database;
  readonly statements: Statements;
  readonly transactions: ReturnType<typeof prepareTransactions>;
}

/** Runs a batch of writes inside the caller's transaction. `now` is keyv's clock, used for value expiry. */
function applyWrites(statements: Statements, writes: readonly StoreWrite[], now: number): void {
  for (const write of writes) {
    switch (write.type) {
      case 'set': {
        const envelope: Envelope<unknown> = write.ttlMs === undefined ? { value: write.value } : { value: write.value, expires: now + write.ttlMs };
        statements.setValue.run(`${NAMESPACE}:${write.key}`, JSON.stringify(envelope));
        break;
      }
      case 'reset-counter':
        statements.resetCounter.run(write.key);
        break;
      case 'audit': {
        const { event } = write;
        statements.appendAudit.run(event.at, event.actor, event.action, event.account ?? null, event.ip ?? null, event.protocol ?? null, event.detail ?? null);
        break;
      }
    }
  }
}

/**
 * keyv storage adapter over the store's SQLite connection. Calls run synchronously inside the
 * returned promises, so a read or write costs microseconds and no trip through a thread pool.
 */
class SqliteKeyvAdapter extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = { dialect: 'sqlite' };
  namespace?: string;

  constructor(private readonly connect: () => Connection) {
    super();
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.connect().statements.getValue.get(key)?.value as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<StoredData<Value | undefined>[]> {
    const rows = this.connect().statements.getValues.all(JSON.stringify(keys));
    const byKey = new Map(rows.map((row) => [row.key, row.value]));
    return keys.map((key) => byKey.get(key) as StoredData<Value | undefined>);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.connect().statements.setValue.run(key, value);
  }

  async delete(key: string): Promise<boolean> {
    return this.connect().statements.deleteValue.run(key).changes > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    const { db, statements } = this.connect();
    let deleted = false;
    db.transaction(() => {
      for (const key of keys) {
        deleted = statements.deleteValue.run(key).changes > 0 || deleted;
      }
    })();
    return deleted;
  }

  async clear(): Promise<void> {
    this.connect().db.prepare(`DELETE FROM ${TABLE} WHERE key > ? AND key < ?`).run(`${NAMESPACE}:`, `${NAMESPACE};`);
  }
}

/**
 * The embedded store: keyv over one SQLite file, through better-sqlite3. Values go through keyv
 * in the table layout of @keyv/sqlite. The step claims, counters and compare-and-swap updates
 * use SQL on the same file (`INSERT … ON CONFLICT … RETURNING`, IMMEDIATE transactions), and
 * SQLite serialises them across processes.
 *
 * Queries run synchronously, because each trip through a thread pool would wait for a turn of
 * an event loop that is busy with TLS handshakes. A query here takes microseconds. A query that
 * finds the file locked by another connection is tried again after timer pauses, so the event
 * loop keeps serving other connections while it waits, for up to `busyTimeoutMs`.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly keyv: Keyv;
  private connection?: Connection;
  private auditAppends = 0;
  private windowedIncrements = 0;
  private expiringWrites = 0;

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
    private readonly busyTimeoutMs = BUSY_TIMEOUT_MS,
  ) {
    this.keyv = new Keyv({
      store: new SqliteKeyvAdapter(() => this.connect()),
      namespace: NAMESPACE,
      throwOnErrors: true,
      serialize: JSON.stringify,
      deserialize: JSON.parse,
    });
    this.keyv.on('error', () => {
      // Errors reach the caller through the rejected promise because throwOnErrors is set.
    });
  }

  /** Opens the file on first use. A failed open is retried on the next call, so the store recovers once the fault is cleared. */
  private connect(): Connection {
    if (this.connection) {
      return this.connection;
    }
    let db: Database.Database;
    try {
      if (this.path !== ':memory:') {
        mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      }
      // No waiting inside SQLite, whose busy handler sleeps on the event loop's thread: run() and
      // keyvCall() pause on timers between tries instead.
      db = new Database(this.path, { timeout: 0 });
    } catch (error) {
      // SQLite's message is only "unable to open database file": the path and the user tell what to fix.
      const message = `cannot open ${this.path} as user ${processUser()}: ${(error as Error).message}; check that this user can read and write the file and its folder`;
      throw new Error(message, { cause: error });
    }
    try {
      db.pragma('journal_mode = WAL');
      // In WAL mode, NORMAL syncs at checkpoints instead of every commit: a crashed process loses
      // nothing, and only a power loss or OS crash can lose the last commits. That is the trade
      // made for login throughput; see the README's limits.
      db.pragma('synchronous = NORMAL');
      if (this.path !== ':memory:') {
        // The file contains encrypted secret keys and keyed hashes: readable by the owner only.
        chmodSync(this.path, 0o600);
      }
      for (const statement of SCHEMA) {
        db.exec(statement);
      }
      const statements = prepareStatements(db);
      this.connection = { db, statements, transactions: prepareTransactions(db, statements) };
      return this.connection;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Runs `work` on the connection, at once: a caller in a process 'exit' handler still gets it
   * done. A locked file is tried again (see `retryAfter`); any other SQLite fault becomes
   * ERR_STORE_UNAVAILABLE and the connection is reopened next time.
   */
  private run<T>(operation: string, work: (connection: Connection) => T, isCallerError?: (error: unknown) => boolean): Promise<T> {
    try {
      return Promise.resolve(work(this.connect()));
    } catch (error) {
      return this.retryAfter(error, operation, async () => work(this.connect()), isCallerError);
    }
  }

  private async keyvCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      return this.retryAfter(error, operation, call);
    }
  }

  /**
   * Handles a failed try. After SQLITE_BUSY it tries `attempt` again, pausing 1, 2, 4 … up to
   * 50 ms in between, for up to `busyTimeoutMs`. A busy statement or transaction changed
   * nothing, because SQLite reports it before the first write and rolls the transaction back.
   * Errors that `isCallerError` accepts pass through unchanged.
   */
  private async retryAfter<T>(failure: unknown, operation: string, attempt: () => Promise<T>, isCallerError?: (error: unknown) => boolean): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let error = failure;
    for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, MAX_BUSY_PAUSE_MS)) {
      if (isCallerError?.(error)) {
        throw error;
      }
      if (!isBusy(error)) {
        this.drop();
        throw storeUnavailable(operation, error);
      }
      if (Date.now() + pauseMs > deadline) {
        throw storeUnavailable(operation, error);
      }
      await new Promise((resolvePause) => setTimeout(resolvePause, pauseMs));
      try {
        return await attempt();
      } catch (next) {
        error = next;
      }
    }
  }

  private drop(): void {
    const connection = this.connection;
    this.connection = undefined;
    try {
      connection?.db.close();
    } catch {
      // Already unusable.
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.keyvCall('read', () => this.keyv.get<T>(key));
  }

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) {
      return [];
    }
    return this.keyvCall('read', () => this.keyv.getMany<T>([...keys]));
  }

  async readMany<T>(valueKeys: readonly string[], counterKeys: readonly string[]): Promise<{ values: (T | undefined)[]; counters: number[] }> {
    const rowKeys = valueKeys.map((key) => `${NAMESPACE}:${key}`);
    // Values expire by keyv's clock, as keyv.get would judge them.
    const read = await this.run('read', ({ statements }) => readValuesAndCounters(statements, rowKeys, counterKeys, this.now(), Date.now()));
    return { values: read.values as (T | undefined)[], counters: read.counters };
  }

  async set<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    await this.keyvCall('write', () => this.keyv.set(key, value, ttlMs));
    if (ttlMs !== undefined) {
      await this.countWrites(0, 1);
    }
  }

  async delete(key: string): Promise<boolean> {
    return this.keyvCall('delete', () => this.keyv.delete(key));
  }

  async update<T>(key: string, mutate: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const rowKey = `${NAMESPACE}:${key}`;
    // An error thrown by `mutate` is the caller's, not a store fault: it passes through unchanged.
    let mutateError: { readonly error: unknown } | undefined;
    const change = (connection: Connection): T | undefined => {
      const { statements } = connection;
      const current = this.decodeEnvelope<T>(statements.getValue.get(rowKey)?.value);
      let next: T | undefined;
      try {
        next = mutate(current);
      } catch (error) {
        mutateError = { error };
        throw error;
      }
      if (next === undefined) {
        statements.deleteValue.run(rowKey);
      } else {
        statements.setValue.run(rowKey, JSON.stringify({ value: next } satisfies Envelope<T>));
      }
      return next;
    };
    // IMMEDIATE takes the write lock first, so no other process changes the row in between.
    return this.run(
      'update',
      (connection) => connection.db.transaction(change).immediate(connection),
      (error) => mutateError !== undefined && error === mutateError.error,
    );
  }

  private decodeEnvelope<T>(raw: string | undefined): T | undefined {
    if (raw === undefined) {
      return undefined;
    }
    const envelope = JSON.parse(raw) as Envelope<T>;
    if (typeof envelope.expires === 'number' && envelope.expires <= this.now()) {
      return undefined;
    }
    return envelope.value;
  }

  async claimStep(key: string, step: number): Promise<boolean> {
    return this.run('claim', ({ statements }) => statements.claimStep.run(key, step).changes === 1);
  }

  async increment(key: string, ttlMs?: number): Promise<number> {
    const now = this.now();
    const expires = ttlMs === undefined ? null : now + ttlMs;
    const count = await this.run('increment', ({ statements }) => Number(statements.increment.get(key, expires, now, now)!.count));
    if (ttlMs !== undefined) {
      this.windowedIncrements += 1;
      if (reachesMultiple(this.windowedIncrements, 1, COUNTER_PRUNE_EVERY)) {
        await this.pruneExpiredCounters();
      }
    }
    return count;
  }

  /** Deletes the windowed counters whose window has passed; they read as 0 already. */
  async pruneExpiredCounters(): Promise<void> {
    const now = this.now();
    await this.run('delete', ({ db }) => db.prepare('DELETE FROM twostep_counters WHERE expires IS NOT NULL AND expires <= ?').run(now));
  }

  async readCounter(key: string): Promise<number> {
    return this.run('read', ({ statements }) => counterValue(statements, key, this.now()));
  }

  async resetCounter(key: string): Promise<void> {
    await this.run('delete', ({ statements }) => statements.resetCounter.run(key));
  }

  /** Runs one statement that is not on the login path: rows for a query, none for a change. */
  private async query(operation: string, sql: string, ...parameters: unknown[]): Promise<Row[]> {
    return this.run(operation, ({ db }) => {
      const statement = db.prepare(sql);
      if (statement.reader) {
        return statement.all(...parameters) as Row[];
      }
      statement.run(...parameters);
      return [];
    });
  }

  async listKeys(prefix: string): Promise<string[]> {
    const escaped = `${NAMESPACE}:${prefix}`.replace(/[\\%_]/g, (character) => `\\${character}`);
    const rows = await this.query('list', `SELECT key FROM ${TABLE} WHERE key LIKE ? ESCAPE '\\'`, `${escaped}%`);
    return rows.map((row) => String(row.key).slice(NAMESPACE.length + 1));
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.writeMany([{ type: 'audit', event }]);
  }

  async writeMany(writes: readonly StoreWrite[]): Promise<void> {
    // The transaction runs before the first await, so a caller in a process 'exit' handler
    // still gets its writes in. Values use keyv's row key and envelope, with keyv's clock for
    // the expiry, so keyv reads them back.
    await this.run('write', ({ transactions }) => transactions.writeMany(writes, Date.now()));
    await this.countWritesIn(writes);
  }

  async attemptSecondFactor(attempt: SecondFactorAttempt): Promise<SecondFactorAttemptResult> {
    const result = await this.run('claim', ({ transactions }) => transactions.attemptSecondFactor(attempt, this.now(), Date.now()));
    if (result.claimed) {
      await this.countWritesIn(attempt.onClaim);
    }
    return result;
  }

  /** Counts the audit events and the values with a time to live among `writes` (see countWrites). */
  private async countWritesIn(writes: readonly StoreWrite[]): Promise<void> {
    let audits = 0;
    let expiring = 0;
    for (const write of writes) {
      if (write.type === 'audit') {
        audits += 1;
      } else if (write.type === 'set' && write.ttlMs !== undefined) {
        expiring += 1;
      }
    }
    await this.countWrites(audits, expiring);
  }

  /**
   * Adds written audit events and values with a time to live to this process's totals. Trims
   * the audit log after every AUDIT_PRUNE_EVERY events and deletes expired values after every
   * VALUE_PRUNE_EVERY such values.
   */
  private async countWrites(audits: number, expiring: number): Promise<void> {
    this.auditAppends += audits;
    this.expiringWrites += expiring;
    if (reachesMultiple(this.auditAppends, audits, AUDIT_PRUNE_EVERY)) {
      await this.pruneAudit();
    }
    if (reachesMultiple(this.expiringWrites, expiring, VALUE_PRUNE_EVERY)) {
      await this.pruneExpiredValues();
    }
  }

  /** Deletes the rows of expired values under EXPIRING_PREFIXES; keyv already reads them as absent. */
  async pruneExpiredValues(): Promise<void> {
    for (const prefix of EXPIRING_PREFIXES) {
      // ';' follows ':' in ASCII, so the range is every key that starts with the prefix, read through the key index.
      const start = `${NAMESPACE}:${prefix}`;
      const end = `${start.slice(0, -1)};`;
      await this.query('delete', `DELETE FROM ${TABLE} WHERE key > ? AND key < ? AND json_extract(value, '$.expires') <= ?`, start, end, Date.now());
    }
  }

  /** Drops the events past MAX_AUDIT_EVENTS_PER_ACCOUNT for any account and past MAX_AUDIT_EVENTS in all. */
  async pruneAudit(): Promise<void> {
    await this.query(
      'audit',
      `DELETE FROM twostep_audit WHERE id IN (
         SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY account ORDER BY id DESC) AS position FROM twostep_audit WHERE account IS NOT NULL)
         WHERE position > ?)`,
      MAX_AUDIT_EVENTS_PER_ACCOUNT,
    );
    await this.query('audit', 'DELETE FROM twostep_audit WHERE id <= (SELECT id FROM twostep_audit ORDER BY id DESC LIMIT 1 OFFSET ?)', MAX_AUDIT_EVENTS);
  }

  async listAudit(query: AuditQuery): Promise<AuditEvent[]> {
    const conditions: string[] = [];
    const parameters: unknown[] = [];
    if (query.account !== undefined) {
      conditions.push('account = ?');
      parameters.push(query.account);
    }
    if (query.since !== undefined) {
      conditions.push('at >= ?');
      parameters.push(query.since);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    parameters.push(query.limit ?? 100);
    const rows = await this.query('audit', `SELECT * FROM twostep_audit ${where} ORDER BY id DESC LIMIT ?`, ...parameters);
    return rows.map(auditEventOf);
  }

  async *exportEntries(batchSize = 1000): AsyncIterable<StoreEntry[]> {
    const prefix = `${NAMESPACE}:`;
    let after = prefix;
    for (;;) {
      const rows = await this.query('export', `SELECT key, value FROM ${TABLE} WHERE key > ? AND key < ? ORDER BY key LIMIT ?`, after, `${NAMESPACE};`, batchSize);
      if (rows.length === 0) {
        break;
      }
      after = String(rows[rows.length - 1].key);
      yield rows.map((row) => {
        const envelope = JSON.parse(String(row.value)) as Envelope<unknown>;
        const entry: StoreEntry = { type: 'value', key: String(row.key).slice(prefix.length), value: envelope.value };
        return typeof envelope.expires === 'number' ? { ...entry, expiresAt: envelope.expires } : entry;
      });
    }

    yield* this.exportTable('twostep_steps', batchSize, (row) => ({ type: 'step', key: String(row.key), step: Number(row.step) }));
    yield* this.exportTable('twostep_counters', batchSize, (row) => {
      const entry: StoreEntry = { type: 'counter', key: String(row.key), count: Number(row.count) };
      return typeof row.expires === 'number' ? { ...entry, expiresAt: row.expires } : entry;
    });

    let lastId = 0;
    for (;;) {
      const rows = await this.query('export', 'SELECT * FROM twostep_audit WHERE id > ? ORDER BY id LIMIT ?', lastId, batchSize);
      if (rows.length === 0) {
        break;
      }
      lastId = Number(rows[rows.length - 1].id);
      yield rows.map((row) => ({ type: 'audit', event: auditEventOf(row) }));
    }
  }

  private async *exportTable(table: string, batchSize: number, toEntry: (row: Row) => StoreEntry): AsyncIterable<StoreEntry[]> {
    let after = '';
    for (;;) {
      const rows = await this.query('export', `SELECT * FROM ${table} WHERE key > ? ORDER BY key LIMIT ?`, after, batchSize);
      if (rows.length === 0) {
        return;
      }
      after = String(rows[rows.length - 1].key);
      yield rows.map(toEntry);
    }
  }

  async importEntries(entries: readonly StoreEntry[]): Promise<void> {
    const now = Date.now();
    const live = entries.filter((entry) => !isExpiredEntry(entry, now));
    const values: unknown[][] = [];
    const steps: unknown[][] = [];
    const counters: unknown[][] = [];
    const events: unknown[][] = [];
    for (const entry of live) {
      switch (entry.type) {
        case 'value': {
          const envelope: Envelope<unknown> = entry.expiresAt === undefined ? { value: entry.value } : { value: entry.value, expires: entry.expiresAt };
          values.push([`${NAMESPACE}:${entry.key}`, JSON.stringify(envelope)]);
          break;
        }
        case 'step':
          steps.push([entry.key, entry.step]);
          break;
        case 'counter':
          counters.push([entry.key, entry.count, entry.expiresAt ?? null]);
          break;
        case 'audit':
          events.push(AUDIT_COLUMNS.map((column) => entry.event[column] ?? null));
          break;
      }
    }
    await this.insertRows(`${TABLE} (key, value)`, values, 'ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    await this.insertRows('twostep_steps (key, step)', steps, 'ON CONFLICT (key) DO UPDATE SET step = excluded.step');
    await this.insertRows('twostep_counters (key, count, expires)', counters, 'ON CONFLICT (key) DO UPDATE SET count = excluded.count, expires = excluded.expires');
    await this.insertRows(`twostep_audit (${AUDIT_COLUMNS.join(', ')})`, events, '');
  }

  /** Inserts rows with multi-row statements; each statement is one transaction, so a batch lands fast. */
  private async insertRows(target: string, rows: readonly unknown[][], conflict: string): Promise<void> {
    for (let start = 0; start < rows.length; start += IMPORT_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + IMPORT_ROWS_PER_STATEMENT);
      const placeholders = chunk.map((row) => `(${row.map(() => '?').join(', ')})`).join(', ');
      await this.query('import', `INSERT INTO ${target} VALUES ${placeholders} ${conflict}`, ...chunk.flat());
    }
  }

  async isEmpty(): Promise<boolean> {
    const rows = await this.query(
      'read',
      `SELECT EXISTS (SELECT 1 FROM ${TABLE} WHERE key > ? AND key < ?) OR EXISTS (SELECT 1 FROM twostep_steps)
         OR EXISTS (SELECT 1 FROM twostep_counters) OR EXISTS (SELECT 1 FROM twostep_audit) AS used`,
      `${NAMESPACE}:`,
      `${NAMESPACE};`,
    );
    return Number(rows[0].used) === 0;
  }

  async close(): Promise<void> {
    this.drop();
  }
}

function auditEventOf(row: Row): AuditEvent {
  const event: Record<string, unknown> = { at: Number(row.at), actor: row.actor, action: row.action };
  for (const field of ['account', 'ip', 'protocol', 'detail']) {
    if (row[field] !== null && row[field] !== undefined) {
      event[field] = row[field];
    }
  }
  return event as unknown as AuditEvent;
}
