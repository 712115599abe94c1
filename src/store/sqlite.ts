import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { storeUnavailable } from '../core/errors';
import { isExpiredEntry, MAX_AUDIT_EVENTS, MAX_AUDIT_EVENTS_PER_ACCOUNT, type AuditEvent, type AuditQuery, type Store, type StoreEntry } from './types';

const NAMESPACE = 'twostep';
const TABLE = 'keyv';
const MAX_UPDATE_ATTEMPTS = 50;
/** The audit log is trimmed to its limits once per this many appends in a process. */
const AUDIT_PRUNE_EVERY = 500;
/** Rows per multi-row INSERT when importing; keeps each statement under SQLite's parameter limit. */
const IMPORT_ROWS_PER_STATEMENT = 200;
const AUDIT_COLUMNS = ['at', 'actor', 'action', 'account', 'ip', 'protocol', 'detail'] as const;

interface Envelope<T> {
  value: T;
  expires?: number;
}

type Row = Record<string, unknown>;

/**
 * The embedded store: keyv with @keyv/sqlite in one file. keyv has no atomic operations, so
 * the step claims, counters and compare-and-swap updates use SQL on the same file
 * (`INSERT … ON CONFLICT … RETURNING`), which SQLite serialises across processes.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly keyv: Keyv;
  private readonly adapter: KeyvSqlite;
  private ready: Promise<void>;
  private auditAppends = 0;

  constructor(readonly path: string, private readonly now: () => number = Date.now) {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    }
    // A writer waits up to 5 s for another process's transaction before it reports a fault.
    this.adapter = new KeyvSqlite({ uri: `sqlite://${path}`, table: TABLE, busyTimeout: 5000 });
    this.keyv = new Keyv({
      store: this.adapter,
      namespace: NAMESPACE,
      throwOnErrors: true,
      serialize: JSON.stringify,
      deserialize: JSON.parse,
    });
    this.keyv.on('error', () => {
      // Errors reach the caller through the rejected promise because throwOnErrors is set.
    });
    this.ready = this.createTables();
    this.ready.catch(() => undefined);
  }

  private async createTables(): Promise<void> {
    await this.adapter.query('PRAGMA journal_mode = WAL');
    // In WAL mode, NORMAL syncs at checkpoints instead of every commit: a crashed process loses
    // nothing, and only a power loss or OS crash can lose the last commits. That is the trade
    // made for login throughput; see the README's limits.
    await this.adapter.query('PRAGMA synchronous = NORMAL');
    if (this.path !== ':memory:') {
      // The file contains encrypted secret keys and keyed hashes: readable by the owner only.
      chmodSync(this.path, 0o600);
    }
    await this.adapter.query('CREATE TABLE IF NOT EXISTS twostep_steps (key TEXT PRIMARY KEY, step INTEGER NOT NULL)');
    await this.adapter.query(
      'CREATE TABLE IF NOT EXISTS twostep_counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER)',
    );
    await this.adapter.query(
      `CREATE TABLE IF NOT EXISTS twostep_audit (
         id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
         account TEXT, ip TEXT, protocol TEXT, detail TEXT)`,
    );
    await this.adapter.query('CREATE INDEX IF NOT EXISTS twostep_audit_account ON twostep_audit (account, at)');
  }

  private async query(operation: string, sql: string, ...parameters: unknown[]): Promise<Row[]> {
    try {
      await this.ready;
      return (await this.adapter.query(sql, ...parameters)) as Row[];
    } catch (error) {
      // A failed start (for example an unreadable file) is retried on the next call, so the
      // store recovers by itself once the fault is cleared.
      this.ready = this.createTables();
      this.ready.catch(() => undefined);
      throw storeUnavailable(operation, error);
    }
  }

  private async keyvCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      await this.ready;
      return await call();
    } catch (error) {
      this.ready = this.createTables();
      this.ready.catch(() => undefined);
      throw storeUnavailable(operation, error);
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

  async set<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    await this.keyvCall('write', () => this.keyv.set(key, value, ttlMs));
  }

  async delete(key: string): Promise<boolean> {
    return this.keyvCall('delete', () => this.keyv.delete(key));
  }

  async update<T>(key: string, mutate: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const rowKey = `${NAMESPACE}:${key}`;
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const rows = await this.query('read', `SELECT value FROM ${TABLE} WHERE key = ?`, rowKey);
      const raw = rows.length > 0 ? String(rows[0].value) : undefined;
      const current = this.decodeEnvelope<T>(raw);
      const next = mutate(current);

      let written: Row[];
      if (next === undefined) {
        if (raw === undefined) {
          return undefined;
        }
        written = await this.query('delete', `DELETE FROM ${TABLE} WHERE key = ? AND value = ? RETURNING key`, rowKey, raw);
      } else {
        const serialized = JSON.stringify({ value: next } satisfies Envelope<T>);
        written =
          raw === undefined
            ? await this.query(
                'write',
                `INSERT INTO ${TABLE} (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key`,
                rowKey,
                serialized,
              )
            : await this.query('write', `UPDATE ${TABLE} SET value = ? WHERE key = ? AND value = ? RETURNING key`, serialized, rowKey, raw);
      }
      if (written.length === 1) {
        return next;
      }
    }
    throw storeUnavailable('update', new Error(`too many concurrent writers on one record after ${MAX_UPDATE_ATTEMPTS} attempts`));
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
    const rows = await this.query(
      'claim',
      `INSERT INTO twostep_steps (key, step) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET step = excluded.step WHERE twostep_steps.step < excluded.step
       RETURNING step`,
      key,
      step,
    );
    return rows.length === 1;
  }

  async increment(key: string, ttlMs?: number): Promise<number> {
    const now = this.now();
    const expires = ttlMs === undefined ? null : now + ttlMs;
    const rows = await this.query(
      'increment',
      `INSERT INTO twostep_counters (key, count, expires) VALUES (?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN twostep_counters.expires IS NOT NULL AND twostep_counters.expires <= ? THEN 1 ELSE twostep_counters.count + 1 END,
         expires = CASE WHEN twostep_counters.expires IS NOT NULL AND twostep_counters.expires <= ? THEN excluded.expires ELSE twostep_counters.expires END
       RETURNING count`,
      key,
      expires,
      now,
      now,
    );
    return Number(rows[0].count);
  }

  async readCounter(key: string): Promise<number> {
    const rows = await this.query('read', 'SELECT count, expires FROM twostep_counters WHERE key = ?', key);
    if (rows.length === 0) {
      return 0;
    }
    const expires = rows[0].expires;
    if (typeof expires === 'number' && expires <= this.now()) {
      return 0;
    }
    return Number(rows[0].count);
  }

  async resetCounter(key: string): Promise<void> {
    await this.query('delete', 'DELETE FROM twostep_counters WHERE key = ?', key);
  }

  async listKeys(prefix: string): Promise<string[]> {
    const escaped = `${NAMESPACE}:${prefix}`.replace(/[\\%_]/g, (character) => `\\${character}`);
    const rows = await this.query('list', `SELECT key FROM ${TABLE} WHERE key LIKE ? ESCAPE '\\'`, `${escaped}%`);
    return rows.map((row) => String(row.key).slice(NAMESPACE.length + 1));
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    this.auditAppends++;
    if (this.auditAppends % AUDIT_PRUNE_EVERY === 0) {
      await this.pruneAudit();
    }
    await this.query(
      'audit',
      'INSERT INTO twostep_audit (at, actor, action, account, ip, protocol, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
      event.at,
      event.actor,
      event.action,
      event.account ?? null,
      event.ip ?? null,
      event.protocol ?? null,
      event.detail ?? null,
    );
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
    try {
      await this.ready;
    } catch {
      // Nothing to close when the file never opened.
    }
    await this.keyv.disconnect().catch(() => undefined);
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
