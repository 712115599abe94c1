import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { TwoStepError } from './errors';

const MASTER_KEY_BYTES = 32;
const IV_BYTES = 12;
const FORMAT_VERSION = 'v1';

/**
 * Encrypts secret keys at rest (AES-256-GCM) and computes keyed hashes (HMAC-SHA-256) of
 * app passwords, recovery codes and login grants. Both keys are derived from one master key
 * with HKDF, so one key file protects everything; the key id lets a future rotation tell
 * old ciphertexts apart.
 */
export class SecretBox {
  readonly keyId: string;
  private readonly encryptionKey: Buffer;
  private readonly hashKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== MASTER_KEY_BYTES) {
      throw new TwoStepError('ERR_ENCRYPTION_KEY', `invalid encryption key: expected ${MASTER_KEY_BYTES} bytes, got ${masterKey.length}`);
    }
    this.keyId = createHash('sha256').update(masterKey).digest('hex').slice(0, 16);
    this.encryptionKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'twostep secret keys', 32));
    this.hashKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'twostep keyed hashes', 32));
  }

  static generateMasterKey(): Buffer {
    return randomBytes(MASTER_KEY_BYTES);
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT_VERSION, this.keyId, iv.toString('base64'), ciphertext.toString('base64'), tag.toString('base64')].join(':');
  }

  /** @throws TwoStepError ERR_ENCRYPTION_KEY when the value was encrypted with another key or was altered. */
  decrypt(sealed: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 5 || parts[0] !== FORMAT_VERSION) {
      throw new TwoStepError('ERR_ENCRYPTION_KEY', 'cannot decrypt a secret key: unknown format');
    }
    if (parts[1] !== this.keyId) {
      throw new TwoStepError('ERR_ENCRYPTION_KEY', `cannot decrypt a secret key: it was encrypted with key ${parts[1]}, but the loaded key is ${this.keyId}`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(parts[2], 'base64'));
      decipher.setAuthTag(Buffer.from(parts[4], 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(parts[3], 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new TwoStepError('ERR_ENCRYPTION_KEY', 'cannot decrypt a secret key: authentication tag mismatch', { cause: error });
    }
  }

  /** Keyed hash of a secret for storage and lookup; `purpose` separates the kinds of secret. */
  hash(purpose: string, value: string): string {
    return createHmac('sha256', this.hashKey).update(purpose).update('\0').update(value, 'utf8').digest('base64url');
  }
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    return false;
  }
  return timingSafeEqual(left, right);
}

/** Returns a random string of `length` characters drawn uniformly from `alphabet`. */
export function randomString(alphabet: string, length: number): string {
  let result = '';
  for (let i = 0; i < length; i++) {
    result += alphabet[randomInt(alphabet.length)];
  }
  return result;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 12;

/**
 * Returns a short random id for records (devices, app passwords): 12 letters and digits, about
 * 71 bits. Not a secret. Ids are typed as CLI arguments, so none may start with `-`, which the
 * CLI would read as an option.
 */
export function randomId(): string {
  return randomString(ID_ALPHABET, ID_LENGTH);
}
