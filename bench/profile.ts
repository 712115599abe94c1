import { performance } from 'node:perf_hooks';
import type { PasswordBackend } from '../src/backends/types';
import type { TwoStepContext } from '../src/core/context';
import { decideLogin } from '../src/core/login';
import { generateCode } from '../src/core/totp';
import type { Store } from '../src/store/types';
import type { BenchAccount } from './seed';

export interface ProfileResult {
  readonly logins: number;
  readonly failures: number;
  readonly totalMsPerLogin: number;
  /** Milliseconds per login spent in each store method, in the password backend, and elsewhere (CPU: TOTP, decryption, hashing, JSON). */
  readonly breakdown: Record<string, { calls: number; msPerLogin: number }>;
}

/** Wraps every method of an object so the time spent inside it is added to `totals[name]`. */
function timed<T extends object>(target: T, prefix: string, totals: Map<string, { calls: number; ms: number }>): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') {
        return value;
      }
      return (...args: unknown[]) => {
        const started = performance.now();
        const result = (value as (...inner: unknown[]) => unknown).apply(object, args);
        const record = () => {
          const entry = totals.get(`${prefix}.${property}`) ?? { calls: 0, ms: 0 };
          entry.calls += 1;
          entry.ms += performance.now() - started;
          totals.set(`${prefix}.${property}`, entry);
        };
        if (result instanceof Promise) {
          return result.finally(record);
        }
        record();
        return result;
      };
    },
  });
}

/**
 * Times password+code decisions one after another in this process, with the store and the
 * password backend wrapped, to show where one login's time goes.
 */
export async function profilePasswordAndCode(context: TwoStepContext, accounts: readonly BenchAccount[]): Promise<ProfileResult> {
  const totals = new Map<string, { calls: number; ms: number }>();
  const profiled: TwoStepContext = {
    ...context,
    store: timed<Store>(context.store, 'store', totals),
    backend: timed<PasswordBackend>(context.backend, 'backend', totals),
  };
  let failures = 0;
  let total = 0;
  // The first check reads the passwd file (100,000 lines at full size); a running server has
  // done that long before, so it is not timed.
  await context.backend.hasAccount(accounts[0].account);
  for (const entry of accounts) {
    const code = await generateCode(entry.secretKey, Math.floor(Date.now() / 1000));
    const started = performance.now();
    const decision = await decideLogin(profiled, { account: entry.account, secret: `${entry.password}${code}`, protocol: 'imap', ip: '127.0.0.9' });
    total += performance.now() - started;
    if (decision.outcome !== 'accepted') {
      failures += 1;
    }
  }
  const logins = accounts.length;
  const breakdown: ProfileResult['breakdown'] = {};
  let measured = 0;
  for (const [name, entry] of [...totals].sort((a, b) => b[1].ms - a[1].ms)) {
    breakdown[name] = { calls: entry.calls, msPerLogin: entry.ms / logins };
    measured += entry.ms;
  }
  breakdown['other (TOTP, decryption, hashing, JSON)'] = { calls: logins, msPerLogin: Math.max(0, total - measured) / logins };
  return { logins, failures, totalMsPerLogin: total / logins, breakdown };
}
