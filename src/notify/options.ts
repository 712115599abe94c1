import { TwoStepError } from '../core/errors';
import type { IniConfig } from '../core/options';

/** Settings of the notification emails, from the `[notify]` section of twostep.ini. */
export interface NotifyOptions {
  readonly enabled: boolean;
  /** The From address; undefined means `postmaster@` the account's domain. */
  readonly sender?: string;
  readonly smtpHost: string;
  readonly smtpPort: number;
  /** Maximum wait for the SMTP server to connect, greet or reply, in milliseconds. */
  readonly timeoutMs: number;
}

export const DEFAULT_NOTIFY_OPTIONS: NotifyOptions = { enabled: true, smtpHost: '127.0.0.1', smtpPort: 25, timeoutMs: 10_000 };

// A plain addr-spec without display name, comments or quoting: enough for a sender address.
const SIMPLE_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

function text(ini: IniConfig, key: string): string | undefined {
  const raw = ini.notify?.[key];
  if (raw === undefined || raw === null) {
    return undefined;
  }
  const value = String(raw).trim();
  return value === '' ? undefined : value;
}

function invalid(key: string, value: string, expected: string): TwoStepError {
  return new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [notify] ${key} = ${value.slice(0, 80)}: expected ${expected}`);
}

/**
 * Validates the `[notify]` section.
 * @throws TwoStepError ERR_INVALID_CONFIG naming the key and what it accepts.
 */
export function parseNotifyOptions(ini: IniConfig): NotifyOptions {
  const defaults = DEFAULT_NOTIFY_OPTIONS;

  const enabledRaw = ini.notify?.enabled;
  let enabled = defaults.enabled;
  if (typeof enabledRaw === 'boolean') {
    enabled = enabledRaw;
  } else if (enabledRaw !== undefined && enabledRaw !== null && String(enabledRaw).trim() !== '') {
    const value = String(enabledRaw).trim().toLowerCase();
    if (!['true', 'false', 'yes', 'no', 'on', 'off', '1', '0'].includes(value)) {
      throw invalid('enabled', value, 'true or false');
    }
    enabled = ['true', 'yes', 'on', '1'].includes(value);
  }

  const sender = text(ini, 'sender');
  if (sender !== undefined && !SIMPLE_ADDRESS.test(sender)) {
    throw invalid('sender', sender, 'an address like twostep@example.org, or nothing for postmaster@ the account\'s domain');
  }

  const smtpHost = text(ini, 'smtp_host') ?? defaults.smtpHost;
  if (!/^[A-Za-z0-9.:-]+$/.test(smtpHost)) {
    throw invalid('smtp_host', smtpHost, 'a host name or IP address');
  }

  const portText = text(ini, 'smtp_port');
  const smtpPort = portText === undefined ? defaults.smtpPort : Number(portText);
  if (!Number.isInteger(smtpPort) || smtpPort < 1 || smtpPort > 65535) {
    throw invalid('smtp_port', String(portText), 'a TCP port from 1 to 65535');
  }

  const timeoutText = text(ini, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? defaults.timeoutMs / 1000 : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 120) {
    throw invalid('timeout', String(timeoutText), 'a number of seconds from 1 to 120');
  }

  return { enabled, sender, smtpHost, smtpPort, timeoutMs: timeoutSeconds * 1000 };
}
