import { consumeRecoveryCode } from './accounts';
import { verifyPassword } from './login';
import { notifyAccount, type TwoStepContext } from './context';
import { keys, type Protocol } from './model';
import { loadAccountState } from './state';
import { recordFailure, recordSecondFactorSuccess, reserveSecondFactorAttempt } from './throttle';
import { checkCode } from './totp';

/**
 * Checks a verification code or a recovery code on its own, for the web panel's second
 * sign-in step and for re-verification before changes. Uses the same replay claim and
 * failure counters as protocol logins. Throws only on store faults.
 */
export async function verifySecondFactor(
  context: TwoStepContext,
  account: string,
  typed: string,
  ip: string,
  protocol: Protocol = 'web',
): Promise<{ readonly ok: true; readonly method: 'code' | 'recovery-code' } | { readonly ok: false; readonly delayMs: number; readonly locked: boolean }> {
  // A verification code must be exactly its digits: " 081804" or "81804" never reaches the
  // window check. A recovery code may carry spaces and hyphens, as it is shown and printed.
  const value = String(typed);
  const { record } = await loadAccountState(context, account);
  if (record.devices.length === 0) {
    const { delayMs } = await recordFailure(context, 'second-factor', account, ip, value);
    return { ok: false, delayMs, locked: false };
  }

  // A recovery code is accepted even when the second factor is locked: it is the way back in.
  if (!/^[0-9]+$/.test(value.trim()) && (await consumeRecoveryCode(context, account, value))) {
    await recordSecondFactorSuccess(context, account, ip);
    const event = { at: context.now(), actor: account, action: 'recovery-code-used', account, ip, protocol };
    await context.store.appendAudit(event);
    notifyAccount(context, event);
    return { ok: true, method: 'recovery-code' };
  }

  const reservation = await reserveSecondFactorAttempt(context, account, ip, value);
  if (!reservation.allowed) {
    const { delayMs } = await recordFailure(context, 'second-factor', account, ip, value, reservation.attempts);
    return { ok: false, delayMs, locked: true };
  }

  const epochSeconds = Math.floor(context.now() / 1000);
  for (const device of record.devices) {
    const secretKey = context.secrets.decrypt(device.encryptedKey);
    const check = await checkCode(secretKey, value, epochSeconds, device.settings, context.options.window);
    if (check.valid && (await context.store.claimStep(keys.stepClaim(account, context.secrets.hash('step-claim', secretKey)), check.timeStep))) {
      await recordSecondFactorSuccess(context, account, ip);
      await context.store.set(keys.lastUse(account, device.id), { at: context.now(), ip, protocol });
      return { ok: true, method: 'code' };
    }
  }
  const { delayMs, lockedNow } = await recordFailure(context, 'second-factor', account, ip, value, reservation.attempts);
  if (lockedNow) {
    const event = { at: context.now(), actor: 'system', action: 'second-factor-locked', account, ip, protocol };
    await context.store.appendAudit(event);
    notifyAccount(context, event);
  }
  return { ok: false, delayMs, locked: lockedNow };
}

/**
 * Checks the first factor alone (the panel's password page), counting failures per account
 * and client IP like protocol logins. Throws ERR_BACKEND_UNAVAILABLE or ERR_STORE_UNAVAILABLE on faults.
 */
export async function verifyFirstFactor(
  context: TwoStepContext,
  account: string,
  password: string,
  ip: string,
): Promise<{ readonly ok: boolean; readonly delayMs: number }> {
  if (password.length === 0 || password.length > 1024) {
    return { ok: false, delayMs: 0 };
  }
  if (await verifyPassword(context, account, password)) {
    return { ok: true, delayMs: 0 };
  }
  const { delayMs } = await recordFailure(context, 'password', account, ip, password);
  return { ok: false, delayMs };
}
