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
  reservedAttempts?: number,
): Promise<FailureOutcome> {
  const { store, options } = context;
  const repeated = (await store.increment(repeatKeyOf(context, account, ip, secret), options.passwordWindowMs)) > 1;

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
    // A reserved attempt was counted before its code was checked (see reserveSecondFactorAttempt).
    secondFactorCount = reservedAttempts ?? (await store.increment(secondFactorKey));
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

/** Returns the counter key of one exact rejected credential from one client. */
export function repeatKeyOf(context: TwoStepContext, account: string, ip: string, secret: string): string {
  return keys.repeatedFailure(context.secrets.hash('repeat', `${account}\0${ip}\0${secret}`));
}

export interface AttemptReservation {
  /** False when the second factor is locked: the code must not be checked. */
  readonly allowed: boolean;
  /** The count after this attempt was added, or undefined when it was not counted. */
  readonly attempts?: number;
}

/**
 * Counts a second-factor attempt before its code is checked. Checking first and counting after
 * would let many parallel guesses pass a lock check that none of them has counted yet. An
 * atomic increment first caps the codes ever checked at `lock_after`, until a success or an
 * unlock resets the count. A credential already rejected from this client is not counted again.
 */
export async function reserveSecondFactorAttempt(context: TwoStepContext, account: string, ip: string, secret: string): Promise<AttemptReservation> {
  const { store, options } = context;
  if (await isRepeatedFailure(context, account, ip, secret)) {
    const current = await store.readCounter(keys.secondFactorFailures(account));
    return { allowed: current < options.lockAfter };
  }
  const attempts = await store.increment(keys.secondFactorFailures(account));
  return { allowed: attempts <= options.lockAfter, attempts };
}

/** True when this client had this exact credential rejected within the window: it is not counted again. */
export async function isRepeatedFailure(context: TwoStepContext, account: string, ip: string, secret: string): Promise<boolean> {
  return (await context.store.readCounter(repeatKeyOf(context, account, ip, secret))) > 0;
}

/** Clears the account's failure counters after a successful second factor. */
export async function recordSecondFactorSuccess(context: TwoStepContext, account: string, ip: string): Promise<void> {
  // Reads are cheap and most logins have no failures to clear, so only non-zero counters are written.
  const counters = [keys.secondFactorFailures(account), keys.passwordFailuresByAccountAndIp(account, ip)];
  const counts = await Promise.all(counters.map((key) => context.store.readCounter(key)));
  await Promise.all(counters.filter((_, index) => counts[index] > 0).map((key) => context.store.resetCounter(key)));
}
