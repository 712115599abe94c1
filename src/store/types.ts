/** The audit log keeps at most this many events in all, newest first; older ones are dropped. */
export const MAX_AUDIT_EVENTS = 100_000;
/** …and at most this many per account, so one busy account cannot crowd out the others. */
export const MAX_AUDIT_EVENTS_PER_ACCOUNT = 1000;

/** One audit event: who did what to which account, when and from where. Never contains a secret. */
export interface AuditEvent {
  readonly at: number;
  /** The account or admin that acted, or `system`. */
  readonly actor: string;
  readonly action: string;
  readonly account?: string;
  readonly ip?: string;
  readonly protocol?: string;
  /** Short, secret-free detail such as a device name or a rejection reason. */
  readonly detail?: string;
}

export interface AuditQuery {
  readonly account?: string;
  readonly since?: number;
  readonly limit?: number;
}

/**
 * One record of a store, as `exportEntries` yields it and `importEntries` writes it; `twostep
 * migrate` copies an installation with these. Expiry times are absolute (ms since the epoch).
 */
export type StoreEntry =
  | { readonly type: 'value'; readonly key: string; readonly value: unknown; readonly expiresAt?: number }
  | { readonly type: 'step'; readonly key: string; readonly step: number }
  | { readonly type: 'counter'; readonly key: string; readonly count: number; readonly expiresAt?: number }
  | { readonly type: 'audit'; readonly event: AuditEvent };

/** One write of a batch given to `Store.writeMany`. */
export type StoreWrite =
  | { readonly type: 'set'; readonly key: string; readonly value: unknown; readonly ttlMs?: number }
  | { readonly type: 'reset-counter'; readonly key: string }
  | { readonly type: 'audit'; readonly event: AuditEvent };

/** One second-factor attempt, given to `Store.attemptSecondFactor`. */
export interface SecondFactorAttempt {
  /** The account's counter of failed codes. */
  readonly counterKey: string;
  /** `lock_after`: an attempt that takes the count past this is not allowed. */
  readonly limit: number;
  /** False for a credential this client already had rejected: the count is read, not raised. */
  readonly count: boolean;
  /** The time step the code matched, to claim; absent when the code matched no device. */
  readonly claim?: { readonly key: string; readonly step: number };
  /** Writes applied only when the claim wins, such as the login grant and the counter reset. */
  readonly onClaim: readonly StoreWrite[];
  /**
   * The value key of the login grant for this exact credential. When the claim is not won and
   * this grant exists, a parallel login with the same credential won it: the attempt is not
   * counted and the result has `granted`.
   */
  readonly grantKey?: string;
}

export interface SecondFactorAttemptResult {
  /** False when the second factor is locked: the code must be treated as not checked. */
  readonly allowed: boolean;
  /** The count after this attempt, when it was counted. */
  readonly attempts?: number;
  /** True when this attempt claimed the step (and its writes were applied). */
  readonly claimed: boolean;
  /** True when the claim was not won but the grant under `grantKey` exists; nothing was counted. */
  readonly granted?: boolean;
}

/**
 * The storage contract that every backend (SQLite, Redis) fulfils. Every method rejects with
 * a TwoStepError ERR_STORE_UNAVAILABLE when the backend fails: a fault is never reported as
 * "not found".
 */
export interface Store {
  readonly kind: 'sqlite' | 'redis';

  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
  /**
   * Reads values and counters together, as one snapshot: one SQLite read transaction, one
   * Redis round trip. A login reads its account state, grant and counters with one call.
   */
  readMany<T>(valueKeys: readonly string[], counterKeys: readonly string[]): Promise<{ values: (T | undefined)[]; counters: number[] }>;
  /** Stores a value; `ttlMs` makes it expire. */
  set<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;

  /**
   * Reads, changes and writes one value atomically: if another writer changed the value in
   * between, `mutate` runs again on the new value. `mutate` returns the new value, or
   * `undefined` to delete the key. Returns what was written.
   */
  update<T>(key: string, mutate: (current: T | undefined) => T | undefined): Promise<T | undefined>;

  /**
   * Claims a time step for a device: succeeds only when `step` is later than every step
   * claimed before under `key`. Exactly one of several concurrent claims of one step wins.
   */
  claimStep(key: string, step: number): Promise<boolean>;

  /**
   * Adds one to a counter and returns the new count. A counter with `ttlMs` starts a new
   * window at 1 once that time has passed since its first increment; without it, it never expires.
   */
  increment(key: string, ttlMs?: number): Promise<number>;
  /** Returns a counter's current count, 0 when absent or expired. */
  readCounter(key: string): Promise<number>;
  resetCounter(key: string): Promise<void>;

  /** Lists the keys that start with `prefix`, in no particular order. */
  listKeys(prefix: string): Promise<string[]>;

  appendAudit(event: AuditEvent): Promise<void>;

  /**
   * Applies several writes together, in order: one SQLite transaction (all land or none) or one
   * Redis MULTI/EXEC. A login's bookkeeping after its code is accepted is one call, not four.
   */
  writeMany(writes: readonly StoreWrite[]): Promise<void>;

  /**
   * Counts a second-factor attempt and, if it is allowed, claims the matched step and applies
   * the success writes. Counting and claiming are one atomic step, so exactly one claim of a
   * step wins and at most `limit` attempts that claim nothing are allowed. A winning claim is
   * not counted, and neither is a lost claim whose credential already has its grant. SQLite runs
   * it all in one transaction and Redis in one script, so no reader sees a claim without its writes.
   */
  attemptSecondFactor(attempt: SecondFactorAttempt): Promise<SecondFactorAttemptResult>;
  /** Returns matching audit events, newest first. */
  listAudit(query: AuditQuery): Promise<AuditEvent[]>;

  /** Yields every record in batches of about `batchSize`: values, step claims, counters, then audit events oldest first. */
  exportEntries(batchSize?: number): AsyncIterable<StoreEntry[]>;
  /**
   * Writes records as given, replacing values, claims and counters under the same keys and
   * appending audit events in order. Records whose expiry has passed are skipped.
   */
  importEntries(entries: readonly StoreEntry[]): Promise<void>;
  /** Returns true when the store contains no record of any kind. */
  isEmpty(): Promise<boolean>;

  close(): Promise<void>;
}

/** True for a value or counter whose expiry time has passed; such records are not copied. */
export function isExpiredEntry(entry: StoreEntry, now: number): boolean {
  return (entry.type === 'value' || entry.type === 'counter') && entry.expiresAt !== undefined && entry.expiresAt <= now;
}
