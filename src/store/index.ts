import { isAbsolute, join, resolve } from 'node:path';
import { TwoStepError } from '../core/errors';
import { SqliteStore } from './sqlite';
import type { Store } from './types';

export const DEFAULT_STORE_FILE = 'store.sqlite';

type StoreKind = 'sqlite' | 'redis';

/**
 * Returns the kind of store that `[store] url` names.
 * @throws TwoStepError ERR_INVALID_CONFIG for an unknown scheme.
 */
export function storeKind(url: string | undefined): StoreKind {
  const value = (url ?? '').trim();
  if (value === '' || value.startsWith('sqlite://')) {
    return 'sqlite';
  }
  if (value.startsWith('redis://') || value.startsWith('rediss://')) {
    return 'redis';
  }
  // A URL can carry a password (scheme://user:password@host), which stays out of the message.
  const redacted = value.replace(/^([^:/]*:\/\/)[^/@]*@/, '$1…@').slice(0, 60);
  throw new TwoStepError('ERR_INVALID_CONFIG', `invalid [store] url "${redacted}": expected empty, sqlite://PATH or redis://HOST:PORT`);
}

/**
 * Opens the store named by `[store] url`: empty for `DATA_DIR/store.sqlite`,
 * `sqlite:///absolute/path` or `sqlite://relative/path` (relative to the data folder), or `redis://…`.
 * @throws TwoStepError ERR_INVALID_CONFIG for an unknown scheme.
 */
export function openStore(url: string | undefined, dataDir: string, now: () => number = Date.now): Store {
  const value = (url ?? '').trim();
  if (storeKind(value) === 'redis') {
    // Loaded on demand so SQLite-only installations never open a Redis client.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { RedisStore } = require('./redis') as typeof import('./redis');
    return new RedisStore(value, now);
  }
  return new SqliteStore(sqliteStorePath(value, dataDir), now);
}

/** Returns the file of a SQLite store URL (empty or `sqlite://…`): relative paths are in the data folder. */
export function sqliteStorePath(url: string, dataDir: string): string {
  const path = url.trim().slice('sqlite://'.length);
  if (path === '') {
    return join(dataDir, DEFAULT_STORE_FILE);
  }
  return isAbsolute(path) ? path : resolve(dataDir, path);
}
