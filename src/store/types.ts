/** One audit event: who did what to which account, when and from where. Never holds a secret. */
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
 * The storage contract that every backend (SQLite, Redis) fulfils. Every method rejects with
 * a TwoStepError ERR_STORE_UNAVAILABLE when the backend fails: a fault is never reported as
 * "not found".
 */
export interface Store {
  readonly kind: 'sqlite' | 'redis';

  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
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
  /** Returns matching audit events, newest first. */
  listAudit(query: AuditQuery): Promise<AuditEvent[]>;

  close(): Promise<void>;
}
