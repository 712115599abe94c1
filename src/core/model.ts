import type { TotpSettings } from './totp';

export const PROTOCOLS = ['smtp', 'imap', 'pop3', 'web'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Protocols an app password can be scoped to; the web panel never accepts app passwords. */
export const SCOPES = ['smtp', 'imap', 'pop3'] as const;
export type Scope = (typeof SCOPES)[number];

export const POLICY_VALUES = ['disabled', 'optional', 'mandatory'] as const;
export type PolicyValue = (typeof POLICY_VALUES)[number];
/** A policy as set at one level; `inherit` means "not set here". */
export type PolicySetting = PolicyValue | 'inherit';

/** One enrolled authenticator. */
export interface DeviceRecord {
  readonly id: string;
  readonly name: string;
  /** The secret key, encrypted at rest (see SecretBox). */
  readonly encryptedKey: string;
  readonly settings: TotpSettings;
  readonly createdAt: number;
}

/** A device that was paired but not confirmed with its first code yet. */
export interface PendingDeviceRecord extends DeviceRecord {
  readonly expiresAt: number;
}

export interface AppPasswordRecord {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** HMAC-SHA-256 of the normalised app password. */
  readonly hash: string;
  readonly createdAt: number;
  readonly expiresAt?: number;
}

/** Everything TwoStep keeps for one account, written as one value so related changes land together. */
export interface AccountRecord {
  readonly account: string;
  readonly policy: PolicySetting;
  readonly accountClass?: string;
  readonly devices: readonly DeviceRecord[];
  readonly pendingDevice?: PendingDeviceRecord;
  readonly appPasswords: readonly AppPasswordRecord[];
  /** HMAC-SHA-256 hashes of the unused recovery codes. */
  readonly recoveryCodes: readonly string[];
  readonly recoveryCodesCreatedAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Last use of a device or an app password, kept apart from the account record so logins never contend on it. */
export interface LastUse {
  readonly at: number;
  readonly ip: string;
  readonly protocol: Protocol;
}

export interface DomainRecord {
  readonly domain: string;
  readonly policy: PolicySetting;
  readonly createdAt: number;
}

export interface ClassRecord {
  readonly name: string;
  readonly policy: PolicySetting;
  readonly createdAt: number;
}

export function emptyAccountRecord(account: string, now: number): AccountRecord {
  return { account, policy: 'inherit', devices: [], appPasswords: [], recoveryCodes: [], createdAt: now, updatedAt: now };
}

/** Store keys, in one place so every backend and tool agrees on them. */
export const keys = {
  account: (account: string) => `account:${account}`,
  accountPrefix: 'account:',
  domain: (domain: string) => `domain:${domain}`,
  domainPrefix: 'domain:',
  /** Kept apart from the domain record, which every login reads, because a logo can be 64 KB. */
  branding: (domain: string) => `branding:${domain}`,
  accountClass: (name: string) => `class:${name}`,
  classPrefix: 'class:',
  globalPolicy: 'settings:global-policy',
  lastUse: (account: string, id: string) => `last-use:${account}:${id}`,
  grant: (hash: string) => `grant:${hash}`,
  grantPrefix: 'grant:',
  /** A panel session, by a keyed hash of its id. */
  webSession: (idHash: string) => `web-session:${idHash}`,
  webSessionPrefix: 'web-session:',
  /** Claims are keyed by a hash of the secret key, so re-provisioning the same key cannot reopen used steps. */
  stepClaim: (account: string, secretKeyHash: string) => `${account}:${secretKeyHash}`,
  secondFactorFailures: (account: string) => `second-factor-failures:${account}`,
  passwordFailuresByAccountAndIp: (account: string, ip: string) => `password-failures:${account}:${ip}`,
  passwordFailuresByIp: (ip: string) => `password-failures-ip:${ip}`,
  repeatedFailure: (hash: string) => `repeated-failure:${hash}`,
  /** A panel route's request count from one client address (@fastify/rate-limit). */
  rateLimit: (route: string, address: string) => `rate-limit:${route}:${address}`,
  encryptionKeyId: 'settings:encryption-key-id',
} as const;
