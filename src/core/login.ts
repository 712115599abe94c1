import { accountForLog, normalizeAccount } from './account';
import { processFaultLog, type FaultLog } from './fault-log';
import { normalizeAppPassword } from './app-passwords';
import { notifyAccount, type Logger, type TwoStepContext } from './context';
import { splitPasswordAndCode } from './credentials';
import { TwoStepError, isTwoStepError } from './errors';
import { grantKey, grantWrite, useGrant, type GrantRecord } from './grants';
import { keys, type AccountRecord, type AppPasswordRecord, type LastUse, type Protocol } from './model';
import { loadAccountState } from './state';
import { constantTimeEqual } from './secrets';
import { recordFailure, repeatKeyOf, type FailureKind } from './throttle';
import { checkCode, DEFAULT_TOTP_SETTINGS } from './totp';
import type { StoreWrite } from '../store/types';

/** Maximum length of a secret from a client; a longer one is rejected before any check. */
export const MAX_SECRET_LENGTH = 1024;

export interface LoginRequest {
  readonly account: string;
  /** The client's password field: a password, password+code or an app password. */
  readonly secret: string;
  readonly protocol: Protocol;
  readonly ip: string;
}

export type LoginMethod = 'password' | 'app-password' | 'password+code' | 'grant';

export type RejectReason =
  | 'malformed'
  | 'wrong-password'
  | 'missing-code'
  | 'wrong-code'
  | 'replay'
  | 'locked'
  | 'not-enrolled'
  | 'app-password-scope'
  | 'app-password-expired';

/** The outcome of one protocol login. `reason` is for logs only: every rejection gets the same reply. */
export type LoginDecision =
  | {
      readonly outcome: 'accepted';
      readonly account: string;
      readonly method: LoginMethod;
      readonly password?: string;
      /** The name of the app password used, for the log line. */
      readonly appPasswordName?: string;
    }
  | { readonly outcome: 'rejected'; readonly reason: RejectReason; readonly delayMs: number; readonly account?: string }
  | { readonly outcome: 'temporary-failure'; readonly reason: string };

// Tab is allowed inside a password; every other control character, NUL included, is not.
const INVALID_SECRET_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * Decides one SMTP, IMAP, POP3 or web login. Every front door calls this, so the same rules
 * hold everywhere. Never throws: a store or backend fault becomes `temporary-failure`.
 * An accepted decision carries `password`, the first factor without the code, for front
 * doors that pass the login on to a backend that checks the password itself.
 */
export async function decideLogin(context: TwoStepContext, request: LoginRequest): Promise<LoginDecision> {
  try {
    const decision = await decide(context, request);
    logDecision(context, request, decision);
    return decision;
  } catch (error) {
    return undecided(context.logger, context.faultLog ?? processFaultLog, request, error, 'login could not be decided');
  }
}

/**
 * Logs a login that a fault kept from being decided and returns its temporary failure. The
 * cause is logged at error level once a minute; the logins in between get a short line.
 */
export function undecided(logger: Logger, faultLog: FaultLog, request: LoginRequest, error: unknown, message: string): LoginDecision {
  const reason = isTwoStepError(error) ? error.code : 'ERR_INTERNAL';
  const fields = { event: 'login', account: accountForLog(String(request.account)), protocol: request.protocol, ip: request.ip, result: 'temporary-failure', reason };
  if (!faultLog.error(logger, (error as Error).message, fields, message)) {
    logger.warn(fields, `${message}, for the cause in the last error line`);
  }
  return { outcome: 'temporary-failure', reason };
}

function logDecision(context: TwoStepContext, request: LoginRequest, decision: LoginDecision): void {
  const fields = { event: 'login', account: accountForLog(String(request.account)), protocol: request.protocol, ip: request.ip };
  if (decision.outcome === 'accepted') {
    context.logger.info({ ...fields, result: 'accepted', method: decision.method, app_password: decision.appPasswordName }, 'login accepted');
  } else if (decision.outcome === 'rejected') {
    context.logger.warn({ ...fields, result: 'rejected', reason: decision.reason, delay_ms: decision.delayMs }, 'login rejected');
  }
}

async function decide(context: TwoStepContext, request: LoginRequest): Promise<LoginDecision> {
  const { secret, protocol, ip } = request;
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_SECRET_LENGTH || INVALID_SECRET_CHARACTER.test(secret)) {
    return { outcome: 'rejected', reason: 'malformed', delayMs: 0 };
  }
  let account: string;
  try {
    account = normalizeAccount(request.account);
  } catch (error) {
    if (isTwoStepError(error, 'ERR_INVALID_ACCOUNT')) {
      return { outcome: 'rejected', reason: 'malformed', delayMs: 0 };
    }
    throw error;
  }

  // The grant for this exact credential, the failed-code count and whether this client had this
  // credential rejected before are read with the account state: one round trip, not four.
  const key = grantKey(context, account, secret, ip, protocol);
  const state = await loadAccountState(context, account, [key], [keys.secondFactorFailures(account), repeatKeyOf(context, account, ip, secret)]);
  const { record, policy } = state;

  if (protocol !== 'web') {
    const appPasswordDecision = await tryAppPassword(context, record, secret, protocol, ip);
    if (appPasswordDecision) {
      return appPasswordDecision;
    }
  }

  const enrolled = record.devices.length > 0;
  if (policy.policy === 'disabled' || (!enrolled && policy.policy === 'optional')) {
    return decidePasswordOnly(context, account, request);
  }
  return decideSecondFactor(context, record, request, key, {
    grant: state.extra[0] as GrantRecord | undefined,
    failedCodes: state.counters[0],
    repeated: state.counters[1] > 0,
  });
}

async function tryAppPassword(
  context: TwoStepContext,
  record: AccountRecord,
  secret: string,
  protocol: Exclude<Protocol, 'web'>,
  ip: string,
): Promise<LoginDecision | undefined> {
  const normalized = normalizeAppPassword(secret);
  if (normalized === undefined || record.appPasswords.length === 0) {
    return undefined;
  }
  const hash = context.secrets.hash('app-password', normalized);
  const match = record.appPasswords.find((candidate: AppPasswordRecord) => constantTimeEqual(candidate.hash, hash));
  if (!match) {
    return undefined;
  }
  const now = context.now();
  if (match.expiresAt !== undefined && match.expiresAt <= now) {
    return { outcome: 'rejected', reason: 'app-password-expired', delayMs: 0, account: record.account };
  }
  if (!match.scopes.includes(protocol)) {
    return { outcome: 'rejected', reason: 'app-password-scope', delayMs: 0, account: record.account };
  }
  await recordActivity(context, await useWrites(context, record.account, match.id, ip, protocol, 'app-password'));
  return { outcome: 'accepted', account: record.account, method: 'app-password', appPasswordName: match.name };
}

/** Checks the first factor with the configured timeout; a fault or timeout throws ERR_BACKEND_UNAVAILABLE. */
export async function verifyPassword(context: TwoStepContext, account: string, password: string): Promise<boolean> {
  const timeoutMs = context.options.backendTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TwoStepError('ERR_BACKEND_UNAVAILABLE', `password backend timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([context.backend.verify(account, password), timeout]);
  } catch (error) {
    if (isTwoStepError(error)) {
      throw error;
    }
    throw new TwoStepError('ERR_BACKEND_UNAVAILABLE', `password backend failed: ${(error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** Checks a random password, so that paths that skip the real check take as long. */
async function dummyPasswordCheck(context: TwoStepContext, account: string): Promise<void> {
  await verifyPassword(context, account, '\u0000twostep-dummy-check');
}

async function reject(
  context: TwoStepContext,
  kind: FailureKind,
  reason: RejectReason,
  account: string,
  ip: string,
  secret: string,
  protocol: Protocol,
  reservedAttempts?: number,
): Promise<LoginDecision> {
  const { delayMs, lockedNow } = await recordFailure(context, kind, account, ip, secret, reservedAttempts);
  if (lockedNow) {
    context.logger.warn({ event: 'second-factor-locked', account, ip }, 'second factor locked after repeated failed verification codes');
    const event = { at: context.now(), actor: 'system', action: 'second-factor-locked', account, ip, protocol };
    await context.store.appendAudit(event);
    notifyAccount(context, event);
  }
  return { outcome: 'rejected', reason, delayMs, account };
}

async function decidePasswordOnly(context: TwoStepContext, account: string, request: LoginRequest): Promise<LoginDecision> {
  const { secret, ip, protocol } = request;
  if (await verifyPassword(context, account, secret)) {
    return { outcome: 'accepted', account, method: 'password', password: secret };
  }
  return reject(context, 'password', 'wrong-password', account, ip, secret, protocol);
}

async function decideSecondFactor(
  context: TwoStepContext,
  record: AccountRecord,
  request: LoginRequest,
  key: string,
  preloaded: { readonly grant: GrantRecord | undefined; readonly failedCodes: number; readonly repeated: boolean },
): Promise<LoginDecision> {
  const { secret, protocol, ip } = request;
  const account = record.account;
  const enrolled = record.devices.length > 0;

  const grantDevice = enrolled ? await useGrant(context, key, record, preloaded) : undefined;
  if (grantDevice !== undefined) {
    // A client that lives on its grant keeps its device's last use current, once a minute.
    await recordActivity(context, await useWrites(context, account, grantDevice, ip, protocol, 'grant'));
    return { outcome: 'accepted', account, method: 'grant', password: splitPasswordAndCode(secret, digitsOf(record))?.password };
  }

  const failedCodes = enrolled ? preloaded.failedCodes : 0;
  if (failedCodes >= context.options.lockAfter) {
    await dummyPasswordCheck(context, account);
    return reject(context, 'second-factor', 'locked', account, ip, secret, protocol);
  }

  const parts = splitPasswordAndCode(secret, digitsOf(record));
  if (!parts) {
    await dummyPasswordCheck(context, account);
    return reject(context, 'password', 'missing-code', account, ip, secret, protocol);
  }
  if (!(await verifyPassword(context, account, parts.password))) {
    return reject(context, 'password', 'wrong-password', account, ip, secret, protocol);
  }
  if (!enrolled) {
    // Policy is mandatory and no device is enrolled: the same reply as any rejection.
    return reject(context, 'password', 'not-enrolled', account, ip, secret, protocol);
  }

  // The code is checked against each device here (CPU only). The store then counts the attempt
  // and, if it is allowed, claims the matched step in one atomic call: parallel guesses still
  // get at most lock_after codes judged, and a locked account learns nothing from a right code.
  const match = await matchDevice(context, record, parts.code);
  const counted = !preloaded.repeated;
  const onClaim: StoreWrite[] = [];
  let activity: StoreWrite[] = [];
  let grantsOn = false;
  if (match) {
    const grant = grantWrite(context, key, account, match.deviceId);
    if (grant) {
      onClaim.push(grant);
      grantsOn = true;
    }
    if (failedCodes > 0 || counted) {
      onClaim.push({ type: 'reset-counter', key: keys.secondFactorFailures(account) });
    }
    // The claim below lets each code in at most once, so its use is recorded without the
    // once-a-minute check. The batch writer takes it when this process has one. Otherwise it
    // goes into the claim's transaction.
    activity = await useWrites(context, account, match.deviceId, ip, protocol, 'password+code', true);
    if (!context.activity) {
      onClaim.push(...activity);
    }
  }
  const attempt = await context.store.attemptSecondFactor({
    counterKey: keys.secondFactorFailures(account),
    limit: context.options.lockAfter,
    count: counted,
    claim: match ? { key: match.claimKey, step: match.timeStep } : undefined,
    onClaim,
    // When a client opens several connections at once with a new password+code, one claims the
    // step and the others find its grant here instead of counting as failed codes.
    grantKey: grantsOn ? key : undefined,
  });
  if (attempt.granted) {
    if (await useGrant(context, key, record)) {
      return { outcome: 'accepted', account, method: 'grant', password: parts.password };
    }
    return reject(context, 'second-factor', 'replay', account, ip, secret, protocol);
  }
  if (!attempt.allowed) {
    return reject(context, 'second-factor', 'locked', account, ip, secret, protocol, attempt.attempts);
  }
  if (!match) {
    return reject(context, 'second-factor', 'wrong-code', account, ip, secret, protocol, attempt.attempts);
  }
  if (!attempt.claimed) {
    // The store writes the grant in the same transaction or script as the claim. With grants on,
    // a parallel login with this credential would have got `granted`, so this is a replay.
    return reject(context, 'second-factor', 'replay', account, ip, secret, protocol, attempt.attempts);
  }
  context.activity?.add(activity);
  return { outcome: 'accepted', account, method: 'password+code', password: parts.password };
}

interface DeviceMatch {
  readonly deviceId: string;
  readonly timeStep: number;
  /** The step-claim key: one per secret key, so a key provisioned twice cannot be replayed across devices. */
  readonly claimKey: string;
}

/** Returns the first device whose code for a step in the window is `code`. */
async function matchDevice(context: TwoStepContext, record: AccountRecord, code: string): Promise<DeviceMatch | undefined> {
  const epochSeconds = Math.floor(context.now() / 1000);
  for (const device of record.devices) {
    const secretKey = context.secrets.decrypt(device.encryptedKey);
    const check = await checkCode(secretKey, code, epochSeconds, device.settings, context.options.window);
    if (check.valid) {
      return { deviceId: device.id, timeStep: check.timeStep, claimKey: keys.stepClaim(record.account, context.secrets.hash('step-claim', secretKey)) };
    }
  }
  return undefined;
}

/** All devices of an account must share one code length for the split; the first device sets it. */
function digitsOf(record: AccountRecord): number {
  return record.devices[0]?.settings.digits ?? DEFAULT_TOTP_SETTINGS.digits;
}

/** Last use and the login audit event are written again only after this long, unless the client or protocol changed. */
const USE_RECORD_INTERVAL_MS = 60_000;
/** Uses this process recorded lately, by last-use key, address and protocol; bounded, then cleared. */
const recentUses = new Map<string, number>();
const MAX_RECENT_USES = 10_000;

function rememberUse(key: string, at: number): void {
  if (recentUses.size >= MAX_RECENT_USES) {
    recentUses.clear();
  }
  recentUses.set(key, at);
}

/** Hands login activity to the process's batch writer, or writes it now when there is none. */
async function recordActivity(context: TwoStepContext, writes: readonly StoreWrite[]): Promise<void> {
  if (context.activity) {
    context.activity.add(writes);
  } else if (writes.length > 0) {
    await context.store.writeMany(writes);
  }
}

/**
 * Returns the writes that record the last use of a device or an app password and audit the
 * login. A client that reconnects every few seconds would otherwise write two rows per
 * connection, so repeats from the same address and protocol within a minute write nothing.
 */
async function useWrites(
  context: TwoStepContext,
  account: string,
  id: string,
  ip: string,
  protocol: Protocol,
  method: LoginMethod,
  always = false,
): Promise<StoreWrite[]> {
  const now = context.now();
  const key = keys.lastUse(account, id);
  const recentKey = `${key}\0${ip}\0${protocol}`;
  if (!always) {
    // Most repeats are seen by this process: remembering them saves the store read too.
    const recent = recentUses.get(recentKey);
    if (recent !== undefined && now >= recent && now - recent < USE_RECORD_INTERVAL_MS) {
      return [];
    }
    const previous = await context.store.get<LastUse>(key);
    if (previous && previous.ip === ip && previous.protocol === protocol && now - previous.at < USE_RECORD_INTERVAL_MS) {
      rememberUse(recentKey, previous.at);
      return [];
    }
  }
  rememberUse(recentKey, now);
  const writes: StoreWrite[] = [{ type: 'set', key, value: { at: now, ip, protocol } satisfies LastUse }];
  if (context.options.auditLogins) {
    writes.push({ type: 'audit', event: { at: now, actor: account, action: 'login', account, ip, protocol, detail: method } });
  }
  return writes;
}
