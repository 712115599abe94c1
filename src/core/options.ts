import { isTwoStepError, TwoStepError } from './errors';
import { parsePolicySetting } from './policy';
import type { PolicySetting } from './model';

/** Validated settings of the login decision, built once from twostep.ini. */
export interface TwoStepOptions {
  readonly issuer: string;
  readonly panelUrl: string;
  readonly globalPolicy: PolicySetting;
  readonly window: number;
  readonly pendingDeviceTtlMs: number;
  readonly grantIdleTimeoutMs: number;
  readonly grantMaxAgeMs: number;
  readonly grantIpv4Prefix: number;
  readonly grantIpv6Prefix: number;
  readonly lockAfter: number;
  readonly freeFailures: number;
  readonly maxDelayMs: number;
  readonly passwordWindowMs: number;
  readonly backendTimeoutMs: number;
  readonly auditLogins: boolean;
  /** How long login activity (last use, login audit events) may wait to be written in one batch; 0 writes it before the reply. */
  readonly activityBatchMs: number;
  readonly admins: readonly string[];
}

type IniSection = Record<string, unknown>;
export type IniConfig = Record<string, IniSection | undefined>;

export const DEFAULT_OPTIONS: TwoStepOptions = {
  issuer: 'TwoStep',
  panelUrl: 'http://127.0.0.1:8025/',
  globalPolicy: 'optional',
  window: 1,
  pendingDeviceTtlMs: 600_000,
  grantIdleTimeoutMs: 900_000,
  grantMaxAgeMs: 86_400_000,
  grantIpv4Prefix: 32,
  grantIpv6Prefix: 64,
  lockAfter: 10,
  freeFailures: 3,
  maxDelayMs: 30_000,
  passwordWindowMs: 900_000,
  backendTimeoutMs: 5_000,
  auditLogins: true,
  activityBatchMs: 50,
  admins: [],
};

/** NIST SP 800-63B §5.2.2 allows at most 100 consecutive failed attempts on one account. */
const MAX_LOCK_AFTER = 100;

function readNumber(ini: IniConfig, section: string, key: string, fallback: number, min: number, max: number): number {
  const raw = ini[section]?.[key];
  if (raw === undefined || raw === null || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [${section}] ${key} = ${String(raw)}: expected a number from ${min} to ${max}`);
  }
  return value;
}

function readString(ini: IniConfig, section: string, key: string, fallback: string): string {
  const raw = ini[section]?.[key];
  return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : fallback;
}

function readBoolean(ini: IniConfig, section: string, key: string, fallback: boolean): boolean {
  const raw = ini[section]?.[key];
  if (raw === undefined || raw === null || raw === '') {
    return fallback;
  }
  if (typeof raw === 'boolean') {
    return raw;
  }
  const text = String(raw).toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(text)) {
    return true;
  }
  if (['false', 'no', 'off', '0'].includes(text)) {
    return false;
  }
  throw new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [${section}] ${key} = ${text}: expected true or false`);
}

/** Reads `[policy] global`, naming the file and key when the value is not a policy. */
function readPolicy(ini: IniConfig, fallback: PolicySetting): PolicySetting {
  const raw = ini.policy?.global;
  if (raw === undefined || raw === null || raw === '') {
    return fallback;
  }
  const invalid = () => new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [policy] global = ${String(raw)}: expected disabled, optional or mandatory`);
  let policy: PolicySetting;
  try {
    policy = parsePolicySetting(raw);
  } catch (error) {
    throw isTwoStepError(error, 'ERR_INVALID_POLICY') ? invalid() : error;
  }
  // The global level is the last one, so there is nothing for it to inherit.
  if (policy === 'inherit') {
    throw invalid();
  }
  return policy;
}

/** Reads the `admins[]` list, which haraka-config returns as an array under [main] or at top level. */
function readAdmins(ini: IniConfig): string[] {
  const raw = ini.main?.admins ?? (ini as Record<string, unknown>).admins;
  if (raw === undefined || raw === null || raw === '') {
    return [];
  }
  const list = Array.isArray(raw) ? raw : String(raw).split(',');
  return list.map((entry) => String(entry).trim().toLowerCase()).filter((entry) => entry !== '');
}

/**
 * Validates twostep.ini into options; unsafe choices are rejected rather than silently clamped.
 * @throws TwoStepError ERR_INVALID_CONFIG naming the key and the accepted range.
 */
export function parseOptions(ini: IniConfig): TwoStepOptions {
  const d = DEFAULT_OPTIONS;
  return {
    issuer: readString(ini, 'main', 'issuer', d.issuer),
    panelUrl: readString(ini, 'main', 'panel_url', d.panelUrl),
    globalPolicy: readPolicy(ini, d.globalPolicy),
    window: readNumber(ini, 'totp', 'window', d.window, 0, 10),
    pendingDeviceTtlMs: readNumber(ini, 'totp', 'pending_device_ttl', d.pendingDeviceTtlMs / 1000, 60, 86_400) * 1000,
    grantIdleTimeoutMs: readNumber(ini, 'grants', 'idle_timeout', d.grantIdleTimeoutMs / 1000, 0, 86_400) * 1000,
    grantMaxAgeMs: readNumber(ini, 'grants', 'max_age', d.grantMaxAgeMs / 1000, 0, 30 * 86_400) * 1000,
    grantIpv4Prefix: readNumber(ini, 'grants', 'ipv4_prefix', d.grantIpv4Prefix, 8, 32),
    grantIpv6Prefix: readNumber(ini, 'grants', 'ipv6_prefix', d.grantIpv6Prefix, 32, 128),
    lockAfter: readNumber(ini, 'throttle', 'lock_after', d.lockAfter, 1, MAX_LOCK_AFTER),
    freeFailures: readNumber(ini, 'throttle', 'free_failures', d.freeFailures, 0, 100),
    maxDelayMs: readNumber(ini, 'throttle', 'max_delay', d.maxDelayMs / 1000, 0, 300) * 1000,
    passwordWindowMs: readNumber(ini, 'throttle', 'password_window', d.passwordWindowMs / 1000, 60, 86_400) * 1000,
    backendTimeoutMs: readNumber(ini, 'backend', 'timeout', d.backendTimeoutMs / 1000, 0.1, 60) * 1000,
    auditLogins: readBoolean(ini, 'audit', 'log_logins', d.auditLogins),
    activityBatchMs: readNumber(ini, 'audit', 'batch_ms', d.activityBatchMs, 0, 1000),
    admins: readAdmins(ini),
  };
}
