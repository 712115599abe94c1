import type { TwoStepContext } from './context';
import { keys } from './model';

/** Delay before a rejection reply: none for the first `free` failures, then 1 s doubling up to `maxMs`. */
export function delayForFailures(count: number, free: number, maxMs: number): number {
  if (count <= free) {
    return 0;
  }
  return Math.min(1000 * 2 ** Math.min(count - free - 1, 20), maxMs);
}

/** Many users can share one address (NAT, a webmail), so an address alone gets ten times the free failures of an account. */
const PER_IP_FACTOR = 10;

export type FailureKind = 'password' | 'second-factor';

export interface FailureOutcome {
  readonly delayMs: number;
  /** True when this failure locked the second factor. */
  readonly lockedNow: boolean;
}

/**
 * Counts a failed login and returns the delay to apply before the reply. Wrong passwords
 * count per account and client IP and per client IP, inside a window, so a flood from one
 * address never locks the account for others. Failed second factors count per account
 * across all protocols and addresses, with no expiry: only a successful second factor, an
 * admin unlock or a user action resets them. A client that repeats the exact same rejected
 * credential (an old saved password) counts once per window, so it is slowed, not locked out.
 */
export async function recordFailure(
  context: TwoStepContext,
  kind: FailureKind,
  account: string,
  ip: string,
  secret: string,
): Promise<FailureOutcome> {
  const { store, options, secrets } = context;
  const repeatKey = keys.repeatedFailure(secrets.hash('repeat', `${account}\0${ip}\0${secret}`));
  const repeated = (await store.increment(repeatKey, options.passwordWindowMs)) > 1;

  const accountIpKey = keys.passwordFailuresByAccountAndIp(account, ip);
  const ipKey = keys.passwordFailuresByIp(ip);
  const secondFactorKey = keys.secondFactorFailures(account);

  let accountIpCount: number;
  let ipCount: number;
  let secondFactorCount: number;
  let lockedNow = false;
  if (repeated) {
    [accountIpCount, ipCount, secondFactorCount] = await Promise.all([
      store.readCounter(accountIpKey),
      store.readCounter(ipKey),
      store.readCounter(secondFactorKey),
    ]);
  } else if (kind === 'password') {
    [accountIpCount, ipCount] = await Promise.all([
      store.increment(accountIpKey, options.passwordWindowMs),
      store.increment(ipKey, options.passwordWindowMs),
    ]);
    secondFactorCount = await store.readCounter(secondFactorKey);
  } else {
    secondFactorCount = await store.increment(secondFactorKey);
    lockedNow = secondFactorCount === options.lockAfter;
    accountIpCount = await store.readCounter(accountIpKey);
    ipCount = await store.readCounter(ipKey);
  }

  const delayMs = Math.max(
    delayForFailures(accountIpCount, options.freeFailures, options.maxDelayMs),
    delayForFailures(ipCount, options.freeFailures * PER_IP_FACTOR, options.maxDelayMs),
    delayForFailures(secondFactorCount, options.freeFailures, options.maxDelayMs),
  );
  return { delayMs, lockedNow };
}

/** Returns whether failed second factors have reached the lock limit. */
export async function isSecondFactorLocked(context: TwoStepContext, account: string): Promise<boolean> {
  return (await context.store.readCounter(keys.secondFactorFailures(account))) >= context.options.lockAfter;
}

/** Clears the account's failure counters after a successful second factor. */
export async function recordSecondFactorSuccess(context: TwoStepContext, account: string, ip: string): Promise<void> {
  // Reads are cheap and most logins have no failures to clear, so only non-zero counters are written.
  const counters = [keys.secondFactorFailures(account), keys.passwordFailuresByAccountAndIp(account, ip)];
  const counts = await Promise.all(counters.map((key) => context.store.readCounter(key)));
  await Promise.all(counters.filter((_, index) => counts[index] > 0).map((key) => context.store.resetCounter(key)));
}
