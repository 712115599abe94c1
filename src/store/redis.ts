import { TwoStepError } from '../core/errors';
import type { AuditEvent, AuditQuery, Store } from './types';

/** Placeholder until the Redis backend lands: refuses to start rather than pretending to work. */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  constructor(url: string, _now: () => number = Date.now) {
    throw new TwoStepError('ERR_INVALID_CONFIG', `the Redis store is not available in this version (url ${url.replace(/\/\/[^@]*@/, '//***@')})`);
  }
  get<T>(): Promise<T | undefined> { throw new Error('unreachable'); }
  getMany<T>(): Promise<(T | undefined)[]> { throw new Error('unreachable'); }
  set(): Promise<void> { throw new Error('unreachable'); }
  delete(): Promise<boolean> { throw new Error('unreachable'); }
  update<T>(): Promise<T | undefined> { throw new Error('unreachable'); }
  claimStep(): Promise<boolean> { throw new Error('unreachable'); }
  increment(): Promise<number> { throw new Error('unreachable'); }
  readCounter(): Promise<number> { throw new Error('unreachable'); }
  resetCounter(): Promise<void> { throw new Error('unreachable'); }
  listKeys(): Promise<string[]> { throw new Error('unreachable'); }
  appendAudit(_event: AuditEvent): Promise<void> { throw new Error('unreachable'); }
  listAudit(_query: AuditQuery): Promise<AuditEvent[]> { throw new Error('unreachable'); }
  close(): Promise<void> { throw new Error('unreachable'); }
}
