import { normalizeAccount } from './account';
import { formatAppPassword, generateAppPassword, normalizeAppPassword, parseName } from './app-passwords';
import { notifyAccount, type TwoStepContext } from './context';
import { TwoStepError } from './errors';
import {
  emptyAccountRecord,
  keys,
  type AccountRecord,
  type AppPasswordRecord,
  type DeviceRecord,
  type LastUse,
  type PendingDeviceRecord,
  type Scope,
} from './model';
import { generateRecoveryCode, normalizeRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes';
import { formatCount } from './counts';
import { constantTimeEqual, randomId } from './secrets';
import { loadAccountState } from './state';
import type { EffectivePolicy } from './policy';
import {
  buildOtpauthUri,
  checkCode,
  DEFAULT_TOTP_SETTINGS,
  formatSecretKey,
  generateCode,
  generateSecretKey,
  normalizeSecretKey,
  timeStepAt,
  type TotpSettings,
} from './totp';

/** The performer of a change, for the audit log: the account itself, an admin, or `cli`. */
export interface Actor {
  readonly actor: string;
  readonly ip?: string;
}

async function audit(context: TwoStepContext, actor: Actor, action: string, account: string, detail?: string): Promise<void> {
  const event = { at: context.now(), actor: actor.actor, action, account, ip: actor.ip, detail };
  await context.store.appendAudit(event);
  notifyAccount(context, event);
  context.logger.info({ event: 'audit', actor: actor.actor, action, account, ip: actor.ip }, `audit: ${action}`);
}

/** Applies a change to an account record atomically; `mutate` may throw to abort without writing. */
export async function updateAccount(
  context: TwoStepContext,
  account: string,
  mutate: (record: AccountRecord) => AccountRecord,
): Promise<AccountRecord> {
  const now = context.now();
  const written = await context.store.update<AccountRecord>(keys.account(account), (current) => {
    const next = mutate(current ?? emptyAccountRecord(account, now));
    return { ...next, updatedAt: now };
  });
  return written as AccountRecord;
}

export interface PairingStart {
  readonly deviceId: string;
  readonly secretKey: string;
  /** The secret key in groups of four, as shown next to the QR code. */
  readonly formattedKey: string;
  readonly otpauthUri: string;
  readonly expiresAt: number;
}

/** Creates a pending device with a new secret key; it becomes active only when confirmed with its first code. */
export async function startPairing(context: TwoStepContext, actor: Actor, rawAccount: string, rawName: string): Promise<PairingStart> {
  const account = normalizeAccount(rawAccount);
  const name = parseName(rawName, 'device');
  const secretKey = generateSecretKey();
  const now = context.now();
  let pending: PendingDeviceRecord | undefined;
  await updateAccount(context, account, (record) => {
    // The code is split off the password by its length, so a new device uses the length of the
    // account's devices: 8 digits when they were provisioned with 8.
    const settings: TotpSettings = { ...DEFAULT_TOTP_SETTINGS, digits: record.devices[0]?.settings.digits ?? DEFAULT_TOTP_SETTINGS.digits };
    pending = { id: randomId(), name, encryptedKey: context.secrets.encrypt(secretKey), settings, createdAt: now, expiresAt: now + context.options.pendingDeviceTtlMs };
    return { ...record, pendingDevice: pending };
  });
  await audit(context, actor, 'device-pairing-started', account, name);
  return {
    deviceId: pending!.id,
    secretKey,
    formattedKey: formatSecretKey(secretKey),
    otpauthUri: buildOtpauthUri(context.options.issuer, account, secretKey, pending!.settings),
    expiresAt: pending!.expiresAt,
  };
}

export interface PairingResult {
  readonly device: DeviceRecord;
  /** New recovery codes when this was the account's first device; shown once. */
  readonly recoveryCodes?: readonly string[];
}

/** Thrown inside an update to leave the record unwritten when there is nothing to change. */
class NothingToChange extends Error {}

/** Runs an update and returns true, or false when it threw NothingToChange. */
async function changedUnlessNothing(update: () => Promise<unknown>): Promise<boolean> {
  try {
    await update();
    return true;
  } catch (error) {
    if (error instanceof NothingToChange) {
      return false;
    }
    throw error;
  }
}

/**
 * Drops the account's unconfirmed device, so that pairing can start again with another name and
 * key. Returns whether there was one. Without one the record is not written.
 */
export async function cancelPairing(context: TwoStepContext, rawAccount: string): Promise<boolean> {
  const account = normalizeAccount(rawAccount);
  return changedUnlessNothing(() =>
    updateAccount(context, account, (record) => {
      if (!record.pendingDevice) {
        throw new NothingToChange();
      }
      const { pendingDevice: _dropped, ...rest } = record;
      return rest;
    }),
  );
}

/**
 * Confirms the pending device with its first code. The code's time step is claimed, so the
 * same code cannot also be used to sign in.
 * @throws TwoStepError ERR_NOT_FOUND when no pairing is pending, ERR_INVALID_CODE for a wrong code.
 */
export async function confirmPairing(context: TwoStepContext, actor: Actor, rawAccount: string, code: string): Promise<PairingResult> {
  const account = normalizeAccount(rawAccount);
  const { record } = await loadAccountState(context, account);
  const pending = record.pendingDevice;
  if (!pending) {
    throw new TwoStepError('ERR_NOT_FOUND', 'no device is waiting for confirmation, or the pairing expired: start again');
  }
  const secretKey = context.secrets.decrypt(pending.encryptedKey);
  const check = await checkCode(secretKey, String(code), Math.floor(context.now() / 1000), pending.settings, context.options.window);
  if (!check.valid || !(await context.store.claimStep(keys.stepClaim(account, context.secrets.hash('step-claim', secretKey)), check.timeStep))) {
    throw new TwoStepError('ERR_INVALID_CODE', 'invalid verification code: enter the code your authenticator app shows now');
  }

  const device: DeviceRecord = { id: pending.id, name: pending.name, encryptedKey: pending.encryptedKey, settings: pending.settings, createdAt: context.now() };
  let recoveryCodes: string[] | undefined;
  await updateAccount(context, account, (current) => {
    if (current.pendingDevice?.id !== pending.id) {
      throw new TwoStepError('ERR_CONFLICT', 'the pairing was replaced by another one: start again');
    }
    checkCodeLength(current, device.settings);
    const { pendingDevice: _confirmed, ...rest } = current;
    const first = current.devices.length === 0;
    recoveryCodes = first ? Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode) : undefined;
    return {
      ...rest,
      devices: [...current.devices, device],
      ...(recoveryCodes ? { recoveryCodes: recoveryCodes.map((value) => hashRecoveryCode(context, value)), recoveryCodesCreatedAt: context.now() } : {}),
    };
  });
  await audit(context, actor, 'device-added', account, device.name);
  return { device, recoveryCodes };
}

function hashRecoveryCode(context: TwoStepContext, code: string): string {
  return context.secrets.hash('recovery-code', normalizeRecoveryCode(code) ?? code);
}

/**
 * Provisions an existing secret key as a confirmed device (admin action).
 * @throws TwoStepError ERR_INVALID_SECRET_KEY stating the rule for an unusable key.
 */
export async function provisionSecretKey(
  context: TwoStepContext,
  actor: Actor,
  rawAccount: string,
  rawKey: string,
  rawName = 'Provisioned device',
  settings: TotpSettings = DEFAULT_TOTP_SETTINGS,
): Promise<DeviceRecord> {
  const account = normalizeAccount(rawAccount);
  const secretKey = normalizeSecretKey(rawKey);
  const name = parseName(rawName, 'device');
  const device: DeviceRecord = { id: randomId(), name, encryptedKey: context.secrets.encrypt(secretKey), settings, createdAt: context.now() };
  await updateAccount(context, account, (record) => {
    checkNewDeviceKey(context, record, secretKey, settings);
    return { ...record, devices: [...record.devices, device] };
  });
  await audit(context, actor, 'secret-key-provisioned', account, name);
  return device;
}

/**
 * Checks that a provisioned key can join the account's devices.
 * @throws TwoStepError ERR_CONFLICT when a device already has the key, or when the devices use
 *   another number of digits: the code is split off the password by its length.
 */
function checkNewDeviceKey(context: TwoStepContext, record: AccountRecord, secretKey: string, settings: TotpSettings): void {
  checkCodeLength(record, settings);
  const same = record.devices.find((device) => context.secrets.decrypt(device.encryptedKey) === secretKey);
  if (same) {
    throw new TwoStepError('ERR_CONFLICT', `${record.account} already has this secret key on device "${same.name}" (${same.id})`);
  }
}

/** @throws TwoStepError ERR_CONFLICT when a device of the account uses another number of digits than `settings`. */
function checkCodeLength(record: AccountRecord, settings: TotpSettings): void {
  const other = record.devices.find((device) => device.settings.digits !== settings.digits);
  if (other) {
    throw new TwoStepError(
      'ERR_CONFLICT',
      `${record.account} has devices with ${other.settings.digits}-digit codes, and all devices of an account must use the same number of digits: use ${other.settings.digits} digits, or revoke the other devices first`,
    );
  }
}

export interface SecretKeyReset {
  readonly device: DeviceRecord;
  /** Number of devices the new one replaced, 0 when the account had none. */
  readonly replaced: number;
  readonly secretKey: string;
  readonly formattedKey: string;
  readonly otpauthUri: string;
}

/**
 * Replaces all of an account's devices with one new secret key (admin action). Old grants end
 * with the old devices. The audit action is `secret-key-reset` when devices were replaced and
 * `secret-key-created` when the account had none, so the owner's email names what happened.
 */
export async function resetSecretKey(context: TwoStepContext, actor: Actor, rawAccount: string, rawName = 'Authenticator'): Promise<SecretKeyReset> {
  const account = normalizeAccount(rawAccount);
  const secretKey = generateSecretKey();
  const name = parseName(rawName, 'device');
  const device: DeviceRecord = { id: randomId(), name, encryptedKey: context.secrets.encrypt(secretKey), settings: DEFAULT_TOTP_SETTINGS, createdAt: context.now() };
  let replaced = 0;
  await updateAccount(context, account, (record) => {
    replaced = record.devices.length;
    const { pendingDevice: _dropped, ...rest } = record;
    return { ...rest, devices: [device] };
  });
  await audit(context, actor, replaced > 0 ? 'secret-key-reset' : 'secret-key-created', account, name);
  return { device, replaced, secretKey, formattedKey: formatSecretKey(secretKey), otpauthUri: buildOtpauthUri(context.options.issuer, account, secretKey) };
}

/** @throws TwoStepError ERR_NOT_FOUND when the account has no such device. */
export async function revokeDevice(context: TwoStepContext, actor: Actor, rawAccount: string, deviceId: string): Promise<DeviceRecord> {
  const account = normalizeAccount(rawAccount);
  let revoked: DeviceRecord | undefined;
  await updateAccount(context, account, (record) => {
    revoked = record.devices.find((device) => device.id === deviceId);
    if (!revoked) {
      throw new TwoStepError('ERR_NOT_FOUND', `device ${deviceId.slice(0, 40)} not found for ${account}`);
    }
    const devices = record.devices.filter((device) => device.id !== deviceId);
    // With the last device go its recovery codes, as with "revoke all": the next first device gets new ones.
    return devices.length === 0 ? { ...record, devices, recoveryCodes: [] } : { ...record, devices };
  });
  await audit(context, actor, 'device-revoked', account, revoked!.name);
  return revoked!;
}

/**
 * Revokes every device and the recovery codes. With policy optional that turns 2-Step
 * Verification off. Returns how many devices were revoked. An account without a device is
 * left as it is, with no audit event and so no notification, and the result is 0.
 */
export async function revokeAllDevices(context: TwoStepContext, actor: Actor, rawAccount: string): Promise<number> {
  const account = normalizeAccount(rawAccount);
  let count = 0;
  const changed = await changedUnlessNothing(() =>
    updateAccount(context, account, (record) => {
      count = record.devices.length;
      if (count === 0) {
        throw new NothingToChange();
      }
      const { pendingDevice: _dropped, ...rest } = record;
      return { ...rest, devices: [], recoveryCodes: [] };
    }),
  );
  if (!changed) {
    return 0;
  }
  await audit(context, actor, 'devices-revoked-all', account, formatCount(count, 'device'));
  return count;
}

export interface CurrentCode {
  readonly deviceName: string;
  readonly code: string;
  readonly secondsLeft: number;
}

/** Returns the current verification code of each device (admin action, audited). */
export async function viewCurrentCodes(context: TwoStepContext, actor: Actor, rawAccount: string): Promise<CurrentCode[]> {
  const account = normalizeAccount(rawAccount);
  const { record } = await loadAccountState(context, account);
  if (record.devices.length === 0) {
    throw new TwoStepError('ERR_NOT_FOUND', `${account} has no device: add one with "twostep secret reset ${account}"`);
  }
  const epochSeconds = Math.floor(context.now() / 1000);
  const codes: CurrentCode[] = [];
  for (const device of record.devices) {
    const code = await generateCode(context.secrets.decrypt(device.encryptedKey), epochSeconds, device.settings);
    const nextStepStart = (timeStepAt(epochSeconds, device.settings.period) + 1) * device.settings.period;
    codes.push({ deviceName: device.name, code, secondsLeft: nextStepStart - epochSeconds });
  }
  await audit(context, actor, 'code-viewed', account);
  return codes;
}

export interface NewAppPassword {
  readonly record: AppPasswordRecord;
  /** The app password in groups of four; shown once and never stored. */
  readonly appPassword: string;
}

export async function createAppPassword(
  context: TwoStepContext,
  actor: Actor,
  rawAccount: string,
  rawName: string,
  scopes: readonly Scope[],
  expiresAt?: number,
): Promise<NewAppPassword> {
  const account = normalizeAccount(rawAccount);
  const name = parseName(rawName, 'app password');
  if (scopes.length === 0) {
    throw new TwoStepError('ERR_INVALID_SCOPE', 'missing scope: give one or more of smtp, imap, pop3');
  }
  if (expiresAt !== undefined && (!Number.isFinite(expiresAt) || expiresAt <= context.now())) {
    throw new TwoStepError('ERR_INVALID_INPUT', 'invalid expiry: it must be in the future');
  }
  const plain = generateAppPassword();
  const record: AppPasswordRecord = {
    id: randomId(),
    name,
    scopes: [...scopes],
    hash: context.secrets.hash('app-password', normalizeAppPassword(plain)!),
    createdAt: context.now(),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  };
  await updateAccount(context, account, (current) => {
    if (current.appPasswords.some((entry) => entry.name.toLowerCase() === name.toLowerCase())) {
      throw new TwoStepError('ERR_CONFLICT', `an app password named "${name}" already exists for ${account}: choose another name or revoke the old one`);
    }
    return { ...current, appPasswords: [...current.appPasswords, record] };
  });
  await audit(context, actor, 'app-password-created', account, `${name} (${scopes.join(',')})`);
  return { record, appPassword: formatAppPassword(plain) };
}

/** @throws TwoStepError ERR_NOT_FOUND when the account has no app password with that id or name. */
export async function revokeAppPassword(context: TwoStepContext, actor: Actor, rawAccount: string, idOrName: string): Promise<AppPasswordRecord> {
  const account = normalizeAccount(rawAccount);
  let revoked: AppPasswordRecord | undefined;
  await updateAccount(context, account, (record) => {
    revoked = record.appPasswords.find((entry) => entry.id === idOrName);
    if (!revoked) {
      const named = record.appPasswords.filter((entry) => entry.name === idOrName);
      if (named.length > 1) {
        throw new TwoStepError('ERR_CONFLICT', `${named.length} app passwords are named "${idOrName.slice(0, 64)}" for ${account}: revoke one by its id`);
      }
      revoked = named[0];
    }
    if (!revoked) {
      throw new TwoStepError('ERR_NOT_FOUND', `app password "${idOrName.slice(0, 64)}" not found for ${account}`);
    }
    return { ...record, appPasswords: record.appPasswords.filter((entry) => entry !== revoked) };
  });
  await audit(context, actor, 'app-password-revoked', account, revoked!.name);
  return revoked!;
}

/** Replaces the recovery codes; the old ones stop working. Returns the new codes, shown once. */
export async function regenerateRecoveryCodes(context: TwoStepContext, actor: Actor, rawAccount: string): Promise<string[]> {
  const account = normalizeAccount(rawAccount);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
  await updateAccount(context, account, (record) => {
    if (record.devices.length === 0) {
      throw new TwoStepError('ERR_CONFLICT', 'recovery codes need 2-Step Verification turned on first');
    }
    return { ...record, recoveryCodes: codes.map((code) => hashRecoveryCode(context, code)), recoveryCodesCreatedAt: context.now() };
  });
  await audit(context, actor, 'recovery-codes-regenerated', account);
  return codes;
}

/** Uses up one recovery code; returns false when it is not one of the account's unused codes. */
export async function consumeRecoveryCode(context: TwoStepContext, account: string, typed: string): Promise<boolean> {
  const normalized = normalizeRecoveryCode(typed);
  if (!normalized) {
    return false;
  }
  const hash = context.secrets.hash('recovery-code', normalized);
  let used = false;
  await context.store.update<AccountRecord>(keys.account(account), (current) => {
    used = false;
    if (!current || !current.recoveryCodes.some((stored) => constantTimeEqual(stored, hash))) {
      return current;
    }
    used = true;
    return { ...current, recoveryCodes: current.recoveryCodes.filter((stored) => !constantTimeEqual(stored, hash)), updatedAt: context.now() };
  });
  return used;
}

/**
 * Clears the failed-second-factor count and so the lock (admin action or the user's own action in
 * the panel). Returns false, writing no audit event, when there was no failed code to clear.
 */
export async function unlockAccount(context: TwoStepContext, actor: Actor, rawAccount: string): Promise<boolean> {
  const account = normalizeAccount(rawAccount);
  const key = keys.secondFactorFailures(account);
  if ((await context.store.readCounter(key)) === 0) {
    return false;
  }
  await context.store.resetCounter(key);
  await audit(context, actor, 'account-unlocked', account);
  return true;
}

export interface DeviceStatus {
  readonly id: string;
  readonly name: string;
  readonly settings: TotpSettings;
  readonly createdAt: number;
  readonly lastUse?: LastUse;
}

export interface AppPasswordStatus {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: number;
  readonly expiresAt?: number;
  readonly lastUse?: LastUse;
}

export interface AccountStatus {
  readonly account: string;
  readonly policy: EffectivePolicy;
  readonly accountClass?: string;
  readonly accountPolicy: string;
  readonly enrolled: boolean;
  readonly devices: readonly DeviceStatus[];
  readonly appPasswords: readonly AppPasswordStatus[];
  readonly recoveryCodesLeft: number;
  readonly secondFactorFailures: number;
  readonly locked: boolean;
  readonly pendingDevice: boolean;
}

/** Collects what an admin or the user sees about an account. Never includes a secret. */
export async function getAccountStatus(context: TwoStepContext, rawAccount: string): Promise<AccountStatus> {
  const account = normalizeAccount(rawAccount);
  const { record, policy } = await loadAccountState(context, account);
  const ids = [...record.devices.map((device) => device.id), ...record.appPasswords.map((entry) => entry.id)];
  const uses = await context.store.getMany<LastUse>(ids.map((id) => keys.lastUse(account, id)));
  const lastUse = new Map(ids.map((id, index) => [id, uses[index]]));
  const failures = await context.store.readCounter(keys.secondFactorFailures(account));
  return {
    account,
    policy,
    accountClass: record.accountClass,
    accountPolicy: record.policy,
    enrolled: record.devices.length > 0,
    devices: record.devices.map((device) => ({
      id: device.id,
      name: device.name,
      settings: device.settings,
      createdAt: device.createdAt,
      lastUse: lastUse.get(device.id),
    })),
    appPasswords: record.appPasswords.map((entry) => ({
      id: entry.id,
      name: entry.name,
      scopes: entry.scopes,
      createdAt: entry.createdAt,
      expiresAt: entry.expiresAt,
      lastUse: lastUse.get(entry.id),
    })),
    recoveryCodesLeft: record.recoveryCodes.length,
    // Attempts made while locked are counted too; the count shown stops at the limit.
    secondFactorFailures: Math.min(failures, context.options.lockAfter),
    locked: failures >= context.options.lockAfter,
    pendingDevice: record.pendingDevice !== undefined,
  };
}

/** Lists every account that TwoStep stores anything for. */
export async function listStoredAccounts(context: TwoStepContext): Promise<string[]> {
  const stored = await context.store.listKeys(keys.accountPrefix);
  return stored.map((key) => key.slice(keys.accountPrefix.length)).sort();
}

export { audit as writeAuditEvent };
