import { promises as fs } from 'node:fs';
import { generateAppPassword, formatAppPassword } from '../src/core/app-passwords';
import { emptyAccountRecord, keys, type AccountRecord } from '../src/core/model';
import { generateRecoveryCode, normalizeRecoveryCode } from '../src/core/recovery-codes';
import { randomId, type SecretBox } from '../src/core/secrets';
import { DEFAULT_TOTP_SETTINGS, generateSecretKey } from '../src/core/totp';
import type { Store, StoreEntry } from '../src/store/types';

export interface BenchAccount {
  readonly account: string;
  readonly password: string;
  readonly secretKey: string;
  /** As a user would type it, in groups of four. */
  readonly appPassword: string;
}

export const BENCH_DOMAIN = 'bench.example.test';
const BATCH = 1000;

export function benchAccountName(index: number): string {
  return `user${index}@${BENCH_DOMAIN}`;
}

export function benchPassword(index: number): string {
  return `bench-password-${index}`;
}

/**
 * Writes `total` enrolled accounts straight into the store with bulk imports (not through
 * the login path): each has one device, one app password and ten recovery codes, like an
 * account that finished enrolment in the panel. Also writes the passwd file ({PLAIN}, so the
 * first factor costs what Haraka's flat_file costs). Returns the secrets of the first `keep`.
 */
export async function seedAccounts(store: Store, secrets: SecretBox, total: number, keep: number, passwdPath: string): Promise<BenchAccount[]> {
  const kept: BenchAccount[] = [];
  const passwdLines: string[] = [];
  const now = Date.now();
  let batch: StoreEntry[] = [];
  for (let index = 0; index < total; index++) {
    const account = benchAccountName(index);
    const password = benchPassword(index);
    const secretKey = generateSecretKey();
    const appPassword = generateAppPassword();
    const record: AccountRecord = {
      ...emptyAccountRecord(account, now),
      devices: [{ id: randomId(), name: 'Phone', encryptedKey: secrets.encrypt(secretKey), settings: DEFAULT_TOTP_SETTINGS, createdAt: now }],
      appPasswords: [{ id: randomId(), name: 'Mail app', scopes: ['smtp', 'imap', 'pop3'], hash: secrets.hash('app-password', appPassword), createdAt: now }],
      recoveryCodes: Array.from({ length: 10 }, () => secrets.hash('recovery-code', normalizeRecoveryCode(generateRecoveryCode())!)),
      recoveryCodesCreatedAt: now,
    };
    batch.push({ type: 'value', key: keys.account(account), value: record });
    passwdLines.push(`${account}:{PLAIN}${password}`);
    if (index < keep) {
      kept.push({ account, password, secretKey, appPassword: formatAppPassword(appPassword) });
    }
    if (batch.length === BATCH) {
      await store.importEntries(batch);
      batch = [];
    }
  }
  await store.importEntries(batch);
  await fs.writeFile(passwdPath, `${passwdLines.join('\n')}\n`, { mode: 0o600 });
  return kept;
}

/** Haraka's auth/flat_file configuration for the same accounts and passwords. */
export async function writeFlatFileConfig(path: string, total: number): Promise<void> {
  const lines = ['[core]', 'methods=PLAIN,LOGIN', '', '[users]'];
  for (let index = 0; index < total; index++) {
    lines.push(`${benchAccountName(index)}=${benchPassword(index)}`);
  }
  await fs.writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}
