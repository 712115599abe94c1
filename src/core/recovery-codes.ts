import { randomString } from './secrets';

/** Digits and lower-case letters without the look-alikes 0/o, 1/l/i. */
const RECOVERY_CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
export const RECOVERY_CODE_COUNT = 10;

/** Generates one recovery code, `xxxxx-xxxxx`: 10 characters, about 49 bits. */
export function generateRecoveryCode(): string {
  return `${randomString(RECOVERY_CODE_ALPHABET, 5)}-${randomString(RECOVERY_CODE_ALPHABET, 5)}`;
}

/** Normalises a typed recovery code: spaces, hyphens and case are ignored. */
export function normalizeRecoveryCode(typed: string): string | undefined {
  const value = typed.replace(/[\s-]/g, '').toLowerCase();
  return /^[23456789a-hjkmnp-z]{10}$/.test(value) ? value : undefined;
}
