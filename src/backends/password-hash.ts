import { join } from 'node:path';
import bcrypt from 'bcrypt';
import argon2 from 'argon2';
import { Piscina } from 'piscina';
import { constantTimeEqual } from '../core/secrets';
import { TwoStepError } from '../core/errors';
import { loadUnixcrypt } from './unixcrypt';

/** Password schemes of Dovecot's passwd-file that TwoStep reads. */
export const SUPPORTED_SCHEMES = ['BLF-CRYPT', 'SHA512-CRYPT', 'ARGON2ID', 'ARGON2I', 'CRYPT', 'PLAIN'] as const;
export type PasswordScheme = (typeof SUPPORTED_SCHEMES)[number];

/** The scheme `twostep passwd` writes: bcrypt, Dovecot's BLF-CRYPT. */
export const DEFAULT_SCHEME: PasswordScheme = 'BLF-CRYPT';
const BCRYPT_COST = 10;

/** Worker threads for SHA512-CRYPT checks, started on the first check and stopped after a minute without one. */
let sha512CryptPool: Piscina | undefined;

function sha512CryptWorkers(): Piscina {
  sha512CryptPool ??= new Piscina({ filename: join(__dirname, 'sha512-crypt-worker.js'), minThreads: 0, idleTimeout: 60_000 });
  return sha512CryptPool;
}

/** A stored password: `{SCHEME}hash`, or a bare crypt(3) hash whose prefix names the scheme. */
export interface StoredPassword {
  readonly scheme: PasswordScheme;
  readonly hash: string;
}

/**
 * Parses the password field of a passwd-file line.
 * @throws TwoStepError ERR_INVALID_INPUT for an unsupported scheme.
 */
export function parseStoredPassword(field: string): StoredPassword {
  const match = /^\{([A-Z0-9-]+)\}(.*)$/i.exec(field);
  if (!match) {
    return { scheme: 'CRYPT', hash: field };
  }
  const scheme = match[1].toUpperCase();
  if (!(SUPPORTED_SCHEMES as readonly string[]).includes(scheme)) {
    throw new TwoStepError('ERR_INVALID_INPUT', `unsupported password scheme {${scheme}}: expected one of ${SUPPORTED_SCHEMES.join(', ')}`);
  }
  return { scheme: scheme as PasswordScheme, hash: match[2] };
}

/** Checks a password against a stored hash; crypt(3) hashes are told apart by their prefix. */
export async function verifyPasswordHash(stored: StoredPassword, password: string): Promise<boolean> {
  const { scheme, hash } = stored;
  if (scheme === 'PLAIN') {
    return constantTimeEqual(hash, password);
  }
  if (scheme === 'BLF-CRYPT' || /^\$2[aby]\$/.test(hash)) {
    // The native binding hashes on libuv's thread pool, so a check (about 50 ms at cost 10 on a
    // 2-core test machine) does not stall other connections. It reads $2a$ and $2b$ only.
    // Dovecot's $2y$ is the same algorithm as $2b$ under another name.
    return bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
  }
  if (scheme === 'ARGON2ID' || scheme === 'ARGON2I' || hash.startsWith('$argon2')) {
    return argon2.verify(hash, password);
  }
  if (scheme === 'SHA512-CRYPT' || hash.startsWith('$6$')) {
    // unixcrypt computes synchronously (10 to 25 ms per check at 5000 rounds on a 2-core test
    // machine), so the check runs in a worker thread and other connections go on meanwhile.
    return (await sha512CryptWorkers().run({ password, hash })) as boolean;
  }
  return false;
}

/** Hashes a new password in the default scheme, as `{BLF-CRYPT}$2y$…` for Dovecot compatibility. */
export async function hashPassword(password: string, scheme: PasswordScheme = DEFAULT_SCHEME): Promise<string> {
  switch (scheme) {
    case 'BLF-CRYPT':
      // Dovecot writes bcrypt as $2y$. The binding writes $2b$, which is the same algorithm.
      return `{BLF-CRYPT}${(await bcrypt.hash(password, BCRYPT_COST)).replace(/^\$2b\$/, '$2y$')}`;
    case 'ARGON2ID':
      return `{ARGON2ID}${await argon2.hash(password, { type: argon2.argon2id })}`;
    case 'SHA512-CRYPT':
      return `{SHA512-CRYPT}${(await loadUnixcrypt()).encrypt(password)}`;
    case 'PLAIN':
      return `{PLAIN}${password}`;
    default:
      throw new TwoStepError('ERR_INVALID_INPUT', `cannot write passwords in scheme {${scheme}}: use BLF-CRYPT, ARGON2ID, SHA512-CRYPT or PLAIN`);
  }
}
