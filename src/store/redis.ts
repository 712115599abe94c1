import Keyv from 'keyv';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { createHash } from 'node:crypto';
import { TwoStepError, storeUnavailable } from '../core/errors';
import { isExpiredEntry, MAX_AUDIT_EVENTS, MAX_AUDIT_EVENTS_PER_ACCOUNT, type AuditEvent, type AuditQuery, type SecondFactorAttempt, type SecondFactorAttemptResult, type Store, type StoreEntry, type StoreWrite } from './types';

const DEFAULT_NAMESPACE = 'twostep';
const DEFAULT_TIMEOUT_MS = 2000;
const MAX_UPDATE_ATTEMPTS = 50;
/** The shared audit stream keeps the newest events only; each account's own stream keeps fewer. */
const SCAN_COUNT = 1000;
const AUDIT_READ_BATCH = 500;

/** Compare-and-swap: writes ARGV[4] (or deletes when ARGV[3] is 1) only if the key still holds ARGV[2] (or is absent when ARGV[1] is 0). */
const COMPARE_AND_SWAP = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return 1`;

/** Claims a time step only when it is later than the stored one. */
const CLAIM_STEP = `
local claimed = redis.call('GET', KEYS[1])
if claimed and tonumber(claimed) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

/** INCR, and on the first increment of a window PEXPIRE, in one step so a crash cannot leave a counter without its window. */
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 and ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

/**
 * One second-factor attempt against the failed-code counter KEYS[1]: with ARGV[1] = 1 the
 * attempt counts, and it is allowed while the count including it stays within ARGV[2]. An
 * allowed attempt with a step ARGV[3] claims it like CLAIM_STEP under KEYS[2]. A winning claim
 * applies ARGV[5] writes in the same script, so no parallel login reads the claim without the
 * grant. The writes take their keys from KEYS[4] on and their arguments from ARGV[6] on. Each
 * write's arguments start with its name:
 *   set    1 key      'set', value, PX in ms or ''
 *   del    1 key      'del'
 *   audit  1-2 keys   'audit', event, MAXLEN of the shared stream, MAXLEN of the account stream, number of keys
 * When the claim is not won, ARGV[4] = 1 and the credential's grant KEYS[3] exists, nothing is
 * counted. A counted attempt that did not claim raises the counter. A claim leaves the counter
 * to the success writes.
 * Returns {count including this attempt or -1, allowed 0/1, claimed 0/1, granted 0/1}.
 */
const ATTEMPT_SECOND_FACTOR = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local count = -1
local allowed = current < tonumber(ARGV[2])
if ARGV[1] == '1' then count = current + 1 end
local claimed = 0
if allowed and ARGV[3] ~= '' then
  local previous = redis.call('GET', KEYS[2])
  if not previous or tonumber(previous) < tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], ARGV[3])
    claimed = 1
  end
end
if claimed == 1 then
  local k = 4
  local a = 6
  for _ = 1, tonumber(ARGV[5]) do
    local op = ARGV[a]
    if op == 'set' then
      if ARGV[a + 2] == '' then
        redis.call('SET', KEYS[k], ARGV[a + 1])
      else
        redis.call('SET', KEYS[k], ARGV[a + 1], 'PX', ARGV[a + 2])
      end
      k = k + 1
      a = a + 3
    elseif op == 'del' then
      redis.call('DEL', KEYS[k])
      k = k + 1
      a = a + 1
    else
      local streams = tonumber(ARGV[a + 4])
      redis.call('XADD', KEYS[k], 'MAXLEN', ARGV[a + 2], '*', 'e', ARGV[a + 1])
      if streams == 2 then redis.call('XADD', KEYS[k + 1], 'MAXLEN', ARGV[a + 3], '*', 'e', ARGV[a + 1]) end
      k = k + streams
      a = a + 5
    end
  end
end
if claimed == 0 and ARGV[3] ~= '' and ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
  return {-1, 1, 0, 1}
end
if ARGV[1] == '1' and claimed == 0 then redis.call('INCR', KEYS[1]) end
return {count, allowed and 1 or 0, claimed, 0}`;

/** Appends an event to the shared audit stream and, for an account event, to that account's stream. */
const APPEND_AUDIT = `
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '*', 'e', ARGV[1])
if #KEYS > 1 then redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], '*', 'e', ARGV[1]) end
return 1`;

interface Envelope<T> {
  value: T;
  expires?: number;
}

interface RedisSettings {
  readonly url: string;
  readonly namespace: string;
  readonly timeoutMs: number;
}

/** Hides a password in a Redis URL before it reaches a message. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Reads `redis://[user:password@]host:port[/db][?namespace=NAME&timeout=MS]`. The namespace
 * prefixes every key, so several installations can share one Redis; the timeout bounds the
 * connection and every command.
 * @throws TwoStepError ERR_INVALID_CONFIG naming the wrong part.
 */
export function parseRedisUrl(raw: string): RedisSettings {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TwoStepError('ERR_INVALID_CONFIG', `invalid Redis URL "${redactRedisUrl(raw).slice(0, 80)}": expected redis://host:port`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new TwoStepError('ERR_INVALID_CONFIG', `invalid Redis URL scheme ${url.protocol}: expected redis:// or rediss://`);
  }
  const namespace = url.searchParams.get('namespace') ?? DEFAULT_NAMESPACE;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(namespace)) {
    throw new TwoStepError('ERR_INVALID_CONFIG', `invalid Redis namespace "${namespace.slice(0, 80)}": use 1 to 64 letters, digits, - or _`);
  }
  const timeoutText = url.searchParams.get('timeout');
  const timeoutMs = timeoutText === null ? DEFAULT_TIMEOUT_MS : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 60_000) {
    throw new TwoStepError('ERR_INVALID_CONFIG', `invalid Redis timeout ${timeoutText}: expected milliseconds from 50 to 60000`);
  }
  for (const name of url.searchParams.keys()) {
    if (name !== 'namespace' && name !== 'timeout') {
      throw new TwoStepError('ERR_INVALID_CONFIG', `invalid Redis URL option "${name.slice(0, 40)}": expected namespace or timeout`);
    }
  }
  url.search = '';
  return { url: url.toString(), namespace, timeoutMs };
}

/** A Lua script run with EVALSHA, falling back to EVAL once when Redis has not cached it yet. */
class Script {
  private readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClientType, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, { keys, arguments: args });
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) {
        throw error;
      }
      return client.eval(this.source, { keys, arguments: args });
    }
  }
}

const scripts = {
  compareAndSwap: new Script(COMPARE_AND_SWAP),
  claimStep: new Script(CLAIM_STEP),
  increment: new Script(INCREMENT),
  appendAudit: new Script(APPEND_AUDIT),
  attemptSecondFactor: new Script(ATTEMPT_SECOND_FACTOR),
};

/**
 * The shared store for several mail front ends: keyv with @keyv/redis for plain values, and
 * Lua scripts on the same node-redis client for the operations that must be atomic across
 * machines (compare-and-swap, step claims, counters). Keys live under `NAMESPACE:`:
 * `v:` values (keyv's JSON envelope), `step:` claims, `count:` counters, `audit` and
 * `audit-account:` streams.
 *
 * Failing fast matters more than riding out a blip: the offline queue is off, so a command
 * sent while the connection is down rejects at once, and every command has a timeout. A
 * rejected login can be retried; a hung one holds an SMTP session.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly namespace: string;
  private readonly client: RedisClientType;
  private readonly keyv: Keyv;
  private readonly timeoutMs: number;
  private readonly connecting: Promise<void>;
  private closed = false;

  /** Expiry is enforced by the Redis server's clock, so the injected clock is not used here. */
  constructor(url: string, _now: () => number = Date.now) {
    const settings = parseRedisUrl(url);
    this.namespace = settings.namespace;
    this.timeoutMs = settings.timeoutMs;
    this.client = createClient({
      url: settings.url,
      disableOfflineQueue: true,
      commandOptions: { timeout: settings.timeoutMs },
      socket: {
        connectTimeout: settings.timeoutMs,
        // Keep trying in the background; commands meanwhile fail at once (no offline queue).
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    }) as RedisClientType;
    this.client.on('error', () => {
      // Connection errors surface as rejected commands; without a listener they would crash the process.
    });
    this.connecting = this.client.connect().then(
      () => undefined,
      () => undefined,
    );

    const adapter = new KeyvRedis(this.client, { keyPrefixSeparator: ':', throwOnErrors: true, throwOnConnectError: true, useUnlink: false });
    this.keyv = new Keyv({
      store: adapter,
      namespace: `${this.namespace}:v`,
      useKeyPrefix: false,
      throwOnErrors: true,
      serialize: JSON.stringify,
      deserialize: JSON.parse,
    });
    this.keyv.on('error', () => {
      // Errors reach the caller through the rejected promise because throwOnErrors is set.
    });
  }

  private valueKey(key: string): string {
    return `${this.namespace}:v:${key}`;
  }

  private stepKey(key: string): string {
    return `${this.namespace}:step:${key}`;
  }

  private counterKey(key: string): string {
    return `${this.namespace}:count:${key}`;
  }

  private get auditKey(): string {
    return `${this.namespace}:audit`;
  }

  private accountAuditKey(account: string): string {
    return `${this.namespace}:audit-account:${account}`;
  }

  /** Runs one operation on a ready connection; any fault or timeout becomes ERR_STORE_UNAVAILABLE. */
  private async call<T>(operation: string, body: (client: RedisClientType) => Promise<T>): Promise<T> {
    if (this.closed) {
      throw storeUnavailable(operation, new Error('the store is closed'));
    }
    if (!this.client.isReady) {
      // The first connection may still be under way; wait for it, but no longer than a command may take.
      await Promise.race([this.connecting, new Promise((resolve) => setTimeout(resolve, this.timeoutMs).unref())]);
      if (!this.client.isReady) {
        throw storeUnavailable(operation, new Error(`Redis at ${redactRedisUrl(this.client.options?.url ?? '')} is not connected`));
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not reply within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([body(this.client), timeout]);
    } catch (error) {
      throw error instanceof TwoStepError ? error : storeUnavailable(operation, error);
    } finally {
      clearTimeout(timer);
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.call('read', () => this.keyv.get<T>(key));
  }

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) {
      return [];
    }
    return this.call('read', () => this.keyv.getMany<T>([...keys]));
  }

  async readMany<T>(valueKeys: readonly string[], counterKeys: readonly string[]): Promise<{ values: (T | undefined)[]; counters: number[] }> {
    if (valueKeys.length === 0 && counterKeys.length === 0) {
      return { values: [], counters: [] };
    }
    return this.call('read', async (client) => {
      // Values and counters are plain strings, so one MGET reads them all in one command.
      const raws = await client.mGet([...valueKeys.map((key) => this.valueKey(key)), ...counterKeys.map((key) => this.counterKey(key))]);
      return {
        values: raws.slice(0, valueKeys.length).map((raw) => decodeEnvelope<T>(raw)),
        counters: raws.slice(valueKeys.length).map((count) => (count === null ? 0 : Number(count))),
      };
    });
  }

  async set<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    await this.call('write', () => this.keyv.set(key, value, ttlMs));
  }

  async delete(key: string): Promise<boolean> {
    return this.call('delete', async (client) => (await client.del(this.valueKey(key))) > 0);
  }

  async update<T>(key: string, mutate: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const redisKey = this.valueKey(key);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const raw = (await this.call('read', (client) => client.get(redisKey))) ?? undefined;
      const next = mutate(decodeEnvelope<T>(raw));
      if (next === undefined && raw === undefined) {
        return undefined;
      }
      const serialized = next === undefined ? '' : JSON.stringify({ value: next } satisfies Envelope<T>);
      const written = await this.call('write', (client) =>
        scripts.compareAndSwap.run(client, [redisKey], [raw === undefined ? '0' : '1', raw ?? '', next === undefined ? '1' : '0', serialized]),
      );
      if (Number(written) === 1) {
        return next;
      }
    }
    throw storeUnavailable('update', new Error(`too many concurrent writers on one record after ${MAX_UPDATE_ATTEMPTS} attempts`));
  }

  async claimStep(key: string, step: number): Promise<boolean> {
    if (!Number.isSafeInteger(step)) {
      throw new TwoStepError('ERR_INVALID_INPUT', `invalid time step ${step}: expected an integer`);
    }
    const claimed = await this.call('claim', (client) => scripts.claimStep.run(client, [this.stepKey(key)], [String(step)]));
    return Number(claimed) === 1;
  }

  async increment(key: string, ttlMs?: number): Promise<number> {
    const window = ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs)));
    const count = await this.call('increment', (client) => scripts.increment.run(client, [this.counterKey(key)], [window]));
    return Number(count);
  }

  async readCounter(key: string): Promise<number> {
    const count = await this.call('read', (client) => client.get(this.counterKey(key)));
    return count === null ? 0 : Number(count);
  }

  async resetCounter(key: string): Promise<void> {
    await this.call('delete', (client) => client.del(this.counterKey(key)));
  }

  /** Walks the keyspace with SCAN (never KEYS, which blocks Redis); cost grows with the whole database. */
  private async *scan(operation: string, pattern: string): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const reply = await this.call(operation, (client) => client.scan(cursor, { MATCH: pattern, COUNT: SCAN_COUNT }));
      cursor = String(reply.cursor);
      if (reply.keys.length > 0) {
        yield reply.keys.map(String);
      }
    } while (cursor !== '0');
  }

  async listKeys(prefix: string): Promise<string[]> {
    const found = new Set<string>();
    const start = this.valueKey('').length;
    for await (const keys of this.scan('list', `${escapeGlob(this.valueKey(prefix))}*`)) {
      for (const key of keys) {
        found.add(key.slice(start));
      }
    }
    return [...found];
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.call('audit', (client) => scripts.appendAudit.run(client, this.auditKeys(event), this.auditArguments(event)));
  }

  private auditKeys(event: AuditEvent): string[] {
    return event.account === undefined ? [this.auditKey] : [this.auditKey, this.accountAuditKey(event.account)];
  }

  private auditArguments(event: AuditEvent): string[] {
    return [JSON.stringify(event), String(MAX_AUDIT_EVENTS), String(MAX_AUDIT_EVENTS_PER_ACCOUNT)];
  }

  async writeMany(writes: readonly StoreWrite[]): Promise<void> {
    if (writes.length === 0) {
      return;
    }
    await this.call('write', async (client) => {
      const transaction = client.multi();
      for (const write of writes) {
        switch (write.type) {
          case 'set': {
            transaction.set(this.valueKey(write.key), envelopeText(write.value, write.ttlMs), write.ttlMs === undefined ? undefined : { PX: write.ttlMs });
            break;
          }
          case 'reset-counter':
            transaction.del(this.counterKey(write.key));
            break;
          case 'audit':
            // EVAL, not EVALSHA: inside MULTI a missing cached script could not fall back.
            transaction.eval(scripts.appendAudit.source, { keys: this.auditKeys(write.event), arguments: this.auditArguments(write.event) });
            break;
        }
      }
      await transaction.exec();
    });
  }

  async attemptSecondFactor(attempt: SecondFactorAttempt): Promise<SecondFactorAttemptResult> {
    if (attempt.claim && !Number.isSafeInteger(attempt.claim.step)) {
      throw new TwoStepError('ERR_INVALID_INPUT', `invalid time step ${attempt.claim.step}: expected an integer`);
    }
    const counterKey = this.counterKey(attempt.counterKey);
    // Unused key slots repeat the counter key, so every script call names real keys.
    const keys = [counterKey, attempt.claim ? this.stepKey(attempt.claim.key) : counterKey, attempt.grantKey !== undefined ? this.valueKey(attempt.grantKey) : counterKey];
    const args = [attempt.count ? '1' : '0', String(attempt.limit), attempt.claim ? String(attempt.claim.step) : '', attempt.grantKey !== undefined ? '1' : '0'];
    const writes = this.scriptWrites(attempt.claim ? attempt.onClaim : []);
    keys.push(...writes.keys);
    args.push(String(writes.count), ...writes.args);
    const reply = (await this.call('claim', (client) => scripts.attemptSecondFactor.run(client, keys, args))) as number[];
    const [count, allowed, claimed, granted] = reply.map(Number);
    if (granted === 1) {
      return { allowed: true, claimed: false, granted: true };
    }
    const result = { allowed: allowed === 1, claimed: claimed === 1 };
    return count >= 0 ? { ...result, attempts: count } : result;
  }

  /** Encodes writes for ATTEMPT_SECOND_FACTOR, which applies them with a winning claim. */
  private scriptWrites(writes: readonly StoreWrite[]): { count: number; keys: string[]; args: string[] } {
    const keys: string[] = [];
    const args: string[] = [];
    for (const write of writes) {
      switch (write.type) {
        case 'set': {
          keys.push(this.valueKey(write.key));
          args.push('set', envelopeText(write.value, write.ttlMs), write.ttlMs === undefined ? '' : String(write.ttlMs));
          break;
        }
        case 'reset-counter':
          keys.push(this.counterKey(write.key));
          args.push('del');
          break;
        case 'audit': {
          const streams = this.auditKeys(write.event);
          keys.push(...streams);
          args.push('audit', ...this.auditArguments(write.event), String(streams.length));
          break;
        }
      }
    }
    return { count: writes.length, keys, args };
  }

  /** Reads a stream newest first in batches, keeping events that pass the filters, until `limit` are found. */
  async listAudit(query: AuditQuery): Promise<AuditEvent[]> {
    const limit = query.limit ?? 100;
    const key = query.account === undefined ? this.auditKey : this.accountAuditKey(query.account);
    const found: AuditEvent[] = [];
    let end = '+';
    while (found.length < limit) {
      const entries = await this.call('audit', (client) => client.xRevRange(key, end, '-', { COUNT: AUDIT_READ_BATCH }));
      for (const entry of entries) {
        const event = JSON.parse(String(entry.message.e)) as AuditEvent;
        if ((query.account === undefined || event.account === query.account) && (query.since === undefined || event.at >= query.since)) {
          found.push(event);
          if (found.length === limit) {
            break;
          }
        }
      }
      if (entries.length < AUDIT_READ_BATCH) {
        break;
      }
      end = `(${entries[entries.length - 1].id}`;
    }
    return found;
  }

  async *exportEntries(batchSize = 1000): AsyncIterable<StoreEntry[]> {
    const valueStart = this.valueKey('').length;
    for await (const keys of this.scan('export', `${escapeGlob(this.valueKey(''))}*`)) {
      const raws = await this.call('export', (client) => client.mGet(keys));
      yield keys.flatMap((key, index): StoreEntry[] => {
        const raw = raws[index];
        if (raw === null || raw === undefined) {
          return [];
        }
        const envelope = JSON.parse(String(raw)) as Envelope<unknown>;
        const entry: StoreEntry = { type: 'value', key: key.slice(valueStart), value: envelope.value };
        return [typeof envelope.expires === 'number' ? { ...entry, expiresAt: envelope.expires } : entry];
      });
    }

    const stepStart = this.stepKey('').length;
    for await (const keys of this.scan('export', `${escapeGlob(this.stepKey(''))}*`)) {
      const steps = await this.call('export', (client) => client.mGet(keys));
      yield keys.flatMap((key, index): StoreEntry[] => (steps[index] === null ? [] : [{ type: 'step', key: key.slice(stepStart), step: Number(steps[index]) }]));
    }

    const counterStart = this.counterKey('').length;
    for await (const keys of this.scan('export', `${escapeGlob(this.counterKey(''))}*`)) {
      const now = Date.now();
      const rows = await this.call('export', (client) => Promise.all(keys.map((key) => Promise.all([client.get(key), client.pTTL(key)]))));
      yield keys.flatMap((key, index): StoreEntry[] => {
        const [count, ttl] = rows[index];
        if (count === null) {
          return [];
        }
        const entry: StoreEntry = { type: 'counter', key: key.slice(counterStart), count: Number(count) };
        return [Number(ttl) > 0 ? { ...entry, expiresAt: now + Number(ttl) } : entry];
      });
    }

    let start = '-';
    for (;;) {
      const entries = await this.call('export', (client) => client.xRange(this.auditKey, start, '+', { COUNT: batchSize }));
      if (entries.length === 0) {
        break;
      }
      yield entries.map((entry) => ({ type: 'audit', event: JSON.parse(String(entry.message.e)) as AuditEvent }));
      start = `(${entries[entries.length - 1].id}`;
    }
  }

  async importEntries(entries: readonly StoreEntry[]): Promise<void> {
    const now = Date.now();
    await this.call('import', async (client) => {
      // node-redis pipelines commands sent together; the audit events keep their order because
      // one connection runs commands in the order they were sent.
      const pending: Promise<unknown>[] = [];
      for (const entry of entries) {
        if (isExpiredEntry(entry, now)) {
          continue;
        }
        switch (entry.type) {
          case 'value': {
            const envelope: Envelope<unknown> = entry.expiresAt === undefined ? { value: entry.value } : { value: entry.value, expires: entry.expiresAt };
            const options = entry.expiresAt === undefined ? undefined : { PX: entry.expiresAt - now };
            pending.push(client.set(this.valueKey(entry.key), JSON.stringify(envelope), options));
            break;
          }
          case 'step':
            pending.push(client.set(this.stepKey(entry.key), String(entry.step)));
            break;
          case 'counter': {
            const options = entry.expiresAt === undefined ? undefined : { PX: entry.expiresAt - now };
            pending.push(client.set(this.counterKey(entry.key), String(entry.count), options));
            break;
          }
          case 'audit':
            pending.push(scripts.appendAudit.run(client, this.auditKeys(entry.event), this.auditArguments(entry.event)));
            break;
        }
      }
      await Promise.all(pending);
    });
  }

  async isEmpty(): Promise<boolean> {
    for await (const _keys of this.scan('read', `${escapeGlob(this.namespace)}:*`)) {
      return false;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    // A client still trying to connect is dropped at once: waiting could take as long as the server stays away.
    if (this.client.isReady) {
      await this.client.close().catch(() => this.client.destroy());
    } else if (this.client.isOpen) {
      this.client.destroy();
    }
  }
}

/** Serialises a value in keyv's envelope, so keyv reads back what the store wrote under keyv's key. */
function envelopeText(value: unknown, ttlMs: number | undefined): string {
  const envelope: Envelope<unknown> = ttlMs === undefined ? { value } : { value, expires: Date.now() + ttlMs };
  return JSON.stringify(envelope);
}

function decodeEnvelope<T>(raw: string | null | undefined): T | undefined {
  if (raw === undefined || raw === null) {
    return undefined;
  }
  const envelope = JSON.parse(raw) as Envelope<T>;
  if (typeof envelope.expires === 'number' && envelope.expires <= Date.now()) {
    return undefined;
  }
  return envelope.value;
}

/** Escapes Redis glob characters so a key prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}
