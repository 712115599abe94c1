import { SCOPES, type Scope } from '../core/model';
import { WebError } from './errors';

/** Maximum length of a password field. The core rejects longer secrets too. */
export const MAX_PASSWORD_LENGTH = 1024;
/** Maximum length of a verification code or recovery code field. */
export const MAX_CODE_LENGTH = 64;
export const MAX_ACCOUNT_LENGTH = 254;
/**
 * Maximum length of a name field as sent. The core's name rule (at most 64 characters, no
 * control characters) then rejects a longer name with ERR_INVALID_NAME, as the CLI gets it.
 */
export const MAX_NAME_FIELD_LENGTH = 1024;

type Body = Record<string, unknown>;

/** Returns the request body as an object; a JSON array, string or nothing counts as an empty form. */
export function bodyOf(body: unknown): Body {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : {};
}

/**
 * Reads one text field.
 * @throws WebError 400 ERR_INVALID_INPUT when it is missing (and required), not text, or longer than `max`.
 */
export function readText(body: unknown, field: string, label: string, max: number, required = true): string {
  const raw = bodyOf(body)[field];
  if (raw === undefined || raw === null || raw === '') {
    if (required) {
      throw new WebError(400, 'ERR_INVALID_INPUT', `Missing ${label}.`);
    }
    return '';
  }
  if (typeof raw !== 'string') {
    throw new WebError(400, 'ERR_INVALID_INPUT', `Invalid ${label}: expected text.`);
  }
  if (raw.length > max) {
    throw new WebError(400, 'ERR_INVALID_INPUT', `Invalid ${label}: longer than ${max} characters.`);
  }
  return raw;
}

/**
 * Reads a verification code or recovery code field. A code of 6 or 8 digits typed in groups,
 * as authenticator apps show it ("081 804"), loses the spaces between its digits. Anything
 * else is passed on as typed, so " 081804" or "81804" is still a wrong code.
 */
export function readCode(body: unknown, required = true): string {
  const raw = readText(body, 'code', 'verification code', MAX_CODE_LENGTH, required);
  if (/^[0-9]+(?: [0-9]+)+$/.test(raw)) {
    const digits = raw.replace(/ /g, '');
    if (digits.length === 6 || digits.length === 8) {
      return digits;
    }
  }
  return raw;
}

/**
 * Reads the scopes of an app password: repeated form fields, a JSON array or a comma list.
 * @throws WebError 400 ERR_INVALID_SCOPE when none is given or one is unknown.
 */
export function readScopes(body: unknown): Scope[] {
  const raw = bodyOf(body).scopes;
  let list: unknown[] = [];
  if (Array.isArray(raw)) {
    list = raw;
  } else if (typeof raw === 'string') {
    list = raw.split(',');
  }
  const chosen = new Set<Scope>();
  for (const entry of list) {
    const value = typeof entry === 'string' ? entry.trim().toLowerCase() : '';
    if (value === '') {
      continue;
    }
    if (!(SCOPES as readonly string[]).includes(value)) {
      throw new WebError(400, 'ERR_INVALID_SCOPE', `Unknown scope "${value.slice(0, 20)}": choose SMTP, IMAP or POP3.`);
    }
    chosen.add(value as Scope);
  }
  if (chosen.size === 0) {
    throw new WebError(400, 'ERR_INVALID_SCOPE', 'Missing scope: choose one or more of SMTP, IMAP and POP3.');
  }
  return SCOPES.filter((scope) => chosen.has(scope));
}

/** Validates a record id taken from a URL path (device and app password ids are base64url). */
export function readId(raw: unknown, label: string): string {
  if (typeof raw !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(raw)) {
    throw new WebError(400, 'ERR_INVALID_INPUT', `Invalid ${label} id.`);
  }
  return raw;
}
