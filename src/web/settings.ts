import { isIP } from 'node:net';
import { TwoStepError } from '../core/errors';
import type { IniConfig } from '../core/options';

/** Settings of the HTTP service, read once from the `[http]` and `[session]` sections of twostep.ini. */
export interface HttpSettings {
  readonly host: string;
  readonly port: number;
  /**
   * Whether to believe X-Forwarded-For and X-Forwarded-Proto: `false`, `true` (every peer)
   * or a list of proxy addresses or CIDR ranges.
   */
  readonly trustProxy: boolean | readonly string[];
  /** `auto`: Secure `__Host-` cookies unless the request came over plain HTTP to a loopback listener. */
  readonly cookieSecure: 'auto' | 'always' | 'never';
  /** Sign-in, code and re-verification requests allowed per client IP per minute. */
  readonly signInRateLimit: number;
  readonly sessionIdleMs: number;
  readonly sessionMaxAgeMs: number;
  /** How long a re-verification of the credentials allows 2-Step Verification changes. */
  readonly reverifyWindowMs: number;
}

export const DEFAULT_HTTP_SETTINGS: HttpSettings = {
  host: '127.0.0.1',
  port: 8025,
  trustProxy: false,
  cookieSecure: 'auto',
  signInRateLimit: 20,
  sessionIdleMs: 900_000,
  sessionMaxAgeMs: 28_800_000,
  reverifyWindowMs: 300_000,
};

function rawValue(ini: IniConfig, section: string, key: string): string | undefined {
  const raw = ini[section]?.[key];
  if (raw === undefined || raw === null) {
    return undefined;
  }
  const text = String(raw).trim();
  return text === '' ? undefined : text;
}

function readInteger(label: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TwoStepError('ERR_INVALID_CONFIG', `invalid ${label} = ${raw.slice(0, 40)}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function readTrustProxy(raw: string | undefined): boolean | string[] {
  if (raw === undefined || ['false', 'no', 'off', '0'].includes(raw.toLowerCase())) {
    return false;
  }
  if (['true', 'yes', 'on', '1'].includes(raw.toLowerCase())) {
    return true;
  }
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    if (isIP(entry.split('/')[0]) === 0) {
      throw new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [http] trust_proxy entry "${entry.slice(0, 60)}": expected true, false or a list of IP addresses or CIDR ranges`);
    }
  }
  return entries;
}

function readCookieSecure(raw: string | undefined): HttpSettings['cookieSecure'] {
  const value = (raw ?? 'auto').toLowerCase();
  if (value === 'auto') {
    return 'auto';
  }
  if (['true', 'yes', 'on', '1'].includes(value)) {
    return 'always';
  }
  if (['false', 'no', 'off', '0'].includes(value)) {
    return 'never';
  }
  throw new TwoStepError('ERR_INVALID_CONFIG', `invalid twostep.ini [http] cookie_secure = ${value.slice(0, 40)}: expected auto, true or false`);
}

/**
 * Reads the HTTP service settings. TWOSTEP_HTTP_PORT overrides `[http] port`.
 * @throws TwoStepError ERR_INVALID_CONFIG naming the key and the accepted values.
 */
export function readHttpSettings(ini: IniConfig, env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const d = DEFAULT_HTTP_SETTINGS;
  const portFromEnv = env.TWOSTEP_HTTP_PORT !== undefined && env.TWOSTEP_HTTP_PORT !== '' ? env.TWOSTEP_HTTP_PORT : undefined;
  return {
    host: rawValue(ini, 'http', 'host') ?? d.host,
    port: portFromEnv !== undefined
      ? readInteger('TWOSTEP_HTTP_PORT', portFromEnv, d.port, 1, 65535)
      : readInteger('twostep.ini [http] port', rawValue(ini, 'http', 'port'), d.port, 1, 65535),
    trustProxy: readTrustProxy(rawValue(ini, 'http', 'trust_proxy')),
    cookieSecure: readCookieSecure(rawValue(ini, 'http', 'cookie_secure')),
    signInRateLimit: readInteger('twostep.ini [http] sign_in_rate_limit', rawValue(ini, 'http', 'sign_in_rate_limit'), d.signInRateLimit, 1, 10_000),
    sessionIdleMs: readInteger('twostep.ini [session] idle_timeout', rawValue(ini, 'session', 'idle_timeout'), d.sessionIdleMs / 1000, 60, 86_400) * 1000,
    sessionMaxAgeMs: readInteger('twostep.ini [session] max_age', rawValue(ini, 'session', 'max_age'), d.sessionMaxAgeMs / 1000, 60, 30 * 86_400) * 1000,
    reverifyWindowMs: readInteger('twostep.ini [session] reverify_window', rawValue(ini, 'session', 'reverify_window'), d.reverifyWindowMs / 1000, 30, 3600) * 1000,
  };
}

/** Returns whether a listener address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
