import { TwoStepError } from './errors';
import { SCOPES, type Scope } from './model';
import { randomString } from './secrets';

/** 16 lower-case letters: 75 bits, easy to type on a phone, shown in four groups of four. */
const APP_PASSWORD_ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
const APP_PASSWORD_LENGTH = 16;
export const MAX_NAME_LENGTH = 64;

export function generateAppPassword(): string {
  return randomString(APP_PASSWORD_ALPHABET, APP_PASSWORD_LENGTH);
}

/** Shows an app password in groups of four, as it is displayed once after creation. */
export function formatAppPassword(appPassword: string): string {
  return appPassword.replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * Normalises a typed app password: spaces are ignored and case does not matter. Returns
 * undefined when the value cannot be an app password, so the caller can skip the lookup.
 */
export function normalizeAppPassword(typed: string): string | undefined {
  const value = typed.replace(/ /g, '').toLowerCase();
  return value.length === APP_PASSWORD_LENGTH && /^[a-z]+$/.test(value) ? value : undefined;
}

/**
 * Parses a scope list such as `smtp,imap`.
 * @throws TwoStepError ERR_INVALID_SCOPE naming the accepted scopes.
 */
export function parseScopes(raw: string | readonly string[]): Scope[] {
  const parts = (typeof raw === 'string' ? raw.split(',') : raw).map((part) => part.trim().toLowerCase()).filter((part) => part !== '');
  if (parts.length === 0) {
    throw new TwoStepError('ERR_INVALID_SCOPE', 'missing scope: give one or more of smtp, imap, pop3');
  }
  const scopes = new Set<Scope>();
  for (const part of parts) {
    if (!(SCOPES as readonly string[]).includes(part)) {
      throw new TwoStepError('ERR_INVALID_SCOPE', `unknown scope "${part.slice(0, 20)}": expected smtp, imap or pop3`);
    }
    scopes.add(part as Scope);
  }
  return SCOPES.filter((scope) => scopes.has(scope));
}

/**
 * Validates a display name of a device or app password.
 * @throws TwoStepError ERR_INVALID_NAME when it is empty, too long or has control characters.
 */
export function parseName(raw: unknown, what: string): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (name === '') {
    throw new TwoStepError('ERR_INVALID_NAME', `missing ${what} name`);
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new TwoStepError('ERR_INVALID_NAME', `invalid ${what} name: longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new TwoStepError('ERR_INVALID_NAME', `invalid ${what} name: it contains control characters`);
  }
  return name;
}
