import { isIPv4, isIPv6 } from 'node:net';
import type { TwoStepContext } from './context';
import { keys, type AccountRecord, type Protocol } from './model';
import type { StoreWrite } from '../store/types';

const GRANT_REFRESH_MS = 60_000;

/** A login grant: lets one client reuse one password+code string for a bounded time. */
export interface GrantRecord {
  readonly account: string;
  /** The device whose code created the grant; the grant ends when that device is revoked. */
  readonly deviceId: string;
  readonly createdAt: number;
  /** End of the idle timeout, moved forward on each use but never past `expiresAt`. */
  readonly idleExpiresAt: number;
  /** The hard maximum age. */
  readonly expiresAt: number;
}

/** Reduces a client address to the network a grant is bound to. */
export function addressBucket(ip: string, ipv4Prefix: number, ipv6Prefix: number): string {
  if (isIPv4(ip)) {
    const value = ip.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    const masked = ipv4Prefix === 0 ? 0 : Math.floor(value / 2 ** (32 - ipv4Prefix)) * 2 ** (32 - ipv4Prefix);
    return `${[24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256).join('.')}/${ipv4Prefix}`;
  }
  if (isIPv6(ip)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) {
      return addressBucket(mapped[1], ipv4Prefix, ipv6Prefix);
    }
    const hextets = expandIpv6(ip);
    const keep = Math.ceil(ipv6Prefix / 16);
    return `${hextets.slice(0, keep).join(':')}/${ipv6Prefix}`;
  }
  return ip;
}

function expandIpv6(ip: string): string[] {
  const [head, tail = ''] = ip.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const missing = ip.includes('::') ? 8 - headParts.length - tailParts.length : 0;
  return [...headParts, ...Array<string>(missing).fill('0'), ...tailParts].map((part) => part.toLowerCase().padStart(4, '0'));
}

/** Returns the store key of the grant for one exact credential from one client network and protocol. */
export function grantKey(context: TwoStepContext, account: string, secret: string, ip: string, protocol: Protocol): string {
  const bucket = addressBucket(ip, context.options.grantIpv4Prefix, context.options.grantIpv6Prefix);
  return keys.grant(context.secrets.hash('grant', `${account}\0${protocol}\0${bucket}\0${secret}`));
}

/** Returns the write that creates a grant for a login just accepted with password+code, or none when grants are off. */
export function grantWrite(context: TwoStepContext, key: string, account: string, deviceId: string): StoreWrite | undefined {
  const { options, now } = context;
  if (options.grantIdleTimeoutMs === 0 || options.grantMaxAgeMs === 0) {
    return undefined;
  }
  const createdAt = now();
  const expiresAt = createdAt + options.grantMaxAgeMs;
  const grant: GrantRecord = { account, deviceId, createdAt, idleExpiresAt: Math.min(createdAt + options.grantIdleTimeoutMs, expiresAt), expiresAt };
  return { type: 'set', key, value: grant, ttlMs: grant.idleExpiresAt - createdAt };
}

/**
 * Uses a grant if it is live and its device still exists, and extends its idle timeout up
 * to the hard maximum age. Returns the device id of a usable grant. Expiry is checked against
 * the injected clock; the store TTL only removes old grants. `preloaded` passes a grant
 * already read with the account state, saving a round trip.
 */
export async function useGrant(
  context: TwoStepContext,
  key: string,
  record: AccountRecord,
  preloaded?: { readonly grant: GrantRecord | undefined },
): Promise<string | undefined> {
  const grant = preloaded ? preloaded.grant : await context.store.get<GrantRecord>(key);
  if (!grant || grant.account !== record.account) {
    return undefined;
  }
  const now = context.now();
  if (grant.idleExpiresAt <= now || grant.expiresAt <= now || !record.devices.some((device) => device.id === grant.deviceId)) {
    await context.store.delete(key);
    return undefined;
  }
  const idleExpiresAt = Math.min(now + context.options.grantIdleTimeoutMs, grant.expiresAt);
  // Moving the idle timeout by less than a minute is not worth a write on every reconnect.
  if (idleExpiresAt - grant.idleExpiresAt >= GRANT_REFRESH_MS || idleExpiresAt === grant.expiresAt) {
    if (idleExpiresAt !== grant.idleExpiresAt) {
      await context.store.set(key, { ...grant, idleExpiresAt }, idleExpiresAt - now);
    }
  }
  return grant.deviceId;
}
